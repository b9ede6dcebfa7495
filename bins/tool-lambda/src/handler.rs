//! One invocation: parse the event, take the person's token from `sessionAttributes`
//! (only there: `promptSessionAttributes` are pasted into the model's prompt), verify it
//! as a resource server, build the API request, call, answer, and write one audit line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_loop::{Diagnostic, Invocation};
use verify::{AccessPolicy, AccessTokenVerifier, Jwks, Principal, Reason, Refusal};
use xaa::{AccessToken, Clock, ReqwestTransport, SystemClock, TokenTransport};

use crate::audit::{self, AuditLine, Outcome};
use crate::call::{self, Api, ApiRequest, BuildError, Rest};
use crate::config::{Config, ConfigError};
use crate::event::{Action, Event, EventError};
use crate::reply::{self, Verdict};
use crate::template::Template;

/// Kept back from Lambda's deadline, so the tool answers before it is killed.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);
/// How long init waits for the issuer's discovery document before using Okta's fixed
/// JWKS path instead.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why init failed: errorType `ConfigError`, reported to the Runtime API.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("TOOL_ISSUER, TOOL_AUDIENCE, TOOL_ALLOWED_CLIENTS, TOOL_REQUIRED_SCOPES: {0}")]
    Policy(String),
    #[error("TOOL_ISSUER: the issuer's metadata was refused ({0}): it names another issuer or puts its keys on another origin")]
    Discovery(&'static str),
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}

pub struct Tool {
    config: Config,
    verifier: AccessTokenVerifier,
    api: Api,
}

impl Tool {
    /// Configuration, HTTP clients and the verifier, once. Discovery runs here: metadata
    /// that cannot be fetched means Okta's fixed `{issuer}/v1/keys` (so does a discovery
    /// that times out), metadata that is refused is a `TOOL_ISSUER` error. The keys are
    /// fetched at init too, and when that fails, at the first token (the verifier's own
    /// throttle applies), so an Okta outage at cold start never takes the function down
    /// for good.
    pub async fn from_env() -> Result<Tool, InitError> {
        let config = Config::from_env()?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let transport: Arc<dyn TokenTransport> = Arc::new(
            ReqwestTransport::new(call::CONNECT_TIMEOUT, config.issuer_uses_plain_http())
                .map_err(|e| InitError::Client(e.to_string()))?,
        );
        let discovered = tokio::time::timeout(
            DISCOVERY_TIMEOUT,
            Jwks::discover(&config.issuer, transport.clone(), clock.clone()),
        )
        .await;
        let jwks = match discovered {
            Ok(Ok(jwks)) => jwks,
            // Deterministic: metadata naming another issuer, a jwks_uri on another origin.
            Ok(Err(refusal)) => return Err(InitError::Discovery(refusal.code())),
            Err(_) => {
                tracing::warn!(
                    "issuer discovery timed out at init; using {{issuer}}/v1/keys, fetched at the first token"
                );
                Jwks::new(
                    format!("{}/v1/keys", config.issuer),
                    transport.clone(),
                    clock.clone(),
                )
            }
        };
        // Keys now rather than at the first token; a failure here is retried then.
        if let Err(refusal) = jwks.warm_up().await {
            tracing::warn!(
                reason = refusal.code(),
                "the issuer's keys could not be fetched at init; retried at the first token"
            );
        }
        let policy = AccessPolicy::new(
            config.issuer.clone(),
            config.audience.clone(),
            config.allowed_clients.clone(),
            config.required_scopes.clone(),
            config.subjects,
            config.leeway,
        )
        .map_err(|e| InitError::Policy(e.to_string()))?;
        let verifier = AccessTokenVerifier::new(policy, Arc::new(jwks), clock);
        let api =
            Api::new(config.api_uses_plain_http()).map_err(|e| InitError::Client(e.to_string()))?;
        Ok(Tool {
            config,
            verifier,
            api,
        })
    }

    pub async fn handle(&self, invocation: Invocation) -> Result<reply::Response, Diagnostic> {
        let started = Instant::now();
        let mut line = AuditLine {
            audit: "xaa-tool",
            request_id: &invocation.request_id,
            agent: None,
            person: None,
            bedrock_agent: None,
            action_group: None,
            action: None,
            outcome: Outcome::Refused,
            reason: "invalid_event",
            api_status: None,
            jti_hash: None,
            duration_ms: 0,
        };
        let parsed = Event::parse(&invocation.body).and_then(|mut event| {
            // Taken out of the map at once: the token is kept in one zeroizing place.
            let token = event
                .session_attributes
                .remove(&self.config.token_attribute)
                .map(AccessToken::new);
            let body = event.body_properties()?.map(<[_]>::to_vec);
            Ok((event, token, body))
        });
        let (event, token, body) = match parsed {
            Ok(parts) => parts,
            Err(e) => return Err(invalid_event(&mut line, started, e)),
        };
        let action = match event.action() {
            Ok(action) => action,
            Err(e) => return Err(invalid_event(&mut line, started, e)),
        };
        line.bedrock_agent = event
            .agent
            .as_ref()
            .and_then(|a| a.id.as_deref())
            .map(audit::name);
        line.action_group = Some(audit::name(&event.action_group));
        line.action = Some(audit::name(&match action {
            Action::Function(name) => name.to_string(),
            Action::OpenApi { method, path } => format!("{} {path}", method.to_ascii_uppercase()),
        }));
        let misplaced = event
            .prompt_session_attributes
            .contains_key(&self.config.token_attribute);
        let principal;
        let verdict = match self.check(token.as_ref(), misplaced).await {
            Err(verdict) => verdict,
            Ok(p) => {
                principal = p;
                line.agent = Some(&principal.agent);
                line.person = Some(&principal.person);
                line.jti_hash = Some(&principal.jti_hash);
                let token = token.as_ref().map(AccessToken::expose).unwrap_or_default();
                match self.request(&event, action, body.as_deref()) {
                    Err(verdict) => verdict,
                    // Measured after the verification, which may have fetched keys.
                    Ok(request) => {
                        let time_left = invocation.time_left(DEADLINE_MARGIN);
                        self.call(request, token, time_left).await
                    }
                }
            }
        };
        line.outcome = verdict.outcome();
        line.reason = verdict.reason();
        line.api_status = verdict.api_status();
        line.duration_ms = elapsed_ms(started);
        line.emit();
        Ok(reply::response(&event, action, verdict))
    }

    /// The person's token, verified: the principal, or the refusal (no call made).
    async fn check(
        &self,
        token: Option<&AccessToken>,
        misplaced: bool,
    ) -> Result<Principal, Verdict> {
        let attribute = &self.config.token_attribute;
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(if misplaced {
                Verdict::refused(
                    "token_in_prompt_attributes",
                    401,
                    format!("the access token was sent in promptSessionAttributes.{attribute}, which the model sees; send it in sessionAttributes.{attribute}"),
                )
            } else {
                Verdict::refused(
                    "token_missing",
                    401,
                    format!("no access token in sessionAttributes.{attribute}; the person must sign in through xaa-bridge"),
                )
            });
        };
        self.verifier
            .verify(token.expose())
            .await
            .map_err(refusal_verdict)
    }

    fn request(
        &self,
        event: &Event,
        action: Action<'_>,
        body: Option<&[crate::event::Parameter]>,
    ) -> Result<ApiRequest, Verdict> {
        let base = &self.config.api_base_url;
        let built = match action {
            Action::Function(name) => {
                let Some(route) = self.config.functions.get(name) else {
                    return Err(Verdict::refused(
                        "function_not_configured",
                        404,
                        "this function is not configured in TOOL_FUNCTIONS".into(),
                    ));
                };
                let rest = match route.method {
                    reqwest::Method::GET | reqwest::Method::DELETE => Rest::Query,
                    _ => Rest::JsonBody,
                };
                call::build(
                    base,
                    route.method.clone(),
                    &route.path,
                    &event.parameters,
                    rest,
                    None,
                )
            }
            Action::OpenApi { method, path } => {
                let not_allowed = || {
                    Verdict::refused(
                        "operation_not_allowed",
                        403,
                        "this operation is not allowed (TOOL_OPENAPI_PATHS)".into(),
                    )
                };
                let method = call::method(method).ok_or_else(not_allowed)?;
                let template = Template::parse(path).map_err(|_| not_allowed())?;
                if let Some(allowed) = &self.config.openapi_paths {
                    if !allowed
                        .iter()
                        .any(|r| r.method == method && r.path == template)
                    {
                        return Err(not_allowed());
                    }
                }
                call::build(
                    base,
                    method,
                    &template,
                    &event.parameters,
                    Rest::Query,
                    body,
                )
            }
        };
        built.map_err(|e| {
            let code = match e {
                BuildError::Fill(crate::template::FillError::Missing(_)) => "parameter_missing",
                _ => "parameter_invalid",
            };
            Verdict::refused(code, 400, e.to_string())
        })
    }

    async fn call(&self, request: ApiRequest, token: &str, time_left: Option<Duration>) -> Verdict {
        let timeout = time_left.map_or(call::CALL_TIMEOUT, |t| t.min(call::CALL_TIMEOUT));
        if timeout.is_zero() {
            return Verdict::failed("deadline", 504, "no time left to call the API".into());
        }
        match self.api.send(request, token, timeout).await {
            Ok(reply) => Verdict::from_api(reply),
            Err(e) => Verdict::failed(e.code(), 502, format!("the API call failed ({})", e.code())),
        }
    }
}

/// A refusal of the verifier as the agent sees it: 403 when the token is good but not
/// enough (agent not allowed, scope missing), a failure when the keys are unreachable,
/// 401 for everything else.
fn refusal_verdict(refusal: Refusal) -> Verdict {
    let message = format!("the access token was refused: {refusal}");
    match refusal.reason {
        Reason::KeysUnavailable => Verdict::failed(refusal.code(), 503, message),
        Reason::ClientNotAllowed | Reason::ScopeMissing => {
            Verdict::refused(refusal.code(), 403, message)
        }
        _ => Verdict::refused(refusal.code(), 401, message),
    }
}

/// An event that is not an action-group event: its audit line, and errorType
/// `InvalidEvent` for Lambda.
fn invalid_event(line: &mut AuditLine<'_>, started: Instant, error: EventError) -> Diagnostic {
    line.duration_ms = elapsed_ms(started);
    line.emit();
    Diagnostic {
        error_type: "InvalidEvent".into(),
        error_message: error.to_string(),
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
