//! Optional full verification of the user's ID token before any exchange (enabled by
//! `OKTA_OIDC_CLIENT_ID`): RS256 only, signature against the org authorization
//! server's JWKS, `iss`, `aud` and `exp`. The JWKS is cached for an hour; a token
//! signed with an unknown `kid` triggers at most one refetch per 10 seconds, counted
//! before the request so that a flood of forged tokens cannot turn into a flood of JWKS
//! requests even while Okta is failing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::error::Error;
use xaa::{Clock, IdToken, Leg, OktaError, TokenTransport};

pub const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Keys older than this are fetched again before use (Okta rotates its signing keys).
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(3600);

pub struct IdTokenVerifier {
    jwks_url: String,
    issuer: String,
    audience: String,
    transport: Arc<dyn TokenTransport>,
    clock: Arc<dyn Clock>,
    http_timeout: Duration,
    keys: Mutex<Keys>,
    fetch: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    /// Unix seconds of the last successful fetch, and of the last attempt.
    fetched_at: Option<u64>,
    attempted_at: Option<u64>,
}

fn rejected(reason: impl Into<String>) -> Error {
    Error::IdTokenPrecheck(reason.into())
}

impl IdTokenVerifier {
    pub fn new(
        jwks_url: String,
        issuer: String,
        audience: String,
        transport: Arc<dyn TokenTransport>,
        clock: Arc<dyn Clock>,
        http_timeout: Duration,
    ) -> Self {
        Self {
            jwks_url,
            issuer,
            audience,
            transport,
            clock,
            http_timeout,
            keys: Mutex::new(Keys::default()),
            fetch: tokio::sync::Mutex::new(()),
        }
    }

    pub async fn verify(&self, id_token: &IdToken, leeway_secs: u64) -> Result<(), Error> {
        let header = jsonwebtoken::decode_header(id_token.expose())
            .map_err(|_| rejected("its header is not a JWS header"))?;
        if header.alg != Algorithm::RS256 {
            return Err(rejected(format!(
                "it is signed with {:?}; only RS256 is accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| rejected("its header has no `kid`"))?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None => {
                self.refresh().await?;
                self.key(&kid).ok_or_else(|| {
                    rejected(
                        "it is signed with a key the org authorization server does not publish",
                    )
                })?
            }
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.leeway = leeway_secs;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<serde::de::IgnoredAny>(id_token.expose(), &key, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                rejected(match e.kind() {
                    ErrorKind::ExpiredSignature => "it has expired",
                    ErrorKind::InvalidAudience => {
                        "its aud is not OKTA_OIDC_CLIENT_ID (it was issued for another app)"
                    }
                    ErrorKind::InvalidIssuer => "its iss is not this Okta org",
                    ErrorKind::InvalidSignature => "its signature does not verify",
                    ErrorKind::ImmatureSignature => "it is not valid yet",
                    _ => "it is not a valid ID token from this Okta org",
                })
            })?;
        Ok(())
    }

    /// A key from a JWKS fetched within [`JWKS_MAX_AGE`]; stale keys are not used.
    fn key(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        let now = self.clock.unix_now();
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = keys
            .fetched_at
            .is_some_and(|at| now.saturating_sub(at) < JWKS_MAX_AGE.as_secs());
        fresh.then(|| keys.by_kid.get(kid).cloned()).flatten()
    }

    /// Refetch the JWKS unless that happened less than 10 s ago.
    async fn refresh(&self) -> Result<(), Error> {
        let _one_at_a_time = self.fetch.lock().await;
        {
            let now = self.clock.unix_now();
            let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            let recent = keys
                .attempted_at
                .is_some_and(|at| now.saturating_sub(at) < REFETCH_INTERVAL.as_secs());
            let stale = keys
                .fetched_at
                .is_none_or(|at| now.saturating_sub(at) >= JWKS_MAX_AGE.as_secs());
            if recent && !stale {
                return Ok(());
            }
            if recent {
                return Err(unavailable_error("a refetch was tried less than 10 s ago"));
            }
            // Counted before the request: a failing Okta is rate limited too.
            keys.attempted_at = Some(now);
        }
        let unavailable = unavailable_error;
        let reply = self
            .transport
            .get(&self.jwks_url, self.http_timeout)
            .await
            .map_err(|e| unavailable(e.describe()))?;
        if reply.status != 200 {
            return Err(unavailable(&format!("HTTP {}", reply.status)));
        }
        let set: JwkSet =
            serde_json::from_slice(&reply.body).map_err(|_| unavailable("not a JWKS"))?;
        let by_kid = xaa::rs256_keys_by_kid(&set);
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.by_kid = by_kid;
        keys.fetched_at = Some(self.clock.unix_now());
        tracing::info!(keys = keys.by_kid.len(), "org JWKS fetched");
        Ok(())
    }
}

fn unavailable_error(reason: &str) -> Error {
    Error::Okta(OktaError::Unavailable {
        leg: Leg::TokenExchange,
        reason: format!("the org JWKS could not be fetched ({reason})"),
        transient: false,
        retry_after: None,
    })
}
