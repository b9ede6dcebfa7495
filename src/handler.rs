//! One invocation, top to bottom: validate the event, refuse a dead ID token, get the
//! user's access token (cache, else leg 1 + leg 2), invoke the agent, answer.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::bedrock::{AgentInvoker, AgentRequest};
use crate::cache::{CacheKey, TokenCache};
use crate::clock::{Clock, JtiSource};
use crate::config::Config;
use crate::error::{safe_code, Error};
use crate::idtoken::IdTokenVerifier;
use crate::oauth::http::TokenTransport;
use crate::oauth::token::unverified_claims;
use crate::oauth::{Grant, OktaClient};
use crate::secret::{KeySource, KeyStore};
use crate::sensitive::{AccessToken, IdJag, IdToken};

/// Clock skew we forgive when pre-checking an ID token's `exp`/`nbf`/`iat`.
pub const CLOCK_LEEWAY_SECS: u64 = 60;
/// ID tokens are a few KiB at most; anything far larger is not one.
pub const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;

/// The validated event.
#[derive(Debug)]
pub struct Request {
    pub prompt: String,
    pub id_token: IdToken,
    pub session_id: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Response {
    pub answer: String,
    pub session_id: String,
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidRequest(reason.into())
}

impl Request {
    /// Strict parsing: a JSON object with exactly `prompt`, `id_token` and optionally
    /// `session_id`. Messages name the field, never its value.
    pub fn from_event(event: Value, max_prompt_chars: usize) -> Result<Self, Error> {
        let Value::Object(mut map) = event else {
            return Err(invalid("the event must be a JSON object with `prompt`, `id_token` and optionally `session_id`"));
        };
        if let Some(unknown) = map
            .keys()
            .find(|k| !matches!(k.as_str(), "prompt" | "id_token" | "session_id"))
        {
            return Err(invalid(format!(
                "unknown field `{}`; expected `prompt`, `id_token` and optionally `session_id`",
                safe_code(unknown)
            )));
        }
        let prompt = take_string(&mut map, "prompt")?;
        if prompt.trim().is_empty() {
            return Err(invalid("field `prompt` is empty"));
        }
        let chars = prompt.chars().count();
        if chars > max_prompt_chars {
            return Err(invalid(format!(
                "field `prompt` has {chars} characters; the limit is {max_prompt_chars}"
            )));
        }
        let id_token = IdToken::new(take_string(&mut map, "id_token")?);
        if id_token.len() > MAX_ID_TOKEN_BYTES {
            return Err(invalid(format!(
                "field `id_token` is longer than {MAX_ID_TOKEN_BYTES} bytes"
            )));
        }
        if !looks_like_jwt(id_token.expose()) {
            return Err(invalid("field `id_token` is not a JWT (three base64url parts separated by dots); pass the OIDC ID token"));
        }
        let session_id = match map.remove("session_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if is_valid_session_id(&s) => Some(s),
            Some(Value::String(_)) => {
                return Err(invalid(
                    "field `session_id` must be 2 to 100 characters of letters, digits, `.`, `_`, `:` or `-`",
                ))
            }
            Some(_) => return Err(invalid("field `session_id` must be a string")),
        };
        Ok(Request {
            prompt,
            id_token,
            session_id,
        })
    }
}

fn take_string(map: &mut Map<String, Value>, field: &str) -> Result<String, Error> {
    match map.remove(field) {
        None | Some(Value::Null) => Err(invalid(format!("field `{field}` is missing"))),
        Some(Value::String(s)) if s.is_empty() => Err(invalid(format!("field `{field}` is empty"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(format!("field `{field}` must be a string"))),
    }
}

/// Bedrock's rule for session ids: `^[0-9a-zA-Z._:-]+$`, 2 to 100 characters.
pub fn is_valid_session_id(s: &str) -> bool {
    (2..=100).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| !p.is_empty())
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// What a pre-check learns from the (untrusted) ID token claims.
struct IdTokenFacts {
    /// Okta user id, for logs; only kept when it looks like one (never an email).
    user_id: Option<String>,
}

/// Refuse an ID token that is certainly dead before spending any network call on it.
/// The claims are not verified here; Okta verifies them at leg 1.
fn precheck_id_token(id_token: &IdToken, now: u64) -> Result<IdTokenFacts, Error> {
    let claims = unverified_claims(id_token.expose()).ok_or_else(|| {
        invalid("field `id_token` does not carry a JSON claims set; pass the OIDC ID token")
    })?;
    let number = |name: &str| claims.get(name).and_then(Value::as_u64);
    let exp =
        number("exp").ok_or_else(|| Error::IdTokenPrecheck("it has no `exp` claim".into()))?;
    if exp + CLOCK_LEEWAY_SECS <= now {
        return Err(Error::IdTokenPrecheck(format!(
            "it expired {} s ago",
            now - exp
        )));
    }
    for claim in ["nbf", "iat"] {
        if number(claim).is_some_and(|t| t > now + CLOCK_LEEWAY_SECS) {
            return Err(Error::IdTokenPrecheck(format!(
                "its `{claim}` is in the future; check the clock"
            )));
        }
    }
    let user_id = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| s.len() <= 40 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_string);
    Ok(IdTokenFacts { user_id })
}

/// Everything the handler needs, built once per container.
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
    verifier: Option<IdTokenVerifier>,
}

impl Bridge {
    pub fn new(parts: Parts) -> Self {
        let cfg = Arc::new(parts.config);
        let keys = Arc::new(KeyStore::new(
            parts.key_source,
            cfg.okta.agent_key_id.clone(),
            cfg.key_max_age,
        ));
        let verifier = cfg.okta.oidc_client_id.as_ref().map(|audience| {
            IdTokenVerifier::new(
                cfg.okta.org_jwks_url.clone(),
                cfg.okta.base_url.clone(),
                audience.clone(),
                parts.transport.clone(),
                cfg.http_timeout,
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

    /// Load the signing key before the first event. A failure is logged, not fatal:
    /// the first invocation tries again and reports the typed error.
    pub async fn warm_up(&self) {
        if let Err(e) = self.keys.get().await {
            tracing::warn!(
                error_type = "KeyError",
                "signing key not loaded at init: {e}"
            );
        }
    }

    /// The Lambda entry point.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, Error> {
        let started = Instant::now();
        let deadline = self.deadline(event.context.deadline);
        let span = tracing::info_span!(
            "invocation",
            request_id = %event.context.request_id,
            session_id = tracing::field::Empty,
            user_id = tracing::field::Empty,
        );
        let result = self
            .pipeline(event.payload, deadline)
            .instrument(span.clone())
            .await;
        let _enter = span.enter();
        let duration_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(_) => tracing::info!(outcome = "ok", duration_ms, "invocation finished"),
            Err(e) => tracing::warn!(
                outcome = "error",
                error_type = e.error_type(),
                duration_ms,
                "invocation failed: {e}"
            ),
        }
        result
    }

    async fn pipeline(&self, payload: Value, deadline: Option<Instant>) -> Result<Response, Error> {
        let request = Request::from_event(payload, self.cfg.max_prompt_chars)?;
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
                verifier.verify(&request.id_token, CLOCK_LEEWAY_SECS),
            )
            .await?;
        }

        let access_token = within(
            deadline,
            "getting the user's access token from Okta",
            self.access_token(&request.id_token, deadline),
        )
        .await?;

        let answer = within(
            deadline,
            "waiting for the Bedrock agent",
            self.agent.invoke(AgentRequest {
                session_id: &session_id,
                prompt: &request.prompt,
                access_token: &access_token,
            }),
        )
        .await?;
        tracing::info!(
            chunks = answer.chunks,
            answer_bytes = answer.text.len(),
            "agent answered"
        );
        Ok(Response {
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
        deadline: Option<Instant>,
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
                    Err(Error::Okta(e)) if e.is_invalid_grant_at_leg2() && !fresh => {
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
        deadline: Option<Instant>,
    ) -> Result<IdJag, Error> {
        self.id_jags
            .get_or_try_fetch(key, || async {
                let grant = self.okta.exchange(id_token, deadline).await?;
                Ok((grant.token.clone(), expiry(&grant)))
            })
            .await
    }

    /// Our own deadline: the Lambda's minus a margin, so we answer `Timeout` in time.
    fn deadline(&self, lambda_deadline_ms: u64) -> Option<Instant> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        time_left(lambda_deadline_ms, now_ms, self.cfg.deadline_margin)
            .map(|left| Instant::now() + left)
    }
}

/// Deadlines before 2020-01-01 are not wall-clock times: some local runtimes send a
/// duration instead (`cargo lambda watch` sends `600000`). Those mean "unknown", not "late".
const EARLIEST_PLAUSIBLE_DEADLINE_MS: u64 = 1_577_836_800_000;

/// The time this invocation may still spend, or `None` when the runtime gave no usable deadline.
fn time_left(lambda_deadline_ms: u64, now_ms: u64, margin: Duration) -> Option<Duration> {
    if lambda_deadline_ms < EARLIEST_PLAUSIBLE_DEADLINE_MS {
        return None;
    }
    Some(Duration::from_millis(lambda_deadline_ms.saturating_sub(now_ms)).saturating_sub(margin))
}

/// Unknown expiry means "do not cache": expiring now keeps it out of the cache.
fn expiry<T>(grant: &Grant<T>) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(grant.expires_at.unwrap_or(0))
}

async fn within<T>(
    deadline: Option<Instant>,
    stage: &'static str,
    work: impl Future<Output = Result<T, impl Into<Error>>>,
) -> Result<T, Error> {
    match deadline {
        None => work.await.map_err(Into::into),
        Some(deadline) => match tokio::time::timeout_at(deadline.into(), work).await {
            Ok(result) => result.map_err(Into::into),
            Err(_) => Err(Error::Timeout { stage }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::json;

    fn jwt(claims: Value) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    fn refusal(event: Value) -> String {
        match Request::from_event(event, 100) {
            Err(Error::InvalidRequest(m)) => m,
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
    }

    #[test]
    fn a_well_formed_event_is_accepted_with_or_without_session_id() {
        let token = jwt(json!({"exp": 1}));
        let r = Request::from_event(json!({"prompt": "hi", "id_token": token}), 100).unwrap();
        assert_eq!((r.prompt.as_str(), r.session_id), ("hi", None));
        let r = Request::from_event(
            json!({"prompt": "hi", "id_token": token, "session_id": "abc-1.2:3_x"}),
            100,
        )
        .unwrap();
        assert_eq!(r.session_id.as_deref(), Some("abc-1.2:3_x"));
    }

    #[test]
    fn bad_events_are_refused_naming_the_field_never_the_value() {
        let token = jwt(json!({"exp": 1}));
        let cases = [
            (json!(["prompt"]), "must be a JSON object"),
            (json!("text"), "must be a JSON object"),
            (json!({"id_token": token}), "field `prompt` is missing"),
            (
                json!({"prompt": "", "id_token": token}),
                "field `prompt` is empty",
            ),
            (
                json!({"prompt": "   ", "id_token": token}),
                "field `prompt` is empty",
            ),
            (
                json!({"prompt": 42, "id_token": token}),
                "field `prompt` must be a string",
            ),
            (
                json!({"prompt": "x".repeat(101), "id_token": token}),
                "has 101 characters; the limit is 100",
            ),
            (json!({"prompt": "hi"}), "field `id_token` is missing"),
            (
                json!({"prompt": "hi", "id_token": ""}),
                "field `id_token` is empty",
            ),
            (
                json!({"prompt": "hi", "id_token": {"a": 1}}),
                "field `id_token` must be a string",
            ),
            (
                json!({"prompt": "hi", "id_token": "not-a-jwt"}),
                "is not a JWT",
            ),
            (
                json!({"prompt": "hi", "id_token": "a.b.c d"}),
                "is not a JWT",
            ),
            (
                json!({"prompt": "hi", "id_token": token, "session_id": "a"}),
                "2 to 100 characters",
            ),
            (
                json!({"prompt": "hi", "id_token": token, "session_id": "has space"}),
                "2 to 100 characters",
            ),
            (
                json!({"prompt": "hi", "id_token": token, "session_id": "x".repeat(101)}),
                "2 to 100 characters",
            ),
            (
                json!({"prompt": "hi", "id_token": token, "session_id": 7}),
                "must be a string",
            ),
            (
                json!({"prompt": "hi", "id_token": token, "extra": 1}),
                "unknown field `extra`",
            ),
        ];
        for (event, expected) in cases {
            let message = refusal(event.clone());
            assert!(
                message.contains(expected),
                "{event}: {message:?} lacks {expected:?}"
            );
            assert!(!message.contains(&token), "token leaked: {message}");
        }
        // Prompt length counts characters, not bytes.
        assert!(
            Request::from_event(json!({"prompt": "é".repeat(100), "id_token": token}), 100).is_ok()
        );
    }

    #[test]
    fn deadlines_are_wall_clock_times_and_anything_else_is_unknown() {
        let now = 1_800_000_000_000;
        let margin = Duration::from_millis(500);
        assert_eq!(
            time_left(now + 3_000, now, margin),
            Some(Duration::from_millis(2_500))
        );
        assert_eq!(
            time_left(now + 100, now, margin),
            Some(Duration::ZERO),
            "inside the margin: no time left"
        );
        assert_eq!(
            time_left(now - 5_000, now, margin),
            Some(Duration::ZERO),
            "already past"
        );
        // No deadline at all, or a duration where a timestamp belongs (cargo lambda watch).
        assert_eq!(time_left(0, now, margin), None);
        assert_eq!(time_left(600_000, now, margin), None);
        assert_eq!(
            time_left(EARLIEST_PLAUSIBLE_DEADLINE_MS - 1, now, margin),
            None
        );
    }

    #[test]
    fn expired_or_future_id_tokens_fail_the_precheck() {
        let now = 1_000_000;
        let check = |claims: Value| precheck_id_token(&IdToken::new(jwt(claims)), now);
        assert!(
            matches!(check(json!({"exp": now - 61})), Err(Error::IdTokenPrecheck(m)) if m == "it expired 61 s ago")
        );
        assert!(
            check(json!({"exp": now - 30, "sub": "00u1"})).is_ok(),
            "inside the leeway"
        );
        assert!(matches!(
            check(json!({"sub": "x"})),
            Err(Error::IdTokenPrecheck(_))
        ));
        assert!(
            matches!(check(json!({"exp": now + 600, "nbf": now + 3600})), Err(Error::IdTokenPrecheck(m)) if m.contains("nbf"))
        );
        assert!(
            matches!(check(json!({"exp": now + 600, "iat": now + 3600})), Err(Error::IdTokenPrecheck(m)) if m.contains("iat"))
        );
        let facts = check(json!({"exp": now + 600, "sub": "00uabc123"})).unwrap();
        assert_eq!(facts.user_id.as_deref(), Some("00uabc123"));
        let facts = check(json!({"exp": now + 600, "sub": "alice@example.com"})).unwrap();
        assert_eq!(facts.user_id, None, "an email-like sub is never logged");
    }
}
