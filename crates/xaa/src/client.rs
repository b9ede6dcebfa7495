//! [`OktaClient`]: the pure builders and parsers of this crate around one small I/O
//! trait, with the retry rules (transient failures only, capped and jittered, a fresh
//! client assertion every attempt, one key reload when Okta blames the key).

use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;
use zeroize::Zeroizing;

use crate::assertion;
use crate::client_credentials::{self, Act, ClientAuth};
use crate::clock::{Clock, JtiSource};
use crate::consent::classify_failure_at;
use crate::deadline::Deadline;
use crate::grants::{self, AuthForm};
use crate::http::{self, HttpReply, TokenTransport};
use crate::key::{KeyError, SigningKey};
use crate::keystore::KeyStore;
use crate::org::OktaConfig;
use crate::rejection::{Leg, OktaError};
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
    pub(crate) cfg: Arc<OktaConfig>,
    transport: Arc<dyn TokenTransport>,
    keys: Arc<KeyStore>,
    pub(crate) clock: Arc<dyn Clock>,
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
    pub(crate) fn expiry(
        &self,
        leg: Leg,
        expires_in: Option<u64>,
        token: &str,
    ) -> Result<Option<u64>, Error> {
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

    /// One token request with the agent's key: legs 1 and 2.
    async fn post(
        &self,
        leg: Leg,
        url: &str,
        deadline: Deadline,
        body: impl Fn(&ClientAssertion) -> Zeroizing<String>,
    ) -> Result<Issued, Error> {
        let authn = Authn::Key {
            client_id: &self.cfg.agent_client_id,
            act: None,
        };
        let body = |auth: AuthForm<'_>| match auth {
            AuthForm::Assertion(a) => body(a),
            // Authn::Key always signs an assertion.
            _ => Zeroizing::new(String::new()),
        };
        self.send(leg, url, deadline, authn, body, |b| {
            response::parse_success(leg, b)
        })
        .await
    }

    /// One token request with a fresh client authentication per attempt (a new
    /// assertion each time). Transient failures are retried with capped, jittered
    /// backoff inside the deadline; OAuth errors are not, except one reload of a
    /// possibly rotated key when Okta refuses the agent's key.
    pub(crate) async fn send<T>(
        &self,
        leg: Leg,
        url: &str,
        deadline: Deadline,
        authn: Authn<'_>,
        body: impl Fn(AuthForm<'_>) -> Zeroizing<String>,
        parse: impl Fn(&[u8]) -> Result<T, OktaError>,
    ) -> Result<T, Error> {
        let mut key = match authn {
            Authn::Key { .. } => Some(self.keys.get().await?),
            Authn::Secret { .. } => None,
        };
        let mut reloaded = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (assertion, header) = self.authenticate(&authn, key.as_deref(), url)?;
            let form = match (&assertion, &authn) {
                (Some(a), _) => body(AuthForm::Assertion(a)),
                (
                    None,
                    Authn::Secret {
                        client_id,
                        auth: ClientAuth::SecretPost(secret),
                        ..
                    },
                ) => body(AuthForm::Post { client_id, secret }),
                (None, _) => body(AuthForm::Header),
            };
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
            let reply = match header {
                Some(authorization) => {
                    self.transport
                        .post_form_authorized(url, form, authorization, timeout)
                        .await
                }
                None => self.transport.post_form(url, form, timeout).await,
            };
            let outcome = match reply {
                Ok(HttpReply {
                    status: 200..=299,
                    body,
                    ..
                }) => parse(&body).map_err(Error::from),
                Ok(reply) => Err(classify_failure_at(
                    leg,
                    reply.status,
                    &reply.body,
                    reply.retry_after,
                    &self.cfg.base_url,
                )
                .into()),
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
                    let Some(used) = key.take() else {
                        tracing::warn!(%leg, attempt, elapsed_ms, error_type = e.kind(), "token request failed");
                        return outcome;
                    };
                    tracing::warn!(%leg, code = e.kind(), "Okta refused the signing key; reloading the secret once");
                    reloaded = true;
                    key = Some(self.keys.reload(&used).await?);
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

    /// This attempt's client authentication: a fresh assertion, or a Basic header, or
    /// neither (client_secret_post puts the secret in the form).
    fn authenticate(
        &self,
        authn: &Authn<'_>,
        key: Option<&SigningKey>,
        url: &str,
    ) -> Result<(Option<ClientAssertion>, Option<Zeroizing<String>>), Error> {
        let (clock, jti) = (&*self.clock, &*self.jti);
        Ok(match (authn, key) {
            (
                Authn::Key {
                    client_id,
                    act: None,
                },
                Some(key),
            ) => (
                Some(assertion::mint(key, client_id, url, clock, jti)?),
                None,
            ),
            (Authn::Key { client_id, act }, Some(key)) => (
                Some(client_credentials::mint_with_key(
                    key, client_id, url, *act, clock, jti,
                )?),
                None,
            ),
            (Authn::Key { .. }, None) => {
                return Err(Error::Key(KeyError::Invalid(
                    "no signing key loaded".into(),
                )))
            }
            (
                Authn::Secret {
                    client_id,
                    auth,
                    act,
                },
                _,
            ) => match auth {
                ClientAuth::SecretJwt(secret) => (
                    Some(client_credentials::mint_hs256(
                        secret, client_id, url, *act, clock, jti,
                    )?),
                    None,
                ),
                ClientAuth::SecretBasic(secret) => (
                    None,
                    Some(client_credentials::basic_authorization(client_id, secret)),
                ),
                ClientAuth::SecretPost(_) | ClientAuth::PrivateKeyJwt => (None, None),
            },
        })
    }
}

/// Who authenticates a request, and how.
pub(crate) enum Authn<'a> {
    /// `private_key_jwt` with the key of the client's [`KeyStore`].
    Key {
        client_id: &'a str,
        act: Option<&'a Act>,
    },
    /// A client secret method (basic, post, or an HS256 assertion).
    Secret {
        client_id: &'a str,
        auth: &'a ClientAuth,
        act: Option<&'a Act>,
    },
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
