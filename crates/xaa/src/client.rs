//! [`OktaClient`]: the pure builders and parsers of this crate around one small I/O
//! trait, with the retry rules (transient failures only, capped and jittered, a fresh
//! client assertion every attempt, one key reload when Okta blames the key).

use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;
use zeroize::Zeroizing;

use crate::assertion;
use crate::clock::{Clock, JtiSource};
use crate::deadline::Deadline;
use crate::grants;
use crate::http::{self, HttpReply, TokenTransport};
use crate::key::KeyError;
use crate::keystore::KeyStore;
use crate::org::OktaConfig;
use crate::rejection::{classify_failure, Leg, OktaError};
use crate::response::{self, Issued};
use crate::sensitive::{AccessToken, ClientAssertion, IdJag, IdToken};

/// What a token request can end in, other than a token.
#[derive(Debug, Error)]
pub enum Error {
    #[error("signing key error: {0}")]
    Key(#[from] KeyError),
    #[error(transparent)]
    Okta(#[from] OktaError),
    /// The caller's deadline ran out; `stage` says where.
    #[error("no time left before the deadline while {stage}")]
    Timeout { stage: &'static str },
}

impl Error {
    /// The stable error name (`KeyError`, `Timeout`, or Okta's kind).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Key(_) => "KeyError",
            Error::Okta(e) => e.kind(),
            Error::Timeout { .. } => "Timeout",
        }
    }
}

/// No token is cached longer than this, whatever lifetime Okta states (Okta's own
/// maximum access token lifetime is a day).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// A stated lifetime beyond this is not a mistake we can sensibly cap: refuse it.
pub const ABSURD_LIFETIME: Duration = Duration::from_secs(366 * 24 * 3600);

/// The longest `Retry-After` we wait out. A server asking for more (a day, say) gets a
/// typed `OktaUnavailable` at once: holding a request, and a Lambda, for that long
/// helps nobody, and the caller can retry later.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// At most this many attempts per token request, transient failures only.
pub const MAX_ATTEMPTS: u32 = 3;
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(1);

/// A token and when it stops being usable (unix seconds), if known.
pub struct Grant<T> {
    pub token: T,
    pub expires_at: Option<u64>,
}

pub struct OktaClient {
    cfg: Arc<OktaConfig>,
    transport: Arc<dyn TokenTransport>,
    keys: Arc<KeyStore>,
    clock: Arc<dyn Clock>,
    jti: Arc<dyn JtiSource>,
    http_timeout: Duration,
}

impl OktaClient {
    pub fn new(
        cfg: Arc<OktaConfig>,
        transport: Arc<dyn TokenTransport>,
        keys: Arc<KeyStore>,
        clock: Arc<dyn Clock>,
        jti: Arc<dyn JtiSource>,
        http_timeout: Duration,
    ) -> Self {
        Self {
            cfg,
            transport,
            keys,
            clock,
            jti,
            http_timeout,
        }
    }

    /// Leg 1: the user's ID token for an ID-JAG.
    pub async fn exchange(
        &self,
        id_token: &IdToken,
        deadline: Deadline,
    ) -> Result<Grant<IdJag>, Error> {
        let cfg = &self.cfg;
        let issued = self
            .post(
                Leg::TokenExchange,
                &cfg.org_token_url,
                deadline,
                |assertion| grants::token_exchange_body(cfg, id_token, assertion),
            )
            .await?;
        let expires_at = self.expiry(Leg::TokenExchange, issued.expires_in, &issued.token)?;
        Ok(Grant {
            token: IdJag::new(issued.token.as_str()),
            expires_at,
        })
    }

    /// Leg 2: the ID-JAG for an access token at the custom authorization server.
    pub async fn redeem(
        &self,
        id_jag: &IdJag,
        deadline: Deadline,
    ) -> Result<Grant<AccessToken>, Error> {
        let issued = self
            .post(
                Leg::JwtBearer,
                &self.cfg.custom_token_url,
                deadline,
                |assertion| grants::jwt_bearer_body(id_jag, assertion),
            )
            .await?;
        let expires_at = self.expiry(Leg::JwtBearer, issued.expires_in, &issued.token)?;
        Ok(Grant {
            token: AccessToken::new(issued.token.as_str()),
            expires_at,
        })
    }

    /// `expires_in` when given, else the token's own `exp` (decoded, not trusted: the
    /// worst a lie can do is an early refresh or one refused call). Lifetimes are capped
    /// at [`MAX_TOKEN_LIFETIME`]; a value beyond [`ABSURD_LIFETIME`] is a protocol error,
    /// never an overflow further down.
    fn expiry(&self, leg: Leg, expires_in: Option<u64>, token: &str) -> Result<Option<u64>, Error> {
        let now = self.clock.unix_now();
        let lifetime = match expires_in {
            Some(secs) => Some(secs),
            None => response::unverified_claims(token)
                .and_then(|c| c.get("exp").and_then(|v| v.as_u64()))
                .map(|exp| exp.saturating_sub(now)),
        };
        match lifetime {
            None => Ok(None),
            Some(secs) if secs > ABSURD_LIFETIME.as_secs() => Err(Error::Okta(OktaError::Protocol {
                leg,
                reason: format!(
                    "the token's lifetime ({secs} s) is not plausible; refusing it rather than caching it"
                ),
            })),
            Some(secs) => Ok(now.checked_add(secs.min(MAX_TOKEN_LIFETIME.as_secs()))),
        }
    }

    /// One token request with a fresh client assertion per attempt. Transient failures
    /// are retried with capped, jittered backoff inside the deadline; OAuth errors are
    /// not, except one reload of a possibly rotated key when Okta refuses the key.
    async fn post(
        &self,
        leg: Leg,
        url: &str,
        deadline: Deadline,
        body: impl Fn(&ClientAssertion) -> Zeroizing<String>,
    ) -> Result<Issued, Error> {
        let mut key = self.keys.get().await?;
        let mut reloaded = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let assertion = assertion::mint(
                &key,
                &self.cfg.agent_client_id,
                url,
                &*self.clock,
                &*self.jti,
            )?;
            let timeout = match deadline.remaining() {
                Some(left) if left.is_zero() => {
                    return Err(Error::Timeout {
                        stage: "calling Okta",
                    })
                }
                Some(left) => left.min(self.http_timeout),
                None => self.http_timeout,
            };
            let started = Instant::now();
            let outcome = match self
                .transport
                .post_form(url, body(&assertion), timeout)
                .await
            {
                Ok(HttpReply {
                    status: 200..=299,
                    body,
                    ..
                }) => response::parse_success(leg, &body).map_err(Error::from),
                Ok(reply) => {
                    Err(classify_failure(leg, reply.status, &reply.body, reply.retry_after).into())
                }
                Err(e)
                    if e == http::TransportError::Timeout
                        && deadline.remaining().is_some_and(|l| l.is_zero()) =>
                {
                    return Err(Error::Timeout {
                        stage: "calling Okta",
                    })
                }
                Err(e) => Err(Error::Okta(OktaError::Unavailable {
                    leg,
                    reason: e.describe().into(),
                    transient: e.is_transient(),
                    retry_after: None,
                })),
            };
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            match outcome {
                Ok(issued) => {
                    tracing::info!(%leg, attempt, elapsed_ms, "token issued");
                    return Ok(issued);
                }
                Err(Error::Okta(ref e))
                    if e.rejection().is_some_and(|r| r.blames_our_key()) && !reloaded =>
                {
                    tracing::warn!(%leg, code = e.kind(), "Okta refused the signing key; reloading the secret once");
                    reloaded = true;
                    key = self.keys.reload(&key).await?;
                }
                Err(Error::Okta(ref e))
                    if e.is_transient()
                        && attempt < MAX_ATTEMPTS
                        && e.retry_after().is_none_or(|wait| wait <= MAX_RETRY_AFTER) =>
                {
                    let wait = backoff(attempt, e.retry_after());
                    if deadline.remaining().is_some_and(|left| left <= wait) {
                        return Err(Error::Timeout {
                            stage: "waiting to retry Okta",
                        });
                    }
                    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                    tracing::warn!(%leg, attempt, elapsed_ms, wait_ms, "transient Okta failure; retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    tracing::warn!(%leg, attempt, elapsed_ms, error_type = e.kind(), "token request failed");
                    return Err(e);
                }
            }
        }
    }
}

/// Full-jitter exponential backoff (100 ms, 200 ms, ... capped at 1 s), or the
/// server's Retry-After when it gave one.
pub fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(wait) = retry_after {
        return wait;
    }
    let ceiling = BACKOFF_BASE
        .saturating_mul(1 << attempt.min(10))
        .min(BACKOFF_CAP);
    let mut byte = [0u8; 2];
    let _ = aws_lc_rs::rand::fill(&mut byte);
    let fraction = u16::from_le_bytes(byte) as u32;
    ceiling.mul_f64(0.5 + fraction as f64 / (2.0 * u16::MAX as f64))
}
