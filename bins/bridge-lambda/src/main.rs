//! `xaa-bridge`, the Lambda front door: logging, configuration and clients once, then
//! the runtime loop. Each event becomes a core [`Request`], Lambda's deadline a
//! [`Deadline`], and the core's error a `Diagnostic` (`errorType` = [`Error::kind`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bridge::{logging, Answer, Bridge, Call, Deadline, Error};
use lambda_runtime::{run, service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    match Bridge::from_env().await {
        Ok(bridge) => {
            bridge.warm_up().await;
            let bridge = &bridge;
            run(service_fn(move |event| async move {
                handle(bridge, event).await.map_err(diagnostic)
            }))
            .await
        }
        Err(e) => {
            // Answer every invocation with the typed init error, so `cargo lambda invoke`
            // and CloudWatch both show what to fix instead of a crash loop.
            tracing::error!(error_type = e.kind(), "init failed: {e}");
            let init_error = diagnostic(e);
            run(service_fn(move |_: LambdaEvent<Value>| {
                let d = init_error.clone();
                async move { Err::<(), Diagnostic>(d) }
            }))
            .await
        }
    }
}

/// Map in, ask the core, and let the caller map the error out.
async fn handle(bridge: &Bridge, event: LambdaEvent<Value>) -> Result<Answer, Error> {
    let margin = bridge.config().deadline_margin;
    let deadline = Deadline::from_remaining(time_left(event.context.deadline, now_ms(), margin));
    bridge
        .ask_json(event.payload, Call::new(event.context.request_id, deadline))
        .await
}

/// The one mapping of the core's error to Lambda's error document.
fn diagnostic(error: Error) -> Diagnostic {
    Diagnostic {
        error_type: error.kind().to_string(),
        error_message: error.to_string(),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Deadlines before 2020-01-01 are not wall-clock times: some local runtimes send a
/// duration instead (`cargo lambda watch` sends `600000`). Those mean "unknown", not "late".
const EARLIEST_PLAUSIBLE_DEADLINE_MS: u64 = 1_577_836_800_000;

/// The time this invocation may still spend, our margin kept back so we answer
/// `Timeout` before Lambda kills us; `None` when the runtime gave no usable deadline.
fn time_left(lambda_deadline_ms: u64, now_ms: u64, margin: Duration) -> Option<Duration> {
    if lambda_deadline_ms < EARLIEST_PLAUSIBLE_DEADLINE_MS {
        return None;
    }
    Some(Duration::from_millis(lambda_deadline_ms.saturating_sub(now_ms)).saturating_sub(margin))
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
    fn deadlines_are_wall_clock_times_and_anything_else_is_unknown() {
        let now = 1_800_000_000_000;
        let margin = Duration::from_millis(500);
        assert_eq!(
            time_left(now + 3_000, now, margin),
            Some(Duration::from_millis(2_500))
        );
        assert_eq!(
            time_left(now + 100, now, margin),
            Some(Duration::ZERO),
            "inside the margin: no time left"
        );
        assert_eq!(
            time_left(now - 5_000, now, margin),
            Some(Duration::ZERO),
            "already past"
        );
        // No deadline at all, or a duration where a timestamp belongs (cargo lambda watch).
        assert_eq!(time_left(0, now, margin), None);
        assert_eq!(time_left(600_000, now, margin), None);
        assert_eq!(
            time_left(EARLIEST_PLAUSIBLE_DEADLINE_MS - 1, now, margin),
            None
        );
    }
}
