//! `xaa-tool`, the Bedrock action-group Lambda: it takes the person's Okta access token
//! from the session attributes, verifies it as a resource server would, and calls the
//! Okta-protected API as that person. One audit line per decision.
//!
//! - `config`: the `TOOL_*` variables, read once at init; errors name the variable
//! - `event`: the action-group event (function details and OpenAPI) and both responses
//! - `template`: path templates and percent-encoded placeholders that cannot move the path
//! - `call`: the API request built from the event, and the client that sends it
//! - `reply`: the decision (`Verdict`) and the response Bedrock reads
//! - `audit`: the audit line (ids and codes only)
//! - `handler`: one invocation, start to end; the verifier and clients built at init
//!
//! The Runtime API loop is `lambda_loop`, shared with `xaa-bridge`. A configuration
//! error is reported to the Runtime API (`/init/error`, errorType `ConfigError`) and the
//! process exits non-zero; an event that is not an action-group event is answered with
//! errorType `InvalidEvent`.

mod audit;
mod call;
mod config;
mod event;
mod handler;
mod reply;
mod template;

use std::process::ExitCode;

use lambda_loop::Diagnostic;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    init_logging();
    let tool = match handler::Tool::from_env().await {
        Ok(tool) => tool,
        Err(e) => {
            tracing::error!(error_type = "ConfigError", "init failed: {e}");
            let diagnostic = Diagnostic {
                error_type: "ConfigError".into(),
                error_message: e.to_string(),
            };
            if let Err(e) = lambda_loop::report_init_error(&diagnostic).await {
                tracing::error!("the init error could not be reported: {e}");
            }
            return ExitCode::FAILURE;
        }
    };
    let tool = &tool;
    match lambda_loop::run(move |invocation| tool.handle(invocation)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// Our crates at `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG`, a bare level; default info),
/// every other crate at warn whatever is asked: the HTTP and TLS crates would print
/// headers (the bearer token) at debug and trace. JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`.
fn init_logging() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|l| l.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let filter = ["xaa_tool", "lambda_loop", "verify", "xaa"]
        .into_iter()
        .fold(Targets::new().with_default(LevelFilter::WARN), |t, name| {
            t.with_target(name, level)
        });
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .with_writer(std::io::stdout);
    let layer = if json {
        fmt.json().boxed()
    } else {
        fmt.boxed()
    };
    tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .init();
}
