//! What the verify tests share: a real RSA key that signs any header and claims, a
//! loopback HTTP server playing the authorization server (metadata and JWKS, answers
//! changeable at run time, requests counted), and a fixture wiring them to a verifier
//! over the real transport (reqwest: no redirects, 64 KiB bound).
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use verify::{AccessPolicy, AccessTokenVerifier, Jwks, Reason, Subjects};
use xaa::ManualClock;

pub const NOW: u64 = 1_800_000_000;
pub const AGENT: &str = "wlpagent123";
pub const PERSON: &str = "00ualice456";
pub const AUDIENCE: &str = "api://default";
pub const SCOPE: &str = "tickets:read";

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An RSA 2048 key that signs RS256 over any header and claims.
pub struct RsaKey {
    pub kid: String,
    pair: KeyPair,
}

impl RsaKey {
    pub fn generate(kid: &str) -> RsaKey {
        RsaKey {
            kid: kid.to_string(),
            pair: KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation"),
        }
    }

    /// Two keys generated once per test binary (RSA generation is slow in debug runs).
    pub fn shared(which: usize) -> &'static RsaKey {
        static KEYS: OnceLock<[RsaKey; 2]> = OnceLock::new();
        &KEYS.get_or_init(|| [RsaKey::generate("key-1"), RsaKey::generate("key-2")])[which]
    }

    pub fn public_jwk(&self, kid: &str) -> Value {
        let public = self.pair.public_key();
        json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
               "n": b64(public.modulus().big_endian_without_leading_zero()),
               "e": b64(public.exponent().big_endian_without_leading_zero())})
    }

    pub fn modulus(&self) -> Vec<u8> {
        self.pair
            .public_key()
            .modulus()
            .big_endian_without_leading_zero()
            .to_vec()
    }

    /// `header.claims.signature` with exactly this header (nothing added).
    pub fn sign_raw(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        self.sign_input(&input)
    }

    pub fn sign_input(&self, input: &str) -> String {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .expect("RS256 signing");
        format!("{input}.{}", b64(sig))
    }

    /// RS256 with this key's kid.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_raw(&json!({"alg": "RS256", "kid": self.kid}), claims)
    }
}

/// A genuine XAA access token's claims at [`NOW`].
pub fn xaa_claims() -> Value {
    json!({
        "ver": 1, "jti": "AT.abc123", "iss": "", "aud": AUDIENCE,
        "iat": NOW - 10, "exp": NOW + 3600, "cid": AGENT, "uid": PERSON,
        "scp": [SCOPE, "other"], "sub": "alice@example.com"
    })
}

/// A genuine AGBAC access token's claims at [`NOW`].
pub fn agbac_claims() -> Value {
    json!({
        "ver": 1, "jti": "AT.def456", "iss": "", "aud": AUDIENCE,
        "iat": NOW - 10, "exp": NOW + 3600, "cid": AGENT, "sub": AGENT,
        "scp": [SCOPE], "act": {"sub": PERSON, "email": "alice@example.com"}
    })
}

type Routes = HashMap<String, (u16, String)>;

/// The authorization server: fixed answers by path, every request counted by path.
pub struct Server {
    pub addr: SocketAddr,
    routes: Arc<Mutex<Routes>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Server {
    pub async fn start() -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes: Arc<Mutex<Routes>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (r, h) = (routes.clone(), hits.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (r, h) = (r.clone(), h.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<_>| {
                        let path = req.uri().path().to_string();
                        *h.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                        let (status, body) = r
                            .lock()
                            .unwrap()
                            .get(&path)
                            .cloned()
                            .unwrap_or((404, r#"{"error":"not_found"}"#.into()));
                        async move {
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .status(status)
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(body)))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server { addr, routes, hits }
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn issuer(&self) -> String {
        format!("{}/oauth2/ausdefault", self.origin())
    }

    pub fn route(&self, path: &str, status: u16, body: impl Into<String>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), (status, body.into()));
    }

    /// Serve `keys` as the JWKS at `{issuer}/v1/keys`.
    pub fn jwks(&self, keys: &[Value]) {
        let path = "/oauth2/ausdefault/v1/keys";
        self.route(path, 200, json!({ "keys": keys }).to_string());
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

pub fn transport() -> Arc<dyn xaa::TokenTransport> {
    Arc::new(xaa::ReqwestTransport::new(Duration::from_secs(2), true).unwrap())
}

/// A server publishing key 1, a manual clock at [`NOW`], and their JWKS.
pub struct Fixture {
    pub server: Server,
    pub clock: Arc<ManualClock>,
    pub jwks: Arc<Jwks>,
}

impl Fixture {
    pub async fn start() -> Fixture {
        let server = Server::start().await;
        let key = RsaKey::shared(0);
        server.jwks(&[key.public_jwk(&key.kid)]);
        let clock = Arc::new(ManualClock::at(NOW));
        let url = format!("{}/v1/keys", server.issuer());
        let jwks = Arc::new(Jwks::new(url, transport(), clock.clone()));
        Fixture {
            server,
            clock,
            jwks,
        }
    }

    pub fn policy(&self, subjects: Subjects, leeway: u64) -> AccessPolicy {
        AccessPolicy::new(
            self.server.issuer(),
            AUDIENCE,
            vec![AGENT.into(), "wlpother789".into()],
            vec![SCOPE.into()],
            subjects,
            Duration::from_secs(leeway),
        )
        .unwrap()
    }

    pub fn verifier(&self, subjects: Subjects) -> AccessTokenVerifier {
        AccessTokenVerifier::new(
            self.policy(subjects, 60),
            self.jwks.clone(),
            self.clock.clone(),
        )
    }

    /// `claims` with this server's issuer filled in.
    pub fn claims(&self, mut claims: Value) -> Value {
        claims["iss"] = self.server.issuer().into();
        claims
    }

    pub fn keys_path(&self) -> &'static str {
        "/oauth2/ausdefault/v1/keys"
    }
}

/// The reason `verifier` refuses `token`, checking that the refusal does not echo it.
pub async fn reason(verifier: &AccessTokenVerifier, token: &str) -> Reason {
    match verifier.verify(token).await {
        Ok(p) => panic!("accepted: {p:?}"),
        Err(refusal) => {
            let shown = format!("{refusal} {refusal:?}");
            assert!(
                !shown.contains(&token[..token.len().min(40)]),
                "token echoed: {shown}"
            );
            refusal.reason
        }
    }
}
