//! Logs: `tracing`, JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`, level from
//! `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`. Safe at any level: the crates that would
//! print request bodies at TRACE (the runtime's raw event, the SDK's and HTTP
//! clients' wire logs) are capped, whatever the level asked for.

use tracing_subscriber::EnvFilter;

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

pub fn filter(level: Option<&str>) -> EnvFilter {
    let asked = level.unwrap_or("info").to_ascii_lowercase();
    let mut filter = EnvFilter::builder()
        .with_default_directive(tracing::Level::INFO.into())
        .parse_lossy(user_directives(&asked).join(","));
    for directive in CAPPED {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(level.as_deref()))
        .with_target(false)
        .with_ansi(false)
        .without_time();
    if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
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

    #[test]
    fn the_caps_hold_at_trace() {
        let shown = filter(Some("TRACE,aws_smithy_runtime::client=trace")).to_string();
        assert!(shown.contains("aws_smithy_http=info"), "{shown}");
        assert!(shown.contains("aws_smithy_runtime=info"), "{shown}");
        assert!(!shown.contains("aws_smithy_runtime::client"), "{shown}");
        assert!(shown.contains("trace"), "{shown}");
    }
}
