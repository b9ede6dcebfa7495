//! The switches a test flips on a running devstack: the operator mistakes Okta would
//! answer for (keys, policy, the wrong client, step-up) and transient faults of Okta and
//! Bedrock. Each takes `&self`, so one running stack serves a whole test.

use serde_json::Value;

use crate::{BedrockFault, Devstack, OktaFault};

impl Devstack {
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
}
