//! In-process fakes for the core's I/O traits: a scripted Okta token endpoint that
//! records what it was sent, a fixed key source, and an agent that echoes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use xaa::{BoxFuture, HttpReply, TokenTransport, TransportError};
use zeroize::Zeroizing;

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
    /// Scripted GET answers, consumed in order before falling back to 200 with `jwks`.
    pub get_answers: Mutex<Vec<Answer>>,
}

impl FakeOkta {
    /// Answers are consumed in order; when they run out, the last one repeats.
    pub fn new(answers: Vec<Answer>) -> Arc<Self> {
        Arc::new(Self {
            sent: Mutex::new(Vec::new()),
            answers: Mutex::new(answers),
            jwks: Mutex::new(r#"{"keys":[]}"#.into()),
            get_answers: Mutex::new(Vec::new()),
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
        let scripted = {
            let mut answers = self.get_answers.lock().unwrap();
            (!answers.is_empty()).then(|| answers.remove(0))
        };
        let answer = scripted.unwrap_or_else(|| Ok((200, self.jwks.lock().unwrap().clone(), None)));
        Box::pin(async move {
            answer.map(|(status, body, retry_after)| HttpReply {
                status,
                body: Zeroizing::new(body.into_bytes()),
                retry_after: retry_after.map(Duration::from_secs),
            })
        })
    }
}

/// An access token shaped like Okta's (a JWT naming the issuer and the person), with
/// a `tag` so tests can tell tokens apart by name. Unsigned: only for fakes.
pub fn access_token(tag: &str, uid: &str) -> String {
    unsigned_jwt(serde_json::json!({
        "iss": "https://example.okta.com/oauth2/aus8abc123",
        "uid": uid,
        "sub": format!("{uid}@example.com"),
        "tag": tag,
    }))
}

/// A leg 2 success body carrying [`access_token`]`(tag, uid)`.
pub fn access_token_body(tag: &str, uid: &str, expires_in: u64) -> String {
    serde_json::json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "access_token": access_token(tag, uid),
        "scope": "xaa:read",
    })
    .to_string()
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
    let v: serde_json::Value = serde_json::from_str(include_str!(
        "../../../crates/xaa/tests/fixtures/rfc7520-4.1.json"
    ))
    .unwrap();
    v["jwk"].clone()
}

/// A fresh EC P-256 private JWK under `kid` (a test key made on the spot), and the
/// public JWK that verifies its signatures.
pub fn ec_p256_jwk(kid: &str) -> (serde_json::Value, serde_json::Value) {
    use aws_lc_rs::encoding::AsBigEndian;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
    let public = pair.public_key().as_ref().to_vec();
    let d = pair.private_key().as_be_bytes().expect("EC private scalar");
    let b = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let public_jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "x": b(&public[1..33]), "y": b(&public[33..])});
    let mut private_jwk = public_jwk.clone();
    private_jwk["d"] = b(d.as_ref()).into();
    (private_jwk, public_jwk)
}

pub const RFC7520_KID: &str = "bilbo.baggins@hobbiton.example";

/// A key source that serves a fixed secret (or a sequence, for rotation tests) and
/// counts fetches.
pub struct StaticKeys {
    pub secrets: Mutex<Vec<Result<String, xaa::KeyError>>>,
    pub fetches: std::sync::atomic::AtomicUsize,
}

impl StaticKeys {
    pub fn new(secrets: Vec<Result<String, xaa::KeyError>>) -> Arc<Self> {
        Arc::new(Self {
            secrets: Mutex::new(secrets),
            fetches: Default::default(),
        })
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl xaa::KeySource for StaticKeys {
    fn fetch(&self) -> BoxFuture<'_, Result<xaa::SecretBytes, xaa::KeyError>> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut secrets = self.secrets.lock().unwrap();
        let next = if secrets.len() > 1 {
            secrets.remove(0)
        } else {
            secrets[0].clone()
        };
        Box::pin(async move { next.map(xaa::SecretBytes::from) })
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

    /// The access tokens the agent was called with, each shown by its `tag` claim when
    /// it is one of [`access_token`]'s (else as sent).
    pub fn tokens(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(_, t)| {
                xaa::unverified_claims(t)
                    .and_then(|c| c.get("tag").and_then(|v| v.as_str()).map(str::to_string))
                    .unwrap_or_else(|| t.clone())
            })
            .collect()
    }

    /// The Bedrock session ids the agent was called with.
    pub fn sessions(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(s, _)| s.clone())
            .collect()
    }
}

impl bridge::AgentInvoker for EchoAgent {
    fn invoke<'a>(
        &'a self,
        request: bridge::AgentRequest<'a>,
    ) -> BoxFuture<'a, Result<bridge::AgentAnswer, bridge::AgentError>> {
        self.calls.lock().unwrap().push((
            request.session_id.to_string(),
            request.access_token.expose().to_string(),
        ));
        let delay = self.delay;
        Box::pin(async move {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            Ok(bridge::AgentAnswer {
                text: "answered".into(),
                chunks: 1,
            })
        })
    }
}
