//! The real `xaa-bridge` binary under AWS's own Lambda Runtime Interface Emulator (the
//! RIE that ships in the `aws-sam-cli` wheel of the project venv), beside the tests on
//! devstack's emulator in `lambda_binary.rs`: same stack (devstack for Okta and Bedrock,
//! moto for Secrets Manager), but the Runtime API, the invocation and the error
//! documents are AWS's. The RIE starts the binary at the first invocation and answers
//! function errors with HTTP 200 and the error document.
//!
//! A missing RIE fails these tests with the fix (`make setup`): never a skip.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use devstack::runtime_api::Outcome;
use devstack::{Devstack, IdTokenOptions, Stats};
use serde_json::{json, Value};
use testkit::{
    bad_events, devstack_and_moto, function_process_env, object_keys, okta_legs, read_event, Moto,
    Rie,
};

const SECRET_NAME: &str = "xaa-bridge/rie/agent-key";
/// The function timeout the RIE enforces (and turns into the deadline it sends).
const FUNCTION_TIMEOUT_SECS: u64 = 100;
/// A safety net only, so a hung function fails the test instead of hanging it; longer
/// than the function timeout, so the RIE's own timeout answer shows up first.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(FUNCTION_TIMEOUT_SECS + 20);

/// The client context AgentCore Gateway sends to a Lambda target with header
/// propagation on (WIRE.md section 8): `custom` holds an object, not only strings.
fn gateway_client_context() -> Value {
    json!({
        "custom": {
            "bedrockAgentCorePropagatedHeaders": {"x-a": "b"},
            "bedrockAgentCoreToolName": "t___x"
        }
    })
}

/// devstack (Okta + Bedrock), moto holding the agent's key, and the RIE running the
/// binary. Fields drop in order: the RIE (and the function with it) goes first.
struct Stack {
    rie: Rie,
    devstack: Devstack,
    _moto: Moto,
    /// alice's ID token, minted once: the token cache is keyed by it.
    alice: String,
}

impl Stack {
    /// `overrides` replace or add variables of the function's environment.
    async fn start(overrides: &[(&str, &str)]) -> Stack {
        let (devstack, moto) = devstack_and_moto(SECRET_NAME).await;
        let mut env: HashMap<String, String> = function_process_env(&devstack, &moto, SECRET_NAME);
        env.insert(
            "AWS_LAMBDA_FUNCTION_TIMEOUT".to_string(),
            FUNCTION_TIMEOUT_SECS.to_string(),
        );
        env.extend(
            overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let rie = Rie::start(env!("CARGO_BIN_EXE_xaa-bridge").as_ref(), &env);
        let alice = devstack.mint_id_token("alice@example.com", IdTokenOptions::default());
        Stack {
            rie,
            devstack,
            _moto: moto,
            alice,
        }
    }

    async fn invoke_with(&self, event: &Value, client_context: Option<&Value>) -> Outcome {
        self.rie.invoke(event, client_context, INVOKE_TIMEOUT).await
    }

    async fn answer_with(&self, event: &Value, client_context: Option<&Value>) -> Value {
        match self.invoke_with(event, client_context).await {
            Outcome::Response(answer) => answer,
            Outcome::Error {
                error_type,
                error_message,
            } => panic!(
                "expected an answer, got {error_type}: {error_message}\n{}",
                self.rie.output()
            ),
        }
    }

    async fn answer(&self, event: &Value) -> Value {
        self.answer_with(event, None).await
    }

    /// `(errorType, errorMessage)` of an invocation that must fail.
    fn expect_error(&self, outcome: Outcome) -> (String, String) {
        match outcome {
            Outcome::Error {
                error_type,
                error_message,
            } => (error_type, error_message),
            Outcome::Response(answer) => panic!("expected an error, got the answer {answer}"),
        }
    }

    async fn error(&self, event: &Value) -> (String, String) {
        let outcome = self.invoke_with(event, None).await;
        self.expect_error(outcome)
    }

    /// An event of alice's.
    fn ask(&self, prompt: &str) -> Value {
        json!({"prompt": prompt, "id_token": self.alice})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_rie_valid_events_are_answered_and_a_second_turn_makes_no_okta_call() {
    let stack = Stack::start(&[]).await;
    let alice = stack.alice.clone();

    let mut event = read_event("valid.json");
    event["id_token"] = json!(alice);
    let first = stack.answer(&event).await;
    assert_eq!(
        object_keys(&first),
        BTreeSet::from(["answer", "session_id"])
    );
    assert_eq!(first["answer"], "You are signed in as alice@example.com.");
    let stats = stack.devstack.stats();
    assert_eq!((okta_legs(&stats), stats.invoke_agent), ((1, 1), 1));

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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_rie_bad_events_are_refused_as_invalid_request_before_any_call() {
    let stack = Stack::start(&[]).await;
    for (name, expected) in bad_events() {
        let (error_type, message) = stack.error(&read_event(name)).await;
        assert_eq!(error_type, "InvalidRequest", "events/{name}: {message}");
        assert!(
            message.contains(expected),
            "events/{name}: {message:?} does not say {expected:?}"
        );
    }
    // A body that is not JSON at all (the RIE, unlike Lambda's Invoke API, passes it on)
    // is refused with our error type too, not the runtime's.
    for body in ["not json", "{\"prompt\": ", ""] {
        let reply = stack
            .rie
            .invoke_raw(body.to_string(), None, INVOKE_TIMEOUT)
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let (error_type, message) = stack.expect_error(reply.outcome());
        assert_eq!(error_type, "InvalidRequest", "{body:?}: {message}");
        assert!(message.contains("not JSON"), "{body:?}: {message}");
    }
    assert_eq!(
        stack.devstack.stats(),
        Stats::default(),
        "a bad event reached Okta or Bedrock"
    );

    // Still up and serving after the refusals.
    let answer = stack.answer(&stack.ask("Who am I?")).await;
    assert_eq!(answer["answer"], "You are signed in as alice@example.com.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_rie_an_init_config_error_answers_every_invoke_as_config_error() {
    let stack = Stack::start(&[("OKTA_SCOPE", "openid")]).await;
    let event = stack.ask("Who am I?");
    for turn in 1..=2 {
        let (error_type, message) = stack.error(&event).await;
        assert_eq!(error_type, "ConfigError", "turn {turn}: {message}");
        for name in ["OKTA_SCOPE", "openid", "xaa:read"] {
            assert!(
                message.contains(name),
                "turn {turn}: {message:?} does not name {name}"
            );
        }
    }
    assert_eq!(stack.devstack.stats(), Stats::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_rie_a_bedrock_fault_is_typed() {
    let stack = Stack::start(&[]).await;
    stack.answer(&stack.ask("Who am I?")).await;
    let (error_type, message) = stack
        .error(&stack.ask("devstack-fault:throttle Who am I?"))
        .await;
    assert_eq!(error_type, "AgentThrottled", "{message}");
    assert!(message.contains("retry later"), "{message}");
    assert_eq!(
        okta_legs(&stack.devstack.stats()),
        (1, 1),
        "faults of Bedrock never cost an Okta call"
    );
}

/// AgentCore Gateway's header propagation puts an object in the client context's
/// `custom` map. `lambda_runtime` 1.x parses that map as strings only and exits before
/// any handler runs (`Runtime.ExitError`); the function must answer instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_rie_a_client_context_with_an_object_in_custom_is_answered() {
    let stack = Stack::start(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).await;
    let context = gateway_client_context();
    let answer = stack
        .answer_with(&stack.ask("Who am I?"), Some(&context))
        .await;
    assert_eq!(answer["answer"], "You are signed in as alice@example.com.");

    // The same process keeps serving: with the context again, with a context that is
    // not JSON at all, and with none.
    let again = stack
        .answer_with(&stack.ask("Who am I?"), Some(&context))
        .await;
    assert_eq!(again["answer"], answer["answer"]);
    let garbage = json!("not a client context");
    stack
        .answer_with(&stack.ask("Who am I?"), Some(&garbage))
        .await;
    stack.answer(&stack.ask("Who am I?")).await;

    // The bridge logged one finished line per invocation, each under the request id the
    // RIE assigned to it.
    let mut rie = stack.rie;
    let logs = rie.stop();
    let starts = rie_request_ids(&logs.stdout);
    assert_eq!(starts.len(), 4, "{logs}");
    let finished = finished_request_ids(&logs.stdout);
    assert_eq!(finished, starts, "{logs}");
}

/// The request ids of the RIE's `START RequestId: <id> Version: ...` lines, in order.
fn rie_request_ids(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("START RequestId: "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The `span.request_id` of each JSON "invocation finished" line of the bridge, in order.
fn finished_request_ids(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|line| line.starts_with('{'))
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|record| record["fields"]["message"] == "invocation finished")
        .filter_map(|record| record["span"]["request_id"].as_str().map(str::to_string))
        .collect()
}
