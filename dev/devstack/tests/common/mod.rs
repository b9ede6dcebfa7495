//! Shared helpers: a tiny HTTP/1 client (one request per connection) and the AI
//! agent's side of the protocol, built with jsonwebtoken like the Lambda does.
#![allow(dead_code)]

use devstack::Devstack;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    /// `(error, error_description)` of an OAuth error answer.
    pub fn oauth_error(&self) -> (String, String) {
        let body = self.json();
        (
            body["error"].as_str().unwrap_or_default().to_string(),
            body["error_description"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }
}

pub async fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let host = base.strip_prefix("http://").expect("http base url");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

pub async fn get(base: &str, path: &str) -> Resp {
    request(base, "GET", path, &[], b"").await
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub async fn post_form(base: &str, path: &str, pairs: &[(&str, &str)]) -> Resp {
    let body = form(pairs);
    request(
        base,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await
}

/// The agent's RSA signing key, as devstack holds it (not re-derived from the JWK).
pub fn agent_key(stack: &Devstack) -> EncodingKey {
    stack.agent_encoding_key()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Standard assertion claims for `aud`; tests edit the value before signing.
pub fn assertion_claims(stack: &Devstack, aud: &str) -> Value {
    let client = &stack.config().agent_client_id;
    json!({"iss": client, "sub": client, "aud": aud, "iat": now(), "exp": now() + 300, "jti": uuid::Uuid::new_v4().to_string()})
}

pub fn sign_rs256(key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// A correct client assertion for `aud`.
pub fn assertion(stack: &Devstack, aud: &str) -> String {
    sign_rs256(
        &agent_key(stack),
        Some(&stack.config().agent_key_id),
        &assertion_claims(stack, aud),
    )
}

/// The token URLs are written out here from the socket address and the documented
/// paths, not taken from devstack's own helpers, so a mistake in how devstack builds the
/// URL it compares `aud` with cannot hide behind the same mistake in the test.
pub fn leg1_url(stack: &Devstack) -> String {
    format!("http://{}/oauth2/v1/token", stack.okta_addr())
}

/// The custom authorization server of the default configuration is `ausdevstack1`.
pub fn leg2_url(stack: &Devstack) -> String {
    format!("http://{}/oauth2/ausdevstack1/v1/token", stack.okta_addr())
}

pub fn leg2_path(_stack: &Devstack) -> String {
    "/oauth2/ausdevstack1/v1/token".to_string()
}

/// Leg 1 with `overrides` replacing (or, with an empty value, removing) parameters.
pub async fn leg1(
    stack: &Devstack,
    id_token: &str,
    client_assertion: &str,
    overrides: &[(&str, &str)],
) -> Resp {
    let audience = stack.custom_as_issuer();
    let mut pairs = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("requested_token_type", ID_JAG),
        ("subject_token", id_token),
        ("subject_token_type", ID_TOKEN),
        ("audience", audience.as_str()),
        ("scope", "xaa:read"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", client_assertion),
    ];
    apply(&mut pairs, overrides);
    post_form(&stack.okta_base_url(), "/oauth2/v1/token", &pairs).await
}

/// Leg 1 as the AI agent, with a correct client assertion.
pub async fn leg1_as_agent(stack: &Devstack, id_token: &str, overrides: &[(&str, &str)]) -> Resp {
    leg1(
        stack,
        id_token,
        &assertion(stack, &leg1_url(stack)),
        overrides,
    )
    .await
}

pub async fn leg2(
    stack: &Devstack,
    id_jag: &str,
    client_assertion: &str,
    overrides: &[(&str, &str)],
) -> Resp {
    let mut pairs = vec![
        ("grant_type", JWT_BEARER),
        ("assertion", id_jag),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", client_assertion),
    ];
    apply(&mut pairs, overrides);
    post_form(&stack.okta_base_url(), &leg2_path(stack), &pairs).await
}

fn apply<'a>(pairs: &mut Vec<(&'a str, &'a str)>, overrides: &[(&'a str, &'a str)]) {
    for (name, value) in overrides {
        pairs.retain(|(n, _)| n != name);
        if !value.is_empty() {
            pairs.push((name, value));
        }
    }
}

/// Both legs for `login`: (ID-JAG, access token).
pub async fn tokens_for(stack: &Devstack, login: &str) -> (String, String) {
    let id_token = stack.mint_id_token(login, Default::default());
    let r1 = leg1_as_agent(stack, &id_token, &[]).await;
    assert_eq!(r1.status, 200, "{}", String::from_utf8_lossy(&r1.body));
    let id_jag = r1.json()["access_token"].as_str().unwrap().to_string();
    let r2 = leg2(stack, &id_jag, &assertion(stack, &leg2_url(stack)), &[]).await;
    assert_eq!(r2.status, 200, "{}", String::from_utf8_lossy(&r2.body));
    (
        id_jag,
        r2.json()["access_token"].as_str().unwrap().to_string(),
    )
}

/// Verify `jwt` (RS256) against a served JWKS; returns (header, claims).
pub fn verify_with_jwks(jwt: &str, jwks: &Value) -> (Header, Value) {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"].as_str() == header.kid.as_deref())
        .expect("kid in JWKS");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(
        jwt,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
        &validation,
    )
    .unwrap();
    (data.header, data.claims)
}
