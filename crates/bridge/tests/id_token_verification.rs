//! Full ID token verification (OKTA_OIDC_CLIENT_ID set): refusals cost no exchange,
//! and unknown key ids cannot turn into a flood of JWKS requests.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bridge::{Bridge, Parts};
use serde_json::json;
use testkit::*;
use xaa::SigningKey;
use xaa::{RandomJti, SystemClock};

const ISSUER: &str = "https://example.okta.com";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An ID token signed by the "org" key (the RFC 7520 key stands in for it here).
fn signed_id_token(kid: &str, claims: serde_json::Value) -> String {
    let mut jwk = rfc7520_jwk();
    jwk.as_object_mut().unwrap().remove("kid");
    SigningKey::from_jwk_json(jwk.to_string().as_bytes(), kid)
        .unwrap()
        .sign(&claims)
        .unwrap()
        .expose()
        .to_string()
}

fn org_jwks(kid: &str) -> String {
    let jwk = rfc7520_jwk();
    json!({"keys": [{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": jwk["n"], "e": jwk["e"]}]}).to_string()
}

fn bridge(okta: Arc<FakeOkta>, agent: Arc<EchoAgent>) -> Bridge {
    Bridge::new(Parts {
        config: test_config_with(&[("OKTA_OIDC_CLIENT_ID", "0oawebapp")]),
        transport: okta,
        key_source: StaticKeys::new(vec![Ok(rfc7520_jwk().to_string())]),
        agent,
        clock: Arc::new(SystemClock),
        jti: Arc::new(RandomJti),
    })
}

fn claims(aud: &str) -> serde_json::Value {
    json!({"iss": ISSUER, "sub": "00ualice", "aud": aud, "iat": now(), "exp": now() + 600})
}

fn okta() -> Arc<FakeOkta> {
    let okta = FakeOkta::new(vec![
        Ok((200, r#"{"issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","access_token":"jag","token_type":"N_A","expires_in":300}"#.into(), None)),
        Ok((200, access_token_body("at", "00ualice", 3600), None)),
    ]);
    *okta.jwks.lock().unwrap() = org_jwks("org-key-1");
    okta
}

async fn ask(bridge: &Bridge, id_token: &str) -> Result<bridge::Answer, bridge::Error> {
    ask_json(
        bridge,
        json!({"prompt": "hi", "id_token": id_token}),
        bridge::Deadline::NONE,
    )
    .await
}

#[tokio::test]
async fn a_verified_id_token_proceeds_to_the_exchange() {
    let (okta, agent) = (okta(), EchoAgent::new());
    let bridge = bridge(okta.clone(), agent.clone());
    // One token for both calls: signing again a second later would give another token
    // (a new iat), a cache miss and a third exchange the script has no answer for.
    let id_token = signed_id_token("org-key-1", claims("0oawebapp"));
    ask(&bridge, &id_token).await.unwrap();
    assert_eq!(okta.sent().len(), 2);
    assert_eq!(okta.gets.load(Ordering::SeqCst), 1);
    ask(&bridge, &id_token).await.unwrap();
    assert_eq!(okta.sent().len(), 2, "the access token is cached");
    assert_eq!(okta.gets.load(Ordering::SeqCst), 1, "the JWKS is cached");
}

#[tokio::test]
async fn an_id_token_for_another_app_or_with_a_bad_signature_costs_no_exchange() {
    let (okta, agent) = (okta(), EchoAgent::new());
    let bridge = bridge(okta.clone(), agent.clone());
    let err = ask(
        &bridge,
        &signed_id_token("org-key-1", claims("0oaotherapp")),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "IdTokenRejected");
    assert!(err.to_string().contains("issued for another app"), "{err}");

    let genuine = signed_id_token("org-key-1", claims("0oawebapp"));
    let (head, _) = genuine.rsplit_once('.').unwrap();
    let tampered = format!("{head}.{}", "A".repeat(342));
    let err = ask(&bridge, &tampered).await.unwrap_err();
    assert!(
        err.to_string().contains("signature does not verify"),
        "{err}"
    );

    let mut wrong_issuer = claims("0oawebapp");
    wrong_issuer["iss"] = "https://evil.example.com".into();
    let err = ask(&bridge, &signed_id_token("org-key-1", wrong_issuer))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("iss"), "{err}");

    assert!(
        okta.sent().is_empty(),
        "no token request for a refused ID token"
    );
    assert!(agent.tokens().is_empty());
}

#[tokio::test]
async fn only_rs256_is_accepted() {
    let bridge = bridge(okta(), EchoAgent::new());
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims("0oawebapp"),
        &jsonwebtoken::EncodingKey::from_secret(b"guessable"),
    )
    .unwrap();
    let err = ask(&bridge, &hs256).await.unwrap_err();
    assert_eq!(err.kind(), "IdTokenRejected");
    assert!(err.to_string().contains("only RS256"), "{err}");
}

#[tokio::test]
async fn unknown_key_ids_refetch_the_jwks_at_most_once_per_thirty_seconds() {
    let okta = okta();
    let bridge = bridge(okta.clone(), EchoAgent::new());
    for i in 0..5 {
        let err = ask(
            &bridge,
            &signed_id_token(&format!("rotated-{i}"), claims("0oawebapp")),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("does not publish"), "{err}");
    }
    assert_eq!(okta.gets.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_refetch_limit_holds_while_okta_fails() {
    let okta = okta();
    *okta.get_answers.lock().unwrap() = vec![Err(xaa::TransportError::Connect); 10];
    let bridge = bridge(okta.clone(), EchoAgent::new());
    for i in 0..5 {
        let err = ask(
            &bridge,
            &signed_id_token(&format!("forged-{i}"), claims("0oawebapp")),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "OktaUnavailable", "{err}");
    }
    assert_eq!(
        okta.gets.load(Ordering::SeqCst),
        1,
        "one attempt per 30 s, failed attempts included"
    );
}

#[tokio::test]
async fn cached_org_keys_expire_and_are_fetched_again() {
    let jag = || {
        Ok((200, r#"{"issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","access_token":"jag","token_type":"N_A","expires_in":300}"#.to_string(), None))
    };
    let at = || Ok((200, access_token_body("at", "00ualice", 3600), None));
    let okta = FakeOkta::new(vec![jag(), at(), jag(), at()]);
    *okta.jwks.lock().unwrap() = org_jwks("org-key-1");
    let clock = Arc::new(xaa::ManualClock::at(now()));
    let bridge = Bridge::new(Parts {
        config: test_config_with(&[("OKTA_OIDC_CLIENT_ID", "0oawebapp")]),
        transport: okta.clone(),
        key_source: StaticKeys::new(vec![Ok(rfc7520_jwk().to_string())]),
        agent: EchoAgent::new(),
        clock: clock.clone(),
        jti: Arc::new(RandomJti),
    });
    let long_lived = json!({"iss": ISSUER, "sub": "00ualice", "aud": "0oawebapp", "iat": now(), "exp": now() + 7200});
    ask(&bridge, &signed_id_token("org-key-1", long_lived.clone()))
        .await
        .unwrap();
    clock.advance(std::time::Duration::from_secs(1800));
    ask(&bridge, &signed_id_token("org-key-1", long_lived.clone()))
        .await
        .unwrap();
    assert_eq!(okta.gets.load(Ordering::SeqCst), 1, "fresh keys are reused");
    clock.advance(std::time::Duration::from_secs(1801));
    ask(&bridge, &signed_id_token("org-key-1", long_lived))
        .await
        .unwrap();
    assert_eq!(
        okta.gets.load(Ordering::SeqCst),
        2,
        "keys older than an hour are fetched again"
    );
}
