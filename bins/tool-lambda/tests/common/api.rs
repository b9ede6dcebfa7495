//! The Okta-protected API as the tests see it: a loopback HTTP server that records every
//! request (method, path and query as sent, the Authorization header, the body) and
//! answers by path, under the `/api` base path:
//!
//! - `/api/status/{code}`: that status, a JSON body
//! - `/api/redirect`: 302 to `/api/tickets/elsewhere` (must not be followed)
//! - `/api/huge`: a JSON body of 300 KiB (over the tool's 256 KiB cap)
//! - anything else: 200 `{"ok": true, "method", "path", "marker"}`
//!
//! Every body carries [`API_BODY_MARKER`], which must never reach a log.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;

pub const API_BODY_MARKER: &str = "api-body-secret-9931";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    /// Path and query exactly as sent on the request line.
    pub target: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

pub struct ApiServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ApiServer {
    pub async fn start() -> ApiServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the API");
        let addr = listener.local_addr().expect("an address");
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let shared = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let requests = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let requests = Arc::clone(&requests);
                        async move { Ok::<_, Infallible>(serve(requests, addr, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        ApiServer {
            addr,
            requests,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Every request made since the last `take` or `take_one`, in order.
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }

    /// The one request made since the last call of `take` (panics on none or several).
    pub fn take_one(&self) -> Recorded {
        let mut requests = std::mem::take(&mut *self.requests.lock().unwrap());
        assert_eq!(requests.len(), 1, "exactly one API call: {requests:?}");
        requests.remove(0)
    }

    /// Asserts that no request arrived (since the last `take_one`).
    pub fn assert_no_call(&self, why: &str) {
        let requests = self.requests();
        assert!(
            requests.is_empty(),
            "{why}: the API was called: {requests:?}"
        );
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    requests: Arc<Mutex<Vec<Recorded>>>,
    addr: SocketAddr,
    req: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let method = req.method().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_default();
    let authorization = header("authorization");
    let content_type = header("content-type");
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default().to_string();
    requests.lock().unwrap().push(Recorded {
        method: method.clone(),
        target,
        authorization,
        content_type,
        body,
    });
    if let Some(code) = path.strip_prefix("/api/status/") {
        let status = code.parse().unwrap_or(500);
        let body = json!({"error": format!("status {status}"), "marker": API_BODY_MARKER});
        return reply(status, body.to_string(), None);
    }
    match path.as_str() {
        "/api/redirect" => reply(
            302,
            json!({"marker": API_BODY_MARKER}).to_string(),
            Some(format!("http://{addr}/api/tickets/elsewhere")),
        ),
        "/api/huge" => {
            let filler = "x".repeat(300 * 1024);
            reply(
                200,
                json!({"marker": API_BODY_MARKER, "filler": filler}).to_string(),
                None,
            )
        }
        _ => reply(
            200,
            json!({"ok": true, "method": method, "path": path, "marker": API_BODY_MARKER})
                .to_string(),
            None,
        ),
    }
}

fn reply(status: u16, body: String, location: Option<String>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("a status");
    response.headers_mut().insert(
        "content-type",
        "application/json".parse().expect("a header value"),
    );
    if let Some(location) = location {
        response
            .headers_mut()
            .insert("location", location.parse().expect("a header value"));
    }
    response
}
