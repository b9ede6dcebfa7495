//! The real `xaa-tool` binary with a good token: the exact API calls it makes for both
//! kinds of action group, how parameters are encoded (path traversal included), what it
//! answers for every kind of API reply, and the client context the loop must survive.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use devstack::runtime_api::Outcome;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_is_called_as_the_person_with_exactly_the_right_request() {
    let stack = Stack::start(&[], &[]).await;
    let token = stack.alice();
    let event = function_event("getTicket", &[("id", "string", "TCK-1001")], Some(&token));
    let response = stack.answer(&event).await;
    let call = stack.api.take_one();
    assert_eq!(call.method, "GET");
    assert_eq!(call.target, "/api/tickets/TCK-1001");
    assert_eq!(
        call.authorization.as_deref(),
        Some(format!("Bearer {token}").as_str())
    );
    assert_eq!(call.body, "");
    assert_eq!(response["messageVersion"], "1.0");
    assert_eq!(response["response"]["actionGroup"], "tickets");
    assert_eq!(response["response"]["function"], "getTicket");
    let (state, body) = function_result(&response);
    assert_eq!(state, None, "a success has no responseState");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["path"], "/api/tickets/TCK-1001");
    assert!(
        response.get("sessionAttributes").is_none(),
        "the session attributes (the token) are not echoed"
    );

    // POST: the parameters that fill no placeholder form a typed JSON body.
    let event = function_event(
        "addComment",
        &[
            ("id", "string", "TCK-1001"),
            ("text", "string", "on fire"),
            ("urgent", "boolean", "true"),
            ("count", "integer", "3"),
        ],
        Some(&token),
    );
    stack.answer(&event).await;
    let call = stack.api.take_one();
    assert_eq!(
        (call.method.as_str(), call.target.as_str()),
        ("POST", "/api/tickets/TCK-1001/comments")
    );
    assert_eq!(call.content_type.as_deref(), Some("application/json"));
    let body: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(body, json!({"text": "on fire", "urgent": true, "count": 3}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openapi_operation_is_called_as_given_with_its_status_and_body_passed_on() {
    let stack = Stack::start(&[], &[]).await;
    let token = stack.alice();
    let event = openapi_event(
        "POST",
        "/tickets/{id}/comments",
        &[("id", "string", "TCK-1002"), ("notify", "boolean", "false")],
        Some(&[("text", "string", "hello"), ("priority", "integer", "2")]),
        Some(&token),
    );
    let response = stack.answer(&event).await;
    let call = stack.api.take_one();
    assert_eq!(call.method, "POST");
    assert_eq!(call.target, "/api/tickets/TCK-1002/comments?notify=false");
    assert_eq!(
        call.authorization.as_deref(),
        Some(format!("Bearer {token}").as_str())
    );
    assert_eq!(
        serde_json::from_str::<Value>(&call.body).unwrap(),
        json!({"text": "hello", "priority": 2})
    );
    let r = &response["response"];
    assert_eq!(
        (r["apiPath"].as_str(), r["httpMethod"].as_str()),
        (Some("/tickets/{id}/comments"), Some("POST"))
    );
    let (status, body) = openapi_result(&response);
    assert_eq!(status, 200);
    assert_eq!(body["path"], "/api/tickets/TCK-1002/comments");

    // An API 404 is an answer the model can explain, with its status and body.
    let event = openapi_event("GET", "/status/404", &[], None, Some(&token));
    let (status, body) = openapi_result(&stack.answer(&event).await);
    assert_eq!((status, body["error"].as_str()), (404, Some("status 404")));
    stack.api.take_one();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_are_encoded_and_can_never_change_the_path() {
    let stack = Stack::start(&[], &[]).await;
    let token = stack.alice();
    let cases = [
        ("../../admin", "/api/tickets/..%2F..%2Fadmin"),
        ("..\\admin", "/api/tickets/..%5Cadmin"),
        ("a b?c=d#e", "/api/tickets/a%20b%3Fc%3Dd%23e"),
        ("%2e%2e%2fadmin", "/api/tickets/%252e%252e%252fadmin"),
        ("tück/1", "/api/tickets/t%C3%BCck%2F1"),
    ];
    for (value, target) in cases {
        let event = function_event("getTicket", &[("id", "string", value)], Some(&token));
        let response = stack.answer(&event).await;
        assert_eq!(function_result(&response).0, None, "{value}");
        assert_eq!(stack.api.take_one().target, target, "{value}");
    }
    // Query values are form-encoded: they cannot add a parameter.
    let event = function_event(
        "searchTickets",
        &[("q", "string", "x&admin=true")],
        Some(&token),
    );
    stack.answer(&event).await;
    assert_eq!(
        stack.api.take_one().target,
        "/api/tickets?q=x%26admin%3Dtrue"
    );

    // Dot segments and empty values are refused, with no call.
    for value in ["..", ".", ""] {
        let event = function_event("getTicket", &[("id", "string", value)], Some(&token));
        let response = stack.answer(&event).await;
        let (state, text) = function_result(&response);
        assert_eq!(state, Some("FAILURE"), "{value:?}");
        assert!(text.contains("parameter_invalid"), "{text}");
        stack.api.assert_no_call(value);
    }
    // A missing placeholder value, an OpenAPI dot segment in the path template.
    let response = stack
        .answer(&function_event("getTicket", &[], Some(&token)))
        .await;
    assert!(function_result(&response).1.contains("parameter_missing"));
    let event = openapi_event("GET", "/tickets/../admin", &[], None, Some(&token));
    let (status, body) = openapi_result(&stack.answer(&event).await);
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("operation_not_allowed"))
    );
    stack.api.assert_no_call("refusals");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_that_are_not_configured_are_refused_without_a_call() {
    let stack = Stack::start(&[("TOOL_OPENAPI_PATHS", r#"["GET /tickets/{id}"]"#)], &[]).await;
    let token = stack.alice();
    let response = stack
        .answer(&function_event("deleteEverything", &[], Some(&token)))
        .await;
    let (state, text) = function_result(&response);
    assert_eq!(state, Some("FAILURE"));
    assert!(text.contains("function_not_configured"), "{text}");
    for (method, path) in [
        ("DELETE", "/tickets/{id}"),
        ("GET", "/admin"),
        ("TRACE", "/tickets/{id}"),
    ] {
        let event = openapi_event(method, path, &[("id", "string", "1")], None, Some(&token));
        let (status, body) = openapi_result(&stack.answer(&event).await);
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("operation_not_allowed")),
            "{method} {path}"
        );
    }
    stack.api.assert_no_call("operations not configured");
    // The allowed one goes through.
    let event = openapi_event(
        "get",
        "/tickets/{id}",
        &[("id", "string", "1")],
        None,
        Some(&token),
    );
    assert_eq!(openapi_result(&stack.answer(&event).await).0, 200);
    assert_eq!(stack.api.take_one().target, "/api/tickets/1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_failures_are_failures_and_redirects_are_not_followed() {
    let stack = Stack::start(&[], &[]).await;
    let token = stack.alice();
    // 404 passed on as an answer.
    let response = stack
        .answer(&function_event("missing", &[], Some(&token)))
        .await;
    let (state, text) = function_result(&response);
    assert_eq!(state, None);
    assert!(text.starts_with("The API answered HTTP 404: "), "{text}");
    stack.api.take_one();
    // 500, redirect, oversized: FAILURE, after exactly one call.
    for (function, code) in [
        ("broken", "api_error"),
        ("moved", "api_redirect"),
        ("huge", "api_response_too_large"),
    ] {
        let response = stack
            .answer(&function_event(function, &[], Some(&token)))
            .await;
        let (state, text) = function_result(&response);
        assert_eq!(state, Some("FAILURE"), "{function}");
        assert!(text.contains(code), "{function}: {text}");
        assert!(
            !text.contains(API_BODY_MARKER),
            "our text, not the API's body: {text}"
        );
        let call = stack.api.take_one();
        assert!(
            !call.target.contains("elsewhere"),
            "the redirect was followed"
        );
    }
    assert!(stack.api.requests().is_empty(), "the redirect was followed");
    let event = openapi_event("GET", "/status/503", &[], None, Some(&token));
    let (status, body) = openapi_result(&stack.answer(&event).await);
    assert_eq!((status, body["error"].as_str()), (502, Some("api_error")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_is_a_failure() {
    // A port nobody listens on any more.
    let base = format!("http://127.0.0.1:{}/api", testkit::free_port());
    let stack = Stack::start(&[("TOOL_API_BASE_URL", &base)], &[]).await;
    let token = stack.alice();
    let response = stack
        .answer(&function_event(
            "getTicket",
            &[("id", "string", "1")],
            Some(&token),
        ))
        .await;
    let (state, text) = function_result(&response);
    assert_eq!(state, Some("FAILURE"));
    assert!(text.contains("api_unreachable"), "{text}");
    let event = openapi_event(
        "GET",
        "/tickets/{id}",
        &[("id", "string", "1")],
        None,
        Some(&token),
    );
    let (status, body) = openapi_result(&stack.answer(&event).await);
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("api_unreachable"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_that_are_not_action_group_events_are_invalid_event_errors() {
    let stack = Stack::start(&[], &[]).await;
    let token = stack.alice();
    for event in [
        json!({"prompt": PROMPT, "id_token": token}),
        json!({"actionGroup": "tickets", "inputText": PROMPT}),
        json!({"actionGroup": "tickets", "function": "getTicket", "parameters": token}),
        json!([PROMPT]),
    ] {
        match stack.invoke(&event).await {
            Outcome::Error {
                error_type,
                error_message,
            } => {
                assert_eq!(error_type, "InvalidEvent", "{error_message}");
                assert!(
                    !error_message.contains(&token) && !error_message.contains("prompt-secret")
                );
            }
            Outcome::Response(r) => panic!("expected InvalidEvent, got {r}"),
        }
    }
    stack.api.assert_no_call("invalid events");
    // Still serving.
    stack
        .answer(&function_event(
            "getTicket",
            &[("id", "string", "1")],
            Some(&token),
        ))
        .await;
    stack.api.take_one();
}

/// AgentCore Gateway's header propagation sends an object in the client context's
/// `custom`: `lambda_runtime` would exit on it; the shared loop never reads it. Under
/// AWS's own Runtime Interface Emulator, which passes the client context on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_context_with_an_object_in_custom_does_not_kill_the_tool() {
    let devstack = devstack::Devstack::start(devstack::Config::default())
        .await
        .unwrap();
    let api = ApiServer::start().await;
    let runtime = devstack::runtime_api::RuntimeApi::start().await.unwrap();
    let mut env: HashMap<String, String> = tool_env(&devstack, &api, &runtime, &[], &[]);
    env.remove("AWS_LAMBDA_RUNTIME_API");
    let rie = testkit::Rie::start(env!("CARGO_BIN_EXE_xaa-tool").as_ref(), &env);
    let token = devstack.mint_access_token("alice@example.com", Default::default());
    let context = json!({"custom": {"bedrockAgentCorePropagatedHeaders": {"x-a": "b"}, "n": 1}});
    let event = function_event("getTicket", &[("id", "string", "TCK-1001")], Some(&token));
    for _ in 0..2 {
        match rie
            .invoke(&event, Some(&context), Duration::from_secs(60))
            .await
        {
            Outcome::Response(response) => assert_eq!(function_result(&response).0, None),
            Outcome::Error {
                error_type,
                error_message,
            } => {
                panic!("{error_type}: {error_message}\n{}", rie.output())
            }
        }
    }
    assert_eq!(api.requests().len(), 2, "both invocations reached the API");
}

/// `events/tool-*.json`, the examples for `sam local invoke` and the README, with a
/// real token in place of the placeholder: both are answered with one call each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_events_are_answered() {
    let stack = Stack::start(&[], &[]).await;
    let token = stack.alice();
    for name in ["tool-function.json", "tool-openapi.json"] {
        let mut event = testkit::read_event(name);
        assert_eq!(
            event["sessionAttributes"]["oktaAccessToken"], "PLACEHOLDER-OKTA-ACCESS-TOKEN",
            "events/{name} must hold a placeholder, never a token"
        );
        event["sessionAttributes"]["oktaAccessToken"] = json!(token);
        let response = stack.answer(&event).await;
        let call = stack.api.take_one();
        if name == "tool-function.json" {
            assert_eq!(function_result(&response).0, None);
            assert_eq!(call.target, "/api/tickets/TCK-1001");
        } else {
            assert_eq!(openapi_result(&response).0, 200);
            assert_eq!(
                (call.method.as_str(), call.target.as_str()),
                ("POST", "/api/tickets/TCK-1001/comments")
            );
            assert_eq!(
                serde_json::from_str::<Value>(&call.body).unwrap(),
                json!({"text": "The printer works again."})
            );
        }
    }
}

/// devstack's own Okta-protected API checks the token with its own code (not the
/// `verify` crate): minted tokens pass it as the grant's do, and each person sees only
/// their own tickets; another's is a 404 the model can explain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_devstacks_api_each_person_sees_their_own_tickets() {
    let stack = Stack::start(&[("TOOL_API_BASE_URL", DEVSTACK_API)], &[]).await;
    let alice = stack.alice();
    let bob = stack.token("bob@example.com", devstack::AccessTokenOptions::default());
    let ticket =
        |token: &str| function_event("getTicket", &[("id", "string", "TCK-1001")], Some(token));
    let response = stack.answer(&ticket(&alice)).await;
    let (state, text) = function_result(&response);
    assert_eq!(state, None, "{text}");
    let body: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        (body["id"].as_str(), body["owner"].as_str()),
        (Some("TCK-1001"), Some("00ualice0001"))
    );
    let response = stack.answer(&ticket(&bob)).await;
    let (state, text) = function_result(&response);
    assert_eq!(state, None);
    assert!(text.starts_with("The API answered HTTP 404"), "{text}");
    stack
        .api
        .assert_no_call("the recording API is not the one configured");
}
