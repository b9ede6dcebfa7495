//! The OIDC app's sign-in: authorize with PKCE S256, then the code grant.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use devstack::{Config, Devstack};
use std::collections::HashMap;

const REDIRECT: &str = "http://localhost:8765/callback";
/// RFC 7636 Appendix B's published verifier and S256 challenge: devstack is held to
/// the RFC's numbers, not to a formula shared with it.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RFC7636_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize_path(overrides: &[(&str, &str)]) -> String {
    let challenge = RFC7636_CHALLENGE.to_string();
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", "0oadevstackweb"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile email"),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in overrides {
        pairs.retain(|(n, _)| n != name);
        if !value.is_empty() {
            pairs.push((name, value));
        }
    }
    format!("/oauth2/v1/authorize?{}", form(&pairs))
}

/// Query parameters of the redirect `Location`.
fn redirect_params(resp: &Resp) -> HashMap<String, String> {
    assert_eq!(resp.status, 302, "{}", String::from_utf8_lossy(&resp.body));
    let location = resp.header("location").unwrap();
    let (target, query) = location.split_once('?').unwrap();
    assert_eq!(target, REDIRECT);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn code(stack: &Devstack, overrides: &[(&str, &str)]) -> String {
    let params = redirect_params(&get(&stack.okta_base_url(), &authorize_path(overrides)).await);
    assert_eq!(params["state"], "st4te");
    params["code"].clone()
}

async fn redeem(stack: &Devstack, code: &str, verifier: &str) -> Resp {
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "0oadevstackweb:{}",
            stack.config().oidc_client_secret
        ))
    );
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ]);
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", basic.as_str()),
    ];
    request(
        &stack.okta_base_url(),
        "POST",
        "/oauth2/v1/token",
        &headers,
        body.as_bytes(),
    )
    .await
}

#[tokio::test]
async fn code_flow_with_pkce_issues_an_id_token_for_the_oidc_app() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let code = code(&stack, &[]).await;
    let resp = redeem(&stack, &code, VERIFIER).await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let body = resp.json();
    assert_eq!(
        (body["token_type"].as_str(), body["scope"].as_str()),
        (Some("Bearer"), Some("openid profile email"))
    );
    assert!(body["access_token"].is_string() && body["expires_in"].is_number());
    let (header, claims) = verify_with_jwks(body["id_token"].as_str().unwrap(), &stack.org_jwks());
    assert!(header.kid.is_some());
    assert_eq!(claims["iss"], stack.okta_base_url());
    assert_eq!(claims["aud"], "0oadevstackweb");
    assert_eq!(claims["sub"], "00ualice0001");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["preferred_username"], "alice@example.com");
    assert_eq!(claims["name"], "Alice Example");
    assert_eq!(claims["nonce"], "n0nce");
    let stats = stack.stats();
    assert_eq!((stats.authorize, stats.code_grants), (1, 1));
}

#[tokio::test]
async fn login_hint_picks_the_user_and_client_secret_post_works() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let code = code(&stack, &[("login_hint", "bob@example.com")]).await;
    let secret = stack.config().oidc_client_secret.clone();
    let resp = post_form(
        &stack.okta_base_url(),
        "/oauth2/v1/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", "0oadevstackweb"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(resp.status, 200);
    let (_, claims) =
        verify_with_jwks(resp.json()["id_token"].as_str().unwrap(), &stack.org_jwks());
    assert_eq!(claims["sub"], "00ubob000002");
    let params = redirect_params(
        &get(
            &stack.okta_base_url(),
            &authorize_path(&[("login_hint", "mallory@example.com")]),
        )
        .await,
    );
    assert_eq!(params["error"], "access_denied");
}

#[tokio::test]
async fn wrong_verifier_is_refused_and_burns_the_code() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let code = code(&stack, &[]).await;
    let wrong = "x".repeat(43);
    let resp = redeem(&stack, &code, &wrong).await;
    assert_eq!(
        resp.oauth_error(),
        ("invalid_grant".into(), "PKCE verification failed.".into())
    );
    let resp = redeem(&stack, &code, VERIFIER).await;
    assert_eq!(
        (resp.status, resp.oauth_error().0.as_str()),
        (400, "invalid_grant")
    );
}

#[tokio::test]
async fn code_is_single_use() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let code = code(&stack, &[]).await;
    assert_eq!(redeem(&stack, &code, VERIFIER).await.status, 200);
    let resp = redeem(&stack, &code, VERIFIER).await;
    assert_eq!(
        resp.oauth_error(),
        (
            "invalid_grant".into(),
            "The authorization code is invalid or has expired.".into()
        )
    );
}

#[tokio::test]
async fn wrong_client_secret_is_invalid_client() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let code = code(&stack, &[]).await;
    let basic = format!("Basic {}", STANDARD.encode("0oadevstackweb:wrong"));
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]);
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", basic.as_str()),
    ];
    let resp = request(
        &stack.okta_base_url(),
        "POST",
        "/oauth2/v1/token",
        &headers,
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (resp.status, resp.oauth_error().0.as_str()),
        (401, "invalid_client")
    );
}

#[tokio::test]
async fn authorize_refuses_plain_or_missing_pkce_and_other_mistakes() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let base = stack.okta_base_url();
    for (overrides, code, description) in [
        (
            vec![("code_challenge_method", "plain")],
            "invalid_request",
            "S256",
        ),
        (
            vec![("code_challenge_method", "")],
            "invalid_request",
            "S256",
        ),
        (
            vec![("code_challenge", "")],
            "invalid_request",
            "code_challenge is required",
        ),
        (vec![("scope", "profile")], "invalid_scope", "openid"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
            "code",
        ),
    ] {
        let params = redirect_params(&get(&base, &authorize_path(&overrides)).await);
        assert_eq!(params["error"], code, "{overrides:?}");
        assert!(
            params["error_description"].contains(description),
            "{overrides:?}"
        );
        assert_eq!(params["state"], "st4te");
    }
    let params = redirect_params(&get(&base, &authorize_path(&[("state", "")])).await);
    assert_eq!(params["error"], "invalid_request");
    // Never redirect to an unregistered URI or for an unknown client.
    let resp = get(
        &base,
        &authorize_path(&[("redirect_uri", "https://evil.example/callback")]),
    )
    .await;
    assert_eq!((resp.status, resp.header("location")), (400, None));
    let resp = get(&base, &authorize_path(&[("client_id", "0oaother")])).await;
    assert_eq!((resp.status, resp.header("location")), (400, None));
    // A 127.0.0.1 callback on another port is registered too.
    let resp = get(
        &base,
        &authorize_path(&[("redirect_uri", "http://127.0.0.1:49152/callback")]),
    )
    .await;
    assert!(resp
        .header("location")
        .unwrap()
        .starts_with("http://127.0.0.1:49152/callback?code="));
}

#[tokio::test]
async fn code_redeemed_with_another_redirect_uri_is_refused() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let code = code(&stack, &[]).await;
    let secret = stack.config().oidc_client_secret.clone();
    let resp = post_form(
        &stack.okta_base_url(),
        "/oauth2/v1/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:9999/callback"),
            ("code_verifier", VERIFIER),
            ("client_id", "0oadevstackweb"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(resp.oauth_error().0, "invalid_grant");
}
