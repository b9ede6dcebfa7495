//! `CredentialCache` per grant: a hit only for the exact subject token, resource and
//! client; never handed out at or past `expires_at - margin`; nothing without an
//! expiry; no refusals kept; a revoked token forgotten.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use support::*;
use xaa::{
    AccessToken, ClientAuth, ClientAuthMethod, ClientCredentialsRequest, ClientSecret,
    CredentialCache, Deadline, ManualClock, OktaClient, Resource, Secret, Subject, SubjectToken,
    SubjectTokenType,
};

const STS: &str = "urn:okta:params:oauth:token-type:oauth-sts";
const VAULT: &str = "urn:okta:params:oauth:token-type:vaulted-secret";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn subject(raw: &str) -> Subject {
    Subject::new(SubjectToken::new(raw), SubjectTokenType::IdToken).unwrap()
}

fn sts_body(token: &str, expires_in: Option<u64>) -> String {
    let mut body = json!({"issued_token_type": STS, "access_token": token, "token_type": "Bearer"});
    if let Some(secs) = expires_in {
        body["expires_in"] = secs.into();
    }
    body.to_string()
}

fn token_of(secret: &Secret) -> &str {
    match secret {
        Secret::AccessToken(t) => t.expose(),
        other => panic!("{other:?}"),
    }
}

/// The third-party token the cache hands out for this exchange (from it or from Okta).
async fn sts_token(
    cache: &CredentialCache,
    client: &OktaClient,
    subject: &Subject,
    resource: &Resource,
) -> String {
    let got = cache
        .exchange(client, subject, resource, Deadline::NONE)
        .await
        .unwrap();
    token_of(&got.secret).to_string()
}

#[tokio::test]
async fn exchanges_are_cached_per_exact_subject_resource_and_client_until_expiry_minus_margin() {
    let fake = Fake::start().await;
    let clock = Arc::new(ManualClock::at(now()));
    let client = client(&fake, clock.clone());
    let cache = CredentialCache::new(16, Duration::from_secs(60), clock.clone());
    let res = Resource::oauth_sts("https://api.example", None).unwrap();
    let (alice, d) = (subject("id.token.alice"), Deadline::NONE);

    fake.answer(200, sts_body("t1", Some(600)));
    let first = cache.exchange(&client, &alice, &res, d).await.unwrap();
    let again = cache.exchange(&client, &alice, &res, d).await.unwrap();
    assert_eq!(
        (token_of(&first.secret), token_of(&again.secret)),
        ("t1", "t1")
    );
    assert_eq!(fake.seen().len(), 1, "the second call is a hit");

    // Another subject token (even one differing in one byte), resource or client: a miss.
    fake.answer(200, sts_body("t2", Some(600)));
    let other = cache
        .exchange(&client, &subject("id.token.alicf"), &res, d)
        .await
        .unwrap();
    assert_eq!(token_of(&other.secret), "t2");
    fake.answer(200, sts_body("t3", Some(600)));
    let res2 = Resource::oauth_sts("https://api2.example", None).unwrap();
    assert_eq!(sts_token(&cache, &client, &alice, &res2).await, "t3");
    let scoped = Resource::oauth_sts("https://api.example", Some("repo")).unwrap();
    fake.answer(200, sts_body("t4", Some(600)));
    assert_eq!(sts_token(&cache, &client, &alice, &scoped).await, "t4");
    let machine = Subject::new(
        SubjectToken::new("id.token.alice"),
        SubjectTokenType::AccessToken,
    )
    .unwrap();
    fake.answer(200, sts_body("t5", Some(600)));
    assert_eq!(sts_token(&cache, &client, &machine, &res).await, "t5");
    let other_client = client_as(&fake, clock.clone(), rsa_jwk(), "wlpother");
    fake.answer(200, sts_body("t6", Some(600)));
    assert_eq!(sts_token(&cache, &other_client, &alice, &res).await, "t6");
    assert_eq!(fake.seen().len(), 6);

    // Still a hit one second before expires_at - margin; a miss at it.
    clock.advance(Duration::from_secs(600 - 60 - 1));
    assert_eq!(sts_token(&cache, &client, &alice, &res).await, "t1");
    clock.advance(Duration::from_secs(1));
    fake.answer(200, sts_body("t7", Some(600)));
    assert_eq!(sts_token(&cache, &client, &alice, &res).await, "t7");
}

#[tokio::test]
async fn nothing_without_an_expiry_or_inside_the_margin_is_cached_nor_any_refusal() {
    let fake = Fake::start().await;
    let clock = Arc::new(ManualClock::at(now()));
    let client = client(&fake, clock.clone());
    let cache = CredentialCache::new(16, Duration::from_secs(60), clock.clone());
    let vault = Resource::vaulted_secret("orn:okta:pam:o:secrets:1").unwrap();
    let alice = subject("id.token.alice");
    for _ in 0..2 {
        fake.answer(
            200,
            json!({"issued_token_type": VAULT, "vaulted_secret": {"k": "v"}}).to_string(),
        );
        cache
            .exchange(&client, &alice, &vault, Deadline::NONE)
            .await
            .unwrap();
    }
    assert_eq!(fake.seen().len(), 2, "no expires_in: never cached");
    for _ in 0..2 {
        fake.answer(
            200,
            json!({"issued_token_type": VAULT, "vaulted_secret": {"k": "v"}, "expires_in": 30})
                .to_string(),
        );
        cache
            .exchange(&client, &alice, &vault, Deadline::NONE)
            .await
            .unwrap();
    }
    assert_eq!(
        fake.seen().len(),
        4,
        "expires inside the margin: never cached"
    );
    let sts = Resource::oauth_sts("https://api.example", None).unwrap();
    let uri = format!("{}/consent/1", fake.base);
    fake.answer(
        400,
        json!({"error": "interaction_required", "interaction_uri": uri}).to_string(),
    );
    assert!(cache
        .exchange(&client, &alice, &sts, Deadline::NONE)
        .await
        .is_err());
    fake.answer(200, sts_body("after", Some(600)));
    assert_eq!(
        token_of(
            &cache
                .exchange(&client, &alice, &sts, Deadline::NONE)
                .await
                .unwrap()
                .secret
        ),
        "after"
    );
    assert_eq!(cache.len(), 1);
}

#[tokio::test]
async fn a_revoked_token_is_forgotten_before_it_is_revoked() {
    let fake = Fake::start().await;
    let clock = Arc::new(ManualClock::at(now()));
    let client = client(&fake, clock.clone());
    let cache = CredentialCache::new(16, Duration::ZERO, clock.clone());
    let sts = Resource::oauth_sts("https://api.example", None).unwrap();
    let alice = subject("id.token.alice");
    fake.answer(200, sts_body("revoke-me", Some(600)));
    cache
        .exchange(&client, &alice, &sts, Deadline::NONE)
        .await
        .unwrap();
    fake.answer(200, "");
    cache
        .revoke_oauth_sts(&client, &AccessToken::new("revoke-me"), Deadline::NONE)
        .await
        .unwrap();
    assert!(cache.is_empty());
    fake.answer(200, sts_body("fresh", Some(600)));
    assert_eq!(
        token_of(
            &cache
                .exchange(&client, &alice, &sts, Deadline::NONE)
                .await
                .unwrap()
                .secret
        ),
        "fresh"
    );
    assert_eq!(fake.seen().len(), 3);
}

#[tokio::test]
async fn client_credentials_are_cached_per_client_method_scope_and_act() {
    let fake = Fake::start().await;
    let clock = Arc::new(ManualClock::at(now()));
    let client = client(&fake, clock.clone());
    let cache = CredentialCache::new(2, Duration::ZERO, clock.clone());
    let secret = || Some(ClientSecret::new("client-secret-0123456789-abcdefghij-XYZ"));
    let req = |method, scope: &str, act: Option<&str>| {
        let auth = ClientAuth::new(method, secret()).unwrap();
        let act = act.map(|a| xaa::Act::subject(a).unwrap());
        ClientCredentialsRequest::new(&fake.base, "aus1", "0oa1", Some(scope), auth, act).unwrap()
    };
    let body =
        |t: &str| json!({"token_type": "Bearer", "expires_in": 100, "access_token": t}).to_string();
    let post = req(ClientAuthMethod::SecretPost, "a", None);
    fake.answer(200, body("c1"));
    cache
        .client_credentials(&client, &post, Deadline::NONE)
        .await
        .unwrap();
    assert_eq!(
        token_of(
            &cache
                .client_credentials(&client, &post, Deadline::NONE)
                .await
                .unwrap()
                .secret
        ),
        "c1"
    );
    for (i, other) in [
        req(ClientAuthMethod::SecretJwt, "a", None),
        req(ClientAuthMethod::SecretJwt, "a", Some("00u1")),
        req(ClientAuthMethod::SecretJwt, "a", Some("00u2")),
        req(ClientAuthMethod::SecretPost, "b", None),
    ]
    .iter()
    .enumerate()
    {
        fake.answer(200, body(&format!("o{i}")));
        let got = cache
            .client_credentials(&client, other, Deadline::NONE)
            .await
            .unwrap();
        assert_eq!(token_of(&got.secret), format!("o{i}"));
    }
    assert_eq!(fake.seen().len(), 5);
    assert_eq!(cache.len(), 2, "bounded");
    clock.advance(Duration::from_secs(100));
    fake.answer(200, body("c2"));
    assert_eq!(
        token_of(
            &cache
                .client_credentials(&client, &post, Deadline::NONE)
                .await
                .unwrap()
                .secret
        ),
        "c2"
    );
}
