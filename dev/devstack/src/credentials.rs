//! Token exchange at the org for the credentials of the AI agent's resource connections
//! other than an authorization server: a vaulted secret, a service account, a third-party
//! (resource server) token brokered by Okta.
//!
//! After the AI agent's client authentication ([`crate::client_auth`]), in order, all 400:
//! - the client is not the AI agent -> `token_exchange_invalid_audience`;
//! - a missing `subject_token`, `subject_token_type` or `resource` -> `invalid_request`
//!   "The 'NAME' parameter is required.";
//! - `resource` not a connection of the agent of the requested kind (a vaulted secret's
//!   `orn:okta:pam:{org}:secrets:{uuid}`, a service account's
//!   `orn:okta:pam:{org}:apps:{app}:{appId}:service_accounts:{uuid}`, a resource server's
//!   resource indicator, exact match) or a resource whose connection is off ->
//!   `invalid_target` "The 'resource' is not a managed connection of this AI agent for the
//!   requested token type.";
//! - the subject token, as [`crate::subject`] checks it;
//! - third-party token only: a `scope` beyond the connection's -> `invalid_scope` "One or
//!   more scopes are not configured for the resource."; the person (or service app) has not
//!   consented to this resource yet -> `interaction_required` with an `interaction_uri`
//!   (see [`crate::consent`]).
//!
//! Answers: `{issued_token_type, vaulted_secret: {..}, token_type: "N_A", expires_in: 300}`,
//! `{issued_token_type, service_account: {username, password}, token_type: "N_A",
//! expires_in: 300}`, `{issued_token_type, access_token, token_type: "Bearer", expires_in:
//! 3600, scope}`.

use serde_json::{json, Value};

use crate::consent;
use crate::server::Reply;
use crate::subject;
use crate::token::{
    param, required, Params, CREDENTIAL_LIFETIME_SECS, OAUTH_STS, SERVICE_ACCOUNT, VAULTED_SECRET,
};
use crate::xaa_grants::not_an_agent;
use crate::State;

pub(crate) fn exchange(state: &State, form: &Params, client: &str) -> Reply {
    match exchange_inner(state, form, client) {
        Ok(reply) | Err(reply) => reply,
    }
}

/// The connection `resource` names, or `invalid_target`.
enum Connection<'a> {
    Secret(&'a crate::org::VaultedSecret),
    Account(&'a crate::org::ServiceAccount),
    Server(&'a crate::org::ResourceServer),
}

fn connection<'a>(
    state: &'a State,
    requested: &str,
    resource: &str,
) -> Result<Connection<'a>, Reply> {
    let org = &state.org;
    let found = match requested {
        VAULTED_SECRET => org
            .cfg
            .vaulted_secrets
            .iter()
            .find(|s| s.connected && org.secret_orn(s) == resource)
            .map(Connection::Secret),
        SERVICE_ACCOUNT => org
            .cfg
            .service_accounts
            .iter()
            .find(|a| a.connected && org.account_orn(a) == resource)
            .map(Connection::Account),
        OAUTH_STS => org
            .cfg
            .resource_servers
            .iter()
            .find(|r| r.connected && r.resource == resource)
            .map(Connection::Server),
        _ => None,
    };
    found.ok_or_else(|| {
        Reply::oauth_error(
            400,
            "invalid_target",
            "The 'resource' is not a managed connection of this AI agent for the requested token type.",
        )
    })
}

fn exchange_inner(state: &State, form: &Params, client: &str) -> Result<Reply, Reply> {
    if client != state.cfg.agent_client_id {
        return Err(not_an_agent());
    }
    let requested = required(form, "requested_token_type")?;
    let subject_token = required(form, "subject_token")?;
    let subject_token_type = required(form, "subject_token_type")?;
    let resource = required(form, "resource")?;
    let connection = connection(state, requested, resource)?;
    let subject = subject::validate(state, subject_token, subject_token_type)?;
    let body: Value = match connection {
        Connection::Secret(secret) => json!({
            "issued_token_type": VAULTED_SECRET,
            "vaulted_secret": secret.values,
            "token_type": "N_A",
            "expires_in": CREDENTIAL_LIFETIME_SECS,
        }),
        Connection::Account(account) => json!({
            "issued_token_type": SERVICE_ACCOUNT,
            "service_account": {"username": account.username, "password": account.password},
            "token_type": "N_A",
            "expires_in": CREDENTIAL_LIFETIME_SECS,
        }),
        Connection::Server(server) => {
            let scopes: Vec<String> = match param(form, "scope") {
                Some(asked) => {
                    let asked: Vec<String> = asked
                        .split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect();
                    if asked.iter().any(|s| !server.scopes.contains(s)) {
                        return Err(Reply::oauth_error(
                            400,
                            "invalid_scope",
                            "One or more scopes are not configured for the resource.",
                        ));
                    }
                    asked
                }
                None => server.scopes.clone(),
            };
            consent::require(state, &subject, server)?;
            let (token, expires_in) = consent::issue(state, client, &subject, server, &scopes);
            json!({
                "issued_token_type": OAUTH_STS,
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": expires_in,
                "scope": scopes.join(" "),
            })
        }
    };
    let kind = match requested {
        VAULTED_SECRET => "vaulted-secret",
        SERVICE_ACCOUNT => "service-account",
        _ => "oauth-sts",
    };
    Ok(Reply::json(200, &body)
        .no_store()
        .note(format!("issued={kind}"))
        .note(subject.note()))
}
