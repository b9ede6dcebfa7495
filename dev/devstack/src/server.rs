//! The HTTP/1 plumbing both stand-ins share: accept loop, bounded bodies, replies,
//! one log line per request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use hyper::{HeaderMap, Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Bodies above this are refused with 413 before any parsing.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// A request with its body read (bounded).
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A response plus a short, secret-free note for the log line.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, String)>,
    pub body: Bytes,
    pub note: String,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: vec![(CONTENT_TYPE, content_type.to_string())],
            body: body.into(),
            note: String::new(),
        }
    }

    pub fn json(status: u16, value: &Value) -> Reply {
        Reply::new(status, "application/json", value.to_string())
    }

    /// Token endpoint answers (success or error) are never cached.
    pub fn no_store(self) -> Reply {
        self.header(CACHE_CONTROL, "no-store")
            .header(PRAGMA, "no-cache")
    }

    /// RFC 6749 error body `{"error","error_description"}`.
    pub fn oauth_error(status: u16, code: &str, description: &str) -> Reply {
        Reply::json(
            status,
            &json!({"error": code, "error_description": description}),
        )
        .no_store()
        .note(format!("error={code}"))
    }

    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    pub fn note(mut self, note: impl AsRef<str>) -> Reply {
        if note.as_ref().is_empty() {
            return self;
        }
        if !self.note.is_empty() {
            self.note.push(' ');
        }
        self.note.push_str(note.as_ref());
        self
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(self.body));
        *response.status_mut() = self.status;
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}

pub(crate) type BoxReply = Pin<Box<dyn Future<Output = Reply> + Send>>;
pub(crate) type Handler = Arc<dyn Fn(Req) -> BoxReply + Send + Sync>;

/// What a stand-in answers to an oversized body (its own error format).
pub(crate) type TooLarge = fn() -> Reply;

pub(crate) struct Service {
    pub name: &'static str,
    pub handler: Handler,
    pub too_large: TooLarge,
    pub log: bool,
}

/// Serve until `shutdown` flips; dropping the task aborts open connections too.
pub(crate) async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors and the like: do not spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let service = service.clone();
                connections.spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let service = service.clone();
                        async move { Ok::<_, Infallible>(handle(&service, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
}

async fn handle(
    service: &Service,
    req: hyper::Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let method = parts.method.clone();
    let reply = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => {
            let req = Req {
                method: parts.method,
                path: path.clone(),
                query: parts.uri.query().map(str::to_string),
                headers: parts.headers,
                body: collected.to_bytes(),
            };
            (service.handler)(req).await
        }
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            (service.too_large)().note("body too large")
        }
        Err(_) => Reply::new(400, "text/plain", "unreadable request body"),
    };
    if service.log {
        let note = if reply.note.is_empty() {
            String::new()
        } else {
            format!(" {}", reply.note)
        };
        eprintln!(
            "{} {} {} {}{}",
            service.name,
            method,
            path,
            reply.status.as_u16(),
            note
        );
    }
    reply.into_response()
}
