//! The bridge core: one call, [`Bridge::ask`], from a validated [`Request`] to the
//! agent's [`Answer`]. Refuse a dead ID token, get the person's access token (cache,
//! else leg 1 + leg 2), invoke the agent with it, answer. Front doors only map their
//! input to a `Request`, their time limit to a [`Deadline`], and [`Error::kind`] to
//! their own error shape.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::Instrument;
use xaa::{
    AccessToken, Clock, Deadline, Grant, IdJag, IdToken, JtiSource, KeySource, KeyStore,
    OktaClient, TokenTransport,
};

use crate::bedrock::{AgentError, AgentInvoker, AgentRequest, ChunkSink};
use crate::cache::{CacheKey, TokenCache};
use crate::config::Config;
use crate::error::Error;
use crate::idtoken::IdTokenCheck;
use crate::request::{precheck_id_token, Answer, Request, CLOCK_LEEWAY_SECS};

/// The most init spends on loading the signing key.
pub const INIT_KEY_BUDGET: Duration = Duration::from_secs(3);

/// How a front door calls [`Bridge::ask_json`]: its request id for the logs, its time
/// limit, the ID token from an `Authorization: Bearer` header if it has one, the
/// session id to use when the body names none, and where to stream the answer to.
pub struct Call {
    pub trace_id: String,
    pub deadline: Deadline,
    pub bearer: Option<String>,
    pub default_session_id: Option<String>,
    pub chunks: Option<ChunkSink>,
}

impl Call {
    pub fn new(trace_id: impl Into<String>, deadline: Deadline) -> Self {
        Call {
            trace_id: trace_id.into(),
            deadline,
            bearer: None,
            default_session_id: None,
            chunks: None,
        }
    }
}

/// Everything the bridge needs, built once per process by a front door (or a test).
pub struct Parts {
    pub config: Config,
    pub transport: Arc<dyn TokenTransport>,
    pub key_source: Arc<dyn KeySource>,
    pub agent: Arc<dyn AgentInvoker>,
    pub clock: Arc<dyn Clock>,
    pub jti: Arc<dyn JtiSource>,
}

pub struct Bridge {
    cfg: Arc<Config>,
    keys: Arc<KeyStore>,
    okta: OktaClient,
    agent: Arc<dyn AgentInvoker>,
    clock: Arc<dyn Clock>,
    access_tokens: TokenCache<AccessToken>,
    id_jags: TokenCache<IdJag>,
    verifier: Option<IdTokenCheck>,
}

impl Bridge {
    pub fn new(parts: Parts) -> Self {
        let cfg = Arc::new(parts.config);
        let keys = Arc::new(KeyStore::new(
            parts.key_source,
            cfg.okta.agent_key_id.clone(),
            cfg.key_max_age,
        ));
        let verifier = cfg.okta.oidc_client_id.as_ref().map(|client_id| {
            IdTokenCheck::new(
                &cfg.okta,
                client_id.clone(),
                parts.transport.clone(),
                parts.clock.clone(),
                cfg.http_timeout,
                Duration::from_secs(CLOCK_LEEWAY_SECS),
            )
        });
        let okta = OktaClient::new(
            Arc::new(cfg.okta.clone()),
            parts.transport,
            keys.clone(),
            parts.clock.clone(),
            parts.jti,
            cfg.http_timeout,
        );
        Bridge {
            access_tokens: TokenCache::new(
                cfg.cache_max_entries,
                cfg.cache_margin,
                parts.clock.clone(),
            ),
            id_jags: TokenCache::new(cfg.cache_max_entries, cfg.cache_margin, parts.clock.clone()),
            cfg,
            keys,
            okta,
            agent: parts.agent,
            clock: parts.clock,
            verifier,
        }
    }

    /// Load the signing key before the first event, within [`INIT_KEY_BUDGET`]: Lambda
    /// allows 10 s of init, and the SDK's own retries could spend more. A failure or a
    /// timeout is logged, not fatal: the first invocation fetches again and reports the
    /// typed error if it still fails.
    pub async fn warm_up(&self) {
        match tokio::time::timeout(INIT_KEY_BUDGET, self.keys.get()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(
                error_type = "KeyError",
                "signing key not loaded at init: {e}"
            ),
            Err(_) => tracing::warn!(
                error_type = "KeyError",
                budget_ms = u64::try_from(INIT_KEY_BUDGET.as_millis()).unwrap_or(u64::MAX),
                "signing key not loaded at init: Secrets Manager did not answer in time; the first invocation tries again"
            ),
        }
    }

    /// The one entry point: answer `request` before `deadline`. `trace_id` names the
    /// call in logs (the Lambda request id, the AgentCore request id).
    pub async fn ask(
        &self,
        request: Request,
        deadline: Deadline,
        trace_id: &str,
    ) -> Result<Answer, Error> {
        self.observed(trace_id, self.pipeline(request, deadline, None))
            .await
    }

    /// Parse a front door's JSON body and answer it, all inside one logged
    /// invocation, so a refused request is logged like any other outcome.
    pub async fn ask_json(&self, body: serde_json::Value, call: Call) -> Result<Answer, Error> {
        let Call {
            trace_id,
            deadline,
            bearer,
            default_session_id,
            chunks,
        } = call;
        self.observed(&trace_id, async {
            let mut request =
                Request::from_json_and_bearer(body, bearer, self.cfg.max_prompt_chars)?;
            if request.session_id.is_none() {
                request.session_id = default_session_id;
            }
            self.pipeline(request, deadline, chunks).await
        })
        .await
    }

    /// Run one invocation inside its span and log how it ended (never its content).
    async fn observed(
        &self,
        trace_id: &str,
        work: impl Future<Output = Result<Answer, Error>>,
    ) -> Result<Answer, Error> {
        let started = Instant::now();
        let span = tracing::info_span!(
            "invocation",
            request_id = %trace_id,
            session_id = tracing::field::Empty,
            user_id = tracing::field::Empty,
        );
        let result = work.instrument(span.clone()).await;
        let _enter = span.enter();
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(_) => tracing::info!(outcome = "ok", duration_ms, "invocation finished"),
            Err(e) => tracing::warn!(
                outcome = "error",
                error_type = e.kind(),
                duration_ms,
                "invocation failed: {e}"
            ),
        }
        result
    }

    /// The configuration it runs with (front doors read their limits from it).
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    async fn pipeline(
        &self,
        request: Request,
        deadline: Deadline,
        chunks: Option<ChunkSink>,
    ) -> Result<Answer, Error> {
        let session_id = request
            .session_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let span = tracing::Span::current();
        span.record("session_id", session_id.as_str());

        let facts = precheck_id_token(&request.id_token, self.clock.unix_now())?;
        if let Some(user_id) = &facts.user_id {
            span.record("user_id", user_id.as_str());
        }
        if let Some(verifier) = &self.verifier {
            within(
                deadline,
                "verifying the ID token",
                verifier.verify(&request.id_token),
            )
            .await?;
        }

        let access_token = within(
            deadline,
            "getting the user's access token from Okta",
            self.access_token(&request.id_token, deadline),
        )
        .await?;

        // Bedrock binds a session to nobody: whoever names its id continues it. The id
        // Bedrock sees is bound to the person Okta identified, so Bob naming Alice's
        // session id reaches a session of his own; the caller keeps seeing its id.
        let bedrock_session = bound_session_id(&session_id, &access_token)?;
        let answer = within(
            deadline,
            "waiting for the Bedrock agent",
            self.agent.invoke(AgentRequest {
                session_id: &bedrock_session,
                prompt: &request.prompt,
                access_token: &access_token,
                chunks: chunks.as_ref(),
            }),
        )
        .await;
        if let Err(Error::Agent(AgentError::AccessDenied(_))) = &answer {
            // The agent's side refused this person's token (revoked, scope removed):
            // keep no copy of it, so the next call asks Okta again instead of replaying it.
            self.access_tokens
                .remove(&self.cache_key(b"access-token", &request.id_token));
            self.id_jags
                .remove(&self.cache_key(b"id-jag", &request.id_token));
        }
        let answer = answer?;
        tracing::info!(
            chunks = answer.chunks,
            answer_bytes = answer.text.len(),
            "agent answered"
        );
        Ok(Answer {
            answer: answer.text,
            session_id,
        })
    }

    /// The cache keys hash the exact ID token, so a forged token that merely names
    /// another user's `sub` can never find that user's entry. Audience, scope and
    /// client are part of the key too.
    fn cache_key(&self, kind: &[u8], id_token: &IdToken) -> CacheKey {
        let okta = &self.cfg.okta;
        CacheKey::derive(&[
            kind,
            id_token.expose().as_bytes(),
            okta.custom_issuer.as_bytes(),
            okta.scope.as_bytes(),
            okta.agent_client_id.as_bytes(),
        ])
    }

    async fn access_token(
        &self,
        id_token: &IdToken,
        deadline: Deadline,
    ) -> Result<AccessToken, Error> {
        let key = self.cache_key(b"access-token", id_token);
        if let Some(token) = self.access_tokens.get(&key) {
            tracing::info!(token_source = "cache", "access token from cache");
            return Ok(token);
        }
        self.access_tokens
            .get_or_try_fetch(key, || async {
                let jag_key = self.cache_key(b"id-jag", id_token);
                let (id_jag, fresh) = match self.id_jags.get(&jag_key) {
                    Some(jag) => (jag, false),
                    None => (self.id_jag(jag_key, id_token, deadline).await?, true),
                };
                let grant = match self.okta.redeem(&id_jag, deadline).await {
                    // The cached ID-JAG was refused (expired early, revoked): start over from leg 1.
                    Err(xaa::Error::Okta(e))
                        if e.rejection().is_some_and(|r| r.restarts_from_leg1()) && !fresh =>
                    {
                        tracing::info!("cached ID-JAG refused at leg 2; running leg 1 again");
                        self.id_jags.remove(&jag_key);
                        let id_jag = self.id_jag(jag_key, id_token, deadline).await?;
                        self.okta.redeem(&id_jag, deadline).await?
                    }
                    other => other?,
                };
                let expires_at = expiry(&grant);
                Ok((grant.token, expires_at))
            })
            .await
    }

    async fn id_jag(
        &self,
        key: CacheKey,
        id_token: &IdToken,
        deadline: Deadline,
    ) -> Result<IdJag, Error> {
        self.id_jags
            .get_or_try_fetch(key, || async {
                let grant = self.okta.exchange(id_token, deadline).await?;
                Ok((grant.token.clone(), expiry(&grant)))
            })
            .await
    }
}

/// The Bedrock session id for a caller's session id and the person in the access token:
/// `xs-` and 64 hex digits of a SHA-256 over both (67 characters, within Bedrock's rule).
/// The person is the token's `iss` and `uid` (Okta's user id; `sub` when there is no
/// `uid`): values Okta put there, not the caller. The same person keeps the session when
/// their ID token is renewed; another person naming the same id gets another session.
fn bound_session_id(caller_session: &str, access_token: &AccessToken) -> Result<String, Error> {
    let claims = xaa::unverified_claims(access_token.expose());
    let claim = |name: &str| {
        claims
            .as_ref()
            .and_then(|c| c.get(name))
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    let (Some(issuer), Some(person)) = (claim("iss"), claim("uid").or_else(|| claim("sub"))) else {
        return Err(Error::Okta(xaa::OktaError::Protocol {
            leg: xaa::Leg::JwtBearer,
            reason: "the access token names no person (`iss` and `uid` or `sub`), so the agent session cannot be bound to one".into(),
        }));
    };
    let key = CacheKey::derive(&[
        b"xaa-bridge bedrock session v1",
        caller_session.as_bytes(),
        issuer.as_bytes(),
        person.as_bytes(),
    ]);
    Ok(format!("xs-{}", key.to_hex()))
}

/// Unknown or absurd expiry means "do not cache": expiring now keeps it out.
fn expiry<T>(grant: &Grant<T>) -> SystemTime {
    grant
        .expires_at
        .and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs)))
        .unwrap_or(UNIX_EPOCH)
}

async fn within<T>(
    deadline: Deadline,
    stage: &'static str,
    work: impl Future<Output = Result<T, impl Into<Error>>>,
) -> Result<T, Error> {
    match deadline.instant() {
        None => work.await.map_err(Into::into),
        Some(deadline) => match tokio::time::timeout_at(deadline.into(), work).await {
            Ok(result) => result.map_err(Into::into),
            Err(_) => Err(Error::Timeout { stage }),
        },
    }
}
