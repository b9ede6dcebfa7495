//! A loopback custom authorization server of the test's own: discovery
//! (`/.well-known/oauth-authorization-server`) and JWKS (`/v1/keys`) under
//! `http://127.0.0.1:PORT/oauth2/default`, with an RSA key the test holds, so it can sign
//! any header and claims it likes. Devstack's keys stay inside devstack; its tokens are
//! judged against devstack's own issuer.

use std::convert::Infallible;
use std::sync::Arc;

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RsaEncoding};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub const KID: &str = "conformance-key-1";

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An RSA 2048 key with a `kid`.
pub struct RsaKey {
    pub kid: String,
    pair: KeyPair,
}

impl RsaKey {
    pub fn generate(kid: &str) -> RsaKey {
        RsaKey {
            kid: kid.into(),
            pair: KeyPair::generate(KeySize::Rsa2048).expect("RSA 2048 key generation"),
        }
    }

    pub fn public_jwk(&self) -> Value {
        let parts = PublicKeyComponents::<Vec<u8>>::from(self.pair.public_key());
        let strip = |b: &[u8]| b64(&b[b.iter().take_while(|x| **x == 0).count()..]);
        json!({"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
               "n": strip(&parts.n), "e": strip(&parts.e)})
    }

    /// The public key as PEM (SubjectPublicKeyInfo): what the HS256 key-confusion attack
    /// uses as the HMAC secret.
    pub fn public_pem(&self) -> String {
        let der: PublicKeyX509Der = self.pair.public_key().as_der().expect("SPKI DER");
        let body = STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    /// The raw signature over `input` with an RSA padding (PKCS#1 v1.5 or PSS) and digest.
    pub fn sign_raw(&self, encoding: &'static dyn RsaEncoding, input: &str) -> Vec<u8> {
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(encoding, &SystemRandom::new(), input.as_bytes(), &mut sig)
            .expect("RSA signing");
        sig
    }

    /// A compact JWS of these exact header and claims texts (duplicate members and all).
    pub fn sign_texts(&self, header: &str, claims: &str) -> String {
        let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        let sig = self.sign_raw(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &input);
        format!("{input}.{}", b64(&sig))
    }

    /// RS256 with `{"alg":"RS256","kid":<kid>}` plus `extra` header members.
    pub fn sign(&self, extra_header: Value, claims: &Value) -> String {
        let mut header = json!({"alg": "RS256", "kid": self.kid});
        if let (Some(h), Some(extra)) = (header.as_object_mut(), extra_header.as_object()) {
            h.extend(extra.clone());
        }
        self.sign_texts(&header.to_string(), &claims.to_string())
    }
}

/// `header.claims.` with the signature segment left to the caller.
pub fn unsigned_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// The running issuer; dropping it stops the server.
pub struct LocalIssuer {
    pub issuer: String,
    pub key: RsaKey,
    task: JoinHandle<()>,
}

impl Drop for LocalIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LocalIssuer {
    pub async fn start() -> LocalIssuer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let issuer = format!(
            "http://{}/oauth2/default",
            listener.local_addr().expect("addr")
        );
        let key = RsaKey::generate(KID);
        let discovery = json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/v1/keys"),
            "token_endpoint": format!("{issuer}/v1/token"),
            "response_types_supported": ["code"],
        });
        let routes: Arc<Vec<(String, Bytes)>> = Arc::new(vec![
            (
                "/oauth2/default/.well-known/oauth-authorization-server".into(),
                Bytes::from(discovery.to_string()),
            ),
            (
                "/oauth2/default/v1/keys".into(),
                Bytes::from(json!({"keys": [key.public_jwk()]}).to_string()),
            ),
        ]);
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let routes = routes.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let found = routes
                            .iter()
                            .find(|(path, _)| path == req.uri().path())
                            .map(|(_, body)| body.clone());
                        async move {
                            let (status, body) = match found {
                                Some(body) => (200, body),
                                None => (404, Bytes::from_static(b"{\"error\":\"not_found\"}")),
                            };
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .header("content-type", "application/json")
                                    .body(Full::new(body))
                                    .expect("response"),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        LocalIssuer { issuer, key, task }
    }
}
