//! Init errors (reported to the Runtime API, the process exits non-zero, the variable is
//! named) and the audit trail (one line per decision, every field, ids only), with the
//! logs searched for secrets in both log formats.

mod common;

use std::time::Duration;

use common::*;
use devstack::runtime_api::Outcome;
use devstack::AccessTokenOptions;
use serde_json::Value;

/// Start with a broken configuration: the init error must reach `/init/error` naming
/// `var`, and the process must exit non-zero without polling for an event.
async fn assert_init_error(overrides: &[(&str, &str)], removed: &[&str], var: &str, hint: &str) {
    let mut stack = Stack::spawn(overrides, removed).await;
    let status = stack
        .lambda
        .wait_exit(Duration::from_secs(60))
        .unwrap_or_else(|| panic!("{var}: the binary did not exit\n{}", stack.lambda.output()));
    assert!(!status.success(), "{var}: exit status {status}");
    match stack.runtime.init_error() {
        Some(Outcome::Error {
            error_type,
            error_message,
        }) => {
            assert_eq!(error_type, "ConfigError", "{var}: {error_message}");
            assert!(
                error_message.contains(var),
                "{error_message:?} does not name {var}"
            );
            assert!(
                error_message.contains(hint),
                "{error_message:?} does not say {hint:?}"
            );
            assert!(
                !error_message.contains("eyJ"),
                "a value was quoted: {error_message}"
            );
        }
        other => panic!(
            "{var}: no init error reported: {other:?}\n{}",
            stack.lambda.output()
        ),
    }
    assert!(
        stack
            .runtime
            .wait_until_ready(Duration::from_millis(10))
            .await
            .is_none(),
        "{var}: the binary polled for events after a failed init"
    );
    let logs = stack.stop();
    assert!(logs.all().contains(var), "the log names {var} too\n{logs}");
}

/// Variables set, variables unset, the variable the error must name, a hint it must give.
type InitCase<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_name_the_variable_and_end_init() {
    let functions_secret = r#"{"f": {"method": "GET", "path": "/x/../eyJsecret"}}"#;
    let cases: &[InitCase] = &[
        (&[], &["TOOL_ISSUER"], "TOOL_ISSUER", "is not set"),
        (
            &[("TOOL_ISSUER", "http://issuer.example.com/oauth2/a")],
            &[],
            "TOOL_ISSUER",
            "https",
        ),
        (
            &[],
            &["TOOL_API_BASE_URL"],
            "TOOL_API_BASE_URL",
            "is not set",
        ),
        (
            &[("TOOL_API_BASE_URL", "http://api.example.com")],
            &[],
            "TOOL_API_BASE_URL",
            "https",
        ),
        (
            &[],
            &["TOOL_ALLOWED_CLIENTS"],
            "TOOL_ALLOWED_CLIENTS",
            "client ids",
        ),
        (
            &[],
            &["TOOL_REQUIRED_SCOPES"],
            "TOOL_REQUIRED_SCOPES",
            "scopes",
        ),
        (
            &[("TOOL_SUBJECTS", "people")],
            &[],
            "TOOL_SUBJECTS",
            "agbac",
        ),
        (
            &[("TOOL_FUNCTIONS", functions_secret)],
            &[],
            "TOOL_FUNCTIONS",
            "function `f`",
        ),
        (
            &[("TOOL_FUNCTIONS", "not json")],
            &[],
            "TOOL_FUNCTIONS",
            "JSON object",
        ),
        (
            &[("TOOL_OPENAPI_PATHS", "GET /x")],
            &[],
            "TOOL_OPENAPI_PATHS",
            "JSON array",
        ),
    ];
    for (overrides, removed, var, hint) in cases {
        assert_init_error(overrides, removed, var, hint).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_down_at_init_is_not_fatal() {
    // A port nobody listens on any more.
    let issuer = format!("http://127.0.0.1:{}/oauth2/aus1", testkit::free_port());
    let stack = Stack::start(&[("TOOL_ISSUER", &issuer)], &[]).await;
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
    assert!(text.contains("jwks_unavailable"), "{text}");
    stack.api.assert_no_call("keys unavailable");
    assert_eq!(stack.audit_lines()[0]["outcome"], "failed");
}

/// A scenario with every kind of decision; returns the audit lines.
async fn scenario(stack: &Stack) -> Vec<Value> {
    let alice = stack.alice();
    let bob = stack.token("bob@example.com", AccessTokenOptions::default());
    let expired = stack.token(
        "alice@example.com",
        AccessTokenOptions {
            lifetime_secs: 60,
            issued_at_offset_secs: -3600,
            ..AccessTokenOptions::default()
        },
    );
    let events = [
        function_event("getTicket", &[("id", "string", "TCK-1001")], Some(&alice)),
        openapi_event(
            "GET",
            "/tickets/{id}",
            &[("id", "string", "TCK-2001")],
            None,
            Some(&bob),
        ),
        function_event("missing", &[], Some(&alice)),
        function_event("broken", &[], Some(&alice)),
        function_event("getTicket", &[("id", "string", "TCK-1001")], Some(&expired)),
        function_event("getTicket", &[("id", "string", "TCK-1001")], None),
        function_event("notConfigured", &[], Some(&alice)),
    ];
    for event in &events {
        stack.answer(event).await;
    }
    let _ = stack
        .invoke(&serde_json::json!({"inputText": PROMPT}))
        .await;
    stack.audit_lines()
}

fn assert_audit_trail(lines: &[Value]) {
    let got: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["outcome"].as_str().unwrap(),
                l["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("allowed", "ok"),
            ("allowed", "ok"),
            ("allowed", "api_client_error"),
            ("failed", "api_error"),
            ("refused", "expired"),
            ("refused", "token_missing"),
            ("refused", "function_not_configured"),
            ("refused", "invalid_event"),
        ],
        "one audit line per decision"
    );
    let fields = [
        "audit",
        "request_id",
        "agent",
        "person",
        "bedrock_agent",
        "action_group",
        "action",
        "outcome",
        "reason",
        "api_status",
        "jti_hash",
        "duration_ms",
    ];
    for line in lines {
        for field in fields {
            assert!(line.get(field).is_some(), "{field} missing: {line}");
        }
        assert!(
            line["duration_ms"].is_u64()
                && line["request_id"].as_str().is_some_and(|s| s.len() == 36)
        );
    }
    assert_eq!(lines[0]["agent"], AGENT);
    assert_eq!(lines[0]["person"], "00ualice0001");
    assert_eq!(lines[0]["action"], "getTicket");
    assert_eq!(lines[0]["api_status"], 200);
    assert_eq!(lines[1]["person"], "00ubob000002");
    assert_eq!(lines[1]["action"], "GET /tickets/{id}");
    let jti = |i: usize| lines[i]["jti_hash"].as_str().unwrap().to_string();
    assert_eq!(jti(0).len(), 32);
    assert!(jti(0).bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(jti(0), jti(1), "each token its own jti");
    assert_eq!(jti(0), jti(2), "the same token, the same hash");
    assert!(lines[4]["person"].is_null() && lines[4]["jti_hash"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_hold_one_audit_line_per_decision_and_no_secret() {
    let mut stack = Stack::start(&[], &[]).await;
    let lines = scenario(&stack).await;
    assert_audit_trail(&lines);
    let logs = stack.stop();
    assert!(
        logs.stdout.contains("00ualice0001"),
        "the user id is logged\n{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_hold_only_json_lines_and_no_secret() {
    let mut stack = Stack::start(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")], &[]).await;
    let lines = scenario(&stack).await;
    assert_audit_trail(&lines);
    let logs = stack.stop().stdout.clone();
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }
}
