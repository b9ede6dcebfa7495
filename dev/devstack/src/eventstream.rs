//! Event-stream frames as Bedrock writes them (`aws-smithy-eventstream` does the framing
//! and the CRCs): `chunk` events and in-stream exceptions, and the answer cut into chunks.

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

/// The event-stream content type of a successful InvokeAgent answer.
pub const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

fn header(name: &'static str, value: &str) -> Header {
    Header::new(name, HeaderValue::String(value.to_string().into()))
}

fn encode(message: &Message) -> Vec<u8> {
    let mut buf = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(message, &mut buf)
        .expect("event-stream frames within size limits");
    buf
}

/// One `chunk` event frame carrying `bytes` (base64 in a JSON payload, as Bedrock sends).
pub fn chunk_frame(bytes: &[u8]) -> Vec<u8> {
    let payload = json!({ "bytes": STANDARD.encode(bytes) }).to_string();
    encode(&Message::new_from_parts(
        vec![
            header(":message-type", "event"),
            header(":event-type", "chunk"),
            header(":content-type", "application/json"),
        ],
        payload.into_bytes(),
    ))
}

/// One exception frame, e.g. `exception_type` = `throttlingException`.
pub fn exception_frame(exception_type: &str, message: &str) -> Vec<u8> {
    let payload = json!({ "message": message }).to_string();
    encode(&Message::new_from_parts(
        vec![
            header(":message-type", "exception"),
            header(":exception-type", exception_type),
            header(":content-type", "application/json"),
        ],
        payload.into_bytes(),
    ))
}

/// `text` cut into `parts` pieces on character boundaries (the last may be longer).
pub(crate) fn split_text(text: &str, parts: usize) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let size = chars.len().div_ceil(parts).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    for chunk in chars.chunks(size) {
        let end = chunk.last().map(|(i, c)| i + c.len_utf8()).unwrap_or(start);
        out.push(&text[start..end]);
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_is_split_on_char_boundaries() {
        let parts = split_text("You are signed in as é@x.", 3);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.concat(), "You are signed in as é@x.");
    }
}
