//! The loop against a scripted Runtime API on loopback: each test lists what `/next`
//! answers, in order (the first reply past the script is a 500, which ends the loop),
//! and reads back what the loop posted.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use super::*;

/// One reply of `/next`.
struct Next {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: &'static str,
}

/// An event with a request id and a wall-clock deadline, plus `extra` headers.
fn event(request_id: &str, body: &'static str, extra: &[(&'static str, &str)]) -> Next {
    let mut headers = vec![
        (REQUEST_ID, request_id.to_string()),
        (DEADLINE_MS, "1800000000000".to_string()),
    ];
    headers.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    Next {
        status: 200,
        headers,
        body,
    }
}

/// What the loop posted: path, headers, body.
#[derive(Debug)]
struct Posted {
    path: String,
    headers: http::HeaderMap,
    body: Value,
}

#[derive(Default)]
struct Script {
    next: Mutex<VecDeque<Next>>,
    posted: Mutex<Vec<Posted>>,
}

async fn serve(script: Arc<Script>, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if req.method() == http::Method::GET && path == NEXT {
        let next = script.next.lock().unwrap().pop_front();
        let Some(next) = next else {
            return reply(500, "");
        };
        let mut response = reply(next.status, next.body);
        for (name, value) in next.headers {
            response
                .headers_mut()
                .insert(name, value.parse().expect("header value"));
        }
        return response;
    }
    let headers = req.headers().clone();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    script.posted.lock().unwrap().push(Posted {
        path,
        headers,
        body,
    });
    reply(202, "")
}

fn reply(status: u16, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
}

/// The scripted Runtime API on a loopback port, and a client of it.
async fn serve_script(script: &Arc<Script>) -> (PooledClient, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shared = Arc::clone(script);
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let script = Arc::clone(&shared);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let script = Arc::clone(&script);
                    async move { Ok::<_, Infallible>(serve(script, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let client = PooledClient::builder()
        .with_endpoint(format!("http://{addr}").parse().unwrap())
        .build();
    (client, server)
}

/// Serve `next` to the loop running `handler` until the script runs out; return the
/// loop's result and what it posted. One loop at a time: the trace id is process state.
async fn run_script<F, Fut, R>(next: Vec<Next>, handler: F) -> (Result<(), BoxError>, Vec<Posted>)
where
    F: FnMut(Invocation) -> Fut,
    Fut: Future<Output = Result<R, Diagnostic>>,
    R: Serialize,
{
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    let script = Arc::new(Script {
        next: Mutex::new(next.into()),
        ..Script::default()
    });
    let (client, server) = serve_script(&script).await;
    let result = tokio::time::timeout(Duration::from_secs(30), run_with(client, handler))
        .await
        .expect("the loop ends when the script does");
    server.abort();
    let posted = std::mem::take(&mut *script.posted.lock().unwrap());
    (result, posted)
}

#[tokio::test]
async fn headers_lambda_runtime_could_not_parse_reach_the_handler_unread() {
    let gateway = r#"{"custom":{"bedrockAgentCorePropagatedHeaders":{"x-a":"b"},"bedrockAgentCoreToolName":"t___x"}}"#;
    let next = vec![event(
        "req-1",
        r#"{"prompt":"hi"}"#,
        &[
            ("lambda-runtime-client-context", gateway),
            ("lambda-runtime-cognito-identity", "not json"),
            (INVOCATION_ID, "inv-1"),
        ],
    )];
    let (result, posted) = run_script(next, |invocation: Invocation| async move {
        Ok::<_, Diagnostic>(json!({
            "request_id": invocation.request_id,
            "deadline_ms": invocation.deadline_ms,
            "event": serde_json::from_slice::<Value>(&invocation.body).unwrap(),
        }))
    })
    .await;
    assert!(result.is_err(), "the script's final 500 ends the loop");
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(
        posted[0].path,
        "/2018-06-01/runtime/invocation/req-1/response"
    );
    assert_eq!(
        posted[0].body,
        json!({"request_id": "req-1", "deadline_ms": 1_800_000_000_000_u64, "event": {"prompt": "hi"}})
    );
    assert_eq!(
        posted[0].headers[INVOCATION_ID], "inv-1",
        "the invocation id is echoed"
    );
    assert!(posted[0].headers.get(ERROR_TYPE).is_none());
}

#[tokio::test]
async fn an_error_posts_lambdas_error_document() {
    let next = vec![event("req-2", "{}", &[])];
    let (_, posted) = run_script(next, |_: Invocation| async {
        Err::<(), _>(Diagnostic {
            error_type: "InvalidRequest".into(),
            error_message: "invalid request: field `prompt` is missing".into(),
        })
    })
    .await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0].path, "/2018-06-01/runtime/invocation/req-2/error");
    assert_eq!(
        posted[0].body,
        json!({"errorType": "InvalidRequest", "errorMessage": "invalid request: field `prompt` is missing"})
    );
    assert_eq!(posted[0].headers[ERROR_TYPE], "unhandled");
    assert!(posted[0].headers.get(INVOCATION_ID).is_none());
}

#[tokio::test]
async fn deadlines_that_are_missing_or_not_numbers_reach_the_handler_as_zero() {
    let mut missing = event("req-3", "{}", &[]);
    missing.headers.retain(|(name, _)| *name != DEADLINE_MS);
    let mut garbage = event("req-4", "{}", &[]);
    garbage.headers[1].1 = "soon".to_string();
    let (_, posted) = run_script(
        vec![missing, garbage],
        |invocation: Invocation| async move { Ok::<_, Diagnostic>(invocation.deadline_ms) },
    )
    .await;
    let deadlines: Vec<&Value> = posted.iter().map(|p| &p.body).collect();
    assert_eq!(deadlines, [&json!(0), &json!(0)]);
}

#[tokio::test]
async fn the_trace_id_is_set_for_each_invocation_and_cleared_without_one() {
    let traced = event(
        "req-5",
        "{}",
        &[(TRACE_ID, "Root=1-5759e988-bd862e3fe1be46a994272793")],
    );
    let untraced = event("req-6", "{}", &[]);
    let (_, posted) = run_script(vec![traced, untraced], |_: Invocation| async {
        Ok::<_, Diagnostic>(std::env::var("_X_AMZN_TRACE_ID").ok())
    })
    .await;
    let seen: Vec<&Value> = posted.iter().map(|p| &p.body).collect();
    assert_eq!(
        seen,
        [
            &json!("Root=1-5759e988-bd862e3fe1be46a994272793"),
            &Value::Null
        ]
    );
}

#[tokio::test]
async fn a_no_content_reply_is_polled_again() {
    let empty = Next {
        status: 204,
        headers: vec![],
        body: "",
    };
    let (_, posted) = run_script(
        vec![empty, event("req-7", "{}", &[])],
        |_: Invocation| async { Ok::<_, Diagnostic>("answered") },
    )
    .await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0].body, json!("answered"));
}

#[tokio::test]
async fn an_event_without_a_request_id_ends_the_loop_unanswered() {
    let mut anonymous = event("req-8", "{}", &[]);
    anonymous.headers.retain(|(name, _)| *name != REQUEST_ID);
    let mut called = false;
    let (result, posted) = run_script(vec![anonymous], |_: Invocation| {
        called = true;
        async { Ok::<_, Diagnostic>(()) }
    })
    .await;
    let error = result.expect_err("no request id: nothing to answer");
    assert!(error.to_string().contains(REQUEST_ID), "{error}");
    assert!(posted.is_empty() && !called);
}

#[test]
fn the_error_document_uses_lambdas_field_names() {
    let d = Diagnostic {
        error_type: "ConfigError".into(),
        error_message: "configuration error: OKTA_SCOPE".into(),
    };
    assert_eq!(
        serde_json::from_slice::<Value>(&error_document(&d)).unwrap(),
        json!({"errorType": "ConfigError", "errorMessage": "configuration error: OKTA_SCOPE"})
    );
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

#[tokio::test]
async fn an_init_error_is_posted_with_its_type() {
    let script = Arc::new(Script::default());
    let (client, server) = serve_script(&script).await;
    let d = Diagnostic {
        error_type: "ConfigError".into(),
        error_message: "TOOL_ISSUER: is not set".into(),
    };
    report_init_error_with(&client, &d).await.unwrap();
    server.abort();
    let posted = std::mem::take(&mut *script.posted.lock().unwrap());
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0].path, INIT_ERROR);
    assert_eq!(posted[0].headers[ERROR_TYPE], "ConfigError");
    assert_eq!(
        posted[0].body,
        json!({"errorType": "ConfigError", "errorMessage": "TOOL_ISSUER: is not set"})
    );
}
