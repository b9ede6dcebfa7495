//! The Bedrock stand-in, decoded by hand and by the real aws-sdk-bedrockagentruntime client.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_bedrockagentruntime as bar;
use aws_smithy_types::event_stream::Message;
use bar::error::SdkError;
use bar::operation::invoke_agent::InvokeAgentError;
use bar::types::error::ResponseStreamError;
use bar::types::{ResponseStream, SessionState};
use common::*;
use devstack::{BedrockFault, Config, Devstack, IdTokenOptions};
use serde_json::{json, Value};

const SIGV4: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00";

fn invoke_path(session: &str) -> String {
    format!("/agents/DEVAGENT01/agentAliases/DEVALIAS01/sessions/{session}/text")
}

async fn invoke_raw(stack: &Devstack, path: &str, auth: Option<&str>, body: &Value) -> Resp {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = auth {
        headers.push(("Authorization", auth));
    }
    request(
        &stack.bedrock_endpoint_url(),
        "POST",
        path,
        &headers,
        body.to_string().as_bytes(),
    )
    .await
}

fn body_with(token: &str, prompt: &str) -> Value {
    json!({"inputText": prompt, "sessionState": {"sessionAttributes": {"oktaAccessToken": token}}})
}

/// Decode every frame; `read_message_from` checks both CRCs.
fn decode_frames(mut bytes: &[u8]) -> Vec<Message> {
    let mut messages = Vec::new();
    while !bytes.is_empty() {
        let total = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        messages.push(
            aws_smithy_eventstream::frame::read_message_from(&bytes[..total]).expect("valid frame"),
        );
        bytes = &bytes[total..];
    }
    messages
}

fn header<'a>(message: &'a Message, name: &str) -> &'a str {
    let header = message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .unwrap_or_else(|| panic!("no {name}"));
    header.value().as_string().unwrap().as_str()
}

/// CRC-32 (IEEE), written out to check the framing independently of the library.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in data {
        crc ^= *byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn answer_streams_as_chunk_frames_with_valid_crcs() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let (_, token) = tokens_for(&stack, "alice@example.com").await;
    let resp = invoke_raw(
        &stack,
        &invoke_path("sess-1"),
        Some(SIGV4),
        &body_with(&token, "who am I?"),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(
        resp.header("content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    assert_eq!(
        resp.header("x-amzn-bedrock-agent-content-type"),
        Some("application/json")
    );
    assert_eq!(
        resp.header("x-amz-bedrock-agent-session-id"),
        Some("sess-1")
    );
    // Framing by hand: total length, prelude CRC, message CRC.
    let first_len = u32::from_be_bytes(resp.body[..4].try_into().unwrap()) as usize;
    let frame = &resp.body[..first_len];
    assert_eq!(
        u32::from_be_bytes(frame[8..12].try_into().unwrap()),
        crc32(&frame[..8])
    );
    assert_eq!(
        u32::from_be_bytes(frame[first_len - 4..].try_into().unwrap()),
        crc32(&frame[..first_len - 4])
    );

    let messages = decode_frames(&resp.body);
    assert_eq!(messages.len(), 3);
    let mut answer = String::new();
    for message in &messages {
        assert_eq!(header(message, ":message-type"), "event");
        assert_eq!(header(message, ":event-type"), "chunk");
        assert_eq!(header(message, ":content-type"), "application/json");
        let payload: Value = serde_json::from_slice(message.payload()).unwrap();
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload["bytes"].as_str().unwrap())
            .unwrap();
        answer.push_str(std::str::from_utf8(&bytes).unwrap());
    }
    assert_eq!(answer, "You are signed in as alice@example.com.");
    // A flipped byte fails the CRC.
    let mut corrupt = resp.body[..first_len].to_vec();
    corrupt[first_len - 10] ^= 0x01;
    assert!(aws_smithy_eventstream::frame::read_message_from(&corrupt[..]).is_err());

    let last = stack.stats().last_invoke.unwrap();
    assert_eq!(
        (last.session_id.as_str(), last.input_text.as_str()),
        ("sess-1", "who am I?")
    );
    assert_eq!(
        last.session_attribute_names,
        vec!["oktaAccessToken".to_string()]
    );
    assert!(last.prompt_session_attribute_names.is_empty());
}

#[tokio::test]
async fn midstream_exception_frame_follows_the_configured_chunks() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let (_, token) = tokens_for(&stack, "alice@example.com").await;
    stack.set_bedrock_fault(BedrockFault::ExceptionMidStream {
        exception_type: "dependencyFailedException".into(),
        times: 1,
        after_chunks: 2,
    });
    let resp = invoke_raw(
        &stack,
        &invoke_path("sess-1"),
        Some(SIGV4),
        &body_with(&token, "hi"),
    )
    .await;
    let messages = decode_frames(&resp.body);
    assert_eq!(messages.len(), 3);
    let last = &messages[2];
    assert_eq!(header(last, ":message-type"), "exception");
    assert_eq!(header(last, ":exception-type"), "dependencyFailedException");
    assert!(serde_json::from_slice::<Value>(last.payload()).unwrap()["message"].is_string());
    // Used up: the next call streams normally.
    let resp = invoke_raw(
        &stack,
        &invoke_path("sess-1"),
        Some(SIGV4),
        &body_with(&token, "hi"),
    )
    .await;
    assert!(decode_frames(&resp.body)
        .iter()
        .all(|m| header(m, ":message-type") == "event"));
}

#[tokio::test]
async fn requests_are_validated_before_the_stream() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let (_, token) = tokens_for(&stack, "alice@example.com").await;
    let body = body_with(&token, "hi");
    let cases = [
        (invoke_path("x"), Some(SIGV4), 400, "ValidationException"),
        (
            invoke_path("has%20space"),
            Some(SIGV4),
            400,
            "ValidationException",
        ),
        (
            "/agents/TOOLONGAGENTID/agentAliases/DEVALIAS01/sessions/ab/text".to_string(),
            Some(SIGV4),
            400,
            "ValidationException",
        ),
        (invoke_path("sess-1"), None, 403, "AccessDeniedException"),
        (
            invoke_path("sess-1"),
            Some("Bearer abc"),
            403,
            "AccessDeniedException",
        ),
        (
            "/agents/OTHER/agentAliases/DEVALIAS01/sessions/ab/text".to_string(),
            Some(SIGV4),
            404,
            "ResourceNotFoundException",
        ),
    ];
    for (path, auth, status, error_type) in cases {
        let resp = invoke_raw(&stack, &path, auth, &body).await;
        assert_eq!(
            (resp.status, resp.header("x-amzn-errortype")),
            (status, Some(error_type)),
            "{path}"
        );
        assert!(resp.json()["message"].is_string());
    }
    // The session id may be percent-encoded by clients.
    let resp = invoke_raw(&stack, &invoke_path("a%3Ab"), Some(SIGV4), &body).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-amz-bedrock-agent-session-id"), Some("a:b"));
}

#[tokio::test]
async fn token_must_be_a_valid_session_attribute_never_a_prompt_attribute() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let (id_jag, token) = tokens_for(&stack, "alice@example.com").await;
    let path = invoke_path("sess-1");
    let in_prompt = json!({"inputText": "hi", "sessionState": {"promptSessionAttributes": {"oktaAccessToken": token}}});
    let resp = invoke_raw(&stack, &path, Some(SIGV4), &in_prompt).await;
    assert_eq!(
        (resp.status, resp.header("x-amzn-errortype")),
        (400, Some("ValidationException"))
    );
    let missing = json!({"inputText": "hi"});
    let resp = invoke_raw(&stack, &path, Some(SIGV4), &missing).await;
    assert_eq!(
        (resp.status, resp.header("x-amzn-errortype")),
        (403, Some("AccessDeniedException"))
    );
    // The ID-JAG and the ID token are not access tokens of the custom AS.
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    for wrong in [id_jag.as_str(), id_token.as_str(), "garbage"] {
        let resp = invoke_raw(&stack, &path, Some(SIGV4), &body_with(wrong, "hi")).await;
        assert_eq!(
            (resp.status, resp.header("x-amzn-errortype")),
            (403, Some("AccessDeniedException"))
        );
    }
    let resp = invoke_raw(&stack, &path, Some(SIGV4), &json!({"sessionState": {}})).await;
    assert_eq!(resp.status, 400);
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

async fn sdk_invoke(
    client: &bar::Client,
    token: &str,
    prompt: &str,
) -> Result<(String, Option<ResponseStreamError>), InvokeAgentError> {
    let output = client
        .invoke_agent()
        .agent_id("DEVAGENT01")
        .agent_alias_id("DEVALIAS01")
        .session_id("sdk-session:1")
        .input_text(prompt)
        .session_state(
            SessionState::builder()
                .session_attributes("oktaAccessToken", token)
                .build(),
        )
        .send()
        .await
        .map_err(SdkError::into_service_error)?;
    assert_eq!(output.session_id, "sdk-session:1");
    assert_eq!(output.content_type, "application/json");
    let mut stream = output.completion;
    let mut answer = String::new();
    loop {
        match stream.recv().await {
            Ok(Some(ResponseStream::Chunk(part))) => {
                answer.push_str(std::str::from_utf8(part.bytes.unwrap().as_ref()).unwrap());
            }
            Ok(Some(other)) => panic!("unexpected event {other:?}"),
            Ok(None) => return Ok((answer, None)),
            Err(e) => return Ok((answer, Some(e.into_service_error()))),
        }
    }
}

#[tokio::test]
async fn the_aws_sdk_decodes_the_stream_and_typed_errors() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let (_, token) = tokens_for(&stack, "bob@example.com").await;
    let client = sdk_client(&stack);

    let (answer, error) = sdk_invoke(&client, &token, "who am I?").await.unwrap();
    assert_eq!(
        (answer.as_str(), error.is_none()),
        ("You are signed in as bob@example.com.", true)
    );

    stack.set_bedrock_fault(BedrockFault::ThrottleBeforeStream { times: 1 });
    let error = sdk_invoke(&client, &token, "hi").await.unwrap_err();
    assert!(
        matches!(error, InvokeAgentError::ThrottlingException(_)),
        "{error:?}"
    );

    stack.set_bedrock_fault(BedrockFault::ExceptionMidStream {
        exception_type: "throttlingException".into(),
        times: 1,
        after_chunks: 1,
    });
    let (answer, error) = sdk_invoke(&client, &token, "hi").await.unwrap();
    assert!(
        !answer.is_empty()
            && "You are signed in as bob@example.com.".starts_with(&answer)
            && answer.len() < 20,
        "{answer}"
    );
    assert!(
        matches!(error, Some(ResponseStreamError::ThrottlingException(_))),
        "{error:?}"
    );

    stack.set_bedrock_fault(BedrockFault::UnknownAgent);
    let error = sdk_invoke(&client, &token, "hi").await.unwrap_err();
    assert!(
        matches!(error, InvokeAgentError::ResourceNotFoundException(_)),
        "{error:?}"
    );
    stack.set_bedrock_fault(BedrockFault::None);

    let error = sdk_invoke(&client, "not-a-token", "hi").await.unwrap_err();
    assert!(
        matches!(error, InvokeAgentError::AccessDeniedException(_)),
        "{error:?}"
    );

    // Faults by prompt, for demos.
    let error = sdk_invoke(&client, &token, "devstack-fault:throttle please")
        .await
        .unwrap_err();
    assert!(
        matches!(error, InvokeAgentError::ThrottlingException(_)),
        "{error:?}"
    );
    let (_, error) = sdk_invoke(
        &client,
        &token,
        "devstack-fault:midstream=accessDeniedException",
    )
    .await
    .unwrap();
    assert!(
        matches!(error, Some(ResponseStreamError::AccessDeniedException(_))),
        "{error:?}"
    );
    let error = sdk_invoke(&client, &token, "devstack-fault:nonsense")
        .await
        .unwrap_err();
    assert!(
        matches!(error, InvokeAgentError::ValidationException(_)),
        "{error:?}"
    );
    assert_eq!(stack.stats().invoke_agent, 8);
}

#[tokio::test]
async fn slow_fault_delays_the_answer() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let (_, token) = tokens_for(&stack, "alice@example.com").await;
    stack.set_bedrock_fault(BedrockFault::Slow(Duration::from_millis(300)));
    let started = Instant::now();
    let resp = invoke_raw(
        &stack,
        &invoke_path("sess-1"),
        Some(SIGV4),
        &body_with(&token, "hi"),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    stack.set_bedrock_fault(BedrockFault::None);
    let resp = invoke_raw(
        &stack,
        &invoke_path("sess-1"),
        Some(SIGV4),
        &body_with(&token, "devstack-fault:slow=1"),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let addr = stack.okta_addr();
    stack.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
