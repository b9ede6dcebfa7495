//! What a client needs from a running devstack: its URLs and addresses, the settings a
//! function is configured from, its keys (the AI agent's private JWK, the public JWKS),
//! and tokens minted directly for tests (ID tokens, custom-AS access tokens of any shape).

use std::net::SocketAddr;

use serde_json::Value;

use crate::{
    access_token, okta, AccessTokenOptions, Config, Devstack, IdTokenOptions, Settings,
    ACCESS_TOKEN_AUDIENCE, ACTION_GROUP, DEFAULT_REDIRECT_URI,
};

impl Devstack {
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
}
