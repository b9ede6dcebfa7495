//! The authorization server's signing keys: RS256 keys by `kid` (the algorithm pinned
//! per key by `xaa::rs256_keys_by_kid`, never taken from a token), cached for an hour,
//! at most [`MAX_JWKS_KEYS`] kept.
//!
//! A `kid` not in the cache (or a cache older than an hour) triggers a refetch, at most
//! one per [`UNKNOWN_KID_REFETCH`]: the attempt is recorded *before* the request, so a
//! flood of forged `kid`s makes at most one request per 30 s, also while the server
//! fails. Concurrent refetches are single-flighted. The hot path (a known `kid`) takes
//! a read lock for a map lookup and an `Arc` clone, and never holds it across an await.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use serde::Deserialize;
use xaa::{Clock, TokenTransport};

use crate::reason::{Reason, Refusal};

/// An unknown `kid` refetches the JWKS at most this often (failed attempts included).
pub const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(30);
/// Keys fetched longer ago than this are fetched again before use.
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(3600);
/// The time limit of one JWKS (or discovery) request.
pub const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Keys beyond this many in one JWKS are ignored (Okta publishes two or three).
pub const MAX_JWKS_KEYS: usize = 32;

/// One RS256 key: jsonwebtoken's `DecodingKey` (what `xaa::rs256_keys_by_kid` chose)
/// and, parsed once from its modulus and exponent, aws-lc's public key, so that a
/// verification does not rebuild the RSA key (about a third of its cost).
pub(crate) struct Key {
    decoding: Arc<DecodingKey>,
    parsed: Option<ParsedPublicKey>,
}

impl Key {
    fn new(decoding: Arc<DecodingKey>) -> Key {
        let parsed = match decoding.kind() {
            DecodingKeyKind::RsaModulusExponent { n, e } => RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .ok(),
            DecodingKeyKind::SecretOrDer(_) => None,
        };
        Key { decoding, parsed }
    }

    /// RS256 (PKCS#1 v1.5, SHA-256, a 2048 to 8192 bit key) over `message`.
    pub fn verifies(&self, message: &[u8], signature_b64: &str) -> bool {
        let Some(parsed) = &self.parsed else {
            return jsonwebtoken::crypto::verify(
                signature_b64,
                message,
                &self.decoding,
                Algorithm::RS256,
            )
            .unwrap_or(false);
        };
        // An 8192-bit signature is 1024 bytes; anything longer fails to decode here.
        let mut signature = [0u8; 1024];
        match URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut signature) {
            Ok(len) => parsed.verify_sig(message, &signature[..len]).is_ok(),
            Err(_) => false,
        }
    }
}

#[derive(Default)]
struct State {
    keys: HashMap<String, Arc<Key>>,
    /// Unix seconds of the last successful fetch, and of the last attempt.
    fetched_at: Option<u64>,
    attempted_at: Option<u64>,
}

impl State {
    fn fresh(&self, now: u64) -> bool {
        self.fetched_at
            .is_some_and(|at| now.saturating_sub(at) < JWKS_MAX_AGE.as_secs())
    }

    fn lookup(&self, kid: &str, now: u64) -> Option<Arc<Key>> {
        if self.fresh(now) {
            self.keys.get(kid).cloned()
        } else {
            None
        }
    }

    /// After a refetch that did not produce the key: the key is unknown if we hold
    /// fresh keys, else the keys are unavailable.
    fn miss(&self, now: u64) -> Refusal {
        if self.fresh(now) {
            Reason::UnknownKey.into()
        } else {
            Reason::KeysUnavailable.into()
        }
    }
}

/// RS256 keys by `kid`, fetched from one JWKS URL and cached; share it in an `Arc`.
pub struct Jwks {
    url: String,
    transport: Arc<dyn TokenTransport>,
    clock: Arc<dyn Clock>,
    timeout: Duration,
    state: RwLock<State>,
    single_flight: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.read();
        f.debug_struct("Jwks")
            .field("url", &self.url)
            .field("keys", &state.keys.len())
            .field("fetched_at", &state.fetched_at)
            .finish_non_exhaustive()
    }
}

/// Why a fetch failed, for the log line (never the body).
enum FetchError {
    Transport(&'static str),
    Status(u16),
    NotAJwks,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

impl Jwks {
    /// Nothing is fetched until a key is needed (or [`Jwks::warm_up`]).
    pub fn new(
        jwks_url: String,
        transport: Arc<dyn TokenTransport>,
        clock: Arc<dyn Clock>,
    ) -> Jwks {
        Jwks {
            url: jwks_url,
            transport,
            clock,
            timeout: JWKS_FETCH_TIMEOUT,
            state: RwLock::new(State::default()),
            single_flight: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
        }
    }

    /// Another time limit per JWKS request than [`JWKS_FETCH_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Jwks {
        self.timeout = timeout;
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// JWKS fetch attempts so far (failed ones included).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Fetch the keys now unless they are fresh (e.g. at init), within the same
    /// throttle as an unknown `kid`. Answers how many keys are cached.
    pub async fn warm_up(&self) -> Result<usize, Refusal> {
        if self.read().fresh(self.clock.unix_now()) {
            return Ok(self.read().keys.len());
        }
        let _flight = self.single_flight.lock().await;
        self.refetch().await?;
        Ok(self.read().keys.len())
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The key for `kid`: from the cache, else after the one throttled refetch.
    pub(crate) async fn key(&self, kid: Option<&str>) -> Result<Arc<Key>, Refusal> {
        // No kid: no key can be chosen, and no reason to ask the server.
        let kid = kid.ok_or(Refusal::from(Reason::UnknownKey))?;
        if let Some(key) = self.read().lookup(kid, self.clock.unix_now()) {
            return Ok(key);
        }
        let _flight = self.single_flight.lock().await;
        // Another task may have fetched while this one waited.
        if let Some(key) = self.read().lookup(kid, self.clock.unix_now()) {
            return Ok(key);
        }
        self.refetch().await?;
        let state = self.read();
        let now = self.clock.unix_now();
        state.lookup(kid, now).ok_or_else(|| state.miss(now))
    }

    /// One fetch unless one was attempted within [`UNKNOWN_KID_REFETCH`]; the caller
    /// holds `single_flight`.
    async fn refetch(&self) -> Result<(), Refusal> {
        {
            let now = self.clock.unix_now();
            let mut state = self.write();
            let recent = state
                .attempted_at
                .is_some_and(|at| now.saturating_sub(at) < UNKNOWN_KID_REFETCH.as_secs());
            if recent {
                return if state.fresh(now) {
                    Ok(())
                } else {
                    Err(Reason::KeysUnavailable.into())
                };
            }
            // Recorded before the request: a failing server is rate limited too.
            state.attempted_at = Some(now);
        }
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let outcome = self.fetch().await;
        let now = self.clock.unix_now();
        let mut state = self.write();
        match outcome {
            Ok(keys) => {
                tracing::info!(jwks_url = %self.url, keys = keys.len(), "JWKS fetched");
                state.keys = keys;
                state.fetched_at = Some(now);
                Ok(())
            }
            Err(e) => {
                let reason = match e {
                    FetchError::Transport(what) => what.to_string(),
                    FetchError::Status(status) => format!("HTTP {status}"),
                    FetchError::NotAJwks => "the body is not a JWKS".to_string(),
                };
                tracing::warn!(jwks_url = %self.url, reason, "JWKS fetch failed");
                if state.fresh(now) {
                    Ok(())
                } else {
                    Err(Reason::KeysUnavailable.into())
                }
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<Key>>, FetchError> {
        let reply = self
            .transport
            .get(&self.url, self.timeout)
            .await
            .map_err(|e| FetchError::Transport(e.describe()))?;
        if reply.status != 200 {
            return Err(FetchError::Status(reply.status));
        }
        keys_of(&reply.body).ok_or(FetchError::NotAJwks)
    }
}

/// The RS256 signature keys of a JWKS document: a JSON object with `keys`; members that
/// do not parse, encryption keys and keys beyond [`MAX_JWKS_KEYS`] are left out.
pub(crate) fn keys_of(body: &[u8]) -> Option<HashMap<String, Arc<Key>>> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let raw: RawSet = serde_json::from_slice(body).ok()?;
    if raw.keys.len() > MAX_JWKS_KEYS {
        tracing::warn!(
            keys = raw.keys.len(),
            kept = MAX_JWKS_KEYS,
            "the JWKS has more keys than are kept"
        );
    }
    let keys = raw
        .keys
        .into_iter()
        .take(MAX_JWKS_KEYS)
        .filter_map(|v| serde_json::from_value::<Jwk>(v).ok())
        .filter(|jwk| jwk.common.public_key_use != Some(PublicKeyUse::Encryption))
        .collect();
    let keys = xaa::rs256_keys_by_kid(&JwkSet { keys });
    Some(
        keys.into_iter()
            .map(|(kid, key)| (kid, Arc::new(Key::new(key))))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";

    fn kids(body: serde_json::Value) -> Option<Vec<String>> {
        let mut kids: Vec<String> = keys_of(body.to_string().as_bytes())?.into_keys().collect();
        kids.sort();
        Some(kids)
    }

    #[test]
    fn only_rs256_signature_keys_are_kept_and_bad_members_are_skipped() {
        let got = kids(serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "sig", "use": "sig", "n": N, "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": N, "e": "AQAB"},
            {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": N, "e": "AQAB"},
            {"kty": "OKP", "kid": "ed", "crv": "X448", "x": "AA"},
            {"kty": "RSA", "kid": 7, "n": N, "e": "AQAB"},
            "not a key",
        ]}));
        assert_eq!(got, Some(vec!["sig".to_string()]));
        assert_eq!(
            kids(serde_json::json!([[]])),
            None,
            "an array is not a JWKS"
        );
        assert_eq!(kids(serde_json::json!({"keys": {}})), None);
    }

    #[test]
    fn the_parsed_key_and_jsonwebtokens_path_agree() {
        use aws_lc_rs::rsa::{KeyPair, KeySize};
        use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let (n, e) = (pair.public_key().modulus(), pair.public_key().exponent());
        let decoding = Arc::new(DecodingKey::from_rsa_raw_components(
            n.big_endian_without_leading_zero(),
            e.big_endian_without_leading_zero(),
        ));
        let mut sig = vec![0; pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        pair.sign(&RSA_PKCS1_SHA256, &rng, b"a.b", &mut sig)
            .unwrap();
        let sig = URL_SAFE_NO_PAD.encode(&sig);
        let parsed = Key::new(decoding.clone());
        assert!(parsed.parsed.is_some());
        let fallback = Key {
            decoding,
            parsed: None,
        };
        for key in [&parsed, &fallback] {
            assert!(key.verifies(b"a.b", &sig));
            assert!(!key.verifies(b"a.c", &sig));
            assert!(!key.verifies(b"a.b", &sig[1..]));
            assert!(!key.verifies(b"a.b", &"A".repeat(2000)));
        }
    }

    #[test]
    fn at_most_32_keys_are_read() {
        let keys: Vec<_> = (0..40)
            .map(|i| serde_json::json!({"kty": "RSA", "kid": format!("k{i:02}"), "n": N, "e": "AQAB"}))
            .collect();
        let got = kids(serde_json::json!({ "keys": keys })).unwrap();
        assert_eq!(got.len(), MAX_JWKS_KEYS);
        assert_eq!(got.last().map(String::as_str), Some("k31"));
    }
}
