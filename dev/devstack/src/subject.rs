//! The subject token of every token exchange at the org (ID-JAG, vaulted secret, service
//! account, third-party token), all 400:
//!
//! - `subject_token_type` neither the ID token nor the access token URN -> `invalid_request`
//!   "The 'subject_token_type' must be urn:ietf:params:oauth:token-type:id_token or
//!   urn:ietf:params:oauth:token-type:access_token."
//! - **User access** (`id_token`): an ID token of the org for the agent's linked OIDC app.
//!   Unparsable / wrong kid / bad signature -> `invalid_grant` "The subject token is
//!   invalid."; other issuer -> "The subject token was not issued by this org."; expired ->
//!   "The subject token is expired"; `aud` not the OIDC app -> "The subject token was issued
//!   to a client that is not linked to this AI agent."; unknown `sub` -> "The subject
//!   token's user is not assigned to this app."; sign-on policy maximum age exceeded ->
//!   `insufficient_user_authentication` with `max_age`.
//! - **Machine access** (`access_token`): an access token of the custom authorization
//!   server whose `aud` is the agent's resource URL ([`crate::OrgConfig::agent_resource_url`]).
//!   Not signed by the custom AS -> `invalid_grant` "The subject token is invalid."; other
//!   issuer -> "The subject token was not issued by this org."; expired -> "The subject
//!   token is expired"; other `aud` -> "The subject token does not target this AI agent's
//!   resource URL."; neither a user (`uid`) nor a service app (`cid` = `sub`) -> "The
//!   subject token's user is not assigned to this app.".

use serde_json::json;

use crate::server::Reply;
use crate::token::{aud_is, invalid_grant, verify_rs256, ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE};
use crate::{now, State, User};

/// Who the credential is for.
pub(crate) enum Subject<'a> {
    /// A person (user access, or a user's access token).
    Person(&'a User),
    /// A service app (machine access with its client-credentials token).
    Machine(String),
}

impl Subject<'_> {
    /// The id consent and tokens are keyed by: the user id or the client id.
    pub fn id(&self) -> &str {
        match self {
            Subject::Person(user) => &user.id,
            Subject::Machine(client) => client,
        }
    }

    /// For the request log: `user=ID` or `client=ID`.
    pub fn note(&self) -> String {
        match self {
            Subject::Person(user) => format!("user={}", user.id),
            Subject::Machine(client) => format!("client={client}"),
        }
    }
}

pub(crate) fn validate<'a>(
    state: &'a State,
    token: &str,
    token_type: &str,
) -> Result<Subject<'a>, Reply> {
    match token_type {
        ID_TOKEN_TYPE => id_token(state, token).map(Subject::Person),
        ACCESS_TOKEN_TYPE => access_token(state, token),
        _ => Err(Reply::oauth_error(
            400,
            "invalid_request",
            &format!("The 'subject_token_type' must be {ID_TOKEN_TYPE} or {ACCESS_TOKEN_TYPE}."),
        )),
    }
}

fn id_token<'a>(state: &'a State, token: &str) -> Result<&'a User, Reply> {
    let (_, claims) = verify_rs256(token, &state.org_key)
        .ok_or_else(|| invalid_grant("The subject token is invalid."))?;
    if claims["iss"].as_str() != Some(state.okta_base.as_str()) {
        return Err(invalid_grant(
            "The subject token was not issued by this org.",
        ));
    }
    let t = now();
    if claims["exp"].as_i64().is_none_or(|exp| exp <= t) {
        return Err(invalid_grant("The subject token is expired"));
    }
    if !aud_is(&claims, &state.cfg.oidc_client_id) {
        return Err(invalid_grant(
            "The subject token was issued to a client that is not linked to this AI agent.",
        ));
    }
    let user = claims["sub"]
        .as_str()
        .and_then(|sub| state.user(sub))
        .ok_or_else(|| invalid_grant("The subject token's user is not assigned to this app."))?;
    let max_age = state.lock().max_auth_age_secs;
    if let Some(max_age) = max_age {
        let signed_in = claims["auth_time"].as_i64().unwrap_or(i64::MIN);
        let max_age_secs = i64::try_from(max_age).unwrap_or(i64::MAX);
        if t.saturating_sub(signed_in) > max_age_secs {
            return Err(Reply::json(
                400,
                &json!({
                    "error": "insufficient_user_authentication",
                    "error_description": "The user must authenticate again: the sign-in is older than the sign-on policy allows.",
                    "max_age": max_age,
                }),
            )
            .no_store()
            .note("error=insufficient_user_authentication"));
        }
    }
    Ok(user)
}

fn access_token<'a>(state: &'a State, token: &str) -> Result<Subject<'a>, Reply> {
    let (_, claims) = verify_rs256(token, &state.custom_key)
        .ok_or_else(|| invalid_grant("The subject token is invalid."))?;
    if claims["iss"].as_str() != Some(state.custom_issuer.as_str()) {
        return Err(invalid_grant(
            "The subject token was not issued by this org.",
        ));
    }
    if claims["exp"].as_i64().is_none_or(|exp| exp <= now()) {
        return Err(invalid_grant("The subject token is expired"));
    }
    if !aud_is(&claims, &state.org.cfg.agent_resource_url) {
        return Err(invalid_grant(
            "The subject token does not target this AI agent's resource URL.",
        ));
    }
    let unassigned = || invalid_grant("The subject token's user is not assigned to this app.");
    if let Some(uid) = claims["uid"].as_str() {
        return state.user(uid).map(Subject::Person).ok_or_else(unassigned);
    }
    match (claims["cid"].as_str(), claims["sub"].as_str()) {
        (Some(cid), Some(sub)) if cid == sub && state.org.m2m_client(cid).is_some() => {
            Ok(Subject::Machine(cid.to_string()))
        }
        _ => Err(unassigned()),
    }
}
