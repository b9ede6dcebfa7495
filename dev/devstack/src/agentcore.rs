//! The AgentCore Runtime stand-in: what sits in front of a container in AWS.
//!
//! `POST /runtimes/{agentRuntimeArn}/invocations` (the data-plane path; plain
//! `/invocations` is accepted too) applies the runtime's `customJWTAuthorizer` with the
//! settings an operator of Okta's guide gives it: discovery at this org, `allowedAudience`
//! = the OIDC app's client id. It checks the bearer token with devstack's own org key
//! (signature, `iss`, `aud`, `exp`), never with the bridge's code. A passing request is
//! forwarded to the container at `/invocations` with what AgentCore adds: the runtime
//! session header (the caller's, 33 to 256 characters, or a new one), a request id, and
//! `Authorization` (as if allow-listed in `requestHeaderAllowlist`). The container's
//! answer comes back with the session header. Refusals use AgentCore's shapes:
//! 401 for the authorizer, 400 `ValidationException` for a bad session id, 424 when
//! the container cannot be reached.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::json;

use crate::server::{Reply, Req};
use crate::State;

pub const SESSION_HEADER: &str = "x-amzn-bedrock-agentcore-runtime-session-id";
pub const REQUEST_ID_HEADER: &str = "x-amzn-bedrock-agentcore-runtime-request-id";
/// The container's answer is buffered up to this size.
const MAX_ANSWER: usize = 8 * 1024 * 1024;
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) async fn handle(state: Arc<State>, req: Req) -> Reply {
    let path_ok = req.path == "/invocations"
        || (req.path.starts_with("/runtimes/") && req.path.ends_with("/invocations"));
    if !path_ok {
        return Reply::json(404, &json!({"message": "Not Found"}));
    }
    if req.method != hyper::Method::POST {
        return Reply::json(405, &json!({"message": "Method Not Allowed"}));
    }
    state.lock().stats.agentcore_invocations += 1;
    if let Err(reason) = authorize(&state, req.header("authorization")) {
        return Reply::json(401, &json!({"message": format!("Unauthorized: {reason}")}))
            .header(HeaderName::from_static("www-authenticate"), "Bearer")
            .note(format!("authorizer={reason}"));
    }
    let session = match req.header(SESSION_HEADER) {
        Some(id) if (33..=256).contains(&id.len()) => id.to_string(),
        Some(_) => {
            return Reply::json(
                400,
                &json!({"message": "runtimeSessionId must be 33 to 256 characters", "__type": "ValidationException"}),
            )
        }
        None => format!("devstack-session-{}", uuid::Uuid::new_v4().simple()),
    };
    let Some(upstream) = state.lock().agentcore_upstream.clone() else {
        return Reply::json(
            424,
            &json!({"message": "no runtime container is configured (devstack --agentcore-upstream)", "__type": "RuntimeClientError"}),
        );
    };
    match forward(&upstream, &req, &session).await {
        Ok(reply) => reply
            .header(HeaderName::from_static(SESSION_HEADER), session)
            .note("forwarded"),
        Err(why) => Reply::json(
            424,
            &json!({"message": format!("the runtime container failed: {why}"), "__type": "RuntimeClientError"}),
        ),
    }
}

/// AgentCore's `customJWTAuthorizer` with discovery at this org and the OIDC app as the
/// allowed audience.
fn authorize(state: &State, header: Option<&str>) -> Result<(), &'static str> {
    let token = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or("no bearer token")?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[state.okta_base.as_str()]);
    validation.set_audience(&[state.cfg.oidc_client_id.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let header = jsonwebtoken::decode_header(token).map_err(|_| "not a JWT")?;
    if header.kid.as_deref() != Some(state.org_key.kid.as_str()) {
        return Err("unknown key");
    }
    jsonwebtoken::decode::<serde_json::Value>(token, &state.org_key.decoding, &validation)
        .map(|_| ())
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => "expired",
            jsonwebtoken::errors::ErrorKind::InvalidAudience => "audience not allowed",
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => "wrong issuer",
            _ => "invalid token",
        })
}

async fn forward(upstream: &str, req: &Req, session: &str) -> Result<Reply, String> {
    let authority = upstream
        .strip_prefix("http://")
        .ok_or("the upstream must be http://127.0.0.1:PORT")?
        .trim_end_matches('/')
        .to_string();
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .map_err(|_| "cannot connect")?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| "handshake failed")?;
    tokio::spawn(connection);
    let mut request = hyper::Request::post("/invocations")
        .header("host", &authority)
        .header(SESSION_HEADER, session)
        .header(REQUEST_ID_HEADER, uuid::Uuid::new_v4().to_string())
        .header(
            CONTENT_TYPE,
            req.header("content-type").unwrap_or("application/json"),
        );
    for name in [AUTHORIZATION, ACCEPT] {
        if let Some(value) = req.headers.get(&name) {
            request = request.header(name, value);
        }
    }
    let request = request
        .body(Full::new(req.body.clone()))
        .map_err(|_| "bad request")?;
    let exchange = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|_| "no answer")?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string();
        let body: Bytes = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|_| "the answer is too large or was cut off")?
            .to_bytes();
        Ok::<_, &str>(Reply::new(status, &content_type, body))
    };
    tokio::time::timeout(UPSTREAM_TIMEOUT, exchange)
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(str::to_string)
}

/// The stand-in's answer to an oversized body.
pub(crate) fn too_large() -> Reply {
    Reply::json(
        413,
        &json!({"message": "payload too large", "__type": "ValidationException"}),
    )
}
