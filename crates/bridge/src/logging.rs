//! Logs: `tracing`, JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`, level from
//! `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`. Safe at any level: the crates that would
//! print request bodies at TRACE (the runtime's raw event, the SDK's and HTTP
//! clients' wire logs) are capped, whatever the level asked for.

use tracing::Subscriber;
use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Targets whose TRACE/DEBUG output can include the event, tokens or headers.
const CAPPED: &[&str] = &[
    "lambda_runtime::layers::api_response=debug",
    "aws_smithy_runtime=info",
    "aws_smithy_runtime_api=info",
    "aws_smithy_http_client=info",
    "aws_smithy_eventstream=info",
    // Its event-stream receiver logs every answer frame, payload included, at TRACE.
    "aws_smithy_http=info",
    "aws_sigv4=info",
    "aws_config=info",
    "hyper=info",
    "hyper_util=info",
    "reqwest=info",
    "rustls=info",
    "h2=info",
];

/// The user's filter (level or `RUST_LOG`-style directives), lossy: a directive that
/// does not parse is dropped, never fatal.
pub fn filter(level: Option<&str>) -> EnvFilter {
    let asked = level.unwrap_or("info").to_ascii_lowercase();
    EnvFilter::builder()
        .with_default_directive(tracing::Level::INFO.into())
        .parse_lossy(user_directives(&asked).join(","))
}

/// The caps, as a filter of their own. An event is written only if the user's filter
/// *and* this one let it through, so no directive a user can write (a span filter such
/// as `[invocation]=trace` outranks target directives inside one `EnvFilter`) lifts a cap.
pub fn caps() -> Targets {
    let mut targets = Targets::new().with_default(LevelFilter::TRACE);
    for directive in CAPPED {
        if let Some((target, level)) = directive.split_once('=') {
            if let Ok(level) = level.parse::<LevelFilter>() {
                targets = targets.with_target(target, level);
            }
        }
    }
    targets
}

/// The directives asked for, minus any aimed at a capped crate or one of its modules:
/// a more specific directive (`aws_smithy_runtime::client=trace`) would otherwise win
/// over the cap on the crate.
fn user_directives(asked: &str) -> Vec<&str> {
    asked
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter(|d| {
            const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
            if LEVELS.contains(d) {
                return true;
            }
            let target = d.split(['=', '[']).next().unwrap_or("");
            !CAPPED
                .iter()
                .any(|cap| target.starts_with(cap.split('=').next().unwrap_or(cap)))
        })
        .collect()
}

pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    subscriber(level.as_deref(), json, std::io::stdout).init();
}

/// Our log layer (text or JSON) behind both filters, writing to `writer`.
pub fn subscriber<W>(level: Option<&str>, json: bool, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .with_writer(writer);
    let layer = if json {
        fmt.json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed()
    } else {
        fmt.boxed()
    };
    tracing_subscriber::registry().with(layer.with_filter(filter(level).and(caps())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_aimed_at_capped_crates_are_dropped_and_the_rest_kept() {
        assert_eq!(user_directives("trace"), vec!["trace"]);
        assert_eq!(
            user_directives("debug, xaa_bridge=trace"),
            vec!["debug", "xaa_bridge=trace"]
        );
        assert_eq!(
            user_directives("trace,aws_smithy_runtime::client::orchestrator=trace,aws_smithy_http=trace,reqwest=debug"),
            vec!["trace"]
        );
        assert_eq!(
            user_directives("info,lambda_runtime::layers::api_response=trace"),
            vec!["info"]
        );
        // lambda_runtime as a whole is not capped, only its raw-event layer.
        assert_eq!(
            user_directives("lambda_runtime=debug"),
            vec!["lambda_runtime=debug"]
        );
    }

    /// Logs written by our subscriber while `emit` runs, under the filter `asked`.
    fn logged(asked: &str, json: bool, emit: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        tracing::subscriber::with_default(
            subscriber(Some(asked), json, move || writer.clone()),
            emit,
        );
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_caps_hold_for_every_filter_form_a_user_can_write() {
        let forms = [
            "trace",
            "TRACE",
            "[invocation]=trace",
            "[invocation]",
            "[{request_id}]=trace",
            "[invocation{request_id=r1}]=trace",
            "aws_smithy_runtime=trace",
            "aws_smithy_runtime::client=trace",
            "aws_smithy_runtime::client::orchestrator=trace",
            "aws_smithy_runtime[invocation]=trace",
            "off,aws_smithy_http=trace",
            "info,hyper=trace,reqwest=trace,lambda_runtime=trace",
            "debug,[]=trace",
        ];
        for asked in forms {
            for json in [false, true] {
                let out = logged(asked, json, || {
                    let span = tracing::info_span!("invocation", request_id = "r1");
                    let _in = span.enter();
                    tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "REQUEST-DUMP prompt and token");
                    tracing::debug!(target: "aws_smithy_http::event_stream::receiver", "FRAME-DUMP answer");
                    tracing::trace!(target: "hyper::proto", "WIRE-DUMP");
                    tracing::trace!(target: "reqwest::connect", "WIRE-DUMP");
                    tracing::trace!(target: "lambda_runtime::layers::api_response", "EVENT-DUMP");
                });
                assert!(
                    !out.contains("DUMP"),
                    "{asked} (json {json}) lifted a cap:\n{out}"
                );
            }
        }
        // The caps let the capped crates' own INFO lines through, and ours at TRACE.
        let out = logged("[invocation]=trace", false, || {
            let span = tracing::info_span!("invocation");
            let _in = span.enter();
            tracing::info!(target: "aws_smithy_runtime::client", "sdk-info");
            tracing::trace!(target: "bridge::bridge", "our-trace");
        });
        assert!(
            out.contains("sdk-info") && out.contains("our-trace"),
            "{out}"
        );
    }
}
