//! Every way a token can fail, from the tool's point of view: the answer is a FAILURE
//! (OpenAPI: 401 or 403 with a JSON error body) naming the reason code, the API is never
//! called, and the audit line says who was refused and why, with no token in sight.

mod common;

use common::*;
use devstack::AccessTokenOptions;
use serde_json::{json, Value};

/// Both kinds of event with `token` placed by `place`, refused with `code`: FAILURE and
/// `status` and no call.
async fn assert_refused(stack: &Stack, event: Value, code: &str, status: u64) {
    let response = stack.answer(&event).await;
    if event.get("function").is_some() {
        let (state, text) = function_result(&response);
        assert_eq!(state, Some("FAILURE"), "{code}: {text}");
        assert!(text.contains(code), "{code}: {text}");
    } else {
        let (got, body) = openapi_result(&response);
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    stack.api.assert_no_call(code);
}

fn both(token: Option<&str>) -> [Value; 2] {
    [
        function_event("getTicket", &[("id", "string", "TCK-1001")], token),
        openapi_event(
            "GET",
            "/tickets/{id}",
            &[("id", "string", "TCK-1001")],
            None,
            token,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_class_is_a_failure_with_its_code_and_no_call() {
    let stack = Stack::start(&[], &[]).await;
    let alice = "alice@example.com";
    let expired = stack.token(
        alice,
        AccessTokenOptions {
            lifetime_secs: 600,
            issued_at_offset_secs: -7200,
            ..AccessTokenOptions::default()
        },
    );
    let wrong_aud = stack.token(
        alice,
        AccessTokenOptions {
            audience: Some("api://another-api".into()),
            ..AccessTokenOptions::default()
        },
    );
    let other_client = stack.token(
        alice,
        AccessTokenOptions {
            client_id: Some("wlpsomeotheragent".into()),
            ..AccessTokenOptions::default()
        },
    );
    let no_scope = stack.token(
        alice,
        AccessTokenOptions {
            scopes: Some(vec!["other:scope".into()]),
            ..AccessTokenOptions::default()
        },
    );
    let id_token = stack.id_token(alice);
    let cases: Vec<(Option<&str>, &str, u64)> = vec![
        (None, "token_missing", 401),
        (Some(""), "token_missing", 401),
        (Some("not-a-jwt"), "token_malformed", 401),
        (Some(&expired), "expired", 401),
        (Some(&wrong_aud), "wrong_audience", 401),
        (Some(&other_client), "client_not_allowed", 403),
        (Some(&no_scope), "scope_missing", 403),
    ];
    for (token, code, status) in cases {
        for event in both(token) {
            assert_refused(&stack, event, code, status).await;
        }
    }
    // An ID token where an access token belongs: signed by the org server, whose key
    // the custom server's JWKS does not hold, so it is refused before its claims are read.
    for event in both(Some(&id_token)) {
        assert_refused(&stack, event, "unknown_kid", 401).await;
    }
    let lines = stack.audit_lines();
    assert_eq!(lines.len(), 8 * 2, "one audit line per decision");
    for line in &lines {
        assert_eq!(line["outcome"], "refused", "{line}");
        assert!(
            line["agent"].is_null() && line["person"].is_null() && line["jti_hash"].is_null(),
            "{line}"
        );
        assert_eq!(line["bedrock_agent"], "DEVAGENT01");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_only_in_prompt_session_attributes_is_never_used() {
    let stack = Stack::start(&[], &[]).await;
    let token = stack.alice();
    for mut event in both(None) {
        event["promptSessionAttributes"] = json!({"oktaAccessToken": token});
        assert_refused(&stack, event, "token_in_prompt_attributes", 401).await;
    }
    // Beside a good one in sessionAttributes, a bad one there changes nothing.
    let mut event = function_event("getTicket", &[("id", "string", "1")], Some(&token));
    event["promptSessionAttributes"] = json!({"oktaAccessToken": "garbage"});
    assert_eq!(function_result(&stack.answer(&event).await).0, None);
    assert_eq!(
        stack.api.take_one().authorization.unwrap(),
        format!("Bearer {token}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_token_attribute_is_the_only_place_read() {
    let stack = Stack::start(&[("TOOL_TOKEN_ATTRIBUTE", "personToken")], &[]).await;
    let token = stack.alice();
    // Under the default name: missing.
    assert_refused(&stack, both(Some(&token))[0].clone(), "token_missing", 401).await;
    let mut event = function_event("getTicket", &[("id", "string", "1")], None);
    event["sessionAttributes"]["personToken"] = json!(token);
    assert_eq!(function_result(&stack.answer(&event).await).0, None);
    stack.api.take_one();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agbac_mode_takes_the_agent_from_sub_and_the_person_from_act() {
    let stack = Stack::start(&[("TOOL_SUBJECTS", "agbac")], &[]).await;
    let agbac = stack.token(
        "alice@example.com",
        AccessTokenOptions {
            agbac: true,
            ..AccessTokenOptions::default()
        },
    );
    let event = function_event("getTicket", &[("id", "string", "1")], Some(&agbac));
    assert_eq!(function_result(&stack.answer(&event).await).0, None);
    assert_eq!(
        stack.api.take_one().authorization.unwrap(),
        format!("Bearer {agbac}")
    );
    let line = stack.audit_lines().pop().expect("an audit line");
    assert_eq!(
        (line["agent"].as_str(), line["person"].as_str()),
        (Some(AGENT), Some("00ualice0001"))
    );
    assert_eq!(line["outcome"], "allowed");
    // A Cross App Access token (no `act`) is not an AGBAC token.
    let xaa = stack.alice();
    let response = stack
        .answer(&function_event(
            "getTicket",
            &[("id", "string", "1")],
            Some(&xaa),
        ))
        .await;
    let (state, text) = function_result(&response);
    assert_eq!(state, Some("FAILURE"), "{text}");
    assert!(
        text.contains("person_missing") || text.contains("subjects_mismatch"),
        "{text}"
    );
    stack.api.assert_no_call("an XAA token in AGBAC mode");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xaa_mode_refuses_an_agbac_token() {
    let stack = Stack::start(&[], &[]).await;
    let agbac = stack.token(
        "bob@example.com",
        AccessTokenOptions {
            agbac: true,
            ..AccessTokenOptions::default()
        },
    );
    let response = stack
        .answer(&function_event(
            "getTicket",
            &[("id", "string", "1")],
            Some(&agbac),
        ))
        .await;
    let (state, text) = function_result(&response);
    assert_eq!(state, Some("FAILURE"), "{text}");
    assert!(text.contains("person_missing"), "{text}");
    stack.api.assert_no_call("an AGBAC token in XAA mode");
}
