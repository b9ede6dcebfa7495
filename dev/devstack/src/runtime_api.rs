//! A Lambda Runtime API emulator: the three endpoints a custom runtime talks to
//! (`/invocation/next`, `/response`, `/error`, plus `/init/error`), so tests and the
//! benchmark can run the real `xaa-bridge` binary exactly as Lambda does, with
//! `AWS_LAMBDA_RUNTIME_API` pointing here.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};

const PREFIX: &str = "/2018-06-01/runtime";
/// Lambda's own limit for synchronous payloads.
const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// What the function answered for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(serde_json::Value),
    Error {
        error_type: String,
        error_message: String,
    },
}

struct Pending {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
}

#[derive(Default)]
struct State {
    queue: Mutex<VecDeque<Pending>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_next: Mutex<Option<Instant>>,
    init_error: Mutex<Option<Outcome>>,
    polled: Notify,
}

pub struct RuntimeApi {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<RuntimeApi> {
        RuntimeApi::start_on(0).await
    }

    /// [`RuntimeApi::start`] on a chosen port of 127.0.0.1 (0 picks a free one).
    pub async fn start_on(port: u16) -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| route(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(RuntimeApi { addr, state, task })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// When the function first asked for an event: the end of its init phase.
    pub async fn wait_until_ready(&self, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.state.polled.notified();
            if let Some(at) = *self.state.first_next.lock().unwrap() {
                return Some(at);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            if tokio::time::timeout(left, notified).await.is_err() {
                return *self.state.first_next.lock().unwrap();
            }
        }
    }

    /// What the function reported to `/init/error`, if anything.
    pub fn init_error(&self) -> Option<Outcome> {
        self.state.init_error.lock().unwrap().clone()
    }

    /// Queue one event and wait for the function's answer. `timeout` is also the
    /// deadline the function sees.
    pub async fn invoke(&self, payload: &serde_json::Value, timeout: Duration) -> Option<Outcome> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        self.state
            .waiting
            .lock()
            .unwrap()
            .insert(request_id.clone(), tx);
        let deadline_ms = (SystemTime::now() + timeout)
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.state.queue.lock().unwrap().push_back(Pending {
            request_id: request_id.clone(),
            payload: Bytes::from(payload.to_string()),
            deadline_ms,
        });
        self.state.queued.notify_one();
        let outcome = tokio::time::timeout(timeout + Duration::from_secs(1), rx)
            .await
            .ok()
            .and_then(Result::ok);
        // Whatever happened, this invocation is over: a function that polls later must
        // not be handed an event nobody waits for (Lambda drops it too).
        self.state.waiting.lock().unwrap().remove(&request_id);
        self.state
            .queue
            .lock()
            .unwrap()
            .retain(|pending| pending.request_id != request_id);
        outcome
    }

    /// Events queued and not yet handed to the function.
    pub fn queued(&self) -> usize {
        self.state.queue.lock().unwrap().len()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

async fn route(
    state: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(reply(404, "unknown path"));
    };
    if method == Method::GET && rest == "/invocation/next" {
        state
            .first_next
            .lock()
            .unwrap()
            .get_or_insert_with(Instant::now);
        state.polled.notify_waiters();
        loop {
            let notified = state.queued.notified();
            if let Some(next) = state.queue.lock().unwrap().pop_front() {
                let mut response = reply(200, next.payload);
                let headers = response.headers_mut();
                headers.insert(
                    "lambda-runtime-aws-request-id",
                    next.request_id.parse().expect("uuid header"),
                );
                headers.insert(
                    "lambda-runtime-deadline-ms",
                    next.deadline_ms.to_string().parse().expect("digits"),
                );
                headers.insert(
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:000000000000:function:xaa-bridge"
                        .parse()
                        .expect("arn"),
                );
                headers.insert(
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000;Sampled=0"
                        .parse()
                        .expect("trace"),
                );
                return Ok(response);
            }
            notified.await;
        }
    }
    if method != Method::POST {
        return Ok(reply(405, "method not allowed"));
    }
    let body = match Limited::new(req.into_body(), MAX_PAYLOAD).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(reply(413, "payload too large")),
    };
    if rest == "/init/error" {
        *state.init_error.lock().unwrap() = Some(error_outcome(&body));
        return Ok(reply(202, "{}"));
    }
    let Some(rest) = rest.strip_prefix("/invocation/") else {
        return Ok(reply(404, "unknown path"));
    };
    let (request_id, outcome) = match rest.rsplit_once('/') {
        Some((id, "response")) => (
            id,
            Outcome::Response(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)),
        ),
        Some((id, "error")) => (id, error_outcome(&body)),
        _ => return Ok(reply(404, "unknown path")),
    };
    match state.waiting.lock().unwrap().remove(request_id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            Ok(reply(202, "{}"))
        }
        None => Ok(reply(400, "unknown or finished request id")),
    }
}

fn error_outcome(body: &[u8]) -> Outcome {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |name: &str| {
        value
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Outcome::Error {
        error_type: field("errorType"),
        error_message: field("errorMessage"),
    }
}
