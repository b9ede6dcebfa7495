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
//! Layout: `lib.rs` (start-up and shared state), `config.rs` (`Config`, faults, `Stats`,
//! `Settings`), `handles.rs` (URLs, settings, keys, minted tokens of a running stack),
//! `controls.rs` (operator mistakes and faults switched at run time), `keys.rs` (RSA keys, JWKs), `server.rs`
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
mod config;
mod consent;
mod controls;
mod credentials;
mod eventstream;
mod faults;
mod handles;
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
pub use config::{
    BedrockFault, Config, IdTokenOptions, LastInvoke, OktaFault, Settings, Stats, User,
    ACCESS_TOKEN_AUDIENCE, DEFAULT_REDIRECT_URI,
};
use keys::RsaKey;
pub use org::{
    AuthMethod, M2mClient, OrgConfig, PublicOrg, ResourceServer, ServiceAccount, VaultedSecret,
};

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
