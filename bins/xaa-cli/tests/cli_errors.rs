//! One exit code per error kind, each provoked for real: devstack refusing (subject
//! token, client, scope, policy, step-up, unknown resource), a local key mismatch, an
//! unreachable org, and a loopback server that answers nonsense or nothing.

mod support;

use std::time::Duration;

use devstack::IdTokenOptions;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devstack_refusals_map_to_their_exit_codes() {
    let s = Stack::start().await;
    let key = s.key_file();
    let vaulted = s.resource("vaulted_secrets");
    let id_token = s.id_token();
    let expired = s.stack.mint_id_token(
        ALICE,
        IdTokenOptions {
            lifetime_secs: -120,
            ..IdTokenOptions::default()
        },
    );
    let run = |args: Vec<String>, env: Vec<(String, String)>, stdin: String| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        xaa(&args, &env, &stdin).await
    };
    let token = |grant: &str, extra: &[&str]| {
        let mut a: Vec<String> = ["token", "--grant", grant, "--key-file", &key]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let cases = [
        (
            "expired subject token",
            token("vaulted-secret", &["--resource", &vaulted]),
            s.env(),
            expired.clone(),
            5,
        ),
        (
            "unknown resource",
            token(
                "vaulted-secret",
                &["--resource", "orn:okta:pam:00odevstackorg1:secrets:nope"],
            ),
            s.env(),
            id_token.clone(),
            10,
        ),
        (
            "unknown scope",
            token("id-jag", &["--scope", "nope:scope"]),
            s.env(),
            id_token.clone(),
            7,
        ),
        (
            "wrong agent client id",
            token("id-jag", &["--scope", "xaa:read"]),
            with(&s.env(), &[("AGENT_CLIENT_ID", "wlpnotanagent")]),
            id_token.clone(),
            6,
        ),
        (
            "key id not the key's",
            token(
                "id-jag",
                &["--scope", "xaa:read", "--key-id", "another-kid"],
            ),
            s.env(),
            id_token.clone(),
            3,
        ),
        (
            "no org",
            token("id-jag", &["--scope", "xaa:read"]),
            vec![],
            id_token.clone(),
            2,
        ),
        (
            "a flag of another grant",
            token("id-jag", &["--scope", "xaa:read", "--resource", "x"]),
            s.env(),
            id_token.clone(),
            2,
        ),
        (
            "system scope",
            token("id-jag", &["--scope", "openid"]),
            s.env(),
            id_token.clone(),
            2,
        ),
        (
            "no subject token",
            token("id-jag", &["--scope", "xaa:read"]),
            s.env(),
            String::new(),
            2,
        ),
    ];
    for (what, args, env, stdin, expected) in cases {
        let out = run(args, env, stdin.clone()).await;
        assert_eq!(code(&out), expected, "{what}: {}", stderr(&out));
        if !stdin.is_empty() {
            assert_hidden(&out, &[&stdin]);
        }
    }

    // Step-up: the sign-in is older than the org allows.
    s.stack.set_max_auth_age(Some(60));
    let old = s.stack.mint_id_token(
        ALICE,
        IdTokenOptions {
            issued_at_offset_secs: -600,
            ..IdTokenOptions::default()
        },
    );
    let out = run(token("id-jag", &["--scope", "xaa:read"]), s.env(), old).await;
    assert_eq!(code(&out), 9, "step-up: {}", stderr(&out));
    s.stack.set_max_auth_age(None);

    // The custom AS policy lacks the JWT bearer grant: leg 2 of --redeem is denied.
    s.stack.set_policy_allows_jwt_bearer(false);
    let out = run(
        token("id-jag", &["--scope", "xaa:read", "--redeem"]),
        s.env(),
        id_token,
    )
    .await;
    assert_eq!(code(&out), 8, "policy: {}", stderr(&out));
}

/// A loopback "org" that answers every request with `reply` (or never, for `None`).
async fn fake_org(reply: Option<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 65536];
                let _ = stream.read(&mut buf).await;
                match reply {
                    Some(body) => {
                        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                        let _ = stream.write_all(head.as_bytes()).await;
                        let _ = stream.write_all(body.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_errors_outages_and_timeouts_have_their_own_codes() {
    let s = Stack::start().await;
    let key = s.key_file();
    let vaulted = s.resource("vaulted_secrets");
    let args = [
        "token",
        "--grant",
        "vaulted-secret",
        "--resource",
        &vaulted,
        "--key-file",
        &key,
        "--timeout",
        "2",
    ];
    let at = |base: &str| with(&s.env(), &[("OKTA_BASE_URL", base)]);

    // A 200 that is not the requested credential.
    let nonsense = fake_org(Some(r#"{"issued_token_type":"urn:okta:params:oauth:token-type:service-account","service_account":{"username":"u","password":"p"}}"#)).await;
    let out = xaa(&args, &at(&nonsense), &s.id_token()).await;
    assert_eq!(code(&out), 12, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("OktaProtocolError"),
        "{}",
        stderr(&out)
    );

    // Nobody listening: OktaUnavailable after the retries.
    let closed = format!("http://127.0.0.1:{}", testkit::free_port());
    let out = xaa(&args, &at(&closed), &s.id_token()).await;
    assert_eq!(code(&out), 11, "{}", stderr(&out));

    // A server that never answers: Timeout within --timeout.
    let silent = fake_org(None).await;
    let started = std::time::Instant::now();
    let out = xaa(&args, &at(&silent), &s.id_token()).await;
    assert_eq!(code(&out), 13, "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(10));
}
