//! Shared by the credential tests: a scripted token endpoint on loopback (real HTTP,
//! through `ReqwestTransport`), the client built on it, assertion checks with the
//! public key, and a tracing capture for leak scans.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use xaa::{
    BoxFuture, Clock, KeyError, KeySource, KeyStore, OktaClient, OktaConfig, ReqwestTransport,
    SecretBytes, SequentialJti,
};

pub const KID: &str = "bilbo.baggins@hobbiton.example";
pub const AGENT: &str = "wlpagent1";

/// One request as the fake endpoint saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.body.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A token endpoint on 127.0.0.1 answering each request with the next scripted
/// `(status, body)` (500 when the script is used up), recording what it saw.
pub struct Fake {
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    answers: Arc<Mutex<VecDeque<(u16, String)>>>,
}

impl Fake {
    pub async fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(VecDeque::new()));
        let (s, a) = (seen.clone(), answers.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (s, a) = (s.clone(), a.clone());
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut stream).await else {
                        return;
                    };
                    s.lock().unwrap().push(request);
                    let (status, body) = a
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or((500, String::new()));
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Fake {
            base,
            seen,
            answers,
        }
    }

    pub fn answer(&self, status: u16, body: impl Into<String>) {
        self.answers
            .lock()
            .unwrap()
            .push_back((status, body.into()));
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn last(&self) -> Seen {
        self.seen().pop().expect("a request")
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let path = lines.next()?.split(' ').nth(1)?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
    Some(Seen {
        path,
        headers,
        body,
    })
}

pub fn rsa_jwk() -> Value {
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/rfc7520-4.1.json")).unwrap();
    fixture["jwk"].clone()
}

/// A fresh EC P-256 private JWK and the decoding key of its public half.
pub fn ec_jwk() -> (Value, DecodingKey) {
    use aws_lc_rs::encoding::AsBigEndian;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let public = pair.public_key().as_ref().to_vec();
    let d = pair.private_key().as_be_bytes().unwrap();
    let b = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let (x, y) = (b(&public[1..33]), b(&public[33..]));
    let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "d": b(d.as_ref())});
    (jwk, DecodingKey::from_ec_components(&x, &y).unwrap())
}

pub fn rsa_public() -> DecodingKey {
    let jwk = rsa_jwk();
    DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
        .unwrap()
}

pub struct FixedKey(pub Value);

impl KeySource for FixedKey {
    fn fetch(&self) -> BoxFuture<'_, Result<SecretBytes, KeyError>> {
        let text = self.0.to_string();
        Box::pin(async move { Ok(SecretBytes::from(text)) })
    }
}

/// A client of the fake org: RFC 7520's RSA key, sequential `jti`s.
pub fn client(fake: &Fake, clock: Arc<dyn Clock>) -> OktaClient {
    client_with_key(fake, clock, rsa_jwk())
}

pub fn client_with_key(fake: &Fake, clock: Arc<dyn Clock>, jwk: Value) -> OktaClient {
    client_as(fake, clock, jwk, AGENT)
}

pub fn client_as(fake: &Fake, clock: Arc<dyn Clock>, jwk: Value, agent: &str) -> OktaClient {
    let cfg = OktaConfig::new(
        fake.base.clone(),
        "aus1",
        String::new(),
        agent.into(),
        KID.into(),
        None,
    )
    .unwrap();
    OktaClient::new(
        Arc::new(cfg),
        Arc::new(ReqwestTransport::new(Duration::from_secs(2), true).unwrap()),
        Arc::new(KeyStore::new(
            Arc::new(FixedKey(jwk)),
            KID,
            Duration::from_secs(3600),
        )),
        clock,
        Arc::new(SequentialJti::default()),
        Duration::from_secs(5),
    )
}

/// Verify a client assertion with `key`: algorithm, `iss` = `sub` = `client_id`,
/// `aud` = `aud`, a five-minute lifetime. Returns the header's `kid` and the claims.
pub fn verify(
    assertion: &str,
    key: &DecodingKey,
    alg: Algorithm,
    client_id: &str,
    aud: &str,
) -> (Option<String>, Value) {
    let mut v = Validation::new(alg);
    v.set_audience(&[aud]);
    v.set_issuer(&[client_id]);
    v.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub", "jti"]);
    let data = jsonwebtoken::decode::<Value>(assertion, key, &v).expect("assertion verifies");
    assert_eq!(data.claims["sub"], client_id);
    let (iat, exp) = (
        data.claims["iat"].as_u64().unwrap(),
        data.claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 300);
    (data.header.kid, data.claims)
}

/// Everything `tracing` writes in this test binary, at every level and target. The
/// subscriber is the global default (a scoped one can miss events whose callsite
/// another test thread registered first), so a scan covers every test's lines.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();

impl Logs {
    pub fn capture() -> Logs {
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let sink = logs.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || sink.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
            logs
        })
        .clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).to_string()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Fails naming the first of `secrets` found in `text` (not the text itself).
pub fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{what} shows a secret value ({} bytes)",
            secret.len()
        );
    }
}
