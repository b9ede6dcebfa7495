//! Cross App Access grants and sign-in: the authorization code grant, leg 1 (token
//! exchange for an ID-JAG) and leg 2 (JWT bearer for an access token).
//!
//! Leg 1 (token exchange) after client authentication: missing parameter -> 400
//! `invalid_request` "The 'NAME' parameter is required."; wrong `requested_token_type` /
//! `subject_token_type` -> 400 `invalid_request` naming the expected URN; `audience` not the
//! custom AS issuer -> 400 `invalid_target` "The audience must be the issuer of an
//! authorization server this client may access."; no scope -> 400 `invalid_scope`
//! "The 'scope' parameter is required."; a system scope -> 400 `invalid_scope`
//! "SCOPE not allowed" (e.g. "openid not allowed"); an unknown scope -> 400 `invalid_scope`
//! "One or more scopes are not configured for the authorization server resource.";
//! the subject token as [`crate::subject`] checks it (an ID token, or for machine access an
//! access token targeting the agent; a sign-on policy maximum age from
//! [`crate::Devstack::set_max_auth_age`] applies to ID tokens). A registered service app (not an AI agent) passes client authentication but
//! gets 400 `token_exchange_invalid_audience` "The client is not an AI agent with a
//! managed connection to the requested audience." at leg 1.
//!
//! Leg 2 (JWT bearer): no `assertion` -> 400 `invalid_request`; `typ` not
//! `oauth-id-jag+jwt` -> 400 `invalid_grant` "The assertion is not an ID-JAG (typ must be
//! oauth-id-jag+jwt)."; bad signature -> "The assertion signature is invalid."; other issuer
//! -> "The assertion issuer is not trusted."; `aud` not this AS -> "The assertion audience is
//! not this authorization server."; expired -> "The assertion is expired."; `client_id`
//! not the authenticated client -> "The assertion was issued to another client."; a `scope`
//! parameter beyond the ID-JAG's -> 400 `invalid_scope`; policy without JWT bearer -> 400
//! `access_denied` "no_matching_policy". An ID-JAG whose `sub` is a service app (machine
//! access) gives an access token with `sub` = `cid` = that client and no `uid`.
//!
//! Authorization code: both Basic and post credentials -> 400 `invalid_request`; wrong
//! or missing credentials -> 401 `invalid_client`; unknown, used or expired code -> 400
//! `invalid_grant` "The authorization code is invalid or has expired."; redirect_uri
//! mismatch -> 400 `invalid_grant`; missing `code_verifier` -> 400 `invalid_request`;
//! verifier not matching -> 400 `invalid_grant` "PKCE verification failed.". A code is
//! consumed by the first attempt, even a failed one.

use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use crate::client_auth::authenticate_secret;
use crate::okta::{id_token, new_jti, org_access_token};
use crate::server::{Reply, Req};
use crate::subject::{self, Subject};
use crate::token::{
    aud_is, custom_scopes, invalid_grant, param, required, verify_rs256, Params,
    ACCESS_TOKEN_LIFETIME_SECS, ID_JAG, ID_JAG_LIFETIME_SECS, ID_JAG_TYP, OAUTH_STS,
    SERVICE_ACCOUNT, VAULTED_SECRET,
};
use crate::{now, IdTokenOptions, State, ACCESS_TOKEN_AUDIENCE};

/// Refused before anything else when the client is not the AI agent.
pub(crate) fn not_an_agent() -> Reply {
    // A service app authenticated fine but has no managed connection: only AI agents
    // may exchange a subject token.
    Reply::oauth_error(
        400,
        "token_exchange_invalid_audience",
        "The client is not an AI agent with a managed connection to the requested audience.",
    )
}

pub(crate) fn code_grant(state: &State, req: &Req, form: &Params) -> Reply {
    state.lock().stats.code_grants += 1;
    match code_grant_inner(state, req, form) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn code_grant_inner(state: &State, req: &Req, form: &Params) -> Result<Reply, Reply> {
    authenticate_secret(state, req, form)?;
    let code = required(form, "code")?;
    let redirect_uri = required(form, "redirect_uri")?;
    let grant = state.lock().codes.remove(code);
    let grant = grant
        .filter(|g| g.expires_at > now() && g.client_id == state.cfg.oidc_client_id)
        .ok_or_else(|| invalid_grant("The authorization code is invalid or has expired."))?;
    if grant.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "The 'redirect_uri' does not match the redirection URI used in the authorization request.",
        ));
    }
    let verifier = required(form, "code_verifier")?;
    let verifier_ok = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    if !verifier_ok || challenge != grant.code_challenge {
        return Err(invalid_grant("PKCE verification failed."));
    }
    let user = state
        .user(&grant.user_id)
        .ok_or_else(|| invalid_grant("The user no longer exists."))?;
    let opts = IdTokenOptions {
        nonce: grant.nonce.clone(),
        ..IdTokenOptions::default()
    };
    let body = json!({
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
        "access_token": org_access_token(state, user, &grant.scope),
        "scope": grant.scope,
        "id_token": id_token(state, user, &opts),
    });
    Ok(Reply::json(200, &body)
        .no_store()
        .note(format!("user={}", user.id)))
}

pub(crate) fn token_exchange(state: &State, form: &Params, client: &str) -> Reply {
    match token_exchange_inner(state, form, client) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn token_exchange_inner(state: &State, form: &Params, client: &str) -> Result<Reply, Reply> {
    if client != state.cfg.agent_client_id {
        return Err(not_an_agent());
    }
    if required(form, "requested_token_type")? != ID_JAG {
        return Err(Reply::oauth_error(
            400,
            "invalid_request",
            &format!("The 'requested_token_type' must be one of {ID_JAG}, {VAULTED_SECRET}, {SERVICE_ACCOUNT}, {OAUTH_STS}."),
        ));
    }
    let subject_token = required(form, "subject_token")?;
    let subject_token_type = required(form, "subject_token_type")?;
    if required(form, "audience")? != state.custom_issuer {
        return Err(Reply::oauth_error(
            400,
            "invalid_target",
            "The audience must be the issuer of an authorization server this client may access.",
        ));
    }
    let scope = param(form, "scope").ok_or_else(|| {
        Reply::oauth_error(400, "invalid_scope", "The 'scope' parameter is required.")
    })?;
    let scopes = custom_scopes(state, scope)?;
    let subject = subject::validate(state, subject_token, subject_token_type)?;
    let t = now();
    let id_jag = json!({
        "iss": state.okta_base,
        "sub": subject.id(),
        "aud": state.custom_issuer,
        "client_id": client,
        "jti": new_jti("IDJAG"),
        "iat": t,
        "exp": t + ID_JAG_LIFETIME_SECS,
        "scope": scopes.join(" "),
    });
    let body = json!({
        "issued_token_type": ID_JAG,
        "access_token": state.org_key.sign(Some(ID_JAG_TYP), &id_jag),
        "token_type": "N_A",
        "expires_in": ID_JAG_LIFETIME_SECS,
    });
    Ok(Reply::json(200, &body).no_store().note(subject.note()))
}

pub(crate) fn jwt_bearer(state: &State, form: &Params, client: &str) -> Reply {
    match jwt_bearer_inner(state, form, client) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn jwt_bearer_inner(state: &State, form: &Params, client: &str) -> Result<Reply, Reply> {
    let assertion = required(form, "assertion")?;
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| invalid_grant("The assertion is not a valid JWT."))?;
    if header.typ.as_deref() != Some(ID_JAG_TYP) {
        return Err(invalid_grant(
            "The assertion is not an ID-JAG (typ must be oauth-id-jag+jwt).",
        ));
    }
    let (_, claims) = verify_rs256(assertion, &state.org_key)
        .ok_or_else(|| invalid_grant("The assertion signature is invalid."))?;
    if claims["iss"].as_str() != Some(state.okta_base.as_str()) {
        return Err(invalid_grant("The assertion issuer is not trusted."));
    }
    if !aud_is(&claims, &state.custom_issuer) {
        return Err(invalid_grant(
            "The assertion audience is not this authorization server.",
        ));
    }
    let t = now();
    if claims["exp"].as_i64().is_none_or(|exp| exp <= t) {
        return Err(invalid_grant("The assertion is expired."));
    }
    if claims["client_id"].as_str() != Some(client) {
        return Err(invalid_grant("The assertion was issued to another client."));
    }
    let subject = match claims["sub"].as_str() {
        Some(sub) => match state.user(sub) {
            Some(user) => Subject::Person(user),
            None if state.org.m2m_client(sub).is_some() => Subject::Machine(sub.to_string()),
            None => return Err(invalid_grant("The assertion's user is not assigned.")),
        },
        None => return Err(invalid_grant("The assertion's user is not assigned.")),
    };
    let granted: Vec<&str> = claims["scope"]
        .as_str()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    let scopes: Vec<&str> = match param(form, "scope") {
        Some(asked) => {
            let asked: Vec<&str> = asked.split(' ').filter(|s| !s.is_empty()).collect();
            if asked.iter().any(|s| !granted.contains(s)) {
                return Err(Reply::oauth_error(
                    400,
                    "invalid_scope",
                    "The requested scope exceeds the scope of the assertion.",
                ));
            }
            asked
        }
        None => granted,
    };
    if !state.lock().policy_allows_jwt_bearer {
        return Err(Reply::oauth_error(
            400,
            "access_denied",
            "no_matching_policy",
        ));
    }
    let mut access_token = crate::access_token::base_claims(
        state,
        client,
        &scopes,
        ACCESS_TOKEN_AUDIENCE,
        t,
        ACCESS_TOKEN_LIFETIME_SECS,
    );
    match &subject {
        Subject::Person(user) => {
            access_token["uid"] = json!(user.id);
            access_token["sub"] = json!(user.login);
        }
        Subject::Machine(client) => access_token["sub"] = json!(client),
    }
    let body = json!({
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
        "access_token": state.custom_key.sign(None, &access_token),
        "scope": scopes.join(" "),
    });
    Ok(Reply::json(200, &body).no_store().note(subject.note()))
}
