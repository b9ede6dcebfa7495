//! Shared pieces for the integration tests: Bedrock event-stream frames, a fake
//! token endpoint that records what it was sent, and small JWT helpers.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use xaa_bridge::oauth::http::{HttpReply, TokenTransport, TransportError};
use xaa_bridge::secret::BoxFuture;
use zeroize::Zeroizing;

/// One event-stream message, framed and CRC'd by aws-smithy-eventstream.
pub fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut message = Message::new(payload.to_vec());
    for (name, value) in headers {
        message = message.add_header(Header::new(
            name.to_string(),
            HeaderValue::String(value.to_string().into()),
        ));
    }
    let mut out = Vec::new();
    write_message_to(&message, &mut out).expect("frame");
    out
}

pub fn chunk(text: &[u8]) -> Vec<u8> {
    let payload = serde_json::json!({"bytes": STANDARD.encode(text)}).to_string();
    frame(
        &[
            (":message-type", "event"),
            (":event-type", "chunk"),
            (":content-type", "application/json"),
        ],
        payload.as_bytes(),
    )
}

pub fn event(event_type: &str, payload: &str) -> Vec<u8> {
    frame(
        &[
            (":message-type", "event"),
            (":event-type", event_type),
            (":content-type", "application/json"),
        ],
        payload.as_bytes(),
    )
}

pub fn exception(exception_type: &str) -> Vec<u8> {
    frame(
        &[
            (":message-type", "exception"),
            (":exception-type", exception_type),
            (":content-type", "application/json"),
        ],
        br#"{"message":"injected by the test"}"#,
    )
}

/// A 200 InvokeAgent response whose body is the given frames.
pub fn stream_response(frames: &[Vec<u8>]) -> HttpResponse {
    let body: Vec<u8> = frames.concat();
    let mut response = HttpResponse::new(StatusCode::try_from(200).unwrap(), SdkBody::from(body));
    response
        .headers_mut()
        .insert("content-type", "application/vnd.amazon.eventstream");
    response
        .headers_mut()
        .insert("x-amzn-bedrock-agent-content-type", "application/json");
    response
        .headers_mut()
        .insert("x-amz-bedrock-agent-session-id", "session-1");
    response
}

/// An AWS REST-JSON error response, as returned before any stream.
pub fn error_response(status: u16, error_type: &str) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(r#"{{"message":"injected {error_type}"}}"#)),
    );
    response
        .headers_mut()
        .insert("content-type", "application/json");
    response
        .headers_mut()
        .insert("x-amzn-errortype", error_type.to_string());
    response
}

/// One recorded token request.
#[derive(Clone, Debug)]
pub struct Sent {
    pub url: String,
    pub form: Vec<(String, String)>,
}

impl Sent {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One scripted token endpoint answer: (status, body, Retry-After seconds) or a transport failure.
pub type Answer = Result<(u16, String, Option<u64>), TransportError>;

/// A token endpoint that records every request and answers from a script.
pub struct FakeOkta {
    pub sent: Mutex<Vec<Sent>>,
    answers: Mutex<Vec<Answer>>,
    /// The org JWKS served to GET, and how many GETs were made.
    pub jwks: Mutex<String>,
    pub gets: std::sync::atomic::AtomicUsize,
}

impl FakeOkta {
    /// Answers are consumed in order; when they run out, the last one repeats.
    pub fn new(answers: Vec<Answer>) -> Arc<Self> {
        Arc::new(Self {
            sent: Mutex::new(Vec::new()),
            answers: Mutex::new(answers),
            jwks: Mutex::new(r#"{"keys":[]}"#.into()),
            gets: Default::default(),
        })
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }
}

impl TokenTransport for FakeOkta {
    fn post_form<'a>(
        &'a self,
        url: &'a str,
        body: Zeroizing<String>,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpReply, TransportError>> {
        let form = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        self.sent.lock().unwrap().push(Sent {
            url: url.to_string(),
            form,
        });
        let mut answers = self.answers.lock().unwrap();
        let answer = if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers[0].clone()
        };
        Box::pin(async move {
            answer.map(|(status, body, retry_after)| HttpReply {
                status,
                body: Zeroizing::new(body.into_bytes()),
                retry_after: retry_after.map(Duration::from_secs),
            })
        })
    }

    fn get<'a>(
        &'a self,
        _url: &'a str,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpReply, TransportError>> {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let body = self.jwks.lock().unwrap().clone();
        Box::pin(async move {
            Ok(HttpReply {
                status: 200,
                body: Zeroizing::new(body.into_bytes()),
                retry_after: None,
            })
        })
    }
}

/// An unsigned JWT carrying `claims` (for pre-checks and unverified decoding).
pub fn unsigned_jwt(claims: serde_json::Value) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

pub fn rfc7520_jwk() -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/rfc7520-4.1.json")).unwrap();
    v["jwk"].clone()
}

pub const RFC7520_KID: &str = "bilbo.baggins@hobbiton.example";

/// A key source that serves a fixed secret (or a sequence, for rotation tests) and
/// counts fetches.
pub struct StaticKeys {
    pub secrets: Mutex<Vec<Result<String, xaa_bridge::secret::KeyError>>>,
    pub fetches: std::sync::atomic::AtomicUsize,
}

impl StaticKeys {
    pub fn new(secrets: Vec<Result<String, xaa_bridge::secret::KeyError>>) -> Arc<Self> {
        Arc::new(Self {
            secrets: Mutex::new(secrets),
            fetches: Default::default(),
        })
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl xaa_bridge::secret::KeySource for StaticKeys {
    fn fetch(
        &self,
    ) -> BoxFuture<'_, Result<xaa_bridge::sensitive::SecretBytes, xaa_bridge::secret::KeyError>>
    {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut secrets = self.secrets.lock().unwrap();
        let next = if secrets.len() > 1 {
            secrets.remove(0)
        } else {
            secrets[0].clone()
        };
        Box::pin(async move { next.map(xaa_bridge::sensitive::SecretBytes::from) })
    }
}

/// An agent that answers with the token it was given, so tests can see which token
/// reached it, and optionally fails.
pub struct EchoAgent {
    pub calls: Mutex<Vec<(String, String)>>,
    pub delay: Option<Duration>,
}

impl EchoAgent {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            calls: Mutex::new(Vec::new()),
            delay: None,
        })
    }

    pub fn slow(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            calls: Mutex::new(Vec::new()),
            delay: Some(delay),
        })
    }

    pub fn tokens(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(_, t)| t.clone())
            .collect()
    }
}

impl xaa_bridge::bedrock::AgentInvoker for EchoAgent {
    fn invoke<'a>(
        &'a self,
        request: xaa_bridge::bedrock::AgentRequest<'a>,
    ) -> BoxFuture<'a, Result<xaa_bridge::bedrock::AgentAnswer, xaa_bridge::bedrock::AgentError>>
    {
        self.calls.lock().unwrap().push((
            request.session_id.to_string(),
            request.access_token.expose().to_string(),
        ));
        let delay = self.delay;
        Box::pin(async move {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            Ok(xaa_bridge::bedrock::AgentAnswer {
                text: "answered".into(),
                chunks: 1,
            })
        })
    }
}

/// The configuration the unit-level flow tests use.
pub fn test_config() -> xaa_bridge::config::Config {
    test_config_with(&[])
}

pub fn test_config_with(extra: &[(&'static str, &'static str)]) -> xaa_bridge::config::Config {
    let mut env: std::collections::HashMap<&str, &str> = [
        ("OKTA_DOMAIN", "example.okta.com"),
        ("OKTA_CUSTOM_AS_ID", "aus8abc123"),
        ("AGENT_CLIENT_ID", "wlp8agent"),
        ("AGENT_KEY_ID", RFC7520_KID),
        ("AGENT_PRIVATE_KEY_SECRET_ID", "xaa/agent-key"),
        ("BEDROCK_AGENT_ID", "AGENT12345"),
        ("BEDROCK_AGENT_ALIAS_ID", "ALIAS12345"),
        ("AWS_REGION", "us-east-1"),
    ]
    .into_iter()
    .collect();
    env.extend(extra.iter().copied());
    xaa_bridge::config::Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap()
}

pub fn lambda_event(
    payload: serde_json::Value,
    deadline_ms: u64,
) -> lambda_runtime::LambdaEvent<serde_json::Value> {
    let mut context = lambda_runtime::Context::default();
    context.request_id = "req-1".into();
    context.deadline = deadline_ms;
    lambda_runtime::LambdaEvent::new(payload, context)
}

pub fn unix_ms_in(d: Duration) -> u64 {
    (std::time::SystemTime::now() + d)
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A real moto server (Secrets Manager emulator) on a free loopback port, killed on
/// drop. moto comes from the project venv (`make setup`); a missing moto is a failure,
/// never a skip.
pub struct Moto {
    child: std::process::Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let bin = std::env::var("MOTO_SERVER_BIN")
            .unwrap_or_else(|_| format!("{}/.venv/bin/moto_server", env!("CARGO_MANIFEST_DIR")));
        assert!(
            std::path::Path::new(&bin).exists(),
            "moto_server not found at {bin}: run `make setup` (or set MOTO_SERVER_BIN)"
        );
        let port = free_port();
        let child = std::process::Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto_server");
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not start within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto { child, endpoint }
    }

    pub fn client(&self) -> aws_sdk_secretsmanager::Client {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }

    pub async fn put_secret(&self, name: &str, value: &str) -> String {
        self.client()
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .expect("create secret in moto")
            .arn
            .expect("arn")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `events/`: the sample events for `make invoke`, which double as test fixtures.
pub fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events")
}

/// One file of `events/`, parsed as JSON.
pub fn read_event(name: &str) -> serde_json::Value {
    let path = events_dir().join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every file of `events/` that must be refused as `InvalidRequest`, with the part of
/// the message that tells the caller what to fix. tests/events.rs fails when a file of
/// `events/` is in neither this table nor its table of valid events.
pub fn bad_events() -> Vec<(&'static str, &'static str)> {
    vec![
        ("missing-prompt.json", "field `prompt` is missing"),
        ("empty-id-token.json", "field `id_token` is empty"),
        ("wrong-type.json", "field `prompt` must be a string"),
        (
            "bad-session-id.json",
            "field `session_id` must be 2 to 100 characters",
        ),
        (
            "not-object.json",
            "the event must be a JSON object with `prompt`, `id_token`",
        ),
        (
            "oversized-prompt.json",
            "field `prompt` has 25001 characters; the limit is 25000",
        ),
    ]
}

/// devstack on ephemeral ports, and moto holding the AI agent's private JWK as the
/// secret `secret_name`: the local stack the function runs against.
pub async fn devstack_and_moto(secret_name: &str) -> (devstack::Devstack, Moto) {
    let devstack = devstack::Devstack::start(devstack::Config::default())
        .await
        .expect("devstack starts");
    let moto = Moto::start();
    moto.put_secret(secret_name, &devstack.agent_private_jwk().to_string())
        .await;
    (devstack, moto)
}

/// The function's own configuration (the variables template.yaml sets) for a devstack,
/// with the key in the secret `secret_id`, as `make demo` sets it.
pub fn function_env(s: &devstack::Settings, secret_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OKTA_BASE_URL", s.okta_base_url.clone()),
        ("OKTA_CUSTOM_AS_ID", s.okta_custom_as_id.clone()),
        ("OKTA_SCOPE", s.okta_scope.clone()),
        ("AGENT_CLIENT_ID", s.agent_client_id.clone()),
        ("AGENT_KEY_ID", s.agent_key_id.clone()),
        ("AGENT_PRIVATE_KEY_SECRET_ID", secret_id.to_string()),
        ("BEDROCK_AGENT_ID", s.bedrock_agent_id.clone()),
        ("BEDROCK_AGENT_ALIAS_ID", s.bedrock_agent_alias_id.clone()),
        ("AWS_REGION", s.aws_region.clone()),
    ]
}
