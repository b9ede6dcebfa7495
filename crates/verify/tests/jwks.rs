//! The key cache against a loopback authorization server: the 30 s refetch throttle
//! (counted before the request, so it holds while the server fails), expiry after an
//! hour, rotation, single flight, and discovery (with its same-origin rule).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::json;
use verify::{Jwks, Reason, Subjects, JWKS_MAX_AGE, UNKNOWN_KID_REFETCH};

fn forged(f: &Fixture, i: usize) -> String {
    RsaKey::shared(0).sign_raw(
        &json!({"alg": "RS256", "kid": format!("forged-{i}")}),
        &f.claims(xaa_claims()),
    )
}

async fn reason_of(f: &Fixture, token: &str) -> Reason {
    f.verifier(Subjects::Xaa)
        .verify(token)
        .await
        .unwrap_err()
        .reason
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_once_per_30_seconds() {
    let f = Fixture::start().await;
    let genuine = RsaKey::shared(0).sign(&f.claims(xaa_claims()));
    f.verifier(Subjects::Xaa).verify(&genuine).await.unwrap();
    assert_eq!(f.jwks.fetches(), 1);
    // The first unknown kid 30 s after the last fetch refetches; the flood after it does not.
    f.clock.advance(UNKNOWN_KID_REFETCH);
    for i in 0..20 {
        assert_eq!(reason_of(&f, &forged(&f, i)).await, Reason::UnknownKey);
    }
    assert_eq!(f.jwks.fetches(), 2);
    f.clock
        .advance(UNKNOWN_KID_REFETCH - Duration::from_secs(1));
    assert_eq!(reason_of(&f, &forged(&f, 99)).await, Reason::UnknownKey);
    assert_eq!(f.jwks.fetches(), 2, "29 s later: still throttled");
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(reason_of(&f, &forged(&f, 100)).await, Reason::UnknownKey);
    assert_eq!(f.jwks.fetches(), 3, "30 s later: one more");
    assert_eq!(f.server.hits(f.keys_path()), 3);
    // Known keys keep verifying throughout.
    f.verifier(Subjects::Xaa).verify(&genuine).await.unwrap();
}

#[tokio::test]
async fn the_throttle_holds_while_the_server_fails() {
    for failure in ["status", "connection"] {
        let f = Fixture::start().await;
        let jwks = if failure == "status" {
            f.server.route(f.keys_path(), 503, "{}");
            f.jwks.clone()
        } else {
            // Nothing listens on a port just released.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            Arc::new(Jwks::new(
                format!("http://127.0.0.1:{port}/v1/keys"),
                transport(),
                f.clock.clone(),
            ))
        };
        let verifier = verify::AccessTokenVerifier::new(
            f.policy(Subjects::Xaa, 60),
            jwks.clone(),
            f.clock.clone(),
        );
        let genuine = RsaKey::shared(0).sign(&f.claims(xaa_claims()));
        for i in 0..10 {
            let token = if i % 2 == 0 {
                genuine.clone()
            } else {
                forged(&f, i)
            };
            assert_eq!(
                verifier.verify(&token).await.unwrap_err().reason,
                Reason::KeysUnavailable,
                "{failure}"
            );
        }
        assert_eq!(
            jwks.fetches(),
            1,
            "{failure}: one attempt per 30 s, failed ones included"
        );
        f.clock.advance(UNKNOWN_KID_REFETCH);
        assert_eq!(
            verifier.verify(&genuine).await.unwrap_err().reason,
            Reason::KeysUnavailable
        );
        assert_eq!(jwks.fetches(), 2, "{failure}");
        if failure == "status" {
            // Recovery: the next attempt after the throttle succeeds.
            f.server.jwks(&[RsaKey::shared(0).public_jwk("key-1")]);
            f.clock.advance(UNKNOWN_KID_REFETCH);
            verifier.verify(&genuine).await.unwrap();
            assert_eq!(jwks.fetches(), 3);
        }
    }
}

#[tokio::test]
async fn a_failed_refetch_keeps_the_fresh_keys() {
    let f = Fixture::start().await;
    let genuine = RsaKey::shared(0).sign(&f.claims(xaa_claims()));
    f.verifier(Subjects::Xaa).verify(&genuine).await.unwrap();
    f.server.route(f.keys_path(), 500, "{}");
    f.clock.advance(UNKNOWN_KID_REFETCH);
    assert_eq!(reason_of(&f, &forged(&f, 1)).await, Reason::UnknownKey);
    assert_eq!(f.jwks.fetches(), 2);
    f.verifier(Subjects::Xaa).verify(&genuine).await.unwrap();
}

#[tokio::test]
async fn keys_expire_after_an_hour_and_are_fetched_again() {
    let f = Fixture::start().await;
    let mut claims = f.claims(xaa_claims());
    claims["exp"] = (NOW + 3 * 3600).into();
    let genuine = RsaKey::shared(0).sign(&claims);
    let verifier = f.verifier(Subjects::Xaa);
    verifier.verify(&genuine).await.unwrap();
    f.clock.advance(JWKS_MAX_AGE - Duration::from_secs(1));
    verifier.verify(&genuine).await.unwrap();
    assert_eq!(f.jwks.fetches(), 1, "fresh keys are reused");
    f.clock.advance(Duration::from_secs(1));
    verifier.verify(&genuine).await.unwrap();
    assert_eq!(f.jwks.fetches(), 2, "keys an hour old are fetched again");
    // Expired keys are not used when the refetch fails: the key was withdrawn or unknown.
    f.server.route(f.keys_path(), 500, "{}");
    f.clock.advance(JWKS_MAX_AGE);
    assert_eq!(
        verifier.verify(&genuine).await.unwrap_err().reason,
        Reason::KeysUnavailable
    );
    assert_eq!(f.jwks.fetches(), 3);
}

#[tokio::test]
async fn a_rotated_key_is_found_by_one_refetch_shared_by_concurrent_requests() {
    let f = Fixture::start().await;
    let (old, new) = (RsaKey::shared(0), RsaKey::shared(1));
    let verifier = Arc::new(f.verifier(Subjects::Xaa));
    verifier
        .verify(&old.sign(&f.claims(xaa_claims())))
        .await
        .unwrap();
    f.server
        .jwks(&[old.public_jwk("key-1"), new.public_jwk("key-2")]);
    f.clock.advance(UNKNOWN_KID_REFETCH);
    let token = new.sign(&f.claims(xaa_claims()));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), token.clone());
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().person, PERSON);
    }
    assert_eq!(f.jwks.fetches(), 2, "one refetch for all of them");
}

#[tokio::test]
async fn warm_up_fetches_once_and_reports_the_key_count() {
    let f = Fixture::start().await;
    assert_eq!(f.jwks.warm_up().await, Ok(1));
    assert_eq!(f.jwks.warm_up().await, Ok(1));
    assert_eq!(f.jwks.fetches(), 1);
}

#[tokio::test]
async fn discovery_uses_the_metadata_jwks_uri_on_the_same_origin() {
    let f = Fixture::start().await;
    let issuer = f.server.issuer();
    let meta = "/oauth2/ausdefault/.well-known/oauth-authorization-server";
    let keys = RsaKey::shared(0).public_jwk("key-1");
    f.server.route(
        "/elsewhere/keys",
        200,
        json!({ "keys": [keys] }).to_string(),
    );
    f.server.route(
        meta,
        200,
        json!({"issuer": issuer, "jwks_uri": format!("{}/elsewhere/keys", f.server.origin())})
            .to_string(),
    );
    let jwks = Jwks::discover(&issuer, transport(), f.clock.clone())
        .await
        .unwrap();
    assert_eq!(jwks.url(), format!("{}/elsewhere/keys", f.server.origin()));
    assert_eq!(jwks.warm_up().await, Ok(1));
    assert_eq!(f.server.hits("/elsewhere/keys"), 1);
    assert_eq!(f.server.hits(meta), 1);
}

#[tokio::test]
async fn discovery_falls_back_to_v1_keys() {
    let f = Fixture::start().await;
    let issuer = f.server.issuer();
    let meta = "/oauth2/ausdefault/.well-known/oauth-authorization-server";
    let want = format!("{issuer}/v1/keys");
    // 404, a body that is not metadata, metadata without jwks_uri.
    for (status, body) in [
        (404, "{}".to_string()),
        (200, "[1]".to_string()),
        (200, json!({"issuer": issuer}).to_string()),
    ] {
        f.server.route(meta, status, body);
        let jwks = Jwks::discover(&issuer, transport(), f.clock.clone())
            .await
            .unwrap();
        assert_eq!(jwks.url(), want);
    }
    // No server at all.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = format!("http://127.0.0.1:{port}/oauth2/default");
    let jwks = Jwks::discover(&gone, transport(), f.clock.clone())
        .await
        .unwrap();
    assert_eq!(jwks.url(), format!("{gone}/v1/keys"));
}

#[tokio::test]
async fn discovery_refuses_keys_elsewhere_and_metadata_of_another_issuer() {
    let f = Fixture::start().await;
    let issuer = f.server.issuer();
    let meta = "/oauth2/ausdefault/.well-known/oauth-authorization-server";
    let port = f.server.addr.port();
    for jwks_uri in [
        "https://evil.example/keys".to_string(),
        format!("http://localhost:{port}/oauth2/ausdefault/v1/keys"),
        format!("http://127.0.0.1:{}/oauth2/ausdefault/v1/keys", port + 1),
        format!("https://127.0.0.1:{port}/oauth2/ausdefault/v1/keys"),
        format!("http://user@127.0.0.1:{port}/keys"),
        "/relative/keys".to_string(),
    ] {
        f.server.route(
            meta,
            200,
            json!({"issuer": issuer, "jwks_uri": jwks_uri}).to_string(),
        );
        let err = Jwks::discover(&issuer, transport(), f.clock.clone())
            .await
            .unwrap_err();
        assert_eq!(err.reason, Reason::KeysUnavailable, "{jwks_uri}");
    }
    f.server.route(
        meta,
        200,
        json!({"issuer": "https://evil.example", "jwks_uri": format!("{issuer}/v1/keys")})
            .to_string(),
    );
    assert!(Jwks::discover(&issuer, transport(), f.clock.clone())
        .await
        .is_err());
    for bad in ["http://example.okta.com/oauth2/default", "not a url"] {
        assert!(
            Jwks::discover(bad, transport(), f.clock.clone())
                .await
                .is_err(),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn verified_claims_checks_everything_up_to_the_signature_and_no_claim() {
    let f = Fixture::start().await;
    let key = RsaKey::shared(0);
    // Claims no access-token policy would pass: the caller applies rules of its own.
    let claims = json!({"iss": "https://idp.example", "client_id": "c1", "exp": 1});
    let json = f.jwks.verified_claims(&key.sign(&claims)).await.unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&json).unwrap(),
        claims
    );
    let typed = key.sign_raw(
        &json!({"alg": "RS256", "kid": "key-1", "typ": "at+jwt"}),
        &claims,
    );
    assert!(f.jwks.verified_claims(&typed).await.is_ok());
    for (token, want) in [
        (
            key.sign_raw(&json!({"alg": "RS256", "kid": "key-1"}), &json!(["x"])),
            Reason::Malformed,
        ),
        (
            key.sign_raw(
                &json!({"alg": "RS256", "kid": "key-1", "typ": "oauth-id-jag+jwt"}),
                &claims,
            ),
            Reason::IdJagPresented,
        ),
        (
            key.sign_raw(
                &json!({"alg": "RS256", "kid": "key-1", "jku": "https://x"}),
                &claims,
            ),
            Reason::HeaderNotAllowed,
        ),
        (
            RsaKey::shared(1).sign_raw(&json!({"alg": "RS256", "kid": "key-1"}), &claims),
            Reason::BadSignature,
        ),
        (forged(&f, 1), Reason::UnknownKey),
    ] {
        assert_eq!(
            f.jwks.verified_claims(&token).await.unwrap_err().reason,
            want
        );
    }
}
