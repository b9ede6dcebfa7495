//! `xaa-bridge-agentcore` as AgentCore Runtime runs it: the real binary, on a loopback
//! port it picks itself, against devstack (Okta, Bedrock) and moto (Secrets Manager),
//! spoken to over HTTP.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{Server, SECRET_NAME};

use devstack::{BedrockFault, Devstack, IdTokenOptions, OktaFault};
use serde_json::{json, Value};
use testkit::{devstack_and_moto, function_env, Moto};

struct Stack {
    devstack: Devstack,
    _moto: Moto,
    server: Server,
    http: reqwest::Client,
}

impl Stack {
    async fn start(overrides: &[(&str, &str)]) -> Stack {
        let (devstack, moto) = devstack_and_moto(SECRET_NAME).await;
        let server = Server::spawn(&devstack, &moto, overrides);
        Stack {
            devstack,
            _moto: moto,
            server,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    fn id_token(&self, login: &str) -> String {
        self.devstack
            .mint_id_token(login, IdTokenOptions::default())
    }

    async fn post(&self, body: &Value, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/invocations", self.server.base))
            .body(body.to_string());
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        (status, json)
    }

    /// POST `body` asking for Server-Sent Events.
    async fn post_streaming(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/invocations", self.server.base))
            .header("accept", "text/event-stream")
            .body(body.to_string())
            .send()
            .await
            .expect("the server answers")
    }

    async fn ask(&self, login: &str, prompt: &str) -> (u16, Value) {
        self.post(
            &json!({"prompt": prompt, "id_token": self.id_token(login)}),
            &[],
        )
        .await
    }

    fn okta_calls(&self) -> (u64, u64) {
        let s = self.devstack.stats();
        (s.leg1, s.leg2)
    }
}

fn assert_error(got: (u16, Value), status: u16, kind: &str) -> String {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], kind, "{}", got.1);
    got.1["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_payload_is_answered_and_a_second_turn_makes_no_okta_call() {
    let stack = Stack::start(&[]).await;
    let (status, body) = stack.ask("alice@example.com", "Who am I?").await;
    assert_eq!(status, 200, "{body}\n{}", stack.server.logs());
    assert!(
        body["answer"]
            .as_str()
            .unwrap()
            .contains("alice@example.com"),
        "{body}"
    );
    let session = body["session_id"].as_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(session).is_ok(),
        "a new session id: {session}"
    );
    assert_eq!(stack.okta_calls(), (1, 1));
    // The same ID token again: the token cache answers, Okta is not called.
    let token = stack.id_token("alice@example.com");
    let (status, _) = stack
        .post(&json!({"prompt": "again", "id_token": token}), &[])
        .await;
    assert_eq!(status, 200);
    let (status, _) = stack
        .post(&json!({"prompt": "and again", "id_token": token}), &[])
        .await;
    assert_eq!(status, 200);
    let (leg1, leg2) = stack.okta_calls();
    assert_eq!(
        (leg1, leg2),
        (2, 2),
        "one exchange for the new token, none for its reuse"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_id_token_may_come_as_a_bearer_header_and_the_session_from_agentcore() {
    let stack = Stack::start(&[]).await;
    let token = stack.id_token("bob@example.com");
    let bearer = format!("Bearer {token}");
    let agentcore_session = "a".repeat(33) + " with/odd chars";
    let (status, body) = stack
        .post(
            &json!({"prompt": "hi"}),
            &[
                ("authorization", &bearer),
                (
                    "x-amzn-bedrock-agentcore-runtime-session-id",
                    &agentcore_session,
                ),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The caller's session is the header mapped to Bedrock's rule; Bedrock itself sees
    // that id bound to the person.
    let mapped = body["session_id"].as_str().unwrap().to_string();
    let pattern_ok = (2..=100).contains(&mapped.len())
        && mapped
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c));
    assert!(pattern_ok, "Bedrock's session id rule: {mapped}");
    let used = stack.devstack.stats().last_invoke.unwrap().session_id;
    assert!(used.starts_with("xs-"), "{used}");
    // The same header maps to the same Bedrock session.
    let (_, again) = stack
        .post(
            &json!({"prompt": "hi", "id_token": token}),
            &[(
                "x-amzn-bedrock-agentcore-runtime-session-id",
                &agentcore_session,
            )],
        )
        .await;
    assert_eq!(again["session_id"], mapped.as_str());
    assert_eq!(
        stack.devstack.stats().last_invoke.unwrap().session_id,
        used,
        "the same header and person continue the same Bedrock session"
    );
    // A session id in the body wins over the header.
    let (_, own) = stack
        .post(
            &json!({"prompt": "hi", "id_token": token, "session_id": "chat-42"}),
            &[(
                "x-amzn-bedrock-agentcore-runtime-session-id",
                &agentcore_session,
            )],
        )
        .await;
    assert_eq!(own["session_id"], "chat-42");
    // Header and body must agree when both carry a token.
    let other = stack.id_token("alice@example.com");
    let message = assert_error(
        stack
            .post(
                &json!({"prompt": "hi", "id_token": other}),
                &[("authorization", &bearer)],
            )
            .await,
        400,
        "InvalidRequest",
    );
    assert!(message.contains("differs"), "{message}");
    assert!(!message.contains(&token) && !message.contains(&other));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_typed_errors_with_their_status_before_any_call() {
    let stack = Stack::start(&[]).await;
    let http = &stack.http;
    let base = &stack.server.base;
    let raw = |body: &'static str| http.post(format!("{base}/invocations")).body(body).send();
    let r = raw("{not json").await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "InvalidRequest");
    assert_error(
        stack
            .post(
                &json!({"id_token": stack.id_token("alice@example.com")}),
                &[],
            )
            .await,
        400,
        "InvalidRequest",
    );
    assert_error(
        stack.post(&json!(["prompt"]), &[]).await,
        400,
        "InvalidRequest",
    );
    let big = "x".repeat(1024 * 1024 + 1);
    let r = http
        .post(format!("{base}/invocations"))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let r = http
        .get(format!("{base}/invocations"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let r = http.post(format!("{base}/ping")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let r = http.get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let expired = stack.devstack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            lifetime_secs: -600,
            ..Default::default()
        },
    );
    assert_error(
        stack
            .post(&json!({"prompt": "hi", "id_token": expired}), &[])
            .await,
        401,
        "IdTokenRejected",
    );
    assert_eq!(stack.okta_calls(), (0, 0), "nothing reached Okta");
    assert_eq!(
        stack.devstack.stats().invoke_agent,
        0,
        "nothing reached Bedrock"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failures_map_to_their_statuses() {
    let stack = Stack::start(&[("REQUEST_TIMEOUT_MS", "3000")]).await;
    stack.devstack.set_policy_allows_jwt_bearer(false);
    assert_error(
        stack.ask("alice@example.com", "hi").await,
        403,
        "PolicyDenied",
    );
    stack.devstack.set_policy_allows_jwt_bearer(true);

    stack.devstack.set_okta_fault(OktaFault::Status {
        status: 503,
        times: 10,
        retry_after_secs: None,
    });
    assert_error(
        stack.ask("bob@example.com", "hi").await,
        503,
        "OktaUnavailable",
    );
    stack.devstack.set_okta_fault(OktaFault::None);

    stack.devstack.set_bedrock_fault(BedrockFault::UnknownAgent);
    assert_error(
        stack.ask("alice@example.com", "hi").await,
        500,
        "AgentNotFound",
    );

    stack
        .devstack
        .set_bedrock_fault(BedrockFault::ExceptionMidStream {
            exception_type: "internalServerException".into(),
            times: 5,
            after_chunks: 1,
        });
    assert_error(
        stack.ask("alice@example.com", "hi").await,
        502,
        "AgentFailed",
    );

    stack
        .devstack
        .set_bedrock_fault(BedrockFault::Slow(Duration::from_secs(10)));
    let message = assert_error(stack.ask("alice@example.com", "hi").await, 504, "Timeout");
    assert!(message.contains("Bedrock"), "{message}");
    stack.devstack.set_bedrock_fault(BedrockFault::None);
}

/// The `data:` frames of an SSE body, parsed.
fn sse_frames(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let data = f
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data frame: {f:?}"));
            serde_json::from_str(data).unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_accept_event_stream_the_answer_streams_and_ends_with_the_session() {
    let stack = Stack::start(&[]).await;
    let token = stack.id_token("alice@example.com");
    let response = stack
        .post_streaming(&json!({"prompt": "hi", "id_token": token, "session_id": "sse-1"}))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let frames = sse_frames(&response.text().await.unwrap());
    let (last, pieces) = frames.split_last().unwrap();
    assert_eq!(last, &json!({"session_id": "sse-1", "done": true}));
    assert!(
        pieces.len() >= 2,
        "the stand-in sends several chunks: {frames:?}"
    );
    let text: String = pieces
        .iter()
        .map(|f| f["chunk"].as_str().unwrap())
        .collect();
    assert!(text.contains("alice@example.com"), "{text}");

    // An error after the first chunk: the status is already 200, so a final error frame.
    stack
        .devstack
        .set_bedrock_fault(BedrockFault::ExceptionMidStream {
            exception_type: "internalServerException".into(),
            times: 5,
            after_chunks: 1,
        });
    let response = stack
        .post_streaming(&json!({"prompt": "hi", "id_token": token}))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let frames = sse_frames(&response.text().await.unwrap());
    assert_eq!(frames.last().unwrap()["error"], "AgentFailed", "{frames:?}");
    // An error before any chunk is an ordinary JSON error with its status.
    stack.devstack.set_bedrock_fault(BedrockFault::UnknownAgent);
    let response = stack
        .post_streaming(&json!({"prompt": "hi", "id_token": token}))
        .await;
    assert_eq!(response.status().as_u16(), 500);
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["error"], "AgentNotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_one_and_many_users_each_get_their_own_answer() {
    let stack = Arc::new(Stack::start(&[]).await);
    let alice = stack.id_token("alice@example.com");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (stack, alice) = (stack.clone(), alice.clone());
        tasks.push(tokio::spawn(async move {
            let login = if i % 2 == 0 {
                "alice@example.com".to_string()
            } else {
                "bob@example.com".to_string()
            };
            let token = if i % 2 == 0 {
                alice
            } else {
                stack.id_token(&login)
            };
            let (status, body) = stack
                .post(&json!({"prompt": "who", "id_token": token}), &[])
                .await;
            (login, status, body)
        }));
    }
    for task in tasks {
        let (login, status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(
            body["answer"].as_str().unwrap().contains(&login),
            "{login}: {body}"
        );
    }
    let (leg1, leg2) = stack.okta_calls();
    // Alice's four requests share one token (single flight); each of Bob's is a new token.
    assert_eq!((leg1, leg2), (5, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_is_busy_during_an_invocation_and_sigterm_lets_it_finish() {
    let mut stack = Stack::start(&[]).await;
    let ping = |stack: &Stack| {
        let url = format!("{}/ping", stack.server.base);
        let http = stack.http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let idle = ping(&stack).await;
    assert_eq!(idle["status"], "Healthy");
    assert!(idle["time_of_last_update"].as_u64().unwrap() > 1_700_000_000);
    stack
        .devstack
        .set_bedrock_fault(BedrockFault::Slow(Duration::from_secs(2)));
    let token = stack.id_token("alice@example.com");
    let slow = {
        let http = stack.http.clone();
        let url = format!("{}/invocations", stack.server.base);
        tokio::spawn(async move {
            http.post(url)
                .body(json!({"prompt": "hi", "id_token": token}).to_string())
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    let mut busy = false;
    for _ in 0..100 {
        if ping(&stack).await["status"] == "HealthyBusy" {
            busy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(busy, "HealthyBusy while the invocation runs");
    // SIGTERM mid-request: the request still completes, then the process exits 0.
    let pid = stack.server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert_eq!(
        slow.await
            .unwrap()
            .expect("the in-flight request completes"),
        200
    );
    let status = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = stack.server.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_error_stops_the_process_with_the_variable_named() {
    let (devstack, moto) = devstack_and_moto(SECRET_NAME).await;
    for (var, value) in [
        ("OKTA_SCOPE", "openid"),
        ("BIND_ADDR", "nowhere"),
        ("INBOUND_ALLOWED_CLIENTS", "c1"),
    ] {
        let s = devstack.settings();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xaa-bridge-agentcore"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(function_env(&s, SECRET_NAME))
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &moto.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("BIND_ADDR", "127.0.0.1:0")
            .env(var, value);
        let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(var), "{var}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbound_check_refuses_a_bad_bearer_before_any_okta_call() {
    let (devstack, moto) = devstack_and_moto(SECRET_NAME).await;
    let s = devstack.settings();
    let discovery = format!("{}/.well-known/openid-configuration", s.okta_base_url);
    let server = Server::spawn(
        &devstack,
        &moto,
        &[
            ("INBOUND_JWT_DISCOVERY_URL", &discovery),
            ("INBOUND_ALLOWED_AUDIENCE", &s.oidc_client_id),
        ],
    );
    let http = reqwest::Client::new();
    let post = |bearer: Option<String>| {
        let mut r = http
            .post(format!("{}/invocations", server.base))
            .body(json!({"prompt": "hi"}).to_string());
        if let Some(b) = bearer {
            r = r.header("authorization", format!("Bearer {b}"));
        }
        r.send()
    };
    let r = post(None).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let good = devstack.mint_id_token("alice@example.com", IdTokenOptions::default());
    let mut parts: Vec<&str> = good.split('.').collect();
    let forged_payload = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = json!("someone-else");
        b64.encode(claims.to_string())
    };
    parts[1] = &forged_payload;
    let r = post(Some(parts.join("."))).await.unwrap();
    assert_eq!(
        r.status().as_u16(),
        401,
        "a changed payload does not verify"
    );
    let other_app = devstack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            audience: Some("0oaOTHERAPP".into()),
            ..Default::default()
        },
    );
    let r = post(Some(other_app)).await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "a token for another audience");
    assert_eq!(
        devstack.stats().leg1,
        0,
        "nothing reached Okta's token endpoint"
    );
    let r = post(Some(good)).await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", server.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosted_path_runs_through_devstacks_agentcore_front() {
    let stack = Stack::start(&[]).await;
    stack.devstack.set_agentcore_upstream(&stack.server.base);
    let url = format!(
        "{}/runtimes/arn%3Aaws%3Abedrock-agentcore%3Aus-east-1%3A123456789012%3Aruntime%2Fxaa-bridge/invocations",
        stack.devstack.agentcore_url()
    );
    let post = |bearer: Option<String>, session: Option<&str>| {
        let mut r = stack
            .http
            .post(&url)
            .body(json!({"prompt": "Who am I?"}).to_string());
        if let Some(b) = bearer {
            r = r.header("authorization", format!("Bearer {b}"));
        }
        if let Some(s) = session {
            r = r.header("x-amzn-bedrock-agentcore-runtime-session-id", s);
        }
        r.send()
    };
    // The authorizer refuses before the container (and so Okta) sees anything.
    assert_eq!(post(None, None).await.unwrap().status().as_u16(), 401);
    let other_app = stack.devstack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            audience: Some("0oaOTHERAPP".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        post(Some(other_app), None).await.unwrap().status().as_u16(),
        401
    );
    assert_eq!(stack.okta_calls(), (0, 0));

    // A signed-in person's ID token as the bearer: the container answers as them, in the
    // session AgentCore assigned.
    let session = "caller-chosen-session-id-0123456789abcdef";
    let r = post(Some(stack.id_token("bob@example.com")), Some(session))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["x-amzn-bedrock-agentcore-runtime-session-id"],
        session
    );
    let body: Value = r.json().await.unwrap();
    assert!(
        body["answer"].as_str().unwrap().contains("bob@example.com"),
        "{body}"
    );
    assert_eq!(body["session_id"], session);
    assert!(stack
        .devstack
        .stats()
        .last_invoke
        .unwrap()
        .session_id
        .starts_with("xs-"));
    // Too short a session id is AgentCore's validation error.
    let r = post(Some(stack.id_token("bob@example.com")), Some("short"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}
