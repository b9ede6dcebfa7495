//! The HTTP contract of AgentCore Runtime: `POST /invocations`, `GET /ping`, and the
//! one mapping of the core's error kinds to HTTP statuses.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bridge::{Bridge, Call, Deadline, Error};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::health::{BusyGuard, Health};
use crate::inbound::Inbound;
use crate::session;
use crate::sse;

pub type Body = BoxBody<Bytes, Infallible>;

/// Larger bodies are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct App {
    pub bridge: Bridge,
    pub health: Arc<Health>,
    pub inbound: Option<Inbound>,
    pub request_timeout: Duration,
}

/// The status a client sees for each error kind of the core.
pub fn status_of(kind: &str) -> StatusCode {
    match kind {
        "InvalidRequest" => StatusCode::BAD_REQUEST,
        "IdTokenRejected" | "StepUpRequired" => StatusCode::UNAUTHORIZED,
        "ScopeRejected" | "PolicyDenied" | "AgentAccessDenied" => StatusCode::FORBIDDEN,
        "OktaProtocolError" | "AgentFailed" => StatusCode::BAD_GATEWAY,
        "OktaUnavailable" | "AgentThrottled" => StatusCode::SERVICE_UNAVAILABLE,
        "Timeout" => StatusCode::GATEWAY_TIMEOUT,
        // ConfigError, KeyError, AgentAuthFailed, AgentNotFound, OktaRejected: ours to fix.
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `{"error": <kind>, "message": <safe text>}`: the core's messages never carry a
/// token, key, prompt or upstream body.
pub fn error_response(error: &Error) -> Response<Body> {
    json_response(
        status_of(error.kind()),
        &json!({"error": error.kind(), "message": error.to_string()}),
    )
}

fn refuse(status: StatusCode, kind: &str, message: &str) -> Response<Body> {
    json_response(status, &json!({"error": kind, "message": message}))
}

impl App {
    pub async fn serve(
        self: Arc<Self>,
        request: Request<Incoming>,
    ) -> Result<Response<Body>, Infallible> {
        let response = match (request.method(), request.uri().path()) {
            (&Method::GET, "/ping") => json_response(
                StatusCode::OK,
                &serde_json::to_value(self.health.ping()).unwrap_or_default(),
            ),
            (&Method::POST, "/invocations") => {
                let busy = self.health.busy();
                self.clone().invocation(request, busy).await
            }
            (_, "/ping") => method_not_allowed("GET"),
            (_, "/invocations") => method_not_allowed("POST"),
            _ => refuse(
                StatusCode::NOT_FOUND,
                "NotFound",
                "no such path; use POST /invocations or GET /ping",
            ),
        };
        Ok(response)
    }

    async fn invocation(
        self: Arc<Self>,
        request: Request<Incoming>,
        busy: BusyGuard,
    ) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let bearer = match header("authorization") {
            None => None,
            Some(value) => match value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
            {
                Some(token) => Some(token.trim().to_string()),
                None => {
                    return refuse(
                        StatusCode::BAD_REQUEST,
                        "InvalidRequest",
                        "invalid request: the Authorization header must be `Bearer <id_token>`",
                    )
                }
            },
        };
        if let Some(inbound) = &self.inbound {
            if let Err(reason) = inbound.check(bearer.as_deref()).await {
                tracing::warn!(outcome = "unauthorized", reason, "inbound token refused");
                let mut response = refuse(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    &format!("inbound token refused: {reason}"),
                );
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
        }
        let declared = header("content-length").and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return too_large();
        }
        let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                return too_large()
            }
            Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequest",
                    "invalid request: the body could not be read",
                )
            }
        };
        let json: Value = match serde_json::from_slice(&bytes) {
            Ok(json) => json,
            Err(_) => {
                tracing::warn!(
                    outcome = "error",
                    error_type = "InvalidRequest",
                    "invocation refused: the body is not JSON"
                );
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequest",
                    "invalid request: the body is not JSON; send {\"prompt\", \"id_token\", \"session_id\"?}",
                );
            }
        };
        let default_session_id = Some(
            header(session::SESSION_HEADER)
                .and_then(session::from_header)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        );
        let call = Call {
            trace_id: session::request_id(header(session::REQUEST_ID_HEADER)),
            deadline: Deadline::after(self.request_timeout),
            bearer,
            default_session_id,
            chunks: None,
        };
        if header("accept").is_some_and(|a| a.contains("text/event-stream")) {
            return sse::answer(self.clone(), json, call, busy).await;
        }
        match self.bridge.ask_json(json, call).await {
            Ok(answer) => json_response(
                StatusCode::OK,
                &json!({"answer": answer.answer, "session_id": answer.session_id}),
            ),
            Err(e) => error_response(&e),
        }
    }
}

fn too_large() -> Response<Body> {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        "InvalidRequest",
        "invalid request: the body is larger than 1 MiB",
    )
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = refuse(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        &format!("use {allow}"),
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_the_status_the_contract_gives() {
        let expected = [
            ("InvalidRequest", 400),
            ("IdTokenRejected", 401),
            ("StepUpRequired", 401),
            ("ScopeRejected", 403),
            ("PolicyDenied", 403),
            ("AgentAccessDenied", 403),
            ("OktaProtocolError", 502),
            ("AgentFailed", 502),
            ("OktaUnavailable", 503),
            ("AgentThrottled", 503),
            ("Timeout", 504),
            ("ConfigError", 500),
            ("KeyError", 500),
            ("AgentAuthFailed", 500),
            ("AgentNotFound", 500),
            ("OktaRejected", 500),
        ];
        assert_eq!(
            expected.len(),
            bridge::KINDS.len(),
            "every published kind is mapped"
        );
        for (kind, status) in expected {
            assert!(bridge::KINDS.contains(&kind), "{kind}");
            assert_eq!(status_of(kind).as_u16(), status, "{kind}");
        }
    }
}
