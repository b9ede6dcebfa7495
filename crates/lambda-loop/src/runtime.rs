//! Our own Lambda Runtime API loop, in place of `lambda_runtime::run`, shared by
//! `xaa-bridge` and `xaa-tool`.
//!
//! # Why not `lambda_runtime`
//!
//! `lambda_runtime` 1.x (1.5.0 is the latest) builds its `Context` for every invocation
//! before any layer or handler runs, and that parses the `Lambda-Runtime-Client-Context`
//! header into `ClientContext { custom: HashMap<String, String>, .. }`. AgentCore
//! Gateway's header propagation sends an *object* in `custom`
//! (`bedrockAgentCorePropagatedHeaders`), the parse fails, the `?` ends `run`, and the
//! process exits: the caller gets `Runtime.ExitError`, never an answer, and Lambda starts
//! a new environment for the next invocation. The crate offers no hook before that parse.
//! The same holds for `Lambda-Runtime-Cognito-Identity`, and a body that is not JSON is
//! answered with the runtime's own error type instead of ours.
//!
//! We weighed three ways out:
//!
//! - a vendored copy of `lambda_runtime` with a one-line `[patch]`: the smallest diff,
//!   but several thousand lines of someone else's code in the repository, a
//!   workspace-wide patch that every upgrade must carry forward, and it fixes neither the
//!   Cognito header nor the non-JSON body;
//! - a proxy in the process, between `lambda_runtime` and the Runtime API, stripping the
//!   header: `lambda_runtime` untouched, but a second HTTP server and client on every
//!   invocation (long polls, error paths and all) and a rewritten `AWS_LAMBDA_RUNTIME_API`,
//!   more moving parts than the problem;
//! - this loop: the four requests of the documented Runtime API (2018-06-01) over
//!   `lambda_runtime_api_client`, the crate `lambda_runtime` itself uses for them. The
//!   wire stays what it was (same client, connection pool, endpoint handling,
//!   `User-Agent`); only the part above it is ours, and it reads just the headers we use.
//!
//! We chose the loop: the least code that is robust, because a header we do not read
//! cannot fail us. The client context and the Cognito identity are not read at all; a
//! future use must parse them leniently (as `serde_json::Value`) inside the handler.
//!
//! What `lambda_runtime` did that we keep: one invocation at a time, `_X_AMZN_TRACE_ID`
//! set from `Lambda-Runtime-Trace-Id` (the AWS SDK propagates it), the
//! `Lambda-Runtime-Invocation-Id` echoed on the answer (newer Runtime APIs use it against
//! cross-wired answers), `Lambda-Runtime-Function-Error-Type: unhandled` on errors, a
//! `204 No Content` from `cargo lambda watch` polled again, and an exit (so Lambda
//! restarts the environment) when the Runtime API itself fails. What we drop, unused
//! here: response streaming, SnapStart hooks, concurrent polling for Managed Instances
//! (`lambda_runtime::run` only warned about it too), and catching panics (the release
//! profile aborts on panic, so Lambda sees `Runtime.ExitError` either way).

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{build_request, BoxError, PooledClient};
use serde::Serialize;

const API_VAR: &str = "AWS_LAMBDA_RUNTIME_API";
const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";
const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
const DEADLINE_MS: &str = "lambda-runtime-deadline-ms";
const TRACE_ID: &str = "lambda-runtime-trace-id";
const INVOCATION_ID: &str = "lambda-runtime-invocation-id";
const ERROR_TYPE: &str = "lambda-runtime-function-error-type";
/// Lambda never answers `/next` with 204; `cargo lambda watch` does when it reloads. A
/// short pause keeps a repeated 204 from spinning the CPU.
const NO_CONTENT_PAUSE: Duration = Duration::from_millis(50);

/// One invocation as the Runtime API delivered it: what the handler uses, nothing more.
#[derive(Debug)]
pub struct Invocation {
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms` as sent (milliseconds since the epoch on Lambda);
    /// 0 when the header is missing or not a number.
    pub deadline_ms: u64,
    /// The event, as sent: the handler parses it, so a body that is not JSON is refused
    /// with our own error type.
    pub body: Bytes,
}

/// Deadlines before 2020-01-01 are not wall-clock times: some local runtimes send a
/// duration instead (`cargo lambda watch` sends `600000`). Those mean "unknown", not "late".
pub const EARLIEST_PLAUSIBLE_DEADLINE_MS: u64 = 1_577_836_800_000;

impl Invocation {
    /// The time this invocation may still spend, `margin` kept back so the function
    /// answers before Lambda kills it; `None` when the runtime gave no usable deadline.
    pub fn time_left(&self, margin: Duration) -> Option<Duration> {
        time_left(self.deadline_ms, now_ms(), margin)
    }

    /// `None` without a request id: such an event cannot be answered.
    fn from_next(headers: &HeaderMap, body: Bytes) -> Option<Invocation> {
        let request_id = text(headers, REQUEST_ID).filter(|id| !id.is_empty())?;
        let deadline_ms = text(headers, DEADLINE_MS)
            .and_then(|ms| ms.trim().parse().ok())
            .unwrap_or(0);
        Some(Invocation {
            request_id: request_id.to_string(),
            deadline_ms,
            body,
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn time_left(lambda_deadline_ms: u64, now_ms: u64, margin: Duration) -> Option<Duration> {
    if lambda_deadline_ms < EARLIEST_PLAUSIBLE_DEADLINE_MS {
        return None;
    }
    Some(Duration::from_millis(lambda_deadline_ms.saturating_sub(now_ms)).saturating_sub(margin))
}

/// Lambda's error document: what the caller sees as `errorType` and `errorMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    pub error_type: String,
    pub error_message: String,
}

/// Poll the Runtime API named by `AWS_LAMBDA_RUNTIME_API` and answer every invocation
/// with `handler`, one at a time, until the Runtime API fails (the only way it returns).
pub async fn run<F, Fut, R>(handler: F) -> Result<(), BoxError>
where
    F: FnMut(Invocation) -> Fut,
    Fut: Future<Output = Result<R, Diagnostic>>,
    R: Serialize,
{
    run_with(client()?, handler).await
}

/// Tell the Runtime API that init failed (`POST /runtime/init/error`), for a function
/// that then exits: Lambda fails the pending invocation with this `errorType` and
/// message (`Runtime.InitError` in the logs) instead of a bare `Runtime.ExitError`.
pub async fn report_init_error(diagnostic: &Diagnostic) -> Result<(), BoxError> {
    report_init_error_with(&client()?, diagnostic).await
}

fn client() -> Result<PooledClient, BoxError> {
    let api = std::env::var(API_VAR).map_err(|_| format!("{API_VAR} is not set"))?;
    let endpoint: http::Uri = api
        .parse()
        .map_err(|e| format!("{API_VAR}={api:?} is not an address: {e}"))?;
    Ok(PooledClient::builder().with_endpoint(endpoint).build())
}

async fn report_init_error_with(
    client: &PooledClient,
    diagnostic: &Diagnostic,
) -> Result<(), BoxError> {
    let post = build_request()
        .method(Method::POST)
        .uri(INIT_ERROR)
        .header(CONTENT_TYPE, "application/json")
        .header(ERROR_TYPE, diagnostic.error_type.as_str())
        .body(Body::from(error_document(diagnostic)))?;
    let response = client.call(post).await?;
    let status = response.status();
    let _ = response.into_body().collect().await;
    if !status.is_success() {
        return Err(format!("POST {INIT_ERROR}: status {status}").into());
    }
    Ok(())
}

async fn run_with<F, Fut, R>(client: PooledClient, mut handler: F) -> Result<(), BoxError>
where
    F: FnMut(Invocation) -> Fut,
    Fut: Future<Output = Result<R, Diagnostic>>,
    R: Serialize,
{
    loop {
        let next = build_request()
            .method(Method::GET)
            .uri(NEXT)
            .body(Body::empty())?;
        let response = client.call(next).await.map_err(|e| fatal("GET", e))?;
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            tokio::time::sleep(NO_CONTENT_PAUSE).await;
            continue;
        }
        if !status.is_success() {
            return Err(fatal("GET", format!("status {status}").into()));
        }
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| fatal("GET", e.into()))?;
        let Some(invocation) = Invocation::from_next(&parts.headers, body.to_bytes()) else {
            return Err(fatal("GET", format!("no {REQUEST_ID} header").into()));
        };
        set_trace_id(text(&parts.headers, TRACE_ID));
        let request_id = invocation.request_id.clone();
        let invocation_id = text(&parts.headers, INVOCATION_ID).map(str::to_string);
        let (kind, body) = match handler(invocation).await {
            Ok(answer) => match serde_json::to_vec(&answer) {
                Ok(body) => ("response", body),
                Err(e) => ("error", error_document(&serialization_failed(&e))),
            },
            Err(diagnostic) => ("error", error_document(&diagnostic)),
        };
        let mut post = build_request()
            .method(Method::POST)
            .uri(format!(
                "/2018-06-01/runtime/invocation/{request_id}/{kind}"
            ))
            .header(CONTENT_TYPE, "application/json");
        if kind == "error" {
            // What lambda_runtime sent; the caller reads the type from the document.
            post = post.header(ERROR_TYPE, "unhandled");
        }
        if let Some(id) = &invocation_id {
            post = post.header(INVOCATION_ID, id);
        }
        let post = post
            .body(Body::from(body))
            .map_err(|e| fatal("POST", e.into()))?;
        let response = client.call(post).await.map_err(|e| fatal("POST", e))?;
        let status = response.status();
        // Read to the end, so the connection goes back to the pool.
        let _ = response.into_body().collect().await;
        if !status.is_success() {
            // 413 (answer too large) or 410 (too late): Lambda has already failed this
            // invocation for the caller; the next one can still be served.
            tracing::error!(%status, request_id = %request_id, "the Runtime API refused the {kind}");
        }
    }
}

/// Log a failure of the Runtime API itself (never an event or an answer) and pass it on.
fn fatal(method: &str, error: BoxError) -> BoxError {
    tracing::error!(method, error = %error, "the Lambda Runtime API failed; exiting");
    format!("{method} Runtime API: {error}").into()
}

fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The AWS SDK reads `_X_AMZN_TRACE_ID` for every request it sends (X-Ray propagation);
/// like lambda_runtime, set it per invocation and clear it when Lambda sent none. It is
/// set between two invocations, when no handler runs; neither of our functions spawns
/// tasks that outlive an invocation, so no other thread reads the environment meanwhile.
fn set_trace_id(trace_id: Option<&str>) {
    match trace_id {
        Some(id) => std::env::set_var("_X_AMZN_TRACE_ID", id),
        None => std::env::remove_var("_X_AMZN_TRACE_ID"),
    }
}

fn error_document(diagnostic: &Diagnostic) -> Vec<u8> {
    serde_json::to_vec(diagnostic).unwrap_or_else(|_| {
        br#"{"errorType":"Runtime.SerializationError","errorMessage":"the error could not be serialized"}"#.to_vec()
    })
}

/// An answer that cannot be written as JSON (a map with non-string keys, a failing
/// `Serialize` impl): reported as Lambda's runtime would, not a crash.
fn serialization_failed(error: &serde_json::Error) -> Diagnostic {
    Diagnostic {
        error_type: "Runtime.SerializationError".to_string(),
        error_message: format!("the answer could not be serialized: {error}"),
    }
}

#[cfg(test)]
mod tests;
