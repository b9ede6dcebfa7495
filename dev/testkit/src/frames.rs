//! Bedrock event-stream frames, framed and CRC'd by `aws-smithy-eventstream`, and SDK
//! responses that carry them (for `aws-smithy-mocks` and the raw SDK client).

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// One event-stream message, framed and CRC'd by aws-smithy-eventstream.
pub fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut message = Message::new(payload.to_vec());
    for (name, value) in headers {
        message = message.add_header(Header::new(
            name.to_string(),
            HeaderValue::String(value.to_string().into()),
        ));
    }
    let mut out = Vec::new();
    write_message_to(&message, &mut out).expect("frame");
    out
}

pub fn chunk(text: &[u8]) -> Vec<u8> {
    let payload = serde_json::json!({"bytes": STANDARD.encode(text)}).to_string();
    frame(
        &[
            (":message-type", "event"),
            (":event-type", "chunk"),
            (":content-type", "application/json"),
        ],
        payload.as_bytes(),
    )
}

pub fn event(event_type: &str, payload: &str) -> Vec<u8> {
    frame(
        &[
            (":message-type", "event"),
            (":event-type", event_type),
            (":content-type", "application/json"),
        ],
        payload.as_bytes(),
    )
}

pub fn exception(exception_type: &str) -> Vec<u8> {
    frame(
        &[
            (":message-type", "exception"),
            (":exception-type", exception_type),
            (":content-type", "application/json"),
        ],
        br#"{"message":"injected by the test"}"#,
    )
}

/// A 200 InvokeAgent response whose body is the given frames.
pub fn stream_response(frames: &[Vec<u8>]) -> HttpResponse {
    let body: Vec<u8> = frames.concat();
    let mut response = HttpResponse::new(StatusCode::try_from(200).unwrap(), SdkBody::from(body));
    response
        .headers_mut()
        .insert("content-type", "application/vnd.amazon.eventstream");
    response
        .headers_mut()
        .insert("x-amzn-bedrock-agent-content-type", "application/json");
    response
        .headers_mut()
        .insert("x-amz-bedrock-agent-session-id", "session-1");
    response
}

/// An AWS REST-JSON error response, as returned before any stream.
pub fn error_response(status: u16, error_type: &str) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(r#"{{"message":"injected {error_type}"}}"#)),
    );
    response
        .headers_mut()
        .insert("content-type", "application/json");
    response
        .headers_mut()
        .insert("x-amzn-errortype", error_type.to_string());
    response
}
