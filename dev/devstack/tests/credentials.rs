//! Token exchange for a vaulted secret, a service account and a third-party token at the
//! stand-in: each success and each of Okta's checks (resource connection, subject token,
//! client), machine access, one-time consent per person, revoke.

mod common;

use common::*;
use devstack::{Config, Devstack, IdTokenOptions, OrgConfig};
use serde_json::{json, Value};

const VAULTED: &str = "urn:okta:params:oauth:token-type:vaulted-secret";
const ACCOUNT: &str = "urn:okta:params:oauth:token-type:service-account";
const STS: &str = "urn:okta:params:oauth:token-type:oauth-sts";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The built-in connections, written out from the documented ORN shapes.
const SECRET_ORN: &str =
    "orn:okta:pam:00odevstackorg1:secrets:5b1f4e0c-8a52-4c1e-9f53-2f7e3c0a9d11";
const ACCOUNT_ORN: &str = "orn:okta:pam:00odevstackorg1:apps:salesforce:0oadevstacksfdc:service_accounts:c0a8e1d2-3b4f-4a5e-8c6d-7e8f9a0b1c2d";
const TASKS: &str = "https://api.tasks.example";

async fn stack_with(org: OrgConfig) -> Devstack {
    Devstack::start(Config {
        org,
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

/// A token exchange as the AI agent for `requested`/`resource` with an ID token subject,
/// `overrides` replacing (or, empty, removing) parameters.
async fn exchange(
    stack: &Devstack,
    subject: &str,
    requested: &str,
    resource: &str,
    overrides: &[(&str, &str)],
) -> Resp {
    let assertion = assertion(stack, &leg1_url(stack));
    let mut pairs = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("requested_token_type", requested),
        ("subject_token", subject),
        ("subject_token_type", ID_TOKEN),
        ("resource", resource),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion.as_str()),
    ];
    for (name, value) in overrides {
        pairs.retain(|(n, _)| n != name);
        if !value.is_empty() {
            pairs.push((name, value));
        }
    }
    post_form(&stack.okta_base_url(), "/oauth2/v1/token", &pairs).await
}

fn id_token(stack: &Devstack, login: &str) -> String {
    stack.mint_id_token(login, IdTokenOptions::default())
}

#[tokio::test]
async fn vaulted_secret_and_service_account_are_issued_for_a_signed_in_person() {
    let stack = stack_with(OrgConfig::default()).await;
    let alice = id_token(&stack, "alice@example.com");
    let shown = stack.settings().credentials;
    assert_eq!(shown.vaulted_secrets[0]["resource"], SECRET_ORN);
    assert_eq!(shown.service_accounts[0]["resource"], ACCOUNT_ORN);
    let org = stack.resolved_org();

    let resp = exchange(&stack, &alice, VAULTED, SECRET_ORN, &[]).await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let body = resp.json();
    assert_eq!(body["issued_token_type"], VAULTED);
    assert_eq!(body["token_type"], "N_A");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["vaulted_secret"], json!(org.vaulted_secrets[0].values));
    let password = body["vaulted_secret"]["password"].as_str().unwrap();
    assert!(
        password.len() >= 24,
        "an empty configured value becomes random"
    );
    assert!(body.get("access_token").is_none());

    let resp = exchange(&stack, &alice, ACCOUNT, ACCOUNT_ORN, &[]).await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let body = resp.json();
    assert_eq!(body["issued_token_type"], ACCOUNT);
    assert_eq!(body["token_type"], "N_A");
    assert_eq!(body["service_account"]["username"], "agent-svc@example.com");
    assert_eq!(
        body["service_account"]["password"].as_str(),
        Some(org.service_accounts[0].password.as_str())
    );
    // The secrets never reach the settings a CLI user sees.
    let settings = serde_json::to_string(&stack.settings()).unwrap();
    assert!(!settings.contains(password));
    assert!(!settings.contains(&org.service_accounts[0].password));
}

#[tokio::test]
async fn resource_must_be_a_connection_of_the_agent_for_that_kind() {
    let mut org = OrgConfig::default();
    let mut off = org.vaulted_secrets[0].clone();
    off.id = "0f0e0d0c-0b0a-4908-8706-050403020100".into();
    off.connected = false;
    org.vaulted_secrets.push(off);
    let stack = stack_with(org).await;
    let alice = id_token(&stack, "alice@example.com");
    let unconnected = "orn:okta:pam:00odevstackorg1:secrets:0f0e0d0c-0b0a-4908-8706-050403020100";
    let cases = [
        (
            VAULTED,
            "orn:okta:pam:00odevstackorg1:secrets:00000000-0000-4000-8000-000000000000",
        ),
        (VAULTED, unconnected),
        (VAULTED, ACCOUNT_ORN),
        (ACCOUNT, SECRET_ORN),
        (
            VAULTED,
            &SECRET_ORN.replace("00odevstackorg1", "00oanotherorg1"),
        ),
        (STS, "https://api.tasks.example/"),
        (STS, SECRET_ORN),
    ];
    for (requested, resource) in cases {
        let resp = exchange(&stack, &alice, requested, resource, &[]).await;
        expect_error(&resp, 400, "invalid_target", "not a managed connection");
    }
    let resp = exchange(&stack, &alice, VAULTED, "", &[]).await;
    expect_error(&resp, 400, "invalid_request", "'resource'");
    let resp = exchange(
        &stack,
        &alice,
        "urn:okta:params:oauth:token-type:other",
        SECRET_ORN,
        &[],
    )
    .await;
    expect_error(&resp, 400, "invalid_request", "requested_token_type");
}

#[tokio::test]
async fn subject_token_must_be_valid_and_for_the_linked_app() {
    let stack = stack_with(OrgConfig::default()).await;
    let other_app = stack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            audience: Some("0oasomeotherapp".into()),
            ..Default::default()
        },
    );
    let expired = stack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            lifetime_secs: -10,
            ..Default::default()
        },
    );
    let alice = id_token(&stack, "alice@example.com");
    let mut tampered = alice.clone();
    tampered.truncate(alice.len() - 4);
    tampered.push_str("AAAA");
    for (subject, description) in [
        (other_app.as_str(), "not linked to this AI agent"),
        (expired.as_str(), "expired"),
        (tampered.as_str(), "The subject token is invalid."),
        ("not-a-jwt", "The subject token is invalid."),
    ] {
        let resp = exchange(&stack, subject, VAULTED, SECRET_ORN, &[]).await;
        expect_error(&resp, 400, "invalid_grant", description);
    }
    // An ID token is not an access token of the custom AS.
    let resp = exchange(
        &stack,
        &alice,
        VAULTED,
        SECRET_ORN,
        &[("subject_token_type", ACCESS_TOKEN)],
    )
    .await;
    expect_error(&resp, 400, "invalid_grant", "The subject token is invalid.");
    let saml = "urn:ietf:params:oauth:token-type:saml2";
    let resp = exchange(
        &stack,
        &alice,
        VAULTED,
        SECRET_ORN,
        &[("subject_token_type", saml)],
    )
    .await;
    expect_error(&resp, 400, "invalid_request", "subject_token_type");
    let resp = exchange(
        &stack,
        &alice,
        VAULTED,
        SECRET_ORN,
        &[("subject_token", "")],
    )
    .await;
    expect_error(&resp, 400, "invalid_request", "'subject_token'");
}

#[tokio::test]
async fn only_the_ai_agent_may_exchange() {
    let stack = stack_with(OrgConfig::default()).await;
    let alice = id_token(&stack, "alice@example.com");
    // The service app with a generated key authenticates fine, but is no AI agent.
    let client = "0oadevstackm2mkey";
    let key = stack.m2m_encoding_key(client).unwrap();
    let claims = json!({"iss": client, "sub": client, "aud": leg1_url(&stack), "iat": now(), "exp": now() + 300, "jti": uuid::Uuid::new_v4().to_string()});
    let jwt = sign_rs256(&key, Some("0oadevstackm2mkey-key"), &claims);
    let resp = exchange(
        &stack,
        &alice,
        VAULTED,
        SECRET_ORN,
        &[("client_assertion", &jwt)],
    )
    .await;
    expect_error(
        &resp,
        400,
        "token_exchange_invalid_audience",
        "not an AI agent",
    );
    // An unknown client, and an assertion for another endpoint.
    let mut claims = assertion_claims(&stack, &leg1_url(&stack));
    claims["iss"] = json!("0oanobody");
    claims["sub"] = json!("0oanobody");
    let jwt = sign_rs256(&agent_key(&stack), Some("devstack-agent-key"), &claims);
    let resp = exchange(
        &stack,
        &alice,
        VAULTED,
        SECRET_ORN,
        &[("client_assertion", &jwt)],
    )
    .await;
    expect_error(&resp, 401, "invalid_client", "Client authentication failed");
    let wrong_aud = assertion(&stack, &leg2_url(&stack));
    let resp = exchange(
        &stack,
        &alice,
        STS,
        TASKS,
        &[("client_assertion", &wrong_aud)],
    )
    .await;
    expect_error(&resp, 401, "invalid_client", "must be the endpoint invoked");
}

/// A client-credentials token of the built-in `client_secret_basic` service app.
async fn machine_token(stack: &Devstack) -> String {
    let secret = stack.m2m_client_secret("0oadevstackm2m").unwrap();
    let basic = base64_basic("0oadevstackm2m", &secret);
    let body = form(&[("grant_type", "client_credentials"), ("scope", "xaa:read")]);
    let resp = request(
        &stack.okta_base_url(),
        "POST",
        &leg2_path(stack),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &basic),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    resp.json()["access_token"].as_str().unwrap().to_string()
}

fn base64_basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

#[tokio::test]
async fn machine_access_takes_an_access_token_that_targets_the_agent() {
    let stack = stack_with(OrgConfig::default()).await;
    let machine = machine_token(&stack).await;
    let over = [("subject_token_type", ACCESS_TOKEN)];
    let resp = exchange(&stack, &machine, VAULTED, SECRET_ORN, &over).await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.json()["issued_token_type"], VAULTED);
    // ID-JAG for the service app, then leg 2: an access token with sub = cid, no uid.
    let audience = stack.custom_as_issuer();
    let resp = exchange(
        &stack,
        &machine,
        devstack::token::ID_JAG,
        "",
        &[
            ("subject_token_type", ACCESS_TOKEN),
            ("audience", &audience),
            ("scope", "xaa:read"),
        ],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let id_jag = resp.json()["access_token"].as_str().unwrap().to_string();
    let (_, claims) = verify_with_jwks(&id_jag, &stack.org_jwks());
    assert_eq!(claims["sub"], "0oadevstackm2m");
    let resp = leg2(&stack, &id_jag, &assertion(&stack, &leg2_url(&stack)), &[]).await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let (_, claims) = verify_with_jwks(
        resp.json()["access_token"].as_str().unwrap(),
        &stack.custom_as_jwks(),
    );
    assert_eq!(
        (claims["sub"].as_str(), claims["uid"].as_str()),
        (Some("0oadevstackm2m"), None)
    );

    // The same kind of token, when the agent's resource URL is another one, is refused.
    let stack = stack_with(OrgConfig {
        agent_resource_url: "https://agent.example/resource".into(),
        ..OrgConfig::default()
    })
    .await;
    let machine = machine_token(&stack).await;
    let resp = exchange(&stack, &machine, VAULTED, SECRET_ORN, &over).await;
    expect_error(&resp, 400, "invalid_grant", "does not target this AI agent");
}

/// `(interaction_uri path, full response)` of an `interaction_required` answer.
fn interaction_path(stack: &Devstack, resp: &Resp) -> String {
    let (error, _) = resp.oauth_error();
    assert_eq!((resp.status, error.as_str()), (400, "interaction_required"));
    let uri = resp.json()["interaction_uri"].as_str().unwrap().to_string();
    uri.strip_prefix(&stack.okta_base_url())
        .expect("interaction_uri on the org")
        .to_string()
}

async fn consent(stack: &Devstack, path: &str, decision: &str) -> Resp {
    post_form(&stack.okta_base_url(), path, &[("decision", decision)]).await
}

async fn third_party_me(stack: &Devstack, token: &str) -> Resp {
    let bearer = format!("Bearer {token}");
    request(
        &stack.okta_base_url(),
        "GET",
        "/thirdparty/v1/me",
        &[("Authorization", &bearer)],
        b"",
    )
    .await
}

#[tokio::test]
async fn third_party_token_needs_consent_once_per_person() {
    let stack = stack_with(OrgConfig::default()).await;
    let alice = id_token(&stack, "alice@example.com");
    let first = exchange(&stack, &alice, STS, TASKS, &[]).await;
    let path = interaction_path(&stack, &first);
    // The ticket rides in the query: the request log shows paths only.
    assert!(path.starts_with("/oauth2/v1/sts/consent?ticket="), "{path}");
    assert!(first.oauth_error().1.contains("consent"));
    assert!(!stack.has_consented("00ualice0001", TASKS));

    let page = get(&stack.okta_base_url(), &path).await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let html = String::from_utf8(page.body.clone()).unwrap();
    for expected in [
        "Alice Example",
        "Tasks",
        TASKS,
        "tasks:read",
        "decision",
        "allow",
    ] {
        assert!(html.contains(expected), "page lacks {expected}");
    }
    assert_eq!(consent(&stack, &path, "allow").await.status, 200);
    assert!(stack.has_consented("00ualice0001", TASKS));
    // The link is single use.
    assert_eq!(consent(&stack, &path, "allow").await.status, 404);
    assert_eq!(get(&stack.okta_base_url(), &path).await.status, 404);

    let resp = exchange(&stack, &alice, STS, TASKS, &[]).await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let body = resp.json();
    assert_eq!(
        (
            body["issued_token_type"].as_str(),
            body["token_type"].as_str(),
            body["expires_in"].as_i64(),
            body["scope"].as_str()
        ),
        (Some(STS), Some("Bearer"), Some(3600), Some("tasks:read"))
    );
    let token = body["access_token"].as_str().unwrap();
    let me = third_party_me(&stack, token).await;
    assert_eq!(me.status, 200);
    assert_eq!(
        me.json(),
        json!({"subject": "00ualice0001", "resource": TASKS, "scope": "tasks:read"})
    );
    // Once is enough for alice; bob is asked, and a denial leaves him asked again.
    assert_eq!(exchange(&stack, &alice, STS, TASKS, &[]).await.status, 200);
    let bob = id_token(&stack, "bob@example.com");
    let path = interaction_path(&stack, &exchange(&stack, &bob, STS, TASKS, &[]).await);
    assert_eq!(consent(&stack, &path, "deny").await.status, 200);
    interaction_path(&stack, &exchange(&stack, &bob, STS, TASKS, &[]).await);
    // A scope beyond the connection's, and a withdrawn consent.
    let resp = exchange(&stack, &alice, STS, TASKS, &[("scope", "tasks:write")]).await;
    expect_error(
        &resp,
        400,
        "invalid_scope",
        "not configured for the resource",
    );
    stack.withdraw_consent("00ualice0001", TASKS);
    interaction_path(&stack, &exchange(&stack, &alice, STS, TASKS, &[]).await);
    // Garbage decisions and tickets.
    let resp = consent(&stack, "/oauth2/v1/sts/consent?ticket=nope", "allow").await;
    assert_eq!(resp.status, 404);
    let path = interaction_path(&stack, &exchange(&stack, &alice, STS, TASKS, &[]).await);
    assert_eq!(consent(&stack, &path, "maybe").await.status, 400);
}

#[tokio::test]
async fn consent_page_escapes_configured_names() {
    let mut org = OrgConfig::default();
    org.resource_servers[0].name = "<script>alert(1)</script>".into();
    let stack = stack_with(org).await;
    let alice = id_token(&stack, "alice@example.com");
    let path = interaction_path(&stack, &exchange(&stack, &alice, STS, TASKS, &[]).await);
    let html = String::from_utf8(get(&stack.okta_base_url(), &path).await.body).unwrap();
    assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
}

async fn revoke(stack: &Devstack, assertion: &str, pairs: &[(&str, &str)]) -> Resp {
    let mut all = vec![
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    all.extend_from_slice(pairs);
    post_form(&stack.okta_base_url(), "/oauth2/v1/revoke", &all).await
}

#[tokio::test]
async fn revoke_ends_a_third_party_token() {
    let stack = stack_with(OrgConfig::default()).await;
    let alice = id_token(&stack, "alice@example.com");
    let path = interaction_path(&stack, &exchange(&stack, &alice, STS, TASKS, &[]).await);
    consent(&stack, &path, "allow").await;
    let token: Value = exchange(&stack, &alice, STS, TASKS, &[]).await.json();
    let token = token["access_token"].as_str().unwrap();
    let revoke_url = format!("http://{}/oauth2/v1/revoke", stack.okta_addr());
    let sts = [("token", token), ("token_type_hint", "oauth_sts")];

    // Wrong audience (the token URL), unknown hint, no token: refused, token still live.
    let resp = revoke(&stack, &assertion(&stack, &leg1_url(&stack)), &sts).await;
    expect_error(&resp, 401, "invalid_client", "must be the endpoint invoked");
    let resp = revoke(
        &stack,
        &assertion(&stack, &revoke_url),
        &[("token", token), ("token_type_hint", "id_token")],
    )
    .await;
    expect_error(&resp, 400, "unsupported_token_type", "oauth_sts");
    let resp = revoke(
        &stack,
        &assertion(&stack, &revoke_url),
        &[("token_type_hint", "oauth_sts")],
    )
    .await;
    expect_error(&resp, 400, "invalid_request", "'token'");
    assert_eq!(third_party_me(&stack, token).await.status, 200);

    let once = assertion(&stack, &revoke_url);
    let resp = revoke(&stack, &once, &sts).await;
    assert_eq!((resp.status, resp.body.len()), (200, 0));
    let me = third_party_me(&stack, token).await;
    assert_eq!(me.status, 401);
    assert_eq!(
        me.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    // The assertion is single use; an unknown token still answers 200 (RFC 7009).
    let resp = revoke(&stack, &once, &sts).await;
    expect_error(&resp, 401, "invalid_client", "jti has already been used");
    let resp = revoke(
        &stack,
        &assertion(&stack, &revoke_url),
        &[("token", "sts_unknown"), ("token_type_hint", "oauth_sts")],
    )
    .await;
    assert_eq!(resp.status, 200);
    // Consent outlives the token: a new exchange succeeds without asking again.
    assert_eq!(exchange(&stack, &alice, STS, TASKS, &[]).await.status, 200);
    assert_eq!(
        get(&stack.okta_base_url(), "/oauth2/v1/revoke")
            .await
            .status,
        405
    );
}
