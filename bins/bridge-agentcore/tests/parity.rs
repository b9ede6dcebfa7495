//! Differential test: Okta's guide's runtime (`BedrockAgentCoreApp`) and
//! `xaa-bridge-agentcore`, side by side, must look the same to an AgentCore client on
//! the shared cases: the `/ping` shape, bad JSON, a successful JSON answer, an error
//! answer, and the wrong method.
//!
//! Where ours is deliberately stricter or says more, the test pins that too:
//! - errors carry `{"error": <stable kind>, "message": ...}` where the framework has
//!   `{"error": <exception text>}` (same key, a value an operator can alert on);
//! - a body that is JSON but not an object is 400 (the framework hands it to the
//!   handler and answers 500);
//! - a body over 1 MiB is 413 (the framework has no limit);
//! - an unknown path is 404 with a JSON body (the framework answers `text/plain`);
//! - `/ping` says `HealthyBusy` while an invocation runs (the framework only does for
//!   its async tasks), so AgentCore does not reclaim a session mid-answer.

mod common;

use devstack::{BedrockFault, IdTokenOptions};
use reqwest::Client;
use serde_json::{json, Value};
use testkit::devstack_and_moto;

use common::{PythonRuntime, Server, SECRET_NAME};

struct Reply {
    status: u16,
    content_type: String,
    allow: Option<String>,
    json: Option<Value>,
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let r = request.send().await.expect("an answer");
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (content_type, allow) = (header("content-type").unwrap_or_default(), header("allow"));
    let status = r.status().as_u16();
    let json = serde_json::from_str(&r.text().await.unwrap()).ok();
    Reply {
        status,
        content_type,
        allow,
        json,
    }
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_and_bedrock_agentcore_app_look_the_same_on_the_shared_cases() {
    let (devstack, moto) = devstack_and_moto(SECRET_NAME).await;
    let ours = Server::spawn(&devstack, &moto, &[]);
    let echo = PythonRuntime::start("echo").await;
    let fail = PythonRuntime::start("fail").await;
    let http = Client::new();
    let token = devstack.mint_id_token("alice@example.com", IdTokenOptions::default());
    let payload = json!({"prompt": "hi", "id_token": token, "session_id": "parity-1"});

    // GET /ping: same status, type and shape.
    for base in [&ours.base, &echo.base] {
        let r = send(http.get(format!("{base}/ping"))).await;
        assert_eq!(r.status, 200, "{base}");
        assert!(
            r.content_type.starts_with("application/json"),
            "{base}: {}",
            r.content_type
        );
        let body = r.json.unwrap();
        assert_eq!(keys(&body), ["status", "time_of_last_update"], "{base}");
        assert_eq!(body["status"], "Healthy", "{base}");
        assert!(
            body["time_of_last_update"].is_u64(),
            "{base}: whole unix seconds"
        );
    }

    // Bad JSON: 400 with a JSON `error` string from both.
    for base in [&ours.base, &echo.base] {
        let r = send(http.post(format!("{base}/invocations")).body("{not json")).await;
        assert_eq!(r.status, 400, "{base}");
        assert!(r.content_type.starts_with("application/json"), "{base}");
        assert!(r.json.unwrap()["error"].is_string(), "{base}");
    }

    // A successful answer: 200, JSON, `answer` and `session_id` strings.
    let mut answers = Vec::new();
    for base in [&ours.base, &echo.base] {
        let r = send(
            http.post(format!("{base}/invocations"))
                .body(payload.to_string()),
        )
        .await;
        assert_eq!(r.status, 200, "{base}");
        assert!(r.content_type.starts_with("application/json"), "{base}");
        let body = r.json.unwrap();
        assert_eq!(keys(&body), ["answer", "session_id"], "{base}");
        assert_eq!(body["session_id"], "parity-1", "{base}");
        answers.push(body["answer"].as_str().unwrap().to_string());
    }
    assert!(answers[0].contains("alice@example.com") && answers[1] == "echo: hi");

    // An error answer: 500 with a JSON `error` string from both (the framework's
    // handler raised; our agent was not found).
    devstack.set_bedrock_fault(BedrockFault::UnknownAgent);
    let theirs = send(
        http.post(format!("{}/invocations", fail.base))
            .body(payload.to_string()),
    )
    .await;
    let mine = send(
        http.post(format!("{}/invocations", ours.base))
            .body(payload.to_string()),
    )
    .await;
    devstack.set_bedrock_fault(BedrockFault::None);
    for (who, r) in [("ours", &mine), ("BedrockAgentCoreApp", &theirs)] {
        assert_eq!(r.status, 500, "{who}");
        assert!(r.content_type.starts_with("application/json"), "{who}");
        assert!(r.json.as_ref().unwrap()["error"].is_string(), "{who}");
    }
    assert_eq!(
        mine.json.unwrap()["error"],
        "AgentNotFound",
        "ours names a stable kind"
    );

    // The wrong method: 405 with `Allow: POST` from both.
    for base in [&ours.base, &echo.base] {
        let r = send(http.get(format!("{base}/invocations"))).await;
        assert_eq!(r.status, 405, "{base}");
        assert!(
            r.allow.as_deref().is_some_and(|a| a.contains("POST")),
            "{base}"
        );
    }

    // Deliberately stricter: JSON that is not an object, and an unknown path.
    let theirs = send(http.post(format!("{}/invocations", echo.base)).body("[1]")).await;
    let mine = send(http.post(format!("{}/invocations", ours.base)).body("[1]")).await;
    assert_eq!((theirs.status, mine.status), (500, 400));
    let theirs = send(http.get(format!("{}/nope", echo.base))).await;
    let mine = send(http.get(format!("{}/nope", ours.base))).await;
    assert_eq!((theirs.status, mine.status), (404, 404));
    assert!(theirs.json.is_none() && mine.json.unwrap()["error"] == "NotFound");
}
