//! `xaa token --grant client-credentials` with every client authentication method
//! against devstack's service apps, the `act` claim copied into the access token, and
//! secrets read from files or (through moto) from Secrets Manager, never from argv.

mod support;

use support::*;
use testkit::Moto;

fn cc<'a>(method: &'a str, client: &'a str) -> Vec<&'a str> {
    vec![
        "token",
        "--grant",
        "client-credentials",
        "--auth-method",
        method,
        "--client-id",
        client,
        "--scope",
        "xaa:read",
        "--reveal",
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_auth_method_gets_a_token_and_act_is_copied() {
    let s = Stack::start().await;
    let basic = s.m2m("0oadevstackm2m");
    let secret_file = basic["client_secret_file"].as_str().unwrap();
    let secret = s.stack.m2m_client_secret("0oadevstackm2m").unwrap();
    for method in ["client_secret_basic", "client_secret_post"] {
        let mut args = cc(method, "0oadevstackm2m");
        args.extend(["--client-secret-file", secret_file]);
        let out = xaa(&args, &s.env(), "").await;
        let v = json_of(&out);
        assert_eq!(v["type"], "access-token", "{method}");
        assert_eq!(v["scope"], "xaa:read");
        let at = claims(v["values"]["access_token"].as_str().unwrap());
        assert_eq!(at["sub"], "0oadevstackm2m", "{method}");
        assert_hidden(&out, &[&secret]);
    }

    // client_secret_jwt (HS256) with the AGBAC act claim.
    let agbac = s.m2m("0oadevstackagbac");
    let mut args = cc("client_secret_jwt", "0oadevstackagbac");
    args.extend([
        "--client-secret-file",
        agbac["client_secret_file"].as_str().unwrap(),
    ]);
    args.extend(["--act-sub", "00ualice0001"]);
    let v = json_of(&xaa(&args, &s.env(), "").await);
    let at = claims(v["values"]["access_token"].as_str().unwrap());
    assert_eq!(at["sub"], "0oadevstackagbac");
    assert_eq!(at["act"]["sub"], "00ualice0001");

    // private_key_jwt with the service app's own key and kid.
    let keyed = s.m2m("0oadevstackm2mkey");
    let mut args = cc("private_key_jwt", "0oadevstackm2mkey");
    args.extend(["--key-file", keyed["key_file"].as_str().unwrap()]);
    args.extend([
        "--key-id",
        "0oadevstackm2mkey-key",
        "--act-sub",
        "00ubob000002",
    ]);
    let v = json_of(&xaa(&args, &s.env(), "").await);
    let at = claims(v["values"]["access_token"].as_str().unwrap());
    assert_eq!(
        (at["sub"].as_str(), at["act"]["sub"].as_str()),
        (Some("0oadevstackm2mkey"), Some("00ubob000002"))
    );

    // Without --reveal, the token is not printed.
    let mut args = cc("client_secret_basic", "0oadevstackm2m");
    args.retain(|a| *a != "--reveal");
    args.extend(["--client-secret-file", secret_file]);
    let v = json_of(&xaa(&args, &s.env(), "").await);
    assert!(v.get("values").is_none() && v["revealed"] == false, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_failures_have_their_exit_codes_and_hide_the_secret() {
    let s = Stack::start().await;
    let secret = s.stack.m2m_client_secret("0oadevstackm2m").unwrap();
    let wrong = s.file("wrong.secret", "not-the-secret-of-this-client-0123456789");
    let mut args = cc("client_secret_basic", "0oadevstackm2m");
    args.extend(["--client-secret-file", &wrong]);
    let out = xaa(&args, &s.env(), "").await;
    assert_eq!(code(&out), 6, "AgentAuthFailed: {}", stderr(&out));
    assert_hidden(&out, &["not-the-secret-of-this-client-0123456789"]);

    let good = s.m2m("0oadevstackm2m");
    let file = good["client_secret_file"].as_str().unwrap();
    let mut args = cc("client_secret_basic", "0oadevstackm2m");
    let scope = args.iter().position(|a| *a == "xaa:read").unwrap();
    args[scope] = "nope:scope";
    args.extend(["--client-secret-file", file]);
    let out = xaa(&args, &s.env(), "").await;
    assert_eq!(code(&out), 7, "ScopeRejected: {}", stderr(&out));

    // No secret source at all, or one on the command line: usage errors (2).
    let out = xaa(&cc("client_secret_post", "0oadevstackm2m"), &s.env(), "").await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--client-secret-file"),
        "{}",
        stderr(&out)
    );
    let mut args = cc("client_secret_post", "0oadevstackm2m");
    let on_argv = format!("--client-secret={secret}");
    args.push(&on_argv);
    let out = xaa(&args, &s.env(), "").await;
    assert_eq!(code(&out), 2);
    assert_hidden(&out, &[&secret]);
    // act needs an assertion.
    let mut args = cc("client_secret_basic", "0oadevstackm2m");
    args.extend(["--client-secret-file", file, "--act-sub", "00u1"]);
    assert_eq!(code(&xaa(&args, &s.env(), "").await), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_and_the_client_secret_come_from_secrets_manager() {
    let moto = Moto::start();
    let s = Stack::start().await;
    let secret = s.stack.m2m_client_secret("0oadevstackagbac").unwrap();
    moto.put_secret("m2m/agbac", &format!("{secret}\n")).await;
    moto.put_secret("agent/key", &s.stack.agent_private_jwk().to_string())
        .await;
    let aws = [
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let env = with(
        &with(&s.env(), &aws),
        &[("CLIENT_SECRET_SECRET_ID", "m2m/agbac")],
    );
    let v = json_of(&xaa(&cc("client_secret_jwt", "0oadevstackagbac"), &env, "").await);
    assert_eq!(
        claims(v["values"]["access_token"].as_str().unwrap())["sub"],
        "0oadevstackagbac"
    );

    // The agent's key from AGENT_PRIVATE_KEY_SECRET_ID, as the Lambda reads it.
    let env = with(
        &with(&s.env(), &aws),
        &[("AGENT_PRIVATE_KEY_SECRET_ID", "agent/key")],
    );
    let resource = s.resource("vaulted_secrets");
    let args = [
        "token",
        "--grant",
        "vaulted-secret",
        "--resource",
        &resource,
    ];
    assert_eq!(
        json_of(&xaa(&args, &env, &s.id_token()).await)["type"],
        "vaulted-secret"
    );

    // A secret that does not exist: KeyError (3), naming the variable to fix.
    let env = with(
        &with(&s.env(), &aws),
        &[("CLIENT_SECRET_SECRET_ID", "m2m/missing")],
    );
    let out = xaa(&cc("client_secret_basic", "0oadevstackm2m"), &env, "").await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("CLIENT_SECRET_SECRET_ID"),
        "{}",
        stderr(&out)
    );
}
