//! Local stand-ins for the services xaa-bridge talks to, serving plain HTTP on loopback:
//!
//! * **Okta** (one port): the org authorization server (OIDC sign-in with PKCE, and leg 1 of
//!   Cross App Access: RFC 8693 token exchange for an ID-JAG) and one custom authorization
//!   server (leg 2: RFC 7523 JWT bearer grant for an access token). Both are strict like
//!   Okta: exact client assertion audience, single-use `jti`, registered `kid`, no system
//!   scopes, and Okta's error codes and descriptions (see [`okta`] and [`token`]).
//! * **AgentCore Runtime** (a third port): the JWT authorizer and session header in front
//!   of a runtime container (see [`agentcore`]).
//! * **Bedrock agent runtime** (another port): `InvokeAgent`, answering with real
//!   event-stream frames the AWS SDK decodes, and checking that the session attribute
//!   `oktaAccessToken` is an access token of the custom authorization server (see [`bedrock`]).
//!
//! Keys are fresh RSA 2048 keys per [`Devstack::start`]; the AI agent's private JWK is
//! handed out through [`Devstack::settings`]. Operator mistakes and transient faults are
//! switched on at run time through `&self` methods, so one running stack serves a whole
//! test. Nothing here is linked into the Lambda.
//!
//! Layout: `lib.rs` (API and shared state), `keys.rs` (RSA keys, JWKs), `server.rs`
//! (HTTP plumbing), `okta.rs` (discovery, JWKS, sign-in), `token.rs` (token endpoints and
//! client authentication), `bedrock.rs` (InvokeAgent and event-stream frames),
//! `runtime_api.rs` (a Lambda Runtime API emulator to drive the real binary), `api.rs`
//! (the Okta-protected API), `agent.rs` (the Bedrock agent calling the tool Lambda),
//! `eventstream.rs` (event-stream frames), `faults.rs` (the Bedrock stand-in's faults).
//! Every other credential of an AI agent: `org.rs` (the org's resource connections and
//! service apps, `OrgConfig`), `client_auth.rs` (all client authentication methods),
//! `xaa_grants.rs` (code, ID-JAG, JWT bearer), `subject.rs` (subject tokens),
//! `credentials.rs` (vaulted secret, service account, third-party token), `consent.rs`
//! (consent page, revoke, third-party API), `client_credentials.rs` (service apps, AGBAC),
//! `secret_files.rs` (`--org-config` in, `--secrets-dir` out).
//!
//! * **Okta-protected API** (its own port): `/me`, `/tickets`, `/tickets/{id}` for the
//!   person of a custom-AS access token (see `api.rs`).
//! * **Tool Lambda Runtime API** (optional, [`Config::tool_runtime`]): the action-group
//!   Lambda (`xaa-tool`) polls it; the Bedrock stand-in's agent invokes it the way Bedrock
//!   does (see [`ACTION_GROUP`] and `agent.rs`).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

mod access_token;
mod agent;
pub mod agentcore;
mod api;
pub mod bedrock;
mod client_auth;
mod client_credentials;
mod consent;
mod credentials;
mod eventstream;
mod faults;
mod keys;
pub mod okta;
mod org;
pub mod runtime_api;
mod secret_files;
mod server;
mod subject;
pub mod token;
mod xaa_grants;

pub use access_token::AccessTokenOptions;
pub use agent::{
    ACTION_GROUP, AGENT_NAME, AGENT_VERSION, FN_GET_ME, FN_GET_TICKET, FN_LIST_TICKETS,
    TOOL_FAILURE,
};
use keys::RsaKey;
pub use org::{
    AuthMethod, M2mClient, OrgConfig, PublicOrg, ResourceServer, ServiceAccount, VaultedSecret,
};

/// `aud` of the access tokens the custom authorization server issues.
pub const ACCESS_TOKEN_AUDIENCE: &str = "api://xaa-bridge-devstack";
/// The redirect URI handed out in [`Settings`] (any `localhost`/`127.0.0.1` port is accepted).
pub const DEFAULT_REDIRECT_URI: &str = "http://localhost:8765/callback";

/// What to start. `Default` gives the values documented on each field.
#[derive(Debug, Clone)]
pub struct Config {
    /// Port of the Okta stand-in on 127.0.0.1; 0 picks a free one.
    pub okta_port: u16,
    /// Port of the Bedrock agent runtime stand-in on 127.0.0.1; 0 picks a free one.
    pub bedrock_port: u16,
    /// Port of the AgentCore Runtime stand-in on 127.0.0.1; 0 picks a free one.
    pub agentcore_port: u16,
    /// The runtime container the AgentCore stand-in forwards to (`http://127.0.0.1:PORT`);
    /// settable later with [`Devstack::set_agentcore_upstream`].
    pub agentcore_upstream: Option<String>,
    /// Id of the custom authorization server (`ausdevstack1`).
    pub custom_as_id: String,
    /// Client id of the AI agent (workload principal) (`wlpdevstackagent`).
    pub agent_client_id: String,
    /// Key id of the AI agent's key pair (`devstack-agent-key`).
    pub agent_key_id: String,
    /// Client id of the OIDC web app users sign in to (`0oadevstackweb`).
    pub oidc_client_id: String,
    /// Its client secret (a fixed development value by default).
    pub oidc_client_secret: String,
    /// Custom scopes the custom authorization server knows (`["xaa:read"]`).
    pub scopes: Vec<String>,
    /// The one Bedrock agent that exists (`DEVAGENT01`).
    pub bedrock_agent_id: String,
    /// Its one alias (`DEVALIAS01`).
    pub bedrock_agent_alias_id: String,
    /// Users who can sign in; the first is the default. Defaults: alice and bob.
    pub users: Vec<User>,
    /// Log one line per request to stderr (method, path, status, grant, error code;
    /// never tokens, codes, keys or emails). Off by default; the binary turns it on.
    pub log_requests: bool,
    /// Port of the Okta-protected API on 127.0.0.1; 0 picks a free one.
    pub api_port: u16,
    /// Serve a Lambda Runtime API for the action-group tool and let the Bedrock agent call
    /// it (off by default: InvokeAgent then answers without tools, as before).
    pub tool_runtime: bool,
    /// Port of that Runtime API on 127.0.0.1; 0 picks a free one.
    pub tool_runtime_port: u16,
    /// How long the agent waits for the tool's answer (default 30 s) before failing the
    /// turn with `dependencyFailedException`.
    pub tool_timeout: Duration,
    /// Vaulted secrets, service accounts, resource servers and service apps (built-in
    /// defaults; see [`OrgConfig`]).
    pub org: OrgConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            okta_port: 0,
            bedrock_port: 0,
            agentcore_port: 0,
            agentcore_upstream: None,
            custom_as_id: "ausdevstack1".into(),
            agent_client_id: "wlpdevstackagent".into(),
            agent_key_id: "devstack-agent-key".into(),
            oidc_client_id: "0oadevstackweb".into(),
            oidc_client_secret: "devstack-oidc-secret-not-for-production".into(),
            scopes: vec!["xaa:read".into()],
            bedrock_agent_id: "DEVAGENT01".into(),
            bedrock_agent_alias_id: "DEVALIAS01".into(),
            users: vec![
                User::new("00ualice0001", "alice@example.com", "Alice Example"),
                User::new("00ubob000002", "bob@example.com", "Bob Example"),
            ],
            log_requests: false,
            api_port: 0,
            tool_runtime: false,
            tool_runtime_port: 0,
            tool_timeout: Duration::from_secs(30),
            org: OrgConfig::default(),
        }
    }
}

/// A user of the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Okta-style user id (`00u...`): the `uid`/`sub` of tokens, and what logs show.
    pub id: String,
    /// Sign-in name (an email address).
    pub login: String,
    pub name: String,
}

impl User {
    pub fn new(id: &str, login: &str, name: &str) -> User {
        User {
            id: id.into(),
            login: login.into(),
            name: name.into(),
        }
    }
}

/// How [`Devstack::mint_id_token`] shapes the ID token.
#[derive(Debug, Clone)]
pub struct IdTokenOptions {
    /// `aud`; `None` = the OIDC app's client id.
    pub audience: Option<String>,
    /// `exp - iat`; negative = already expired. Default 3600.
    pub lifetime_secs: i64,
    /// Added to now for `iat` (and so for `exp`). Default 0.
    pub issued_at_offset_secs: i64,
    pub nonce: Option<String>,
}

impl Default for IdTokenOptions {
    fn default() -> Self {
        IdTokenOptions {
            audience: None,
            lifetime_secs: 3600,
            issued_at_offset_secs: 0,
            nonce: None,
        }
    }
}

/// Transient faults of the Okta token endpoints. They apply to leg 1 and leg 2 requests
/// only (token exchange and JWT bearer), never to sign-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OktaFault {
    #[default]
    None,
    /// Answer the next `times` leg 1/leg 2 requests with this HTTP status (429 gets
    /// Okta's rate-limit body, 5xx an OAuth `server_error`/`temporarily_unavailable`),
    /// with `Retry-After` when given. Back to `None` afterwards.
    Status {
        status: u16,
        times: u32,
        retry_after_secs: Option<u64>,
    },
    /// Delay every leg 1/leg 2 answer by this much (until changed).
    Slow(Duration),
}

/// Faults of the Bedrock stand-in, applied to `InvokeAgent` calls that passed validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BedrockFault {
    #[default]
    None,
    /// HTTP 429 `ThrottlingException` (JSON body, `x-amzn-errortype`) for the next `times` calls.
    ThrottleBeforeStream { times: u32 },
    /// HTTP 200, `after_chunks` chunk events, then an exception frame of
    /// `exception_type` (an event-stream shape name such as `throttlingException`),
    /// for the next `times` calls. (`after_chunks` was added to the planned shape.)
    ExceptionMidStream {
        exception_type: String,
        times: u32,
        after_chunks: u32,
    },
    /// Every call answers 404 `ResourceNotFoundException`, as if the agent was deleted.
    UnknownAgent,
    /// Delay every answer by this much (until changed).
    Slow(Duration),
}

/// Request counters since start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// `GET /oauth2/v1/authorize` requests.
    pub authorize: u64,
    /// `authorization_code` grants at the org token endpoint.
    pub code_grants: u64,
    /// Token exchange (leg 1) attempts, faulted ones included.
    pub leg1: u64,
    /// JWT bearer (leg 2) attempts, faulted ones included.
    pub leg2: u64,
    /// Requests to the InvokeAgent path.
    pub invoke_agent: u64,
    /// JWKS fetches (org and custom authorization server).
    pub jwks_fetches: u64,
    /// Requests to the AgentCore Runtime stand-in's invocations path.
    pub agentcore_invocations: u64,
    /// The last InvokeAgent call whose body parsed.
    pub last_invoke: Option<LastInvoke>,
    /// Requests to the Okta-protected API, refused ones included.
    pub api_requests: u64,
    /// Of those, refused for a missing or bad token or scope (401/403).
    pub api_refusals: u64,
    /// Of those, answered for a person (200 or 404 of a ticket).
    pub api_answers: u64,
    /// Action-group events the agent sent to the tool Lambda.
    pub tool_invocations: u64,
    /// Of those, turns failed by the tool (FAILURE, function error, bad answer, timeout).
    pub tool_failures: u64,
}

/// What the last InvokeAgent call carried (names only, never values of attributes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastInvoke {
    pub session_id: String,
    pub input_text: String,
    pub session_attribute_names: Vec<String>,
    pub prompt_session_attribute_names: Vec<String>,
}

/// Everything a client (the Lambda, get-id-token, `make demo`) needs to reach the stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub okta_base_url: String,
    pub okta_custom_as_id: String,
    /// Space-separated scopes for leg 1.
    pub okta_scope: String,
    pub agent_client_id: String,
    pub agent_key_id: String,
    pub agent_private_jwk: Value,
    pub oidc_client_id: String,
    pub oidc_client_secret: String,
    pub oidc_redirect_uri: String,
    /// The AgentCore Runtime stand-in (`POST {agentcore_url}/invocations`).
    #[serde(default)]
    pub agentcore_url: String,
    pub bedrock_endpoint_url: String,
    pub bedrock_agent_id: String,
    pub bedrock_agent_alias_id: String,
    pub aws_region: String,
    pub users: Vec<User>,
    /// The Okta-protected API (`GET {api_url}/me`, `/tickets`, `/tickets/{id}`).
    #[serde(default)]
    pub api_url: String,
    /// `AWS_LAMBDA_RUNTIME_API` for the action-group tool; empty when not served.
    #[serde(default)]
    pub tool_runtime_api: String,
    /// The action group the agent calls (the tool's functions: get_me, list_tickets, get_ticket).
    #[serde(default)]
    pub tool_action_group: String,
    /// `aud` of the custom authorization server's access tokens, which the API requires.
    #[serde(default)]
    pub api_audience: String,
    /// Resource connections and service apps: ids, resource indicators, URLs (no secrets).
    #[serde(default)]
    pub credentials: PublicOrg,
}

/// An authorization code waiting to be redeemed.
pub(crate) struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub scope: String,
    pub expires_at: i64,
}

pub(crate) struct Mutable {
    pub agent_jwks: Vec<Value>,
    /// Other `private_key_jwt` clients (service apps, not AI agents) and their public keys.
    pub service_apps: HashMap<String, Vec<Value>>,
    pub policy_allows_jwt_bearer: bool,
    /// Step-up: the longest time since sign-in (`auth_time`) leg 1 accepts.
    pub max_auth_age_secs: Option<u64>,
    pub okta_fault: OktaFault,
    pub bedrock_fault: BedrockFault,
    pub agentcore_upstream: Option<String>,
    pub codes: HashMap<String, CodeGrant>,
    /// Client assertion `jti`s seen, with their `exp`, to refuse replays.
    pub used_jtis: HashMap<String, i64>,
    pub stats: Stats,
    /// Third-party consents, consent tickets and tokens.
    pub creds: consent::Store,
}

pub(crate) struct State {
    pub cfg: Config,
    pub okta_base: String,
    pub custom_issuer: String,
    pub org_key: RsaKey,
    pub custom_key: RsaKey,
    pub agent_key: RsaKey,
    /// The resolved [`Config::org`] (random secrets filled in, generated keys).
    pub org: org::Org,
    /// The tool Lambda the agent calls, when [`Config::tool_runtime`] is on.
    pub tool: Option<agent::Tool>,
    inner: Mutex<Mutable>,
}

impl State {
    /// Never held across an await.
    pub fn lock(&self) -> MutexGuard<'_, Mutable> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A user by login (case-insensitive) or id.
    pub fn user(&self, login_or_id: &str) -> Option<&User> {
        self.cfg
            .users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login_or_id) || u.id == login_or_id)
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Running stand-ins. Dropping it stops the servers; [`Devstack::shutdown`] waits for them.
pub struct Devstack {
    state: Arc<State>,
    okta_addr: SocketAddr,
    bedrock_addr: SocketAddr,
    agentcore_addr: SocketAddr,
    api_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("devstack config: {what}"),
    )
}

fn validate(cfg: &Config) -> io::Result<()> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    };
    if !plain(&cfg.custom_as_id) || !plain(&cfg.agent_client_id) || !plain(&cfg.oidc_client_id) {
        return Err(invalid(
            "custom_as_id, agent_client_id and oidc_client_id must be non-empty [A-Za-z0-9_-]",
        ));
    }
    let agent_id_ok =
        |s: &str| (1..=10).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric());
    if !agent_id_ok(&cfg.bedrock_agent_id) || !agent_id_ok(&cfg.bedrock_agent_alias_id) {
        return Err(invalid(
            "bedrock agent and alias ids must be 1 to 10 alphanumerics",
        ));
    }
    if cfg.users.is_empty() || cfg.scopes.is_empty() || cfg.agent_key_id.is_empty() {
        return Err(invalid("users, scopes and agent_key_id must not be empty"));
    }
    Ok(())
}

impl Devstack {
    /// Bind both ports on 127.0.0.1, generate keys and start serving on the current
    /// tokio runtime.
    pub async fn start(cfg: Config) -> io::Result<Devstack> {
        validate(&cfg)?;
        org::validate(&cfg.org, &cfg.scopes)?;
        let org = org::Org::resolve(cfg.org.clone()).await?;
        let okta_listener = TcpListener::bind(("127.0.0.1", cfg.okta_port)).await?;
        let bedrock_listener = TcpListener::bind(("127.0.0.1", cfg.bedrock_port)).await?;
        let okta_addr = okta_listener.local_addr()?;
        let bedrock_addr = bedrock_listener.local_addr()?;
        let agentcore_listener = TcpListener::bind(("127.0.0.1", cfg.agentcore_port)).await?;
        let agentcore_addr = agentcore_listener.local_addr()?;
        let api_listener = TcpListener::bind(("127.0.0.1", cfg.api_port)).await?;
        let api_addr = api_listener.local_addr()?;
        let tool = match cfg.tool_runtime {
            true => Some(agent::Tool {
                runtime: runtime_api::RuntimeApi::start_on(cfg.tool_runtime_port).await?,
                timeout: cfg.tool_timeout,
            }),
            false => None,
        };
        let okta_base = format!("http://{okta_addr}");
        let suffix = keys::random_suffix();
        // Key generation is the slow part of a start: do the three in parallel.
        let generate = |kid: String| tokio::task::spawn_blocking(move || RsaKey::generate(&kid));
        let (org_key, custom_key, agent_key) = tokio::join!(
            generate(format!("devstack-org-{suffix}")),
            generate(format!("devstack-as-{suffix}")),
            generate(cfg.agent_key_id.clone()),
        );
        let join =
            |r: Result<io::Result<RsaKey>, tokio::task::JoinError>| r.map_err(io::Error::other)?;
        let (org_key, custom_key, agent_key) =
            (join(org_key)?, join(custom_key)?, join(agent_key)?);
        let log = cfg.log_requests;
        let state = Arc::new(State {
            custom_issuer: format!("{okta_base}/oauth2/{}", cfg.custom_as_id),
            okta_base,
            inner: Mutex::new(Mutable {
                agent_jwks: vec![agent_key.public_jwk.clone()],
                service_apps: HashMap::new(),
                policy_allows_jwt_bearer: true,
                max_auth_age_secs: None,
                okta_fault: OktaFault::None,
                agentcore_upstream: cfg.agentcore_upstream.clone(),
                bedrock_fault: BedrockFault::None,
                codes: HashMap::new(),
                used_jtis: HashMap::new(),
                stats: Stats::default(),
                creds: consent::Store::default(),
            }),
            cfg,
            org_key,
            custom_key,
            agent_key,
            org,
            tool,
        });
        let (stop, stopped) = watch::channel(false);
        let okta = server::Service {
            name: "okta",
            handler: {
                let state = state.clone();
                Arc::new(move |req| Box::pin(okta::handle(state.clone(), req)))
            },
            too_large: okta::too_large,
            log,
        };
        let bedrock = server::Service {
            name: "bedrock",
            handler: {
                let state = state.clone();
                Arc::new(move |req| Box::pin(bedrock::handle(state.clone(), req)))
            },
            too_large: bedrock::too_large,
            log,
        };
        let agentcore = server::Service {
            name: "agentcore",
            handler: {
                let state = state.clone();
                Arc::new(move |req| Box::pin(agentcore::handle(state.clone(), req)))
            },
            too_large: agentcore::too_large,
            log,
        };
        let api = server::Service {
            name: "api",
            handler: {
                let state = state.clone();
                Arc::new(move |req| Box::pin(api::handle(state.clone(), req)))
            },
            too_large: api::too_large,
            log,
        };
        let tasks = vec![
            tokio::spawn(server::serve(api_listener, Arc::new(api), stopped.clone())),
            tokio::spawn(server::serve(
                okta_listener,
                Arc::new(okta),
                stopped.clone(),
            )),
            tokio::spawn(server::serve(
                bedrock_listener,
                Arc::new(bedrock),
                stopped.clone(),
            )),
            tokio::spawn(server::serve(
                agentcore_listener,
                Arc::new(agentcore),
                stopped,
            )),
        ];
        Ok(Devstack {
            state,
            okta_addr,
            bedrock_addr,
            agentcore_addr,
            api_addr,
            stop,
            tasks,
        })
    }

    /// `http://127.0.0.1:PORT`, also the org authorization server's issuer.
    pub fn okta_base_url(&self) -> String {
        self.state.okta_base.clone()
    }

    /// `{okta_base_url}/oauth2/{custom_as_id}`: the custom authorization server's issuer
    /// and the `audience` of leg 1.
    pub fn custom_as_issuer(&self) -> String {
        self.state.custom_issuer.clone()
    }

    /// `http://127.0.0.1:PORT` of the Bedrock agent runtime stand-in.
    pub fn bedrock_endpoint_url(&self) -> String {
        format!("http://{}", self.bedrock_addr)
    }

    pub fn okta_addr(&self) -> SocketAddr {
        self.okta_addr
    }

    pub fn bedrock_addr(&self) -> SocketAddr {
        self.bedrock_addr
    }

    /// `http://127.0.0.1:PORT` of the AgentCore Runtime stand-in (`POST /invocations`).
    pub fn agentcore_url(&self) -> String {
        format!("http://{}", self.agentcore_addr)
    }

    /// `http://127.0.0.1:PORT` of the Okta-protected API.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    /// `127.0.0.1:PORT` for the tool Lambda's `AWS_LAMBDA_RUNTIME_API`, when served.
    pub fn tool_runtime_api_address(&self) -> Option<String> {
        self.state.tool.as_ref().map(|t| t.runtime.address())
    }

    /// Where the AgentCore stand-in forwards invocations (the container).
    pub fn set_agentcore_upstream(&self, url: &str) {
        self.state.lock().agentcore_upstream = Some(url.trim_end_matches('/').to_string());
    }

    pub fn config(&self) -> &Config {
        &self.state.cfg
    }

    pub fn settings(&self) -> Settings {
        let cfg = &self.state.cfg;
        Settings {
            okta_base_url: self.okta_base_url(),
            okta_custom_as_id: cfg.custom_as_id.clone(),
            okta_scope: cfg.scopes.join(" "),
            agent_client_id: cfg.agent_client_id.clone(),
            agent_key_id: cfg.agent_key_id.clone(),
            agent_private_jwk: self.agent_private_jwk(),
            oidc_client_id: cfg.oidc_client_id.clone(),
            oidc_client_secret: cfg.oidc_client_secret.clone(),
            oidc_redirect_uri: DEFAULT_REDIRECT_URI.into(),
            bedrock_endpoint_url: self.bedrock_endpoint_url(),
            agentcore_url: self.agentcore_url(),
            bedrock_agent_id: cfg.bedrock_agent_id.clone(),
            bedrock_agent_alias_id: cfg.bedrock_agent_alias_id.clone(),
            aws_region: "us-east-1".into(),
            users: cfg.users.clone(),
            api_url: self.api_url(),
            tool_runtime_api: self.tool_runtime_api_address().unwrap_or_default(),
            tool_action_group: ACTION_GROUP.into(),
            api_audience: ACCESS_TOKEN_AUDIENCE.into(),
            credentials: self
                .state
                .org
                .public(&self.state.okta_base, &self.state.custom_issuer),
        }
    }

    /// The AI agent's signing key, for tests that act as the agent: handed out rather
    /// than re-derived from the JWK, so there is one JWK-to-key path per side.
    pub fn agent_encoding_key(&self) -> jsonwebtoken::EncodingKey {
        self.state.agent_key.encoding.clone()
    }

    /// The AI agent's private RSA JWK (kty, kid, alg RS256, use, n, e, d, p, q, dp, dq, qi).
    pub fn agent_private_jwk(&self) -> Value {
        self.state.agent_key.private_jwk.clone()
    }

    /// The public JWKS of the org authorization server (as served at `/oauth2/v1/keys`).
    pub fn org_jwks(&self) -> Value {
        self.state.org_key.jwks()
    }

    /// The AI agent's public JWK, as registered on the agent at start.
    pub fn agent_public_jwk(&self) -> Value {
        self.state.agent_key.public_jwk.clone()
    }

    /// The public JWKS of the custom authorization server.
    pub fn custom_as_jwks(&self) -> Value {
        self.state.custom_key.jwks()
    }

    /// An ID token for `user_login` (login or user id) signed by the org key, exactly as
    /// the code grant issues it. Panics on an unknown user: this is a test helper.
    pub fn mint_id_token(&self, user_login: &str, opts: IdTokenOptions) -> String {
        let user = self
            .state
            .user(user_login)
            .unwrap_or_else(|| panic!("devstack: no user {user_login:?} in the config"));
        okta::id_token(&self.state, user, &opts)
    }

    /// An access token of the custom authorization server for `user_login_or_id`,
    /// signed with its key and shaped exactly as the JWT bearer grant issues it
    /// (`AccessTokenOptions::default()`), or as `opts` says (scopes, lifetime, client id,
    /// audience, the AGBAC shape). Panics on an unknown user: this is a test helper.
    pub fn mint_access_token(&self, user_login_or_id: &str, opts: AccessTokenOptions) -> String {
        let user = self
            .state
            .user(user_login_or_id)
            .unwrap_or_else(|| panic!("devstack: no user {user_login_or_id:?} in the config"));
        access_token::mint(&self.state, user, &opts)
    }

    /// Replace the AI agent's registered public keys; empty = "JWKSet not configured".
    pub fn set_agent_public_jwks(&self, keys: Vec<Value>) {
        self.state.lock().agent_jwks = keys;
    }

    /// Register one more public key on the AI agent (an RSA or EC P-256 public JWK with a `kid`).
    pub fn register_agent_public_jwk(&self, jwk: Value) {
        self.state.lock().agent_jwks.push(jwk);
    }

    /// `false` = the custom authorization server's policy rule lacks the JWT Bearer
    /// grant: leg 2 answers 400 `access_denied` "no_matching_policy".
    pub fn set_policy_allows_jwt_bearer(&self, allowed: bool) {
        self.state.lock().policy_allows_jwt_bearer = allowed;
    }

    /// Register an API service app that authenticates with `private_key_jwt` (this public
    /// JWK, with a `kid`) but is not an AI agent. Using its client id as `AGENT_CLIENT_ID`
    /// is the "wrong flow" mistake: leg 1 answers 400 `token_exchange_invalid_audience`.
    pub fn register_service_app(&self, client_id: &str, public_jwk: Value) {
        self.state
            .lock()
            .service_apps
            .entry(client_id.to_string())
            .or_default()
            .push(public_jwk);
    }

    /// A sign-on policy demanding a sign-in within `secs` (step-up): leg 1 answers 400
    /// `insufficient_user_authentication` with `max_age` for an ID token whose
    /// `auth_time` is older. `None` (the default) lifts it.
    pub fn set_max_auth_age(&self, secs: Option<u64>) {
        self.state.lock().max_auth_age_secs = secs;
    }

    pub fn set_okta_fault(&self, fault: OktaFault) {
        self.state.lock().okta_fault = fault;
    }

    pub fn set_bedrock_fault(&self, fault: BedrockFault) {
        self.state.lock().bedrock_fault = fault;
    }

    pub fn stats(&self) -> Stats {
        self.state.lock().stats.clone()
    }

    /// Stop accepting, close connections and wait for the servers to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for Devstack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}
