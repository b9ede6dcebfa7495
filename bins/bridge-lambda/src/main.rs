//! `xaa-bridge`, the Lambda front door: logging, configuration and clients once, then
//! the Runtime API loop. Each event becomes a core [`Request`](bridge::Request), Lambda's
//! deadline a [`Deadline`], and the core's error a [`Diagnostic`] (`errorType` =
//! [`Error::kind`]).
//!
//! The loop is our own (`lambda_loop`, shared with `xaa-tool`), not `lambda_runtime::run`:
//! `lambda_runtime` 1.x exits before any handler when a client context's `custom` map
//! holds a non-string value, as AgentCore Gateway's header propagation sends.
//! `crates/lambda-loop/src/runtime.rs` says why and what else was weighed.

use bridge::{logging, Answer, Bridge, Call, Deadline, Error};
use lambda_loop as runtime;
use lambda_loop::{Diagnostic, Invocation};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    logging::init();
    match Bridge::from_env().await {
        Ok(bridge) => {
            bridge.warm_up().await;
            let bridge = &bridge;
            runtime::run(move |invocation| handle(bridge, invocation)).await
        }
        Err(e) => {
            // Answer every invocation with the typed init error, so `cargo lambda invoke`
            // and CloudWatch both show what to fix instead of a crash loop.
            tracing::error!(error_type = e.kind(), "init failed: {e}");
            let init_error = diagnostic(e);
            runtime::run(move |invocation: Invocation| {
                log_refusal(&invocation.request_id, &init_error);
                let d = init_error.clone();
                async move { Err::<(), Diagnostic>(d) }
            })
            .await
        }
    }
}

/// Map in, ask the core, map the error out.
async fn handle(bridge: &Bridge, invocation: Invocation) -> Result<Answer, Diagnostic> {
    let margin = bridge.config().deadline_margin;
    let deadline = Deadline::from_remaining(invocation.time_left(margin));
    let event = serde_json::from_slice(&invocation.body).map_err(|e| {
        let refusal = diagnostic(not_json(&e));
        log_refusal(&invocation.request_id, &refusal);
        refusal
    })?;
    bridge
        .ask_json(event, Call::new(invocation.request_id, deadline))
        .await
        .map_err(diagnostic)
}

/// An event that is not JSON: Lambda's Invoke API refuses one, but a local emulator or a
/// direct Runtime API caller may not. Only the position is told, never the content.
fn not_json(error: &serde_json::Error) -> Error {
    let what = match error.classify() {
        serde_json::error::Category::Eof => "it ends early",
        _ => "syntax error",
    };
    Error::InvalidRequest(format!(
        "the event is not JSON ({what} at line {}, column {}); send an object with `prompt`, `id_token` and optionally `session_id`",
        error.line(),
        error.column()
    ))
}

/// A refusal decided here, before the core is asked (an event that is not JSON, every
/// invocation after a failed init), logged as the core logs its own outcomes: one
/// "invocation failed" line in an `invocation` span carrying the request id.
fn log_refusal(request_id: &str, diagnostic: &Diagnostic) {
    let span = tracing::info_span!("invocation", request_id = %request_id);
    let _enter = span.enter();
    tracing::warn!(
        outcome = "error",
        error_type = %diagnostic.error_type,
        "invocation failed: {}",
        diagnostic.error_message
    );
}

/// The one mapping of the core's error to Lambda's error document.
fn diagnostic(error: Error) -> Diagnostic {
    Diagnostic {
        error_type: error.kind().to_string(),
        error_message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_carries_the_stable_type_and_the_hint() {
        let d = diagnostic(Error::InvalidRequest("field `prompt` is missing".into()));
        assert_eq!(d.error_type, "InvalidRequest");
        assert_eq!(
            d.error_message,
            "invalid request: field `prompt` is missing"
        );
        let d = diagnostic(Error::Timeout {
            stage: "calling Okta",
        });
        assert_eq!(d.error_type, "Timeout");
    }

    #[test]
    fn an_event_that_is_not_json_is_an_invalid_request_that_quotes_nothing_of_it() {
        let secret = "tell-me-the-secret-plan";
        for (body, position) in [
            (
                format!("{secret} not json"),
                "syntax error at line 1, column 2",
            ),
            (
                format!("{{\"prompt\": \"{secret}"),
                "it ends early at line 1",
            ),
            (String::new(), "it ends early at line 1, column 0"),
        ] {
            let e = serde_json::from_slice::<serde_json::Value>(body.as_bytes()).unwrap_err();
            let d = diagnostic(not_json(&e));
            assert_eq!(d.error_type, "InvalidRequest");
            assert!(
                d.error_message
                    .starts_with("invalid request: the event is not JSON")
                    && d.error_message.contains(position),
                "{body:?}: {}",
                d.error_message
            );
            assert!(!d.error_message.contains(secret), "{}", d.error_message);
        }
    }
}
