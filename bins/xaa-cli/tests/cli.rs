//! `xaa token` for each token exchange and `xaa revoke`, the real binary against
//! devstack: what it prints, --reveal, consent (exit code 4, and --wait-for-consent
//! driven through stdin), and that no secret shows without --reveal.

mod support;

use serde_json::Value;
use support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_jag_from_stdin_is_described_and_shown_only_with_reveal_and_redeems() {
    let s = Stack::start().await;
    let id_token = s.id_token();
    let key = s.key_file();
    let args = [
        "token",
        "--grant",
        "id-jag",
        "--scope",
        "xaa:read",
        "--key-file",
        &key,
    ];
    let out = xaa(&args, &s.env(), &format!("{id_token}\n")).await;
    let v = json_of(&out);
    assert_eq!(v["type"], "id-jag");
    assert_eq!(
        v["issued_token_type"],
        "urn:ietf:params:oauth:token-type:id-jag"
    );
    assert_eq!(v["fields"], serde_json::json!(["access_token"]));
    assert_eq!(v["revealed"], false);
    assert!(
        v["expires_in"].as_u64().is_some_and(|s| s > 0 && s <= 300),
        "{v}"
    );
    assert!(v.get("values").is_none());
    assert_hidden(&out, &[&id_token]);

    let mut revealed = args.to_vec();
    revealed.push("--reveal");
    let out = xaa(&revealed, &s.env(), &id_token).await;
    let v = json_of(&out);
    let jag = v["values"]["access_token"].as_str().unwrap();
    assert_eq!(claims(jag)["sub"], "00ualice0001");
    assert_hidden(&out, &[&id_token]);

    // --redeem: the access token of the custom authorization server, as the bridge gets it.
    let mut redeem = revealed.clone();
    redeem.push("--redeem");
    let v = json_of(&xaa(&redeem, &s.env(), &id_token).await);
    assert_eq!(v["type"], "access-token");
    let at = claims(v["values"]["access_token"].as_str().unwrap());
    assert_eq!(at["aud"], s.settings.api_audience);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vaulted_secret_and_service_account_show_names_and_values_only_with_reveal() {
    let s = Stack::start().await;
    let org = s.stack.resolved_org();
    let secret = &org.vaulted_secrets[0];
    let account = &org.service_accounts[0];
    let token_file = s.file("id_token", &s.id_token());
    let key = s.key_file();
    for (grant, kind, names, values) in [
        (
            "vaulted-secret",
            "vaulted_secrets",
            secret.values.keys().cloned().collect::<Vec<_>>(),
            secret.values.clone(),
        ),
        (
            "service-account",
            "service_accounts",
            vec!["username".into(), "password".into()],
            [
                ("username", &account.username),
                ("password", &account.password),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        ),
    ] {
        let resource = s.resource(kind);
        let args = [
            "token",
            "--grant",
            grant,
            "--resource",
            &resource,
            "--subject-token-file",
            &token_file,
            "--key-file",
            &key,
        ];
        let out = xaa(&args, &s.env(), "").await;
        let v = json_of(&out);
        assert_eq!(v["type"], grant);
        assert_eq!(v["fields"], serde_json::json!(names), "{v}");
        let shown: Vec<&str> = values.values().map(String::as_str).collect();
        assert_hidden(&out, &shown);
        let mut args = args.to_vec();
        args.push("--reveal");
        let v = json_of(&xaa(&args, &s.env(), "").await);
        for (name, value) in &values {
            assert_eq!(
                v["values"][name],
                Value::from(value.as_str()),
                "{grant} {name}"
            );
        }
    }
}

/// Read the child's stderr until a line that is a URL; the lines seen are returned too.
async fn consent_url(stderr: &mut BufReader<tokio::process::ChildStderr>) -> (String, String) {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).await.unwrap();
        assert!(n > 0, "xaa ended before printing a consent URL: {seen}");
        seen.push_str(&line);
        if line.starts_with("http") {
            return (line.trim().to_string(), seen);
        }
    }
}

async fn decide(uri: &str, decision: &str) {
    let http = reqwest::Client::new();
    let page = http.get(uri).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let answer = http
        .post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("decision={decision}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_sts_needs_consent_then_succeeds_and_revoke_kills_the_token() {
    let s = Stack::start().await;
    let id_token = s.id_token();
    let key = s.key_file();
    let resource = s.resource("resource_servers");
    let args = [
        "token",
        "--grant",
        "oauth-sts",
        "--resource",
        &resource,
        "--key-file",
        &key,
    ];

    // Without --wait-for-consent: exit 4 and the checked URI as JSON on stdout.
    let out = xaa(&args, &s.env(), &id_token).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"], "ConsentRequired");
    let uri = v["interaction_uri"].as_str().unwrap();
    assert!(uri.starts_with(&s.settings.okta_base_url), "{uri}");
    assert_hidden(&out, &[&id_token]);

    // --wait-for-consent, all through stdin: the token line, then Enter after consenting.
    let mut wait = args.to_vec();
    wait.extend(["--wait-for-consent", "--reveal"]);
    let mut child = command(&wait, &s.env()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{id_token}\n").as_bytes())
        .await
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let (uri, _) = consent_url(&mut err).await;
    assert!(uri.starts_with(&s.settings.okta_base_url), "{uri}");
    decide(&uri, "allow").await;
    stdin.write_all(b"\n").await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    let v = json_of(&out);
    assert_eq!(v["type"], "access-token");
    assert_eq!(
        v["issued_token_type"],
        "urn:okta:params:oauth:token-type:oauth-sts"
    );
    let token = v["values"]["access_token"].as_str().unwrap().to_string();

    // The third-party API takes it; after `xaa revoke` (token on stdin) it does not.
    let me = format!("{}/thirdparty/v1/me", s.settings.okta_base_url);
    let status = |t: String| {
        let me = me.clone();
        async move {
            reqwest::Client::new()
                .get(&me)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(token.clone()).await, 200);
    let out = xaa(&["revoke", "--key-file", &key], &s.env(), &token).await;
    assert_eq!(json_of(&out)["revoked"], true);
    assert_hidden(&out, &[&token]);
    assert_eq!(status(token).await, 401);

    // Consent given once: the same request now succeeds at once.
    assert_eq!(
        json_of(&xaa(&args, &s.env(), &id_token).await)["type"],
        "access-token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_consent_gives_up_at_end_of_input_with_exit_code_4() {
    let s = Stack::start().await;
    let key = s.key_file();
    let resource = s.resource("resource_servers");
    let args = [
        "token",
        "--grant",
        "oauth-sts",
        "--resource",
        &resource,
        "--key-file",
        &key,
        "--wait-for-consent",
    ];
    // The token line, then end of input instead of Enter.
    let out = xaa(&args, &s.env(), &format!("{}\n", s.id_token())).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("giving up"), "{}", stderr(&out));
}
