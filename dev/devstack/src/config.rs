//! What a devstack is started with and what it reports: [`Config`] (ports, ids, users,
//! scopes), the fault switches ([`OktaFault`], [`BedrockFault`]), request counters
//! ([`Stats`]) and the [`Settings`] a client needs to talk to it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use serde_json::Value;

use crate::{OrgConfig, PublicOrg};

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
    /// settable later with [`Devstack::set_agentcore_upstream`](crate::Devstack::set_agentcore_upstream).
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

/// How [`Devstack::mint_id_token`](crate::Devstack::mint_id_token) shapes the ID token.
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
