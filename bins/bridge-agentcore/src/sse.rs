//! `Accept: text/event-stream`: the agent's answer as Server-Sent Events, each piece as
//! it arrives from Bedrock.
//!
//! Frames are `data: <json>\n\n`, as `BedrockAgentCoreApp` streams: `{"chunk": text}`
//! for each piece, then `{"session_id": id, "done": true}`. An error before the first
//! piece is an ordinary JSON error with its status (nothing was streamed yet); an error
//! after it is a final `{"error": kind, "message": text}` frame, since the status line
//! has already gone out.

use std::sync::Arc;

use bridge::Call;
use bytes::Bytes;
use http_body_util::channel::{Channel, Sender};
use http_body_util::BodyExt;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::Response;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::health::BusyGuard;
use crate::service::{error_response, App, Body};

pub fn frame(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

pub async fn answer(app: Arc<App>, body: Value, mut call: Call, busy: BusyGuard) -> Response<Body> {
    let (chunk_tx, mut chunks) = mpsc::unbounded_channel::<String>();
    call.chunks = Some(chunk_tx);
    let mut asking = tokio::spawn(async move { app.bridge.ask_json(body, call).await });
    // Wait for the first piece, or for the whole call to end without one.
    // Pieces are sent before the call ends, so polling them first (`biased`) never
    // mistakes a finished call with pieces still queued for an empty answer.
    let first = tokio::select! {
        biased;
        // `None` (the call ended and dropped its sender) disables this branch.
        Some(piece) = chunks.recv() => piece,
        done = &mut asking => match done {
            Ok(Err(e)) => return error_response(&e),
            Ok(Ok(answer)) => {
                // Finished without a piece (an empty answer): still SSE, with the
                // pieces that may have raced in and the final frame.
                let mut body = Vec::new();
                while let Ok(piece) = chunks.try_recv() {
                    body.extend_from_slice(&frame(&json!({"chunk": piece})));
                }
                body.extend_from_slice(&frame(&json!({"session_id": answer.session_id, "done": true})));
                return stream_response(http_body_util::Full::new(Bytes::from(body)).boxed());
            }
            Err(_) => {
                return error_response(&bridge::Error::Agent(bridge::AgentError::Failed(
                    "the answer task stopped".into(),
                )))
            }
        },
    };
    let (mut tx, body) = Channel::<Bytes>::new(16);
    tokio::spawn(async move {
        let _busy = busy;
        if !send(&mut tx, json!({"chunk": first})).await {
            return;
        }
        while let Some(piece) = chunks.recv().await {
            if !send(&mut tx, json!({"chunk": piece})).await {
                // The client went away; the answer is still drained by the task.
                return;
            }
        }
        let last = match asking.await {
            Ok(Ok(answer)) => json!({"session_id": answer.session_id, "done": true}),
            Ok(Err(e)) => json!({"error": e.kind(), "message": e.to_string()}),
            Err(_) => json!({"error": "AgentFailed", "message": "the answer task stopped"}),
        };
        send(&mut tx, last).await;
    });
    stream_response(body.boxed())
}

async fn send(tx: &mut Sender<Bytes>, value: Value) -> bool {
    tx.send_data(frame(&value)).await.is_ok()
}

fn stream_response(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_one_data_line_of_json_and_a_blank_line() {
        assert_eq!(
            frame(&json!({"chunk": "a\nb"})),
            Bytes::from_static(b"data: {\"chunk\":\"a\\nb\"}\n\n")
        );
    }
}
