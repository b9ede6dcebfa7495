//! The agent's signing key: how a private JWK (or a one-key JWKS) becomes a key that
//! signs client assertions.
//!
//! Key material lives only in zeroizing buffers and in `jsonwebtoken::EncodingKey`
//! (itself zeroized on drop). No type here can print it.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pkcs1::der::asn1::UintRef;
use pkcs1::der::Encode;
use serde::Deserialize;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::sensitive::ClientAssertion;

/// Problems with the key or its secret. Messages name the problem, never the material.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeyError {
    #[error("secret `{secret_id}` was not found; store the agent's private JWK there or fix AGENT_PRIVATE_KEY_SECRET_ID")]
    SecretNotFound { secret_id: String },
    #[error("secret `{secret_id}` could not be read ({code}); check the function's secretsmanager:GetSecretValue permission and the secret's KMS key")]
    SecretUnreadable { secret_id: String, code: String },
    #[error("secret `{secret_id}` has no SecretString; store the private JWK as text")]
    SecretNotText { secret_id: String },
    #[error("the secret is not a private JWK: {0}")]
    Invalid(String),
}

fn invalid(reason: impl Into<String>) -> KeyError {
    KeyError::Invalid(reason.into())
}

/// A parsed, ready-to-sign private key and the `kid` registered on the AI agent.
#[derive(Clone)]
pub struct SigningKey {
    alg: Algorithm,
    kid: String,
    key: EncodingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("key", &"<redacted>")
            .finish()
    }
}

// Only the fields we use; anything else in the JWK is ignored. All base64url values
// are wiped when this struct is dropped.
#[derive(Deserialize)]
struct JwkFields {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    crv: Option<String>,
    n: Option<Zeroizing<String>>,
    e: Option<Zeroizing<String>>,
    d: Option<Zeroizing<String>>,
    p: Option<Zeroizing<String>>,
    q: Option<Zeroizing<String>>,
    dp: Option<Zeroizing<String>>,
    dq: Option<Zeroizing<String>>,
    qi: Option<Zeroizing<String>>,
    x: Option<Zeroizing<String>>,
    y: Option<Zeroizing<String>>,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<JwkFields>,
}

impl SigningKey {
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Parse a private JWK, or a JWKS holding exactly one private key. `expected_kid`
    /// is `AGENT_KEY_ID`: it becomes the header `kid`, and a JWK that names a different
    /// one is refused (Okta would answer "kid is invalid").
    pub fn from_jwk_json(secret: &[u8], expected_kid: &str) -> Result<Self, KeyError> {
        // Parse straight into zeroizing fields: no untyped copy of the key is kept.
        serde_json::from_slice::<serde::de::IgnoredAny>(secret)
            .map_err(|_| invalid("it is not valid JSON"))?;
        if !crate::response::is_json_object(secret) {
            return Err(invalid(
                "it is not a JSON object (a JWK, or a JWKS with `keys`)",
            ));
        }
        let fields = match serde_json::from_slice::<JwkSet>(secret) {
            Ok(set) => {
                // Each key an object too: serde would read an array by position.
                #[derive(Deserialize)]
                struct KeysShape {
                    #[allow(dead_code)]
                    keys: Vec<crate::response::ObjectOnly>,
                }
                serde_json::from_slice::<KeysShape>(secret)
                    .map_err(|_| invalid("a key of the JWKS is not a JSON object"))?;
                let count = set.keys.iter().filter(|k| k.d.is_some()).count();
                match count {
                    1 => set
                        .keys
                        .into_iter()
                        .find(|k| k.d.is_some())
                        .expect("counted one private key"),
                    0 => {
                        return Err(invalid(
                            "the JWKS holds public keys only (no `d`); store the private key",
                        ))
                    }
                    n => {
                        return Err(invalid(format!(
                            "the JWKS holds {n} private keys; keep exactly one"
                        )))
                    }
                }
            }
            Err(_) => serde_json::from_slice::<JwkFields>(secret)
                .map_err(|_| invalid("a JWK member is missing or has the wrong type"))?,
        };
        if let Some(kid) = &fields.kid {
            if kid != expected_kid {
                // Nothing read from the secret is echoed: a damaged secret can put key
                // material in any member. AGENT_KEY_ID is configuration, so it is shown.
                return Err(invalid(format!(
                    "the JWK's kid differs from AGENT_KEY_ID `{expected_kid}`; they must be the key id registered on the AI agent"
                )));
            }
        }
        if let Some(u) = &fields.use_ {
            if u != "sig" {
                return Err(invalid("the JWK's use is not `sig`"));
            }
        }
        if fields.d.is_none() {
            return Err(invalid(
                "it is a public key only (no `d`); store the private JWK",
            ));
        }
        let (alg, key) = match fields.kty.as_deref() {
            Some("RSA") => (Algorithm::RS256, rsa_key(&fields)?),
            Some("EC") => (Algorithm::ES256, ec_key(&fields)?),
            Some(_) => {
                return Err(invalid(
                    "unsupported kty; use an RSA (RS256) or EC P-256 (ES256) key",
                ))
            }
            None => return Err(invalid("`kty` is missing")),
        };
        if let Some(declared) = &fields.alg {
            let expected = if alg == Algorithm::RS256 {
                "RS256"
            } else {
                "ES256"
            };
            if declared != expected {
                return Err(invalid(format!(
                    "the JWK's alg is not {expected}; only RS256 (RSA) and ES256 (P-256) are used"
                )));
            }
        }
        Ok(SigningKey {
            alg,
            kid: expected_kid.to_string(),
            key,
        })
    }

    /// Sign a compact JWS with our pinned algorithm and `kid`.
    pub fn sign<T: serde::Serialize>(&self, claims: &T) -> Result<ClientAssertion, KeyError> {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.key)
            .map(ClientAssertion::new)
            .map_err(|_| invalid("signing failed; the key is unusable"))
    }

    /// Raw signature over `message` (base64url), for known-answer tests.
    pub fn sign_raw(&self, message: &[u8]) -> Result<String, KeyError> {
        jsonwebtoken::crypto::sign(message, &self.key, self.alg)
            .map_err(|_| invalid("signing failed; the key is unusable"))
    }
}

fn b64(name: &str, value: &Option<Zeroizing<String>>) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let text = value
        .as_ref()
        .ok_or_else(|| invalid(format!("`{name}` is missing")))?;
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('=').as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| invalid(format!("`{name}` is not base64url")))
}

fn rsa_key(f: &JwkFields) -> Result<EncodingKey, KeyError> {
    let n = b64("n", &f.n)?;
    let e = b64("e", &f.e)?;
    let d = b64("d", &f.d)?;
    let bits = modulus_bits(&n);
    if bits < 2048 {
        return Err(invalid(format!(
            "the RSA key has {bits} bits; use 2048 bits or more"
        )));
    }
    // Okta (and RFC 7518) want the CRT parameters; a key without them is refused rather
    // than signed slowly.
    let (p, q, dp, dq, qi) = (
        b64("p", &f.p)?,
        b64("q", &f.q)?,
        b64("dp", &f.dp)?,
        b64("dq", &f.dq)?,
        b64("qi", &f.qi)?,
    );
    fn uint<'a>(name: &str, bytes: &'a [u8]) -> Result<UintRef<'a>, KeyError> {
        UintRef::new(bytes).map_err(|_| invalid(format!("`{name}` is not a valid integer")))
    }
    let der = pkcs1::RsaPrivateKey {
        modulus: uint("n", &n)?,
        public_exponent: uint("e", &e)?,
        private_exponent: uint("d", &d)?,
        prime1: uint("p", &p)?,
        prime2: uint("q", &q)?,
        exponent1: uint("dp", &dp)?,
        exponent2: uint("dq", &dq)?,
        coefficient: uint("qi", &qi)?,
        other_prime_infos: None,
    }
    .to_der()
    .map(Zeroizing::new)
    .map_err(|_| invalid("the RSA parameters could not be encoded"))?;
    // Let aws-lc check that the parameters belong together before we trust the key.
    aws_lc_rs::rsa::KeyPair::from_der(&der)
        .map_err(|_| invalid("the RSA parameters are inconsistent"))?;
    Ok(EncodingKey::from_rsa_der(&der))
}

fn modulus_bits(n: &[u8]) -> usize {
    let n = match n.iter().position(|b| *b != 0) {
        Some(i) => &n[i..],
        None => return 0,
    };
    n.len() * 8 - n[0].leading_zeros() as usize
}

fn ec_key(f: &JwkFields) -> Result<EncodingKey, KeyError> {
    match f.crv.as_deref() {
        Some("P-256") => {}
        _ => return Err(invalid("only the EC curve P-256 (ES256) is supported")),
    }
    let (x, y, d) = (b64("x", &f.x)?, b64("y", &f.y)?, b64("d", &f.d)?);
    if x.len() != 32 || y.len() != 32 || d.len() != 32 {
        return Err(invalid("P-256 coordinates and `d` must be 32 bytes each"));
    }
    let mut point = Vec::with_capacity(65);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    let pair = aws_lc_rs::signature::EcdsaKeyPair::from_private_key_and_public_key(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &d,
        &point,
    )
    .map_err(|_| invalid("the EC private key does not match its public point"))?;
    let pkcs8 = pair
        .to_pkcs8v1()
        .map_err(|_| invalid("the EC key could not be encoded"))?;
    Ok(EncodingKey::from_ec_der(
        Zeroizing::new(pkcs8.as_ref().to_vec()).as_slice(),
    ))
}
