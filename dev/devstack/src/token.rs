//! The token endpoints: the org's `POST /oauth2/v1/token` (authorization code, leg 1
//! token exchange) and the custom authorization server's `POST /oauth2/{as}/v1/token`
//! (leg 2 JWT bearer), with the AI agent's `private_key_jwt` client authentication.
//!
//! Checks, in order, and what each refusal answers (status, `error`, `error_description`):
//!
//! Every request: Content-Type not `application/x-www-form-urlencoded` -> 400
//! `invalid_request` "The request must be sent as application/x-www-form-urlencoded.";
//! a repeated parameter -> 400 `invalid_request` "Duplicate parameter: NAME."; no
//! `grant_type` -> 400 `invalid_request` "The 'grant_type' parameter is required."; a grant
//! this server does not offer -> 400 `unsupported_grant_type`; `client_credentials` -> 400
//! `unauthorized_client` "Only service apps can use client_credentials".
//!
//! Client assertion (legs 1 and 2), all 401 `invalid_client`:
//! - client secret instead of an assertion (the web app) -> 400 `unauthorized_client`
//!   "The client is not authorized to use the provided grant type. Configured grant types: \[authorization_code\]."
//! - nothing -> "Client authentication failed. Either the client or the client credentials are invalid."
//! - wrong `client_assertion_type` -> "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer."
//! - unparsable JWT -> "The client_assertion is not a valid JWT."
//! - alg other than RS256/ES256 -> "The client_assertion algorithm must be RS256 or ES256."
//! - `iss` != `sub` -> "The client_assertion iss and sub claims must both be the client id."
//! - unknown client (neither the AI agent nor a registered service app, or a `client_id`
//!   param differing) -> the "Client authentication failed..." text
//! - no registered keys -> "JWKSet not configured"
//! - header `kid` missing or not registered -> "kid is invalid"
//! - bad signature, or key type not fitting alg -> "The client_assertion signature is invalid."
//! - `aud` not the exact endpoint URL -> "The audience claim for client_assertion must be the endpoint invoked for the request"
//! - `exp` missing -> "The client_assertion must contain an exp claim."; expired ->
//!   "The client_assertion token is expired."; more than 1 h after `iat` or now ->
//!   "The client_assertion exp claim must be at most one hour after iat."
//! - `jti` missing -> "The client_assertion must contain a jti claim."; seen before ->
//!   "The client_assertion jti has already been used." (recorded once the signature verified)
//!
//! Leg 1 (token exchange) after client authentication: missing parameter -> 400
//! `invalid_request` "The 'NAME' parameter is required."; wrong `requested_token_type` /
//! `subject_token_type` -> 400 `invalid_request` naming the expected URN; `audience` not the
//! custom AS issuer -> 400 `invalid_target` "The audience must be the issuer of an
//! authorization server this client may access."; no scope -> 400 `invalid_scope`
//! "The 'scope' parameter is required."; a system scope -> 400 `invalid_scope`
//! "SCOPE not allowed" (e.g. "openid not allowed"); an unknown scope -> 400 `invalid_scope`
//! "One or more scopes are not configured for the authorization server resource.";
//! subject token: unparsable / wrong kid / bad signature -> 400 `invalid_grant`
//! "The subject token is invalid."; other issuer -> "The subject token was not issued by
//! this org."; expired -> "The subject token is expired"; `aud` not the OIDC app ->
//! "The subject token was issued to a client that is not linked to this AI agent.";
//! unknown `sub` -> "The subject token's user is not assigned to this app."; a sign-on
//! policy with a maximum age ([`crate::Devstack::set_max_auth_age`]) older than the ID
//! token's `auth_time` -> 400 `insufficient_user_authentication` "The user must
//! authenticate again: the sign-in is older than the sign-on policy allows." with
//! `max_age`. A registered service app (not an AI agent) passes client authentication but
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
//! `access_denied` "no_matching_policy".
//!
//! Authorization code: both Basic and post credentials -> 400 `invalid_request`; wrong
//! or missing credentials -> 401 `invalid_client`; unknown, used or expired code -> 400
//! `invalid_grant` "The authorization code is invalid or has expired."; redirect_uri
//! mismatch -> 400 `invalid_grant`; missing `code_verifier` -> 400 `invalid_request`;
//! verifier not matching -> 400 `invalid_grant` "PKCE verification failed.". A code is
//! consumed by the first attempt, even a failed one.

use std::sync::Arc;

use aws_lc_rs::digest;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hyper::header::{HeaderName, CONTENT_TYPE};
use hyper::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use jsonwebtoken::{jwk::Jwk, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::okta::{id_token, new_jti, org_access_token, parse_params, OIDC_SCOPES};
use crate::server::{Reply, Req};
use crate::{now, IdTokenOptions, OktaFault, State, ACCESS_TOKEN_AUDIENCE};

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
pub const ID_JAG_TYP: &str = "oauth-id-jag+jwt";
pub const ID_JAG_LIFETIME_SECS: i64 = 300;
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 3600;

/// Scopes Okta strips from Cross App Access requests: the OIDC ones, `device_sso`, and
/// every `okta.*` API scope.
fn is_system_scope(scope: &str) -> bool {
    OIDC_SCOPES.contains(&scope) || scope == "device_sso" || scope.starts_with("okta.")
}
const AUTH_FAILED: &str =
    "Client authentication failed. Either the client or the client credentials are invalid.";

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    Org,
    Custom,
}

type Params = std::collections::HashMap<String, String>;

fn param<'a>(form: &'a Params, name: &str) -> Option<&'a str> {
    form.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

fn required<'a>(form: &'a Params, name: &str) -> Result<&'a str, Reply> {
    param(form, name).ok_or_else(|| {
        Reply::oauth_error(
            400,
            "invalid_request",
            &format!("The '{name}' parameter is required."),
        )
    })
}

fn invalid_client(description: &str) -> Reply {
    Reply::oauth_error(401, "invalid_client", description)
}

fn invalid_grant(description: &str) -> Reply {
    Reply::oauth_error(400, "invalid_grant", description)
}

pub(crate) async fn handle(state: &Arc<State>, req: &Req, server: Server) -> Reply {
    let endpoint = match server {
        Server::Org => format!("{}/oauth2/v1/token", state.okta_base),
        Server::Custom => format!("{}/v1/token", state.custom_issuer),
    };
    let form_type = req
        .header(CONTENT_TYPE.as_str())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|ct| {
            ct.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Reply::oauth_error(
            400,
            "invalid_request",
            "The request must be sent as application/x-www-form-urlencoded.",
        );
    }
    let form = match parse_params(&req.body) {
        Ok(form) => form,
        Err(name) => {
            return Reply::oauth_error(
                400,
                "invalid_request",
                &format!("Duplicate parameter: {name}."),
            )
        }
    };
    let grant = match required(&form, "grant_type") {
        Ok(grant) => grant,
        Err(reply) => return reply,
    };
    let (reply, grant_name) = match (server, grant) {
        (Server::Org, "authorization_code") => {
            (code_grant(state, req, &form), "authorization_code")
        }
        (Server::Org, TOKEN_EXCHANGE) => {
            state.lock().stats.leg1 += 1;
            let reply = match fault(state).await {
                Some(reply) => reply,
                None => match authenticate_agent(state, req, &form, &endpoint) {
                    Ok(client) => token_exchange(state, &form, &client),
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
                    Ok(client) => jwt_bearer(state, &form, &client),
                    Err(reply) => reply,
                },
            };
            (reply, "jwt-bearer")
        }
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
                Server::Custom => format!("[{JWT_BEARER}]"),
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
fn unverified_claims(jwt: &str) -> Option<Value> {
    let mut parts = jwt.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Signature only: claims are checked by hand so each refusal gets its own message.
fn signature_only(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    validation
}

fn aud_is(claims: &Value, expected: &str) -> bool {
    match &claims["aud"] {
        Value::String(aud) => aud == expected,
        Value::Array(auds) => auds.len() == 1 && auds[0] == expected,
        _ => false,
    }
}

/// `private_key_jwt` of the AI agent; returns its client id.
fn authenticate_agent(
    state: &State,
    req: &Req,
    form: &Params,
    endpoint: &str,
) -> Result<String, Reply> {
    if req.header(AUTHORIZATION.as_str()).is_some() || param(form, "client_secret").is_some() {
        // A secret-authenticated client is the web app: right credentials, wrong client type.
        authenticate_secret(state, req, form)?;
        return Err(Reply::oauth_error(
            400,
            "unauthorized_client",
            "The client is not authorized to use the provided grant type. Configured grant types: [authorization_code].",
        ));
    }
    let (Some(assertion_type), Some(assertion)) = (
        param(form, "client_assertion_type"),
        param(form, "client_assertion"),
    ) else {
        return Err(invalid_client(AUTH_FAILED));
    };
    if assertion_type != CLIENT_ASSERTION_TYPE {
        return Err(invalid_client(&format!(
            "The client_assertion_type must be {CLIENT_ASSERTION_TYPE}."
        )));
    }
    let not_jwt = || invalid_client("The client_assertion is not a valid JWT.");
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| not_jwt())?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(invalid_client(
            "The client_assertion algorithm must be RS256 or ES256.",
        ));
    }
    let claims = unverified_claims(assertion).ok_or_else(not_jwt)?;
    let (iss, sub) = (claims["iss"].as_str(), claims["sub"].as_str());
    if iss.is_none() || iss != sub {
        return Err(invalid_client(
            "The client_assertion iss and sub claims must both be the client id.",
        ));
    }
    let client = iss.unwrap_or_default();
    if param(form, "client_id").is_some_and(|id| id != client) {
        return Err(invalid_client(AUTH_FAILED));
    }
    let keys = {
        let inner = state.lock();
        if client == state.cfg.agent_client_id {
            inner.agent_jwks.clone()
        } else {
            inner
                .service_apps
                .get(client)
                .cloned()
                .ok_or_else(|| invalid_client(AUTH_FAILED))?
        }
    };
    if keys.is_empty() {
        return Err(invalid_client("JWKSet not configured"));
    }
    let kid_is_invalid = || invalid_client("kid is invalid");
    let kid = header.kid.as_deref().ok_or_else(kid_is_invalid)?;
    let jwk = keys
        .iter()
        .find(|k| k["kid"].as_str() == Some(kid))
        .ok_or_else(kid_is_invalid)?;
    let bad_signature = || invalid_client("The client_assertion signature is invalid.");
    let key_fits = match header.alg {
        Algorithm::RS256 => jwk["kty"] == "RSA",
        _ => jwk["kty"] == "EC" && jwk["crv"] == "P-256",
    };
    let key = serde_json::from_value::<Jwk>(jwk.clone())
        .ok()
        .and_then(|jwk| DecodingKey::from_jwk(&jwk).ok())
        .filter(|_| key_fits)
        .ok_or_else(bad_signature)?;
    jsonwebtoken::decode::<Value>(assertion, &key, &signature_only(header.alg))
        .map_err(|_| bad_signature())?;
    if !aud_is(&claims, endpoint) {
        return Err(invalid_client(
            "The audience claim for client_assertion must be the endpoint invoked for the request",
        ));
    }
    let t = now();
    let exp = claims["exp"]
        .as_i64()
        .ok_or_else(|| invalid_client("The client_assertion must contain an exp claim."))?;
    if exp <= t {
        return Err(invalid_client("The client_assertion token is expired."));
    }
    let iat = claims["iat"].as_i64().unwrap_or(t);
    if exp - iat > 3600 || exp - t > 3600 {
        return Err(invalid_client(
            "The client_assertion exp claim must be at most one hour after iat.",
        ));
    }
    let jti = claims["jti"]
        .as_str()
        .filter(|j| !j.is_empty())
        .ok_or_else(|| invalid_client("The client_assertion must contain a jti claim."))?;
    let mut inner = state.lock();
    inner.used_jtis.retain(|_, exp| *exp >= t);
    if inner
        .used_jtis
        .insert(format!("{client}\n{jti}"), exp)
        .is_some()
    {
        return Err(invalid_client(
            "The client_assertion jti has already been used.",
        ));
    }
    Ok(client.to_string())
}

/// `client_secret_basic` or `client_secret_post` of the OIDC web app.
fn authenticate_secret(state: &State, req: &Req, form: &Params) -> Result<(), Reply> {
    let cfg = &state.cfg;
    let basic = req.header(AUTHORIZATION.as_str());
    if basic.is_some()
        && (param(form, "client_secret").is_some() || param(form, "client_assertion").is_some())
    {
        return Err(Reply::oauth_error(
            400,
            "invalid_request",
            "Cannot supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body.",
        ));
    }
    let (id, secret) = if let Some(header) = basic {
        let decoded = header
            .strip_prefix("Basic ")
            .and_then(|b| STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| invalid_client(AUTH_FAILED))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| invalid_client(AUTH_FAILED))?;
        // RFC 6749 2.3.1: both halves are form-urlencoded before joining.
        let unescape = |s: &str| {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.to_string())
        };
        (
            unescape(id).unwrap_or_default(),
            unescape(secret).unwrap_or_default(),
        )
    } else if let (Some(id), Some(secret)) =
        (param(form, "client_id"), param(form, "client_secret"))
    {
        (id.to_string(), secret.to_string())
    } else {
        return Err(invalid_client(AUTH_FAILED));
    };
    if param(form, "client_id").is_some_and(|posted_id| posted_id != id) {
        return Err(invalid_client(AUTH_FAILED));
    }
    if id != cfg.oidc_client_id
        || !constant_time_eq(secret.as_bytes(), cfg.oidc_client_secret.as_bytes())
    {
        let reply = invalid_client(AUTH_FAILED);
        return Err(if basic.is_some() {
            reply.header(WWW_AUTHENTICATE, "Basic realm=\"okta\"")
        } else {
            reply
        });
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn code_grant(state: &State, req: &Req, form: &Params) -> Reply {
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

/// Verify a JWT signed by `key` (RS256, its kid); claims left to the caller.
fn verify_rs256(token: &str, key: &crate::keys::RsaKey) -> Option<(jsonwebtoken::Header, Value)> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(key.kid.as_str()) {
        return None;
    }
    let data =
        jsonwebtoken::decode::<Value>(token, &key.decoding, &signature_only(Algorithm::RS256))
            .ok()?;
    Some((header, data.claims))
}

fn token_exchange(state: &State, form: &Params, client: &str) -> Reply {
    match token_exchange_inner(state, form, client) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn token_exchange_inner(state: &State, form: &Params, client: &str) -> Result<Reply, Reply> {
    if client != state.cfg.agent_client_id {
        // A service app authenticated fine but has no managed connection: only AI agents
        // may exchange an ID token for an ID-JAG.
        return Err(Reply::oauth_error(
            400,
            "token_exchange_invalid_audience",
            "The client is not an AI agent with a managed connection to the requested audience.",
        ));
    }
    if required(form, "requested_token_type")? != ID_JAG {
        return Err(Reply::oauth_error(
            400,
            "invalid_request",
            &format!("The 'requested_token_type' must be {ID_JAG}."),
        ));
    }
    let subject_token = required(form, "subject_token")?;
    if required(form, "subject_token_type")? != ID_TOKEN_TYPE {
        return Err(Reply::oauth_error(
            400,
            "invalid_request",
            &format!("The 'subject_token_type' must be {ID_TOKEN_TYPE}."),
        ));
    }
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
    let (_, claims) = verify_rs256(subject_token, &state.org_key)
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
        if t.saturating_sub(signed_in) > max_age as i64 {
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
    let id_jag = json!({
        "iss": state.okta_base,
        "sub": user.id,
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
    Ok(Reply::json(200, &body)
        .no_store()
        .note(format!("user={}", user.id)))
}

fn jwt_bearer(state: &State, form: &Params, client: &str) -> Reply {
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
    let user = claims["sub"]
        .as_str()
        .and_then(|sub| state.user(sub))
        .ok_or_else(|| invalid_grant("The assertion's user is not assigned."))?;
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
    let access_token = json!({
        "ver": 1,
        "jti": new_jti("AT"),
        "iss": state.custom_issuer,
        "aud": ACCESS_TOKEN_AUDIENCE,
        "iat": t,
        "exp": t + ACCESS_TOKEN_LIFETIME_SECS,
        "cid": client,
        "uid": user.id,
        "scp": scopes,
        "sub": user.login,
    });
    let body = json!({
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
        "access_token": state.custom_key.sign(None, &access_token),
        "scope": scopes.join(" "),
    });
    Ok(Reply::json(200, &body)
        .no_store()
        .note(format!("user={}", user.id)))
}
