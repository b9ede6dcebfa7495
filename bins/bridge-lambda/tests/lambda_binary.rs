//! The real `xaa-bridge` binary, run the way Lambda runs it: a child process with a
//! clean environment whose `AWS_LAMBDA_RUNTIME_API` points at devstack's Runtime API
//! emulator, Okta and Bedrock served by devstack in this process, and the agent's
//! private JWK in Secrets Manager (moto, a process). Nothing here calls the library
//! directly: what is asserted is what Lambda would see (answers, `errorType`s) and what
//! CloudWatch would store (everything the process writes to stdout and stderr).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use devstack::runtime_api::{Outcome, RuntimeApi};
use devstack::{BedrockFault, Devstack, IdTokenOptions, Stats};
use serde_json::{json, Value};
use testkit::scan::{assert_nothing_secret_in, decoded_base64, jwt_shapes};
use testkit::{
    bad_events, devstack_and_moto, function_process_env, object_keys, okta_legs, read_event, Logs,
    Moto, Process,
};

const SECRET_NAME: &str = "xaa-bridge/lambda-binary/agent-key";
/// Safety nets only, so a hung binary fails the test instead of hanging it; no test
/// asserts anything about durations. The invoke timeout is also the function's deadline.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);
/// A prompt that cannot appear in a log by accident.
const SECRET_PROMPT: &str = "tell-me-the-secret-plan-7731";

/// devstack (Okta + Bedrock), moto holding the agent's key, the Runtime API emulator and
/// the binary polling it. Fields drop in order: the binary goes first.
struct Stack {
    lambda: Process,
    runtime: RuntimeApi,
    devstack: Devstack,
    _moto: Moto,
}

impl Stack {
    /// `overrides` replace or add variables of the function's environment.
    async fn start(overrides: &[(&str, &str)]) -> Stack {
        let (devstack, moto) = devstack_and_moto(SECRET_NAME).await;
        let runtime = RuntimeApi::start()
            .await
            .expect("the Runtime API emulator starts");
        let mut lambda = Process::spawn(
            env!("CARGO_BIN_EXE_xaa-bridge"),
            &lambda_env(&devstack, &moto, &runtime, overrides),
        );
        if runtime.wait_until_ready(READY_TIMEOUT).await.is_none() {
            let status = lambda.child.try_wait();
            panic!(
                "the binary never asked for an event (exit status {status:?})\n{}",
                lambda.stop()
            );
        }
        Stack {
            lambda,
            runtime,
            devstack,
            _moto: moto,
        }
    }

    async fn invoke(&self, payload: &Value) -> Outcome {
        match self.runtime.invoke(payload, INVOKE_TIMEOUT).await {
            Some(outcome) => outcome,
            None => panic!("the function did not answer\n{}", self.lambda.output()),
        }
    }

    async fn answer(&self, payload: &Value) -> Value {
        match self.invoke(payload).await {
            Outcome::Response(answer) => answer,
            Outcome::Error {
                error_type,
                error_message,
            } => panic!(
                "expected an answer, got {error_type}: {error_message}\n{}",
                self.lambda.output()
            ),
        }
    }

    /// `(errorType, errorMessage)` of an invocation that must fail.
    async fn error(&self, payload: &Value) -> (String, String) {
        match self.invoke(payload).await {
            Outcome::Error {
                error_type,
                error_message,
            } => (error_type, error_message),
            Outcome::Response(answer) => panic!("expected an error, got the answer {answer}"),
        }
    }

    fn id_token(&self, login: &str) -> String {
        self.devstack
            .mint_id_token(login, IdTokenOptions::default())
    }
}

/// The environment Lambda gives the function, plus its configuration pointing at the
/// local stack (as `make demo` sets it), with devstack's Runtime API emulator as the
/// Runtime API. PATH and HOME are the only inherited variables.
fn lambda_env(
    devstack: &Devstack,
    moto: &Moto,
    runtime: &RuntimeApi,
    overrides: &[(&str, &str)],
) -> HashMap<String, String> {
    let mut env = function_process_env(devstack, moto, SECRET_NAME);
    env.insert("AWS_LAMBDA_RUNTIME_API".to_string(), runtime.address());
    env.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_events_are_answered_and_a_second_turn_makes_no_okta_call() {
    let stack = Stack::start(&[]).await;
    let alice = stack.id_token("alice@example.com");

    // events/valid.json with a real ID token: a new session id is made up.
    let mut event = read_event("valid.json");
    event["id_token"] = json!(alice);
    let first = stack.answer(&event).await;
    assert_eq!(
        object_keys(&first),
        BTreeSet::from(["answer", "session_id"])
    );
    assert_eq!(first["answer"], "You are signed in as alice@example.com.");
    let session = first["session_id"].as_str().expect("a string session_id");
    assert!(
        bedrock_accepts(session),
        "{session:?} is not a Bedrock session id"
    );
    let stats = stack.devstack.stats();
    assert_eq!((okta_legs(&stats), stats.invoke_agent), ((1, 1), 1));
    let sent = stats.last_invoke.expect("the agent was invoked");
    assert!(
        sent.session_id.starts_with("xs-") && sent.session_id != session,
        "Bedrock sees the session bound to the person: {}",
        sent.session_id
    );
    assert_eq!(sent.input_text, event["prompt"].as_str().unwrap());
    assert_eq!(sent.session_attribute_names, ["oktaAccessToken"]);
    assert!(
        sent.prompt_session_attribute_names.is_empty(),
        "the token must never reach the model's prompt"
    );

    // events/with-session.json, same user: the token comes from the cache, the given
    // session id is echoed back.
    let mut event = read_event("with-session.json");
    event["id_token"] = json!(alice);
    let second = stack.answer(&event).await;
    assert_eq!(
        second,
        json!({"answer": "You are signed in as alice@example.com.", "session_id": "demo-session-0001"})
    );
    let stats = stack.devstack.stats();
    assert_eq!(okta_legs(&stats), (1, 1), "the second turn called Okta");
    assert_eq!(stats.invoke_agent, 2);
    // Bedrock sees the caller's id bound to the person (`xs-` + SHA-256), never as sent.
    let bedrock_session = stats.last_invoke.unwrap().session_id;
    assert!(
        bedrock_session.starts_with("xs-") && bedrock_session.len() == 67,
        "{bedrock_session}"
    );

    // bob gets his own exchange and his own answer, never alice's cached token.
    let bob = stack.id_token("bob@example.com");
    let third = stack
        .answer(&json!({"prompt": "Who am I?", "id_token": bob}))
        .await;
    assert_eq!(third["answer"], "You are signed in as bob@example.com.");
    assert_ne!(third["session_id"], first["session_id"]);
    let stats = stack.devstack.stats();
    assert_eq!((okta_legs(&stats), stats.invoke_agent), ((2, 2), 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_event_files_are_refused_as_invalid_request_before_any_call() {
    let stack = Stack::start(&[]).await;
    for (name, expected) in bad_events() {
        let (error_type, message) = stack.error(&read_event(name)).await;
        assert_eq!(error_type, "InvalidRequest", "events/{name}: {message}");
        assert!(
            message.contains(expected),
            "events/{name}: {message:?} does not say {expected:?}"
        );
    }
    assert_eq!(
        stack.devstack.stats(),
        Stats::default(),
        "a bad event reached Okta or Bedrock"
    );

    // The function is still up and serving after the refusals.
    let alice = stack.id_token("alice@example.com");
    let answer = stack
        .answer(&json!({"prompt": "Who am I?", "id_token": alice}))
        .await;
    assert_eq!(answer["answer"], "You are signed in as alice@example.com.");
}

/// Init failures do not crash-loop: the function keeps polling and answers every
/// invocation with the typed error (nothing is posted to `/init/error`).
async fn assert_every_invoke_fails_with(stack: &Stack, error_type: &str, names: &[&str]) {
    let alice = stack.id_token("alice@example.com");
    for turn in 1..=2 {
        let (got, message) = stack
            .error(&json!({"prompt": "Who am I?", "id_token": alice}))
            .await;
        assert_eq!(got, error_type, "turn {turn}: {message}");
        for name in names {
            assert!(
                message.contains(name),
                "turn {turn}: {message:?} does not name {name}"
            );
        }
        assert!(
            !message.contains(&alice),
            "the ID token leaked into the error"
        );
    }
    assert_eq!(stack.runtime.init_error(), None);
    let stats = stack.devstack.stats();
    assert_eq!((okta_legs(&stats), stats.invoke_agent), ((0, 0), 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_scope_is_refused_at_init_and_every_invoke_says_config_error() {
    let stack = Stack::start(&[("OKTA_SCOPE", "openid")]).await;
    assert_every_invoke_fails_with(&stack, "ConfigError", &["OKTA_SCOPE", "openid", "xaa:read"])
        .await;
    assert_eq!(stack.devstack.stats(), Stats::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_a_remote_okta_is_refused_at_init_as_config_error() {
    let stack = Stack::start(&[("OKTA_BASE_URL", "http://example.com")]).await;
    assert_every_invoke_fails_with(&stack, "ConfigError", &["OKTA_BASE_URL", "https"]).await;
    assert_eq!(stack.devstack.stats(), Stats::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_is_answered_as_key_error_naming_the_secret() {
    let missing = "xaa-bridge/lambda-binary/no-such-secret";
    let stack = Stack::start(&[("AGENT_PRIVATE_KEY_SECRET_ID", missing)]).await;
    // Init itself succeeds (the key load is retried per invocation), so the first call
    // gets as far as needing the key, which is before any token request.
    assert_every_invoke_fails_with(
        &stack,
        "KeyError",
        &[missing, "AGENT_PRIVATE_KEY_SECRET_ID"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bedrock_throttling_is_retried_when_safe_and_typed_when_not() {
    let stack = Stack::start(&[]).await;
    let alice = stack.id_token("alice@example.com");
    let ask = |prompt: &str| json!({"prompt": prompt, "id_token": alice});
    let answer = "You are signed in as alice@example.com.";
    stack.answer(&ask("Who am I?")).await;
    let agent_calls = || stack.devstack.stats().invoke_agent;

    // 429 before the stream, every time: the SDK's standard retries give up, and the
    // caller gets the typed error with its hint.
    let before = agent_calls();
    let (error_type, message) = stack.error(&ask("devstack-fault:throttle Who am I?")).await;
    assert_eq!(error_type, "AgentThrottled", "{message}");
    assert!(
        message.contains("throttlingException") && message.contains("retry later"),
        "{message}"
    );
    assert_eq!(
        agent_calls() - before,
        3,
        "the SDK's standard mode: 3 attempts, none of ours on top"
    );

    // One 429 before the stream: the SDK's retry answers.
    let before = agent_calls();
    stack
        .devstack
        .set_bedrock_fault(BedrockFault::ThrottleBeforeStream { times: 1 });
    assert_eq!(stack.answer(&ask("Who am I?")).await["answer"], answer);
    assert_eq!(agent_calls() - before, 2);

    // A throttling exception inside the stream before any chunk: nothing was shown yet,
    // so xaa-bridge tries once more, and answers.
    let before = agent_calls();
    stack
        .devstack
        .set_bedrock_fault(BedrockFault::ExceptionMidStream {
            exception_type: "throttlingException".into(),
            times: 1,
            after_chunks: 0,
        });
    assert_eq!(stack.answer(&ask("Who am I?")).await["answer"], answer);
    assert_eq!(agent_calls() - before, 2);

    // After a chunk was received, no retry: the typed error.
    let before = agent_calls();
    let (error_type, message) = stack
        .error(&ask("devstack-fault:midstream Who am I?"))
        .await;
    assert_eq!(error_type, "AgentThrottled", "{message}");
    assert_eq!(
        agent_calls() - before,
        1,
        "part of the answer had arrived: not retried"
    );

    assert_eq!(
        okta_legs(&stack.devstack.stats()),
        (1, 1),
        "faults of Bedrock never cost an Okta call"
    );
}

// ---------- log safety ----------

/// One binary taken through every stage (validation, pre-check, key, JWKS, both legs,
/// cache, InvokeAgent, answer stream), with successes and failures: what it logged,
/// what must never be in that, and the `errorType` of each invocation (`None` = answered).
struct Scenario {
    logs: Logs,
    secrets: Vec<(String, String)>,
    outcomes: Vec<Option<String>>,
}

async fn log_scenario(log_env: &[(&str, &str)]) -> Scenario {
    let mut stack = Stack::start(log_env).await;
    let devstack = &stack.devstack;
    let alice = stack.id_token("alice@example.com");
    let bob = stack.id_token("bob@example.com");
    let expired = devstack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            lifetime_secs: 600,
            issued_at_offset_secs: -7200,
            ..IdTokenOptions::default()
        },
    );
    let midstream = format!("devstack-fault:midstream {SECRET_PROMPT}");
    let steps: Vec<(Value, Option<&str>)> = vec![
        // Cold: key, JWKS, leg 1, leg 2, InvokeAgent, answer stream.
        (json!({"prompt": SECRET_PROMPT, "id_token": alice}), None),
        // Warm: token from the cache, a given session id.
        (
            json!({"prompt": SECRET_PROMPT, "id_token": alice, "session_id": "log-safety-1"}),
            None,
        ),
        // Refused by the pre-check.
        (
            json!({"prompt": SECRET_PROMPT, "id_token": expired}),
            Some("IdTokenRejected"),
        ),
        // The answer stream fails after a chunk.
        (
            json!({"prompt": midstream, "id_token": alice}),
            Some("AgentThrottled"),
        ),
        // Okta refuses leg 2 with an OAuth error body (bob's policy is switched off below).
        (
            json!({"prompt": SECRET_PROMPT, "id_token": bob}),
            Some("PolicyDenied"),
        ),
        // Refused by validation.
        (
            json!({"prompt": 7731, "id_token": alice}),
            Some("InvalidRequest"),
        ),
    ];
    let mut outcomes = Vec::new();
    for (event, expected) in steps {
        devstack.set_policy_allows_jwt_bearer(event["id_token"] != json!(bob));
        let outcome = match stack.invoke(&event).await {
            Outcome::Response(answer) => {
                assert!(answer["answer"]
                    .as_str()
                    .is_some_and(|a| a.contains("signed in as")));
                None
            }
            Outcome::Error { error_type, .. } => Some(error_type),
        };
        assert_eq!(outcome.as_deref(), expected);
        outcomes.push(outcome);
    }

    let jwk = devstack.agent_private_jwk();
    let mut secrets: Vec<(String, String)> = ["d", "p", "q", "dp", "dq", "qi"]
        .into_iter()
        .map(|member| {
            (
                format!("the private JWK's `{member}`"),
                jwk[member].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (who, token) in [
        ("alice's ID token", &alice),
        ("bob's ID token", &bob),
        ("the expired ID token", &expired),
    ] {
        let parts: Vec<&str> = token.split('.').collect();
        secrets.push((who.to_string(), token.clone()));
        secrets.push((format!("the claims of {who}"), parts[1].to_string()));
        secrets.push((format!("the signature of {who}"), parts[2].to_string()));
    }
    secrets.extend(
        [
            ("the prompt", SECRET_PROMPT),
            ("alice's email", "alice@example.com"),
            ("bob's email", "bob@example.com"),
            ("an email address (even split in pieces)", "@example.com"),
            ("alice's name", "Alice Example"),
            ("the agent's answer", "signed in as"),
        ]
        .map(|(what, value)| (what.to_string(), value.to_string())),
    );
    let logs = stack.lambda.stop();
    Scenario {
        logs,
        secrets,
        outcomes,
    }
}

/// The request id of each "invocation finished/failed" line of a JSON log, in order,
/// with the line's `error_type` (`None` for a success). Every stdout line must be JSON.
fn json_invocation_lines(stdout: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let record: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        let message = record["fields"]["message"].as_str().unwrap_or_default();
        if message == "invocation finished" || message.starts_with("invocation failed") {
            let request_id = record["span"]["request_id"]
                .as_str()
                .unwrap_or_else(|| panic!("no span.request_id: {line}"));
            let error_type = record["fields"]["error_type"].as_str().map(str::to_string);
            found.push((request_id.to_string(), error_type));
        }
    }
    found
}

fn assert_one_line_per_invocation(
    lines: &[(String, Option<String>)],
    outcomes: &[Option<String>],
    logs: &Logs,
) {
    let got: Vec<&Option<String>> = lines.iter().map(|(_, error_type)| error_type).collect();
    let want: Vec<&Option<String>> = outcomes.iter().collect();
    assert_eq!(
        got, want,
        "one finished/failed line per invocation, with its errorType\n{logs}"
    );
    let ids: BTreeSet<&str> = lines.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids.len(),
        outcomes.len(),
        "each invocation logs its own request id"
    );
    for id in ids {
        assert!(
            uuid::Uuid::parse_str(id).is_ok(),
            "{id:?} is not the runtime's request id"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_at_trace_level_carry_request_ids_and_no_secret() {
    let scenario = log_scenario(&[
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "trace"),
    ])
    .await;
    let logs = &scenario.logs;
    // The capture worked and logging is on: without this, "nothing leaked" proves nothing.
    let lines = json_invocation_lines(&logs.stdout);
    assert_one_line_per_invocation(&lines, &scenario.outcomes, logs);
    assert!(
        logs.stdout.contains("\"level\":\"TRACE\""),
        "TRACE was asked for but not seen\n{logs}"
    );
    assert!(
        logs.stdout.contains("00ualice0001"),
        "the user id (not the email) is logged\n{logs}"
    );
    assert!(
        logs.stderr.trim().is_empty(),
        "CloudWatch gets JSON lines only, not stderr text\n{logs}"
    );
    assert_nothing_secret_in(logs, &scenario.secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_at_rust_log_trace_carry_request_ids_and_no_secret() {
    let scenario = log_scenario(&[("RUST_LOG", "trace")]).await;
    let logs = &scenario.logs;
    let lines: Vec<(String, Option<String>)> = logs
        .stdout
        .lines()
        .filter(|l| l.contains("invocation finished") || l.contains("invocation failed"))
        .map(|line| {
            let id = line
                .split("request_id=")
                .nth(1)
                .and_then(|rest| rest.split([' ', '}']).next())
                .unwrap_or_else(|| panic!("no request_id in: {line}"));
            let error_type = line
                .split(" error_type=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(str::to_string);
            (id.to_string(), error_type)
        })
        .collect();
    assert_one_line_per_invocation(&lines, &scenario.outcomes, logs);
    assert!(
        logs.stdout.contains("TRACE"),
        "TRACE was asked for but not seen\n{logs}"
    );
    assert_nothing_secret_in(logs, &scenario.secrets);
}

/// The detectors above must find what they look for, or the log tests prove nothing.
#[test]
fn the_leak_detectors_find_tokens_and_split_base64() {
    let token = testkit::unsigned_jwt(json!({"sub": "00ualice0001", "email": "alice@example.com"}));
    assert_eq!(jwt_shapes(&format!("body={token}&x=1")).len(), 1);
    assert!(jwt_shapes("eyJhbGciOiJSUzI1NiJ9 alone, or eyJ.abc").is_empty());

    // An answer split over three base64 chunks, with padding, inside Debug output.
    let chunks = ["You are signe", "d in as alice", "@example.com."]
        .map(|c| base64::engine::general_purpose::STANDARD.encode(c));
    let line = format!(
        r#"TRACE received Message {{ payload: b"{{\"bytes\":\"{}\"}}" }} Message {{ payload: b"{{\"bytes\":\"{}\"}}" }} payload: b"{{\"bytes\":\"{}\"}}""#,
        chunks[0], chunks[1], chunks[2]
    );
    assert!(!line.contains("alice@example.com"));
    assert!(decoded_base64(&line).contains("You are signed in as alice@example.com."));
    assert!(
        decoded_base64(&format!("x {} y", URL_SAFE_NO_PAD.encode(SECRET_PROMPT)))
            .contains(SECRET_PROMPT)
    );
}

/// Bedrock's documented session id rule (`^[0-9a-zA-Z._:-]+$`, 2 to 100 characters),
/// written out here rather than taken from the bridge's own validator.
fn bedrock_accepts(id: &str) -> bool {
    let allowed = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._:-";
    (2..=100).contains(&id.chars().count()) && id.chars().all(|c| allowed.contains(c))
}
