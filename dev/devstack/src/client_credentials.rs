//! Client credentials at the custom authorization server (`POST /oauth2/{as}/v1/token`,
//! `grant_type=client_credentials`) for the service apps of [`crate::OrgConfig::m2m_clients`],
//! each authenticating with its configured method (see [`crate::client_auth`]).
//!
//! After client authentication, all 400:
//! - the AI agent or the web app -> `unauthorized_client` "Only service apps can use
//!   client_credentials";
//! - no `scope` -> `invalid_scope` "The authorization server resource does not have any
//!   configured default scopes, 'scope' must be provided.";
//! - a system scope -> `invalid_scope` "SCOPE not allowed"; a scope the server does not
//!   have -> `invalid_scope` "One or more scopes are not configured for the authorization
//!   server resource.";
//! - a scope the client's policy does not grant -> `access_denied` "Policy evaluation
//!   failed for this request, please check the policy configurations.".
//!
//! The access token: `ver`, `jti`, `iss` (the custom AS), `aud` (its audience), `iat`,
//! `exp` (+3600), `cid` = `sub` = the client id, `scp`, and `act` copied from the client
//! assertion when it carries an object there (the AGBAC guide's custom claim
//! `clientAssertion.claims.act`; self-asserted by the client, never checked).

use serde_json::json;

use crate::access_token::base_claims;
use crate::client_auth::authenticate_service_app;
use crate::server::{Reply, Req};
use crate::token::{custom_scopes, param, Params, ACCESS_TOKEN_LIFETIME_SECS};
use crate::{now, State, ACCESS_TOKEN_AUDIENCE};

pub(crate) fn grant(state: &State, req: &Req, form: &Params, endpoint: &str) -> Reply {
    match grant_inner(state, req, form, endpoint) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn grant_inner(state: &State, req: &Req, form: &Params, endpoint: &str) -> Result<Reply, Reply> {
    let auth = authenticate_service_app(state, req, form, endpoint)?;
    let client = state.org.m2m_client(&auth.client).ok_or_else(|| {
        Reply::oauth_error(
            400,
            "unauthorized_client",
            "Only service apps can use client_credentials",
        )
    })?;
    let scope = param(form, "scope").ok_or_else(|| {
        Reply::oauth_error(
            400,
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        )
    })?;
    let scopes = custom_scopes(state, scope)?;
    if scopes.iter().any(|s| !client.scopes.iter().any(|k| k == s)) {
        return Err(Reply::oauth_error(
            400,
            "access_denied",
            "Policy evaluation failed for this request, please check the policy configurations.",
        ));
    }
    let mut claims = base_claims(
        state,
        &client.client_id,
        &scopes,
        ACCESS_TOKEN_AUDIENCE,
        now(),
        ACCESS_TOKEN_LIFETIME_SECS,
    );
    claims["sub"] = json!(client.client_id);
    if let Some(act) = &auth.act {
        claims["act"] = act.clone();
    }
    let body = json!({
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
        "access_token": state.custom_key.sign(None, &claims),
        "scope": scopes.join(" "),
    });
    Ok(Reply::json(200, &body)
        .no_store()
        .note(format!("client={}", client.client_id))
        .note(if auth.act.is_some() { "act=yes" } else { "" }))
}
