//! The Bedrock stand-in's agent calling a tool Lambda through devstack's Runtime API. The
//! test itself plays the Lambda (`/invocation/next`, then `/response`), so it sees the
//! exact event, and the real aws-sdk-bedrockagentruntime client reads the answer.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_bedrockagentruntime as bar;
use bar::error::SdkError;
use bar::types::error::ResponseStreamError;
use bar::types::{ResponseStream, SessionState};
use common::*;
use devstack::{Config, Devstack, ACTION_GROUP, FN_GET_ME, FN_GET_TICKET, FN_LIST_TICKETS};
use serde_json::{json, Value};
use tokio::task::JoinHandle;

const RUNTIME: &str = "/2018-06-01/runtime";

async fn tool_stack(timeout: Duration) -> Devstack {
    Devstack::start(Config {
        tool_runtime: true,
        tool_timeout: timeout,
        ..Config::default()
    })
    .await
    .unwrap()
}

fn runtime_url(stack: &Devstack) -> String {
    format!("http://{}", stack.tool_runtime_api_address().unwrap())
}

/// Play the Lambda for one event: return the event and answer what `answer` makes of it.
fn serve_once(
    stack: &Devstack,
    answer: impl FnOnce(Value) -> std::pin::Pin<Box<dyn std::future::Future<Output = Value> + Send>>
        + Send
        + 'static,
) -> JoinHandle<Value> {
    let base = runtime_url(stack);
    tokio::spawn(async move {
        let next = request(
            &base,
            "GET",
            &format!("{RUNTIME}/invocation/next"),
            &[],
            b"",
        )
        .await;
        assert_eq!(next.status, 200);
        let id = next
            .header("lambda-runtime-aws-request-id")
            .unwrap()
            .to_string();
        let event = next.json();
        let body = answer(event.clone()).await;
        let path = format!("{RUNTIME}/invocation/{id}/response");
        let posted = request(&base, "POST", &path, &[], body.to_string().as_bytes()).await;
        assert_eq!(posted.status, 202);
        event
    })
}

fn text_response(event: &Value, state: Option<&str>, text: &str) -> Value {
    let mut function_response = json!({"responseBody": {"TEXT": {"body": text}}});
    if let Some(state) = state {
        function_response["responseState"] = state.into();
    }
    json!({"messageVersion": "1.0", "response": {
        "actionGroup": event["actionGroup"], "function": event["function"],
        "functionResponse": function_response}})
}

fn sdk_client(stack: &Devstack) -> bar::Client {
    let conf = bar::Config::builder()
        .behavior_version_latest()
        .region(bar::config::Region::new("us-east-1"))
        .credentials_provider(bar::config::Credentials::new(
            "AKIDEVSTACK",
            "devstack-secret",
            None,
            None,
            "devstack",
        ))
        .endpoint_url(stack.bedrock_endpoint_url())
        .retry_config(bar::config::retry::RetryConfig::disabled())
        .build();
    bar::Client::from_conf(conf)
}

/// InvokeAgent with the token and one more attribute in `sessionAttributes` and a
/// harmless prompt attribute; returns the chunks and the in-stream error, if any.
async fn ask(stack: &Devstack, token: &str, prompt: &str) -> (String, Option<ResponseStreamError>) {
    let output = sdk_client(stack)
        .invoke_agent()
        .agent_id("DEVAGENT01")
        .agent_alias_id("DEVALIAS01")
        .session_id("agent-test:1")
        .input_text(prompt)
        .session_state(
            SessionState::builder()
                .session_attributes("oktaAccessToken", token)
                .session_attributes("tenant", "acme")
                .prompt_session_attributes("today", "Monday")
                .build(),
        )
        .send()
        .await
        .map_err(SdkError::into_service_error)
        .expect("InvokeAgent accepted");
    let mut stream = output.completion;
    let mut answer = String::new();
    loop {
        match stream.recv().await {
            Ok(Some(ResponseStream::Chunk(part))) => {
                answer.push_str(std::str::from_utf8(part.bytes.unwrap().as_ref()).unwrap())
            }
            Ok(Some(other)) => panic!("unexpected event {other:?}"),
            Ok(None) => return (answer, None),
            Err(e) => return (answer, Some(e.into_service_error())),
        }
    }
}

#[tokio::test]
async fn the_event_has_bedrocks_shape_and_the_answer_is_folded_in() {
    let stack = tool_stack(Duration::from_secs(10)).await;
    let (_, token) = tokens_for(&stack, "alice@example.com").await;
    let lambda = serve_once(&stack, |event| {
        Box::pin(async move { text_response(&event, None, "{\"name\":\"Alice Example\"}") })
    });
    let (answer, error) = ask(&stack, &token, "Who am I?").await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        answer,
        format!("You are signed in as alice@example.com. The {ACTION_GROUP} tool ({FN_GET_ME}) answered: {{\"name\":\"Alice Example\"}}")
    );
    let event = lambda.await.unwrap();
    assert_eq!(
        event,
        json!({
            "messageVersion": "1.0",
            "agent": {"name": "devstack-agent", "id": "DEVAGENT01", "alias": "DEVALIAS01", "version": "1"},
            "inputText": "Who am I?",
            "sessionId": "agent-test:1",
            "actionGroup": ACTION_GROUP,
            "function": FN_GET_ME,
            "parameters": [],
            "sessionAttributes": {"oktaAccessToken": token, "tenant": "acme"},
            "promptSessionAttributes": {"today": "Monday"},
        })
    );
    assert!(!event["promptSessionAttributes"]
        .to_string()
        .contains(&token));
    assert_eq!(stack.stats().tool_invocations, 1);
}

#[tokio::test]
async fn a_tool_calling_the_protected_api_returns_each_persons_own_data() {
    let stack = tool_stack(Duration::from_secs(10)).await;
    let api = stack.api_url();
    for (login, own, other) in [
        ("alice@example.com", "TCK-1001", "TCK-2001"),
        ("bob@example.com", "TCK-2001", "TCK-1001"),
    ] {
        let (_, token) = tokens_for(&stack, login).await;
        let api = api.clone();
        // The tool forwards the person's token from sessionAttributes to the API.
        let lambda = serve_once(&stack, move |event| {
            Box::pin(async move {
                let bearer = format!(
                    "Bearer {}",
                    event["sessionAttributes"]["oktaAccessToken"]
                        .as_str()
                        .unwrap()
                );
                let r = request(&api, "GET", "/tickets", &[("Authorization", &bearer)], b"").await;
                text_response(&event, None, std::str::from_utf8(&r.body).unwrap())
            })
        });
        let (answer, error) = ask(&stack, &token, "list my tickets").await;
        assert!(error.is_none(), "{error:?}");
        let event = lambda.await.unwrap();
        assert_eq!(event["function"], FN_LIST_TICKETS);
        assert!(
            answer.contains(own) && !answer.contains(other),
            "{login}: {answer}"
        );
    }
    assert_eq!(stack.stats().api_answers, 2);
}

#[tokio::test]
async fn a_ticket_id_becomes_a_string_parameter() {
    let stack = tool_stack(Duration::from_secs(10)).await;
    let (_, token) = tokens_for(&stack, "bob@example.com").await;
    let lambda = serve_once(&stack, |event| {
        Box::pin(async move { text_response(&event, Some("REPROMPT"), "open") })
    });
    let (answer, error) = ask(&stack, &token, "what is the status of ticket tck-2002?").await;
    assert!(
        error.is_none() && answer.ends_with("answered: open"),
        "{answer} {error:?}"
    );
    let event = lambda.await.unwrap();
    assert_eq!(event["function"], FN_GET_TICKET);
    assert_eq!(
        event["parameters"],
        json!([{"name": "id", "type": "string", "value": "TCK-2002"}])
    );
}

#[tokio::test]
async fn failure_from_the_tool_is_an_in_stream_dependency_failed_exception() {
    let stack = tool_stack(Duration::from_secs(10)).await;
    let (_, token) = tokens_for(&stack, "alice@example.com").await;
    let lambda = serve_once(&stack, |event| {
        Box::pin(async move { text_response(&event, Some("FAILURE"), "upstream said no") })
    });
    let (answer, error) = ask(&stack, &token, "show my tickets").await;
    lambda.await.unwrap();
    assert_eq!(answer, "", "no chunk before the exception");
    match error {
        Some(ResponseStreamError::DependencyFailedException(e)) => {
            let message = e.message().unwrap_or_default();
            assert!(
                message.contains("FAILURE") && !message.contains("upstream said no"),
                "{message}"
            );
        }
        other => panic!("expected dependencyFailedException, got {other:?}"),
    }
    assert_eq!(stack.stats().tool_failures, 1);
}

#[tokio::test]
async fn a_tool_that_never_answers_fails_the_turn_after_the_timeout() {
    let stack = tool_stack(Duration::from_millis(700)).await;
    let (_, token) = tokens_for(&stack, "alice@example.com").await;
    let started = Instant::now();
    let (answer, error) = ask(&stack, &token, "who am i").await;
    let took = started.elapsed();
    assert_eq!(answer, "");
    assert!(
        matches!(
            error,
            Some(ResponseStreamError::DependencyFailedException(_))
        ),
        "{error:?}"
    );
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[tokio::test]
async fn prompts_without_a_tool_use_and_stacks_without_a_tool_answer_as_before() {
    let stack = tool_stack(Duration::from_secs(10)).await;
    let (_, token) = tokens_for(&stack, "alice@example.com").await;
    let (answer, error) = ask(&stack, &token, "hello there").await;
    assert_eq!(
        (answer.as_str(), error.is_none()),
        ("You are signed in as alice@example.com.", true)
    );
    assert_eq!(stack.stats().tool_invocations, 0);

    let plain = Devstack::start(Config::default()).await.unwrap();
    assert_eq!(plain.tool_runtime_api_address(), None);
    assert_eq!(plain.settings().tool_runtime_api, "");
    let (_, token) = tokens_for(&plain, "bob@example.com").await;
    let (answer, error) = ask(&plain, &token, "Who am I?").await;
    assert_eq!(
        (answer.as_str(), error.is_none()),
        ("You are signed in as bob@example.com.", true)
    );
}
