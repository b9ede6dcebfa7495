//! ID tokens: issued by the org for our app, and nothing else in their place.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use verify::{IdClaims, IdTokenVerifier, Reason};

const CLIENT_ID: &str = "0oawebapp";

fn id_claims(f: &Fixture) -> Value {
    json!({"iss": f.server.issuer(), "sub": PERSON, "aud": CLIENT_ID, "iat": NOW - 5,
           "exp": NOW + 3600, "amr": ["pwd"], "idp": "00oidp", "nonce": "n-1"})
}

fn verifier(f: &Fixture) -> IdTokenVerifier {
    IdTokenVerifier::new(
        f.server.issuer(),
        CLIENT_ID.into(),
        f.jwks.clone(),
        f.clock.clone(),
        Duration::from_secs(60),
    )
}

async fn reason(f: &Fixture, token: &str) -> Reason {
    verifier(f).verify(token).await.unwrap_err().reason
}

#[tokio::test]
async fn a_genuine_id_token_names_the_person() {
    let f = Fixture::start().await;
    let token = RsaKey::shared(0).sign(&id_claims(&f));
    let got = verifier(&f).verify(&token).await.unwrap();
    assert_eq!(
        got,
        IdClaims {
            subject: PERSON.into(),
            expires_at: NOW + 3600
        }
    );
    let typed = RsaKey::shared(0).sign_raw(
        &json!({"alg": "RS256", "kid": "key-1", "typ": "JWT"}),
        &id_claims(&f),
    );
    verifier(&f).verify(&typed).await.unwrap();
}

#[tokio::test]
async fn id_tokens_for_another_app_issuer_or_time_are_refused() {
    let f = Fixture::start().await;
    let key = RsaKey::shared(0);
    let with = |name: &str, value: Value| {
        let mut c = id_claims(&f);
        c[name] = value;
        key.sign(&c)
    };
    assert_eq!(
        reason(&f, &with("aud", json!("0oaotherapp"))).await,
        Reason::WrongAudience
    );
    assert_eq!(
        reason(&f, &with("iss", json!("https://evil.example"))).await,
        Reason::WrongIssuer
    );
    assert_eq!(
        reason(&f, &with("exp", json!(NOW - 60))).await,
        Reason::Expired
    );
    assert_eq!(
        reason(&f, &with("iat", json!(NOW + 61))).await,
        Reason::IssuedInFuture
    );
    assert_eq!(
        reason(&f, &with("sub", json!(""))).await,
        Reason::ClaimMissing
    );
    let mut no_exp = id_claims(&f);
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_eq!(reason(&f, &key.sign(&no_exp)).await, Reason::ClaimMissing);
    let other_key =
        RsaKey::shared(1).sign_raw(&json!({"alg": "RS256", "kid": "key-1"}), &id_claims(&f));
    assert_eq!(reason(&f, &other_key).await, Reason::BadSignature);
}

#[tokio::test]
async fn access_tokens_and_id_jags_are_not_id_tokens() {
    let f = Fixture::start().await;
    let key = RsaKey::shared(0);
    let mut access = f.claims(xaa_claims());
    access["aud"] = CLIENT_ID.into();
    assert_eq!(
        reason(&f, &key.sign(&access)).await,
        Reason::AccessTokenPresented
    );
    let jag = key.sign_raw(
        &json!({"alg": "RS256", "kid": "key-1", "typ": "oauth-id-jag+jwt"}),
        &id_claims(&f),
    );
    assert_eq!(reason(&f, &jag).await, Reason::IdJagPresented);
    let at_typ = key.sign_raw(
        &json!({"alg": "RS256", "kid": "key-1", "typ": "at+jwt"}),
        &id_claims(&f),
    );
    assert_eq!(reason(&f, &at_typ).await, Reason::HeaderNotAllowed);
}

#[tokio::test]
async fn the_leeway_is_held_to_120_seconds() {
    let f = Fixture::start().await;
    let generous = IdTokenVerifier::new(
        f.server.issuer(),
        CLIENT_ID.into(),
        f.jwks.clone(),
        f.clock.clone(),
        Duration::from_secs(86_400),
    );
    let mut c = id_claims(&f);
    c["exp"] = (NOW - 119).into();
    generous.verify(&RsaKey::shared(0).sign(&c)).await.unwrap();
    c["exp"] = (NOW - 120).into();
    assert_eq!(
        generous
            .verify(&RsaKey::shared(0).sign(&c))
            .await
            .unwrap_err()
            .reason,
        Reason::Expired
    );
    assert!(!format!("{generous:?}").contains("\"n\""));
}
