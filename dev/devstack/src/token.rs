//! The token endpoints: routing of `POST /oauth2/v1/token` (org: authorization code, token
//! exchange for every credential kind) and `POST /oauth2/{as}/v1/token` (custom
//! authorization server: leg 2 JWT bearer, client credentials), transient faults, and the
//! JWT helpers the grants share.
//!
//! Every request: Content-Type not `application/x-www-form-urlencoded` -> 400
//! `invalid_request` "The request must be sent as application/x-www-form-urlencoded.";
//! a repeated parameter -> 400 `invalid_request` "Duplicate parameter: NAME."; no
//! `grant_type` -> 400 `invalid_request` "The 'grant_type' parameter is required."; a grant
//! this server does not offer -> 400 `unsupported_grant_type`; `client_credentials` at the
//! org -> 400 `unauthorized_client` "Only service apps can use client_credentials".
//!
//! Where the checks of each grant live: [`crate::client_auth`] (client authentication),
//! [`crate::xaa_grants`] (authorization code, ID-JAG, JWT bearer), [`crate::credentials`]
//! (vaulted secret, service account, third-party token), [`crate::subject`] (the subject
//! token of every exchange), [`crate::client_credentials`] (service apps, AGBAC `act`).

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hyper::header::{HeaderName, CONTENT_TYPE, RETRY_AFTER};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{json, Value};

use crate::client_auth::authenticate_agent;
use crate::okta::{parse_params, OIDC_SCOPES};
use crate::server::{Reply, Req};
use crate::{client_credentials, credentials, xaa_grants};
use crate::{now, OktaFault, State};

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const CLIENT_CREDENTIALS: &str = "client_credentials";
pub const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const VAULTED_SECRET: &str = "urn:okta:params:oauth:token-type:vaulted-secret";
pub const SERVICE_ACCOUNT: &str = "urn:okta:params:oauth:token-type:service-account";
pub const OAUTH_STS: &str = "urn:okta:params:oauth:token-type:oauth-sts";
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
pub const ID_JAG_TYP: &str = "oauth-id-jag+jwt";
pub const ID_JAG_LIFETIME_SECS: i64 = 300;
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 3600;
/// `expires_in` of a vaulted secret or service account answer.
pub const CREDENTIAL_LIFETIME_SECS: i64 = 300;

/// Scopes Okta strips from Cross App Access requests: the OIDC ones, `device_sso`, and
/// every `okta.*` API scope.
pub(crate) fn is_system_scope(scope: &str) -> bool {
    OIDC_SCOPES.contains(&scope) || scope == "device_sso" || scope.starts_with("okta.")
}

/// The scopes of a request to the custom authorization server, as Okta checks them: no
/// system scope (`invalid_scope` "SCOPE not allowed"), none the server does not have
/// (`invalid_scope` "One or more scopes are not configured ...").
pub(crate) fn custom_scopes<'a>(state: &State, scope: &'a str) -> Result<Vec<&'a str>, Reply> {
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if let Some(system) = scopes.iter().find(|s| is_system_scope(s)) {
        return Err(Reply::oauth_error(
            400,
            "invalid_scope",
            &format!("{system} not allowed"),
        ));
    }
    if scopes
        .iter()
        .any(|s| !state.cfg.scopes.iter().any(|known| known == s))
    {
        return Err(Reply::oauth_error(
            400,
            "invalid_scope",
            "One or more scopes are not configured for the authorization server resource.",
        ));
    }
    Ok(scopes)
}
pub(crate) const AUTH_FAILED: &str =
    "Client authentication failed. Either the client or the client credentials are invalid.";

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    Org,
    Custom,
}

pub(crate) type Params = std::collections::HashMap<String, String>;

pub(crate) fn param<'a>(form: &'a Params, name: &str) -> Option<&'a str> {
    form.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

pub(crate) fn required<'a>(form: &'a Params, name: &str) -> Result<&'a str, Reply> {
    param(form, name).ok_or_else(|| {
        Reply::oauth_error(
            400,
            "invalid_request",
            &format!("The '{name}' parameter is required."),
        )
    })
}

pub(crate) fn invalid_client(description: &str) -> Reply {
    Reply::oauth_error(401, "invalid_client", description)
}

pub(crate) fn invalid_grant(description: &str) -> Reply {
    Reply::oauth_error(400, "invalid_grant", description)
}

/// A form body, or the refusal for a request that is not one.
pub(crate) fn form_body(req: &Req) -> Result<Params, Reply> {
    let form_type = req
        .header(CONTENT_TYPE.as_str())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|ct| {
            ct.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(Reply::oauth_error(
            400,
            "invalid_request",
            "The request must be sent as application/x-www-form-urlencoded.",
        ));
    }
    parse_params(&req.body).map_err(|name| {
        Reply::oauth_error(
            400,
            "invalid_request",
            &format!("Duplicate parameter: {name}."),
        )
    })
}

pub(crate) async fn handle(state: &Arc<State>, req: &Req, server: Server) -> Reply {
    let endpoint = match server {
        Server::Org => format!("{}/oauth2/v1/token", state.okta_base),
        Server::Custom => format!("{}/v1/token", state.custom_issuer),
    };
    let form = match form_body(req) {
        Ok(form) => form,
        Err(reply) => return reply,
    };
    let grant = match required(&form, "grant_type") {
        Ok(grant) => grant,
        Err(reply) => return reply,
    };
    let (reply, grant_name) = match (server, grant) {
        (Server::Org, "authorization_code") => (
            xaa_grants::code_grant(state, req, &form),
            "authorization_code",
        ),
        (Server::Org, TOKEN_EXCHANGE) => {
            state.lock().stats.leg1 += 1;
            let reply = match fault(state).await {
                Some(reply) => reply,
                None => match authenticate_agent(state, req, &form, &endpoint) {
                    Ok(client) => match param(&form, "requested_token_type") {
                        Some(VAULTED_SECRET | SERVICE_ACCOUNT | OAUTH_STS) => {
                            credentials::exchange(state, &form, &client)
                        }
                        _ => xaa_grants::token_exchange(state, &form, &client),
                    },
                    Err(reply) => reply,
                },
            };
            (reply, "token-exchange")
        }
        (Server::Custom, JWT_BEARER) => {
            state.lock().stats.leg2 += 1;
            let reply = match fault(state).await {
                Some(reply) => reply,
                None => match authenticate_agent(state, req, &form, &endpoint) {
                    Ok(client) => xaa_grants::jwt_bearer(state, &form, &client),
                    Err(reply) => reply,
                },
            };
            (reply, "jwt-bearer")
        }
        (Server::Custom, CLIENT_CREDENTIALS) => (
            client_credentials::grant(state, req, &form, &endpoint),
            "client_credentials",
        ),
        (_, "client_credentials") => (
            Reply::oauth_error(
                400,
                "unauthorized_client",
                "Only service apps can use client_credentials",
            ),
            "client_credentials",
        ),
        _ => {
            let configured = match server {
                Server::Org => format!("[authorization_code, {TOKEN_EXCHANGE}]"),
                Server::Custom => format!("[{JWT_BEARER}, client_credentials]"),
            };
            let description = format!(
                "The authorization grant type is not supported by the authorization server. Configured grant types: {configured}."
            );
            (
                Reply::oauth_error(400, "unsupported_grant_type", &description),
                "other",
            )
        }
    };
    // The grant first, so the log reads "grant=... error=..." / "grant=... user=...".
    let mut reply = reply;
    let rest = std::mem::take(&mut reply.note);
    reply.note(format!("grant={grant_name}")).note(rest)
}

/// Apply [`OktaFault`] to a leg 1/leg 2 request: `Some` answers instead of the grant.
async fn fault(state: &State) -> Option<Reply> {
    let fault = {
        let mut inner = state.lock();
        let current = inner.okta_fault.clone();
        if let OktaFault::Status {
            status,
            times,
            retry_after_secs,
        } = current
        {
            inner.okta_fault = if times > 1 {
                OktaFault::Status {
                    status,
                    times: times - 1,
                    retry_after_secs,
                }
            } else {
                OktaFault::None
            };
            if times == 0 {
                return None;
            }
        }
        current
    };
    match fault {
        OktaFault::None => None,
        OktaFault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        OktaFault::Status {
            status,
            retry_after_secs,
            ..
        } => {
            let mut reply = match status {
                429 => Reply::json(
                    429,
                    &json!({"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit due to too many requests.", "errorLink": "E0000047", "errorCauses": []}),
                )
                .no_store()
                .header(HeaderName::from_static("x-rate-limit-limit"), "600")
                .header(HeaderName::from_static("x-rate-limit-remaining"), "0")
                .header(
                    HeaderName::from_static("x-rate-limit-reset"),
                    (now() + retry_after_secs.unwrap_or(60) as i64).to_string(),
                ),
                503 => Reply::oauth_error(503, "temporarily_unavailable", "devstack injected fault"),
                s if s >= 500 => Reply::oauth_error(s, "server_error", "devstack injected fault"),
                s => Reply::oauth_error(s, "invalid_request", "devstack injected fault"),
            };
            if let Some(secs) = retry_after_secs {
                reply = reply.header(RETRY_AFTER, secs.to_string());
            }
            Some(reply.note("fault=status"))
        }
    }
}

/// Base64url-decode the payload of a compact JWT without verifying it.
pub(crate) fn unverified_claims(jwt: &str) -> Option<Value> {
    let mut parts = jwt.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Signature only: claims are checked by hand so each refusal gets its own message.
pub(crate) fn signature_only(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    validation
}

pub(crate) fn aud_is(claims: &Value, expected: &str) -> bool {
    match &claims["aud"] {
        Value::String(aud) => aud == expected,
        Value::Array(auds) => auds.len() == 1 && auds[0] == expected,
        _ => false,
    }
}
/// Verify a JWT signed by `key` (RS256, its kid); claims left to the caller.
pub(crate) fn verify_rs256(
    token: &str,
    key: &crate::keys::RsaKey,
) -> Option<(jsonwebtoken::Header, Value)> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(key.kid.as_str()) {
        return None;
    }
    let data =
        jsonwebtoken::decode::<Value>(token, &key.decoding, &signature_only(Algorithm::RS256))
            .ok()?;
    Some((header, data.claims))
}
