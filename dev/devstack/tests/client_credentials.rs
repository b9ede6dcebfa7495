//! Client credentials at the custom authorization server: every client authentication
//! method, each refusal, scopes, the AGBAC `act` claim, and the settings/secret files.

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::*;
use devstack::{AuthMethod, Config, Devstack, M2mClient, OrgConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const BASIC: &str = "0oadevstackm2m";
const AGBAC: &str = "0oadevstackagbac";
const KEYED: &str = "0oadevstackm2mkey";

async fn stack_with(org: OrgConfig) -> Devstack {
    Devstack::start(Config {
        org,
        scopes: vec!["xaa:read".into(), "finance.read".into()],
        ..Config::default()
    })
    .await
    .unwrap()
}

fn expect_error(resp: &Resp, status: u16, code: &str, description: &str) {
    let (error, text) = resp.oauth_error();
    assert_eq!((resp.status, error.as_str()), (status, code), "{text}");
    assert!(text.contains(description), "{text:?} lacks {description:?}");
    assert_eq!(resp.header("cache-control"), Some("no-store"));
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// POST to the custom AS token endpoint with optional Basic credentials.
async fn token(stack: &Devstack, authorization: Option<&str>, pairs: &[(&str, &str)]) -> Resp {
    let mut all = vec![("grant_type", "client_credentials")];
    all.extend_from_slice(pairs);
    let body = form(&all);
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(value) = authorization {
        headers.push(("Authorization", value));
    }
    request(
        &stack.okta_base_url(),
        "POST",
        &leg2_path(stack),
        &headers,
        body.as_bytes(),
    )
    .await
}

fn claims_for(stack: &Devstack, client: &str) -> Value {
    json!({"iss": client, "sub": client, "aud": leg2_url(stack), "iat": now(), "exp": now() + 300, "jti": uuid::Uuid::new_v4().to_string()})
}

fn hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn with_assertion(stack: &Devstack, jwt: &str, scope: &str) -> Resp {
    token(
        stack,
        None,
        &[
            ("scope", scope),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", jwt),
        ],
    )
    .await
}

/// The access token's verified claims, after the common checks of every success.
fn access_claims(stack: &Devstack, resp: &Resp, client: &str) -> Value {
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let body = resp.json();
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_i64()),
        (Some("Bearer"), Some(3600))
    );
    let (_, claims) = verify_with_jwks(
        body["access_token"].as_str().unwrap(),
        &stack.custom_as_jwks(),
    );
    assert_eq!(claims["iss"], stack.custom_as_issuer());
    assert_eq!(claims["aud"], devstack::ACCESS_TOKEN_AUDIENCE);
    assert_eq!(
        (claims["sub"].as_str(), claims["cid"].as_str()),
        (Some(client), Some(client))
    );
    assert!(claims.get("uid").is_none());
    claims
}

#[tokio::test]
async fn every_client_authentication_method_gets_a_token() {
    let stack = stack_with(OrgConfig::default()).await;
    let secret = stack.m2m_client_secret(BASIC).unwrap();
    // client_secret_basic and client_secret_post.
    let resp = token(
        &stack,
        Some(&basic(BASIC, &secret)),
        &[("scope", "xaa:read")],
    )
    .await;
    let claims = access_claims(&stack, &resp, BASIC);
    assert_eq!(claims["scp"], json!(["xaa:read"]));
    assert!(claims.get("act").is_none());
    let resp = token(
        &stack,
        None,
        &[
            ("scope", "xaa:read"),
            ("client_id", BASIC),
            ("client_secret", &secret),
        ],
    )
    .await;
    access_claims(&stack, &resp, BASIC);
    // client_secret_jwt (HS256 keyed with the secret), with the AGBAC act claim copied.
    let agbac_secret = stack.m2m_client_secret(AGBAC).unwrap();
    let mut claims = claims_for(&stack, AGBAC);
    let act = json!({"sub": "00ualice0001", "email": "alice@example.com", "name": "Alice Example"});
    claims["act"] = act.clone();
    let resp = with_assertion(&stack, &hs256(&agbac_secret, &claims), "xaa:read").await;
    assert_eq!(access_claims(&stack, &resp, AGBAC)["act"], act);
    // private_key_jwt, RS256 with the generated key (its private JWK is handed out too).
    assert_eq!(
        stack.m2m_private_jwk(KEYED).unwrap()["kid"],
        "0oadevstackm2mkey-key"
    );
    let mut claims = claims_for(&stack, KEYED);
    claims["act"] = json!({"sub": "00ubob000002"});
    let jwt = sign_rs256(
        &stack.m2m_encoding_key(KEYED).unwrap(),
        Some("0oadevstackm2mkey-key"),
        &claims,
    );
    let resp = with_assertion(&stack, &jwt, "xaa:read").await;
    assert_eq!(
        access_claims(&stack, &resp, KEYED)["act"],
        json!({"sub": "00ubob000002"})
    );
}

#[tokio::test]
async fn private_key_jwt_with_a_configured_ec_key_uses_es256() {
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = pair.public_key().as_ref().to_vec(); // 0x04 | x | y
    let mut org = OrgConfig::default();
    org.m2m_clients.push(M2mClient {
        client_id: "0oaecclient".into(),
        token_endpoint_auth_method: AuthMethod::PrivateKeyJwt,
        client_secret: String::new(),
        public_jwks: vec![json!({"kty": "EC", "crv": "P-256", "kid": "ec1", "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])})],
        scopes: vec!["xaa:read".into()],
    });
    let stack = stack_with(org).await;
    assert!(
        stack.m2m_private_jwk("0oaecclient").is_none(),
        "configured keys are not generated"
    );
    let key = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("ec1".into());
    let jwt = jsonwebtoken::encode(&header, &claims_for(&stack, "0oaecclient"), &key).unwrap();
    access_claims(
        &stack,
        &with_assertion(&stack, &jwt, "xaa:read").await,
        "0oaecclient",
    );
    header.kid = Some("ec2".into());
    let jwt = jsonwebtoken::encode(&header, &claims_for(&stack, "0oaecclient"), &key).unwrap();
    expect_error(
        &with_assertion(&stack, &jwt, "xaa:read").await,
        401,
        "invalid_client",
        "kid is invalid",
    );
}

#[tokio::test]
async fn secrets_are_checked_for_each_method() {
    let stack = stack_with(OrgConfig::default()).await;
    let secret = stack.m2m_client_secret(BASIC).unwrap();
    let scope = [("scope", "xaa:read")];
    let resp = token(&stack, Some(&basic(BASIC, "wrong")), &scope).await;
    expect_error(&resp, 401, "invalid_client", "Client authentication failed");
    assert!(resp
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic"));
    let resp = token(
        &stack,
        None,
        &[
            ("scope", "xaa:read"),
            ("client_id", BASIC),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    expect_error(&resp, 401, "invalid_client", "Client authentication failed");
    let resp = token(&stack, Some(&basic("0oanobody", &secret)), &scope).await;
    expect_error(&resp, 401, "invalid_client", "Client authentication failed");
    let resp = token(&stack, None, &scope).await;
    expect_error(&resp, 401, "invalid_client", "Client authentication failed");
    let resp = token(
        &stack,
        Some(&basic(BASIC, &secret)),
        &[("scope", "xaa:read"), ("client_secret", &secret)],
    )
    .await;
    expect_error(&resp, 400, "invalid_request", "multiple client credentials");
    // A client_secret_jwt client may not send its secret, nor a secret client an assertion.
    let agbac_secret = stack.m2m_client_secret(AGBAC).unwrap();
    let resp = token(&stack, Some(&basic(AGBAC, &agbac_secret)), &scope).await;
    expect_error(
        &resp,
        401,
        "invalid_client",
        "configured for client_secret_jwt",
    );
    let resp = with_assertion(
        &stack,
        &hs256(&secret, &claims_for(&stack, BASIC)),
        "xaa:read",
    )
    .await;
    expect_error(
        &resp,
        401,
        "invalid_client",
        "configured for client_secret_basic",
    );
}

#[tokio::test]
async fn assertions_are_checked_like_okta() {
    let stack = stack_with(OrgConfig::default()).await;
    let secret = stack.m2m_client_secret(AGBAC).unwrap();
    let bad_secret = hs256(
        "not-the-secret-but-long-enough-000",
        &claims_for(&stack, AGBAC),
    );
    expect_error(
        &with_assertion(&stack, &bad_secret, "xaa:read").await,
        401,
        "invalid_client",
        "signature is invalid",
    );
    // The AGBAC guide's aud (the issuer) is not what Okta accepts: the token URL is.
    let mut claims = claims_for(&stack, AGBAC);
    claims["aud"] = json!(stack.custom_as_issuer());
    expect_error(
        &with_assertion(&stack, &hs256(&secret, &claims), "xaa:read").await,
        401,
        "invalid_client",
        "must be the endpoint invoked",
    );
    let mut claims = claims_for(&stack, AGBAC);
    claims["exp"] = json!(now() - 5);
    expect_error(
        &with_assertion(&stack, &hs256(&secret, &claims), "xaa:read").await,
        401,
        "invalid_client",
        "expired",
    );
    let mut claims = claims_for(&stack, AGBAC);
    claims["exp"] = json!(i64::MAX);
    claims["iat"] = json!(i64::MIN);
    expect_error(
        &with_assertion(&stack, &hs256(&secret, &claims), "xaa:read").await,
        401,
        "invalid_client",
        "at most one hour",
    );
    let replayed = hs256(&secret, &claims_for(&stack, AGBAC));
    assert_eq!(
        with_assertion(&stack, &replayed, "xaa:read").await.status,
        200
    );
    expect_error(
        &with_assertion(&stack, &replayed, "xaa:read").await,
        401,
        "invalid_client",
        "jti has already been used",
    );
    // RS256 for a secret client; HS256 and another key for a key client.
    let rs = sign_rs256(
        &stack.m2m_encoding_key(KEYED).unwrap(),
        Some("0oadevstackm2mkey-key"),
        &claims_for(&stack, AGBAC),
    );
    expect_error(
        &with_assertion(&stack, &rs, "xaa:read").await,
        401,
        "invalid_client",
        "HS256, HS384 or HS512",
    );
    let hs = hs256(&secret, &claims_for(&stack, KEYED));
    expect_error(
        &with_assertion(&stack, &hs, "xaa:read").await,
        401,
        "invalid_client",
        "RS256 or ES256",
    );
    let other_key = sign_rs256(
        &agent_key(&stack),
        Some("0oadevstackm2mkey-key"),
        &claims_for(&stack, KEYED),
    );
    expect_error(
        &with_assertion(&stack, &other_key, "xaa:read").await,
        401,
        "invalid_client",
        "signature is invalid",
    );
    let mut claims = claims_for(&stack, KEYED);
    claims["sub"] = json!(AGBAC);
    let jwt = sign_rs256(
        &stack.m2m_encoding_key(KEYED).unwrap(),
        Some("0oadevstackm2mkey-key"),
        &claims,
    );
    expect_error(
        &with_assertion(&stack, &jwt, "xaa:read").await,
        401,
        "invalid_client",
        "iss and sub",
    );
}

#[tokio::test]
async fn scopes_and_client_types_are_enforced() {
    let mut org = OrgConfig::default();
    org.m2m_clients[0].scopes = vec!["xaa:read".into()];
    let stack = stack_with(org).await;
    let auth = basic(BASIC, &stack.m2m_client_secret(BASIC).unwrap());
    let resp = token(&stack, Some(&auth), &[]).await;
    expect_error(&resp, 400, "invalid_scope", "'scope' must be provided");
    let resp = token(&stack, Some(&auth), &[("scope", "openid")]).await;
    expect_error(&resp, 400, "invalid_scope", "openid not allowed");
    let resp = token(&stack, Some(&auth), &[("scope", "xaa:write")]).await;
    expect_error(
        &resp,
        400,
        "invalid_scope",
        "not configured for the authorization server",
    );
    let resp = token(&stack, Some(&auth), &[("scope", "xaa:read finance.read")]).await;
    expect_error(&resp, 400, "access_denied", "Policy evaluation failed");
    // The AI agent and the web app are not service apps.
    let resp = with_assertion(&stack, &assertion(&stack, &leg2_url(&stack)), "xaa:read").await;
    expect_error(
        &resp,
        400,
        "unauthorized_client",
        "Only service apps can use client_credentials",
    );
    let web = basic("0oadevstackweb", &stack.config().oidc_client_secret);
    let resp = token(&stack, Some(&web), &[("scope", "xaa:read")]).await;
    expect_error(
        &resp,
        400,
        "unauthorized_client",
        "Only service apps can use client_credentials",
    );
    let discovery = get(
        &stack.okta_base_url(),
        "/oauth2/ausdevstack1/.well-known/oauth-authorization-server",
    )
    .await
    .json();
    assert!(discovery["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("client_credentials")));
    assert!(discovery["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("client_secret_jwt")));
}

#[tokio::test]
async fn org_config_file_and_secret_files() {
    let dir = std::env::temp_dir().join(format!("devstack-cc-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("org.json");
    std::fs::write(&file, r#"{"org_id": "00oacme", "m2m_clients": [{"client_id": "0oaonly", "token_endpoint_auth_method": "client_secret_post", "client_secret": "s3cret-from-file-0123456789abcdef", "scopes": ["xaa:read"]}]}"#).unwrap();
    let org = OrgConfig::from_json_file(&file).unwrap();
    assert_eq!(org.org_id, "00oacme");
    assert_eq!(
        org.vaulted_secrets,
        OrgConfig::default().vaulted_secrets,
        "missing keys keep defaults"
    );
    std::fs::write(&file, r#"{"org_idd": "x"}"#).unwrap();
    let err = OrgConfig::from_json_file(&file).unwrap_err().to_string();
    assert!(err.contains("org_idd"), "{err}");
    // A mistyped value is located, never quoted (it could be a secret).
    std::fs::write(&file, r#"{"m2m_clients": [{"client_id": "0oax", "token_endpoint_auth_method": "client_secret_post", "client_secret": "", "scopes": "hunter2-secret"}]}"#).unwrap();
    let err = OrgConfig::from_json_file(&file).unwrap_err().to_string();
    assert!(
        err.contains("line 1 column") && !err.contains("hunter2"),
        "{err}"
    );
    let bad = OrgConfig {
        org_id: "bad id".into(),
        ..OrgConfig::default()
    };
    assert!(Devstack::start(Config {
        org: bad,
        ..Config::default()
    })
    .await
    .is_err());

    let stack = stack_with(org).await;
    let secrets = dir.join("secrets");
    stack.write_secret_files(&secrets).unwrap();
    let settings = stack.settings();
    let entry = &settings.credentials.m2m_clients[0];
    let secret_file = entry["client_secret_file"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(secret_file).unwrap(),
        "s3cret-from-file-0123456789abcdef"
    );
    let agent_jwk: Value = serde_json::from_str(
        &std::fs::read_to_string(&settings.credentials.agent_key_file).unwrap(),
    )
    .unwrap();
    assert_eq!(agent_jwk, stack.agent_private_jwk());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(secret_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let shown = serde_json::to_string(&settings.credentials).unwrap();
    assert!(!shown.contains("s3cret-from-file"));
    // The file's secret authenticates with client_secret_post.
    let resp = token(
        &stack,
        None,
        &[
            ("scope", "xaa:read"),
            ("client_id", "0oaonly"),
            ("client_secret", "s3cret-from-file-0123456789abcdef"),
        ],
    )
    .await;
    access_claims(&stack, &resp, "0oaonly");
    std::fs::remove_dir_all(&dir).unwrap();
}
