//! `get-id-token --headless` against a running devstack.

use std::process::{Command, Output};

use devstack::{Config, Devstack};
use jsonwebtoken::{jwk::Jwk, Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// Run the binary with a clean Okta/OIDC environment plus `env`.
async fn get_id_token(args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_get-id-token"));
        for name in [
            "OKTA_BASE_URL",
            "OKTA_DOMAIN",
            "OIDC_CLIENT_ID",
            "OIDC_CLIENT_SECRET",
            "CALLBACK_PORT",
            "DISPLAY",
            "WAYLAND_DISPLAY",
        ] {
            cmd.env_remove(name);
        }
        cmd.args(&args)
            .envs(env)
            .output()
            .expect("run get-id-token")
    })
    .await
    .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_sign_in_prints_only_an_id_token_the_org_jwks_verifies() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let settings = stack.settings();
    let output = get_id_token(
        &[
            "--headless",
            "--port",
            "0",
            "--login-hint",
            "bob@example.com",
            "--timeout",
            "60",
        ],
        &[
            ("OKTA_BASE_URL", &settings.okta_base_url),
            ("OIDC_CLIENT_ID", &settings.oidc_client_id),
            ("OIDC_CLIENT_SECRET", &settings.oidc_client_secret),
        ],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "stdout must hold the ID token only"
    );
    let id_token = stdout.trim_end();
    assert!(
        !stderr(&output).contains(id_token),
        "the token leaked to stderr"
    );

    let jwks = stack.org_jwks();
    let kid = jsonwebtoken::decode_header(id_token).unwrap().kid.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid in the org JWKS");
    let key = DecodingKey::from_jwk(&serde_json::from_value::<Jwk>(jwk.clone()).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[settings.oidc_client_id.as_str()]);
    validation.set_issuer(&[settings.okta_base_url.as_str()]);
    let claims = jsonwebtoken::decode::<Value>(id_token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "00ubob000002");
    assert!(claims["nonce"].is_string());
    let stats = stack.stats();
    assert_eq!((stats.authorize, stats.code_grants), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_client_secret_is_a_one_line_error_naming_the_variable() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let base = stack.okta_base_url();
    let output = get_id_token(
        &["--headless", "--port", "0"],
        &[
            ("OKTA_BASE_URL", &base),
            ("OIDC_CLIENT_ID", "0oadevstackweb"),
            ("OIDC_CLIENT_SECRET", "wrong"),
        ],
    )
    .await;
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let err = stderr(&output);
    assert!(
        err.contains("invalid_client") && err.contains("OIDC_CLIENT_SECRET"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_settings_and_plain_http_to_a_remote_host_are_refused() {
    let output = get_id_token(
        &["--headless"],
        &[
            ("OKTA_BASE_URL", "http://127.0.0.1:9"),
            ("OIDC_CLIENT_SECRET", "x"),
        ],
    )
    .await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("OIDC_CLIENT_ID is not set"),
        "{}",
        stderr(&output)
    );
    let output = get_id_token(&[], &[("OIDC_CLIENT_ID", "x"), ("OIDC_CLIENT_SECRET", "x")]).await;
    assert!(
        stderr(&output).contains("OKTA_DOMAIN"),
        "{}",
        stderr(&output)
    );
    let output = get_id_token(
        &[],
        &[
            ("OKTA_BASE_URL", "http://okta.example.com"),
            ("OIDC_CLIENT_ID", "x"),
            ("OIDC_CLIENT_SECRET", "x"),
        ],
    )
    .await;
    assert!(
        stderr(&output).contains("must use https"),
        "{}",
        stderr(&output)
    );
}

#[cfg(not(target_os = "macos"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_callback_it_times_out_cleanly() {
    let output = get_id_token(
        &["--port", "0", "--timeout", "1"],
        &[
            ("OKTA_BASE_URL", "http://127.0.0.1:9"),
            ("OIDC_CLIENT_ID", "x"),
            ("OIDC_CLIENT_SECRET", "x"),
        ],
    )
    .await;
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let err = stderr(&output);
    assert!(err.contains("timed out after 1 s"), "{err}");
    // Not a terminal: the URL (state, nonce, login hint) stays out of the output.
    assert!(
        !err.contains("/oauth2/v1/authorize?") && !err.contains("state="),
        "{err}"
    );
    assert!(err.contains("--print-url"), "{err}");
    let output = get_id_token(
        &[
            "--port",
            "0",
            "--timeout",
            "1",
            "--print-url",
            "--login-hint",
            "carol@example.com",
        ],
        &[
            ("OKTA_BASE_URL", "http://127.0.0.1:9"),
            ("OIDC_CLIENT_ID", "x"),
            ("OIDC_CLIENT_SECRET", "x"),
        ],
    )
    .await;
    assert!(
        stderr(&output).contains("/oauth2/v1/authorize?"),
        "shown when asked"
    );
}
