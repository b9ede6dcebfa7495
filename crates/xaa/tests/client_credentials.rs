//! The client credentials grant with each client authentication method against a
//! scripted custom authorization server on loopback: exact bodies and headers, the
//! assertions verified (RS256/ES256 with the public key, HS256 with the secret), the
//! `act` claim, refusals, and no secret in errors, Debug or logs.

mod support;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::json;
use support::*;
use xaa::{
    Act, ClientAuth, ClientAuthMethod, ClientCredentialsRequest, ClientSecret, Deadline, Secret,
    SystemClock,
};

const SECRET: &str = "client-secret-0123456789-abcdefghij-XYZ";
const CLIENT: &str = "0oaservice1";

fn ok_body() -> String {
    json!({"token_type": "Bearer", "expires_in": 3600, "access_token": "m2m-access-token", "scope": "finance.read"}).to_string()
}

fn request(base: &str, method: ClientAuthMethod, act: Option<Act>) -> ClientCredentialsRequest {
    let secret = method.needs_secret().then(|| ClientSecret::new(SECRET));
    let auth = ClientAuth::new(method, secret).unwrap();
    ClientCredentialsRequest::new(base, "aus1", CLIENT, Some("finance.read"), auth, act).unwrap()
}

#[tokio::test]
async fn client_secret_basic_sends_the_rfc_6749_header_and_no_secret_in_the_body() {
    let fake = Fake::start().await;
    let client = client(&fake, Arc::new(SystemClock));
    fake.answer(200, ok_body());
    let req = request(&fake.base, ClientAuthMethod::SecretBasic, None);
    let got = client
        .client_credentials(&req, Deadline::NONE)
        .await
        .unwrap();
    let seen = fake.last();
    assert_eq!(seen.path, "/oauth2/aus1/v1/token");
    assert_eq!(
        seen.body,
        "grant_type=client_credentials&scope=finance.read"
    );
    let expected = format!("Basic {}", STANDARD.encode(format!("{CLIENT}:{SECRET}")));
    assert_eq!(seen.header("authorization"), Some(expected.as_str()));
    assert!(matches!(&got.secret, Secret::AccessToken(t) if t.expose() == "m2m-access-token"));
    assert_eq!(got.scope.as_deref(), Some("finance.read"));
    assert!(got.expires_at.is_some());
    // RFC 6749 2.3.1: each part form-urlencoded before base64.
    let odd = xaa::basic_authorization("id:1", &ClientSecret::new("a b+c"));
    assert_eq!(
        odd.as_str(),
        format!("Basic {}", STANDARD.encode("id%3A1:a+b%2Bc"))
    );
}

#[tokio::test]
async fn client_secret_post_puts_id_and_secret_in_the_body() {
    let fake = Fake::start().await;
    let client = client(&fake, Arc::new(SystemClock));
    fake.answer(200, ok_body());
    let req = request(&fake.base, ClientAuthMethod::SecretPost, None);
    client
        .client_credentials(&req, Deadline::NONE)
        .await
        .unwrap();
    let seen = fake.last();
    assert_eq!(
        seen.body,
        format!("grant_type=client_credentials&scope=finance.read&client_id={CLIENT}&client_secret={SECRET}")
    );
    assert_eq!(seen.header("authorization"), None);
}

fn assertion_of(body: &str) -> String {
    let prefix = "grant_type=client_credentials&scope=finance.read&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=";
    body.strip_prefix(prefix).expect("exact body").to_string()
}

#[tokio::test]
async fn private_key_jwt_signs_rs256_and_es256_with_the_act_claim() {
    let (ec, ec_public) = ec_jwk();
    for (jwk, key, alg) in [
        (rsa_jwk(), rsa_public(), Algorithm::RS256),
        (ec, ec_public, Algorithm::ES256),
    ] {
        let fake = Fake::start().await;
        let client = client_with_key(&fake, Arc::new(SystemClock), jwk);
        fake.answer(200, ok_body());
        let act = Act::subject("00u123abc456xyz").unwrap();
        let req = request(&fake.base, ClientAuthMethod::PrivateKeyJwt, Some(act));
        client
            .client_credentials(&req, Deadline::NONE)
            .await
            .unwrap();
        let seen = fake.last();
        let token_url = format!("{}/oauth2/aus1/v1/token", fake.base);
        let (kid, claims) = verify(&assertion_of(&seen.body), &key, alg, CLIENT, &token_url);
        assert_eq!(kid.as_deref(), Some(KID));
        assert_eq!(claims["act"], json!({"sub": "00u123abc456xyz"}));
        // Without act, no act claim at all.
        fake.answer(200, ok_body());
        let req = request(&fake.base, ClientAuthMethod::PrivateKeyJwt, None);
        client
            .client_credentials(&req, Deadline::NONE)
            .await
            .unwrap();
        let (_, claims) = verify(
            &assertion_of(&fake.last().body),
            &key,
            alg,
            CLIENT,
            &token_url,
        );
        assert!(claims.get("act").is_none(), "{claims}");
    }
}

#[tokio::test]
async fn client_secret_jwt_is_hs256_keyed_with_the_secret_fresh_on_every_retry() {
    let fake = Fake::start().await;
    let client = client(&fake, Arc::new(SystemClock));
    fake.answer(503, "");
    fake.answer(200, ok_body());
    let mut act = serde_json::Map::new();
    act.insert("sub".into(), "00u1".into());
    act.insert("name".into(), "Alice".into());
    let req = request(
        &fake.base,
        ClientAuthMethod::SecretJwt,
        Some(Act::from_object(act).unwrap()),
    );
    client
        .client_credentials(&req, Deadline::NONE)
        .await
        .unwrap();
    let seen = fake.seen();
    assert_eq!(seen.len(), 2, "one retry after the 503");
    let token_url = format!("{}/oauth2/aus1/v1/token", fake.base);
    let key = DecodingKey::from_secret(SECRET.as_bytes());
    let (kid, first) = verify(
        &assertion_of(&seen[0].body),
        &key,
        Algorithm::HS256,
        CLIENT,
        &token_url,
    );
    let (_, second) = verify(
        &assertion_of(&seen[1].body),
        &key,
        Algorithm::HS256,
        CLIENT,
        &token_url,
    );
    assert_eq!(kid, None, "no kid with a shared secret");
    assert_ne!(first["jti"], second["jti"], "a fresh assertion per attempt");
    assert_eq!(second["act"], json!({"sub": "00u1", "name": "Alice"}));
    // A wrong secret does not verify.
    let wrong = DecodingKey::from_secret(b"another-secret-of-thirty-two-bytes!!");
    let mut v = jsonwebtoken::Validation::new(Algorithm::HS256);
    v.set_audience(&[&token_url]);
    assert!(
        jsonwebtoken::decode::<serde_json::Value>(&assertion_of(&seen[1].body), &wrong, &v)
            .is_err()
    );
}

#[test]
fn requests_and_auth_are_checked_when_built() {
    let short = ClientAuth::new(
        ClientAuthMethod::SecretJwt,
        Some(ClientSecret::new("short-secret")),
    );
    assert!(short.unwrap_err().reason.contains("32 bytes"));
    assert!(ClientAuth::new(ClientAuthMethod::SecretBasic, None).is_err());
    assert!(ClientAuth::new(
        ClientAuthMethod::SecretPost,
        Some(ClientSecret::new("has space"))
    )
    .is_err());
    let basic = ClientAuth::new(
        ClientAuthMethod::SecretBasic,
        Some(ClientSecret::new(SECRET)),
    )
    .unwrap();
    let act = Some(Act::subject("00u1").unwrap());
    let e = ClientCredentialsRequest::new(
        "https://o.example",
        "aus1",
        CLIENT,
        None,
        basic.clone(),
        act,
    )
    .unwrap_err();
    assert_eq!(e.var, "act");
    assert!(ClientCredentialsRequest::new(
        "https://o.example",
        "../x",
        CLIENT,
        None,
        basic.clone(),
        None
    )
    .is_err());
    assert!(ClientCredentialsRequest::new(
        "https://o.example",
        "aus1",
        CLIENT,
        Some("openid"),
        basic,
        None
    )
    .is_err());
    assert!(Act::subject("").is_err());
    assert!(Act::from_object(serde_json::Map::new()).is_err());
    assert_eq!(
        ClientAuthMethod::parse("client_secret_jwt").unwrap(),
        ClientAuthMethod::SecretJwt
    );
    assert!(ClientAuthMethod::parse("none").is_err());
    // Debug shows neither the secret nor the act claim.
    let auth =
        ClientAuth::new(ClientAuthMethod::SecretJwt, Some(ClientSecret::new(SECRET))).unwrap();
    let req = ClientCredentialsRequest::new(
        "https://o.example",
        "aus1",
        CLIENT,
        None,
        auth,
        Some(Act::subject("alice@example.com").unwrap()),
    )
    .unwrap();
    assert_no_secret(
        "Debug of a request",
        &format!("{req:?}"),
        &[SECRET, "alice@example.com"],
    );
}

#[tokio::test]
async fn refusals_and_logs_never_show_a_secret() {
    let logs = Logs::capture();
    let fake = Fake::start().await;
    let client = client(&fake, Arc::new(SystemClock));
    let mut shown = String::new();
    for (method, status, body, kind) in [
        (
            ClientAuthMethod::SecretBasic,
            401,
            json!({"error": "invalid_client", "error_description": "bad"}),
            "AgentAuthFailed",
        ),
        (
            ClientAuthMethod::SecretPost,
            400,
            json!({"error": "unauthorized_client"}),
            "AgentAuthFailed",
        ),
        (
            ClientAuthMethod::SecretJwt,
            400,
            json!({"error": "invalid_scope"}),
            "ScopeRejected",
        ),
        (
            ClientAuthMethod::PrivateKeyJwt,
            403,
            json!({"error": "access_denied"}),
            "PolicyDenied",
        ),
    ] {
        fake.answer(status, body.to_string());
        let req = request(&fake.base, method, None);
        let e = client
            .client_credentials(&req, Deadline::NONE)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{method:?}: {e}");
        assert!(e.to_string().contains("client credentials"), "{e}");
        shown.push_str(&format!("{e} {e:?} {req:?}\n"));
    }
    fake.answer(200, ok_body());
    let got = client
        .client_credentials(
            &request(&fake.base, ClientAuthMethod::SecretJwt, None),
            Deadline::NONE,
        )
        .await
        .unwrap();
    shown.push_str(&format!("{got:?}"));
    let assertions: Vec<String> = fake
        .seen()
        .iter()
        .filter_map(|s| s.param("client_assertion"))
        .collect();
    let mut secrets = vec![SECRET, "m2m-access-token"];
    secrets.extend(assertions.iter().map(String::as_str));
    assert_no_secret("errors and Debug", &shown, &secrets);
    let logged = logs.text();
    assert!(
        logged.contains("token request failed"),
        "the capture works: {logged}"
    );
    assert_no_secret("the logs", &logged, &secrets);
}
