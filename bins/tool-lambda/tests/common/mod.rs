//! The harness of the `xaa-tool` binary tests: the real binary as a child process with a
//! clean environment, polling devstack's Runtime API emulator; devstack's custom
//! authorization server as `TOOL_ISSUER` (its JWKS served there); and a loopback API
//! written here that records every request it gets, so a test can assert that a refusal
//! made no call and that a success made exactly the right one.
//!
//! Every stack scans what the binary wrote, when it is dropped, for every token it
//! minted, the users' emails and names, the prompt and the API's bodies: all logs of the
//! suite are searched, not only those of a dedicated test.

#![allow(dead_code)] // each test file uses part of the harness

pub mod api;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use devstack::runtime_api::{Outcome, RuntimeApi};
use devstack::{AccessTokenOptions, Devstack, IdTokenOptions};
use serde_json::{json, Value};
use testkit::{Logs, Process};

pub use api::{ApiServer, API_BODY_MARKER};

pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// A prompt that cannot appear in a log by accident.
pub const PROMPT: &str = "prompt-secret-4410 show me ticket TCK-1001";
pub const AGENT: &str = "wlpdevstackagent";
/// In an override's value: replaced by devstack's own Okta-protected API URL.
pub const DEVSTACK_API: &str = "{devstack_api}";
pub const FUNCTIONS: &str = r#"{
    "getTicket": {"method": "GET", "path": "/tickets/{id}"},
    "searchTickets": {"method": "GET", "path": "/tickets"},
    "addComment": {"method": "POST", "path": "/tickets/{id}/comments"},
    "missing": {"method": "GET", "path": "/status/404"},
    "broken": {"method": "GET", "path": "/status/500"},
    "moved": {"method": "GET", "path": "/redirect"},
    "huge": {"method": "GET", "path": "/huge"}
}"#;

/// devstack, the recording API, the Runtime API emulator and the binary.
pub struct Stack {
    pub lambda: Process,
    pub runtime: RuntimeApi,
    pub api: ApiServer,
    pub devstack: Devstack,
    /// What must never be logged: (what, value).
    secrets: Mutex<Vec<(String, String)>>,
    /// The logs, once stopped.
    logs: Option<Logs>,
    /// Invocations so far (each writes one audit line).
    invocations: AtomicUsize,
}

impl Stack {
    /// The binary with the standard environment, `overrides` set and `removed` unset;
    /// waits until it polls for an event.
    pub async fn start(overrides: &[(&str, &str)], removed: &[&str]) -> Stack {
        let mut stack = Stack::spawn(overrides, removed).await;
        if stack
            .runtime
            .wait_until_ready(READY_TIMEOUT)
            .await
            .is_none()
        {
            let status = stack.lambda.child.try_wait();
            panic!(
                "the binary never asked for an event ({status:?})\n{}",
                stack.lambda.stop()
            );
        }
        stack
    }

    /// The binary started, without waiting for it (for init errors).
    pub async fn spawn(overrides: &[(&str, &str)], removed: &[&str]) -> Stack {
        let devstack = Devstack::start(devstack::Config::default())
            .await
            .expect("devstack starts");
        let api = ApiServer::start().await;
        let runtime = RuntimeApi::start().await.expect("the Runtime API starts");
        let env = tool_env(&devstack, &api, &runtime, overrides, removed);
        let lambda = Process::spawn(env!("CARGO_BIN_EXE_xaa-tool"), &env);
        let mut secrets = vec![
            ("the prompt".to_string(), "prompt-secret-4410".to_string()),
            ("an API body".to_string(), API_BODY_MARKER.to_string()),
            ("an email domain".to_string(), "@example.com".to_string()),
        ];
        for user in &devstack.config().users {
            secrets.push(("an email".into(), user.login.clone()));
            secrets.push(("a name".into(), user.name.clone()));
        }
        Stack {
            lambda,
            runtime,
            api,
            devstack,
            secrets: Mutex::new(secrets),
            logs: None,
            invocations: AtomicUsize::new(0),
        }
    }

    /// A token of devstack's custom authorization server, remembered as a secret.
    pub fn token(&self, user: &str, opts: AccessTokenOptions) -> String {
        let token = self.devstack.mint_access_token(user, opts);
        self.secret("an access token", &token);
        token
    }

    pub fn alice(&self) -> String {
        self.token("alice@example.com", AccessTokenOptions::default())
    }

    pub fn id_token(&self, user: &str) -> String {
        let token = self.devstack.mint_id_token(user, IdTokenOptions::default());
        self.secret("an ID token", &token);
        token
    }

    /// One more value that must never be logged (each part of a JWT too).
    pub fn secret(&self, what: &str, value: &str) {
        let mut secrets = self.secrets.lock().unwrap();
        secrets.push((what.to_string(), value.to_string()));
        if value.split('.').count() == 3 {
            for (i, part) in value.split('.').enumerate().skip(1) {
                secrets.push((format!("{what} (part {i})"), part.to_string()));
            }
        }
    }

    pub async fn invoke(&self, event: &Value) -> Outcome {
        self.invocations.fetch_add(1, Ordering::SeqCst);
        match self.runtime.invoke(event, INVOKE_TIMEOUT).await {
            Some(outcome) => outcome,
            None => panic!("no answer\n{}", self.lambda.output()),
        }
    }

    /// The response of an invocation that must not be a Lambda error.
    pub async fn answer(&self, event: &Value) -> Value {
        match self.invoke(event).await {
            Outcome::Response(response) => response,
            Outcome::Error {
                error_type,
                error_message,
            } => panic!(
                "expected a response, got {error_type}: {error_message}\n{}",
                self.lambda.output()
            ),
        }
    }

    /// Stop the binary; its logs, scanned for secrets.
    pub fn stop(&mut self) -> &Logs {
        if self.logs.is_none() {
            let logs = self.lambda.stop();
            testkit::scan::assert_nothing_secret_in(&logs, &self.secrets.lock().unwrap());
            self.logs = Some(logs);
        }
        self.logs.as_ref().expect("stopped")
    }

    /// The audit lines of every invocation so far, parsed: waits (a little) for the
    /// reader threads to catch up with the process's stdout.
    pub fn audit_lines(&self) -> Vec<Value> {
        let wanted = self.invocations.load(Ordering::SeqCst);
        let started = Instant::now();
        loop {
            let lines = audit_lines(&self.lambda.output().stdout);
            if lines.len() >= wanted || started.elapsed() > Duration::from_secs(5) {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.stop();
        }
    }
}

pub fn audit_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v["audit"] == "xaa-tool")
        .collect()
}

/// The function's environment as `make demo` sets it, pointing at the local stack.
pub fn tool_env(
    devstack: &Devstack,
    api: &ApiServer,
    runtime: &RuntimeApi,
    overrides: &[(&str, &str)],
    removed: &[&str],
) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("AWS_LAMBDA_RUNTIME_API", runtime.address()),
        ("AWS_LAMBDA_LOG_LEVEL", "trace".to_string()),
        ("TOOL_ISSUER", devstack.custom_as_issuer()),
        ("TOOL_AUDIENCE", devstack::ACCESS_TOKEN_AUDIENCE.to_string()),
        ("TOOL_ALLOWED_CLIENTS", AGENT.to_string()),
        ("TOOL_REQUIRED_SCOPES", "xaa:read".to_string()),
        ("TOOL_API_BASE_URL", format!("{}/api", api.url())),
        ("TOOL_FUNCTIONS", FUNCTIONS.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in overrides {
        let v = v.replace(DEVSTACK_API, &devstack.api_url());
        env.insert(k.to_string(), v);
    }
    for k in removed {
        env.remove(*k);
    }
    env
}

/// A function-details event; the token (if any) in `sessionAttributes.oktaAccessToken`.
pub fn function_event(function: &str, params: &[(&str, &str, &str)], token: Option<&str>) -> Value {
    let mut session = json!({"otherAttribute": "x"});
    if let Some(token) = token {
        session["oktaAccessToken"] = json!(token);
    }
    json!({
        "messageVersion": "1.0",
        "agent": {"name": "tickets-agent", "id": "DEVAGENT01", "alias": "DEVALIAS01", "version": "1"},
        "inputText": PROMPT,
        "sessionId": "xs-session-1",
        "actionGroup": "tickets",
        "function": function,
        "parameters": params.iter().map(|(n, t, v)| json!({"name": n, "type": t, "value": v})).collect::<Vec<_>>(),
        "sessionAttributes": session,
        "promptSessionAttributes": {}
    })
}

/// An OpenAPI event; `body` are `requestBody` properties.
pub fn openapi_event(
    method: &str,
    path: &str,
    params: &[(&str, &str, &str)],
    body: Option<&[(&str, &str, &str)]>,
    token: Option<&str>,
) -> Value {
    let mut event = function_event("x", params, token);
    let map = event.as_object_mut().expect("object");
    map.remove("function");
    map.insert("apiPath".into(), json!(path));
    map.insert("httpMethod".into(), json!(method));
    if let Some(body) = body {
        let props: Vec<Value> = body
            .iter()
            .map(|(n, t, v)| json!({"name": n, "type": t, "value": v}))
            .collect();
        map.insert(
            "requestBody".into(),
            json!({"content": {"application/json": {"properties": props}}}),
        );
    }
    event
}

/// `(responseState, TEXT body)` of a function-details response.
pub fn function_result(response: &Value) -> (Option<&str>, &str) {
    let r = &response["response"]["functionResponse"];
    (
        r["responseState"].as_str(),
        r["responseBody"]["TEXT"]["body"]
            .as_str()
            .expect("a TEXT body"),
    )
}

/// `(httpStatusCode, parsed JSON body)` of an OpenAPI response.
pub fn openapi_result(response: &Value) -> (u64, Value) {
    let r = &response["response"];
    let body = r["responseBody"]["application/json"]["body"]
        .as_str()
        .expect("a JSON body string");
    (
        r["httpStatusCode"].as_u64().expect("a status"),
        serde_json::from_str(body).unwrap_or(Value::String(body.to_string())),
    )
}
