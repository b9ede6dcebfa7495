//! Client authentication at the token endpoints: the AI agent's `private_key_jwt` (token
//! exchange, JWT bearer, revoke), the web app's client secret (authorization code), and a
//! service app's four methods at client credentials ([`authenticate_service_app`]).
//!
//! Client assertion (any endpoint), all 401 `invalid_client`:
//! - client secret instead of an assertion (the web app) -> 400 `unauthorized_client`
//!   "The client is not authorized to use the provided grant type. Configured grant types: \[authorization_code\]."
//! - nothing -> "Client authentication failed. Either the client or the client credentials are invalid."
//! - wrong `client_assertion_type` -> "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer."
//! - unparsable JWT -> "The client_assertion is not a valid JWT."
//! - `iss` != `sub` -> "The client_assertion iss and sub claims must both be the client id."
//! - unknown client (neither the AI agent nor a registered service app, or a `client_id`
//!   param differing) -> the "Client authentication failed..." text
//! - alg other than RS256/ES256 for a key client -> "The client_assertion algorithm must be
//!   RS256 or ES256."; other than HS256/384/512 for a `client_secret_jwt` client -> "The
//!   client_assertion algorithm must be HS256, HS384 or HS512 for client_secret_jwt."
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
//! Client secret (Basic or post): credentials both in the header and the body -> 400
//! `invalid_request` "Cannot supply multiple client credentials..."; unknown client or
//! wrong secret -> 401 `invalid_client` (the "Client authentication failed..." text, with
//! `WWW-Authenticate: Basic` for Basic). A service app using a method other than its
//! configured one (Basic and post are interchangeable) -> 401 `invalid_client` "The client
//! is configured for METHOD: authenticate with that method.".

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hyper::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use jsonwebtoken::{jwk::Jwk, Algorithm, DecodingKey};
use serde_json::Value;

use crate::org::AuthMethod;
use crate::server::{Reply, Req};
use crate::token::{
    aud_is, invalid_client, param, signature_only, unverified_claims, Params, AUTH_FAILED,
    CLIENT_ASSERTION_TYPE,
};
use crate::{now, State};

const MULTIPLE: &str = "Cannot supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body.";

/// What verifies a client's assertion.
enum AssertionKey {
    /// Registered public JWKs (`private_key_jwt`).
    Jwks(Vec<Value>),
    /// The client secret (`client_secret_jwt`).
    Secret(String),
    /// The client exists but authenticates another way.
    WrongMethod(AuthMethod),
}

/// Who authenticated, and the `act` claim of the assertion if it carried one.
pub(crate) struct Authenticated {
    pub client: String,
    pub act: Option<Value>,
}

fn wrong_method(method: AuthMethod) -> Reply {
    invalid_client(&format!(
        "The client is configured for {}: authenticate with that method.",
        method.as_str()
    ))
}

/// `private_key_jwt` of the AI agent (or of a service app, which the grant then refuses);
/// returns its client id. A client secret here is the web app: right credentials, wrong
/// client type.
pub(crate) fn authenticate_agent(
    state: &State,
    req: &Req,
    form: &Params,
    endpoint: &str,
) -> Result<String, Reply> {
    if req.header(AUTHORIZATION.as_str()).is_some() || param(form, "client_secret").is_some() {
        authenticate_secret(state, req, form)?;
        return Err(Reply::oauth_error(
            400,
            "unauthorized_client",
            "The client is not authorized to use the provided grant type. Configured grant types: [authorization_code].",
        ));
    }
    let lookup = |client: &str| {
        let inner = state.lock();
        if client == state.cfg.agent_client_id {
            return Some(AssertionKey::Jwks(inner.agent_jwks.clone()));
        }
        if let Some(keys) = inner.service_apps.get(client) {
            return Some(AssertionKey::Jwks(keys.clone()));
        }
        state
            .org
            .m2m_client(client)
            .filter(|c| c.token_endpoint_auth_method == AuthMethod::PrivateKeyJwt)
            .map(|c| AssertionKey::Jwks(c.public_jwks.clone()))
    };
    verify_assertion(state, form, endpoint, &lookup).map(|a| a.client)
}

/// Client authentication of a service app at client credentials, by its configured
/// method. The AI agent and the web app authenticate too (so their refusal can say
/// what is wrong): the grant refuses them.
pub(crate) fn authenticate_service_app(
    state: &State,
    req: &Req,
    form: &Params,
    endpoint: &str,
) -> Result<Authenticated, Reply> {
    let basic = req.header(AUTHORIZATION.as_str()).is_some();
    let posted = param(form, "client_secret").is_some();
    let assertion = param(form, "client_assertion").is_some();
    if usize::from(basic) + usize::from(posted) + usize::from(assertion) > 1 {
        return Err(Reply::oauth_error(400, "invalid_request", MULTIPLE));
    }
    if assertion {
        let lookup = |client: &str| {
            if client == state.cfg.agent_client_id {
                return Some(AssertionKey::Jwks(state.lock().agent_jwks.clone()));
            }
            let c = state.org.m2m_client(client)?;
            Some(match c.token_endpoint_auth_method {
                AuthMethod::PrivateKeyJwt => AssertionKey::Jwks(c.public_jwks.clone()),
                AuthMethod::ClientSecretJwt => AssertionKey::Secret(c.client_secret.clone()),
                other => AssertionKey::WrongMethod(other),
            })
        };
        return verify_assertion(state, form, endpoint, &lookup);
    }
    let (id, secret) = secret_credentials(req, form)?;
    if id == state.cfg.oidc_client_id {
        authenticate_secret(state, req, form)?;
        return Ok(Authenticated {
            client: id,
            act: None,
        });
    }
    let refuse = || {
        let reply = invalid_client(AUTH_FAILED);
        if basic {
            reply.header(WWW_AUTHENTICATE, "Basic realm=\"okta\"")
        } else {
            reply
        }
    };
    let client = state.org.m2m_client(&id).ok_or_else(refuse)?;
    match client.token_endpoint_auth_method {
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {}
        other => return Err(wrong_method(other)),
    }
    if !constant_time_eq(secret.as_bytes(), client.client_secret.as_bytes()) {
        return Err(refuse());
    }
    Ok(Authenticated {
        client: id,
        act: None,
    })
}

/// Verify `client_assertion` for `endpoint`; `lookup` gives a client's key (None = unknown).
fn verify_assertion(
    state: &State,
    form: &Params,
    endpoint: &str,
    lookup: &dyn Fn(&str) -> Option<AssertionKey>,
) -> Result<Authenticated, Reply> {
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
    let bad_signature = || invalid_client("The client_assertion signature is invalid.");
    let key = match lookup(client).ok_or_else(|| invalid_client(AUTH_FAILED))? {
        AssertionKey::WrongMethod(method) => return Err(wrong_method(method)),
        AssertionKey::Secret(secret) => {
            if !matches!(
                header.alg,
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
            ) {
                return Err(invalid_client(
                    "The client_assertion algorithm must be HS256, HS384 or HS512 for client_secret_jwt.",
                ));
            }
            DecodingKey::from_secret(secret.as_bytes())
        }
        AssertionKey::Jwks(keys) => {
            if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
                return Err(invalid_client(
                    "The client_assertion algorithm must be RS256 or ES256.",
                ));
            }
            if keys.is_empty() {
                return Err(invalid_client("JWKSet not configured"));
            }
            let kid_is_invalid = || invalid_client("kid is invalid");
            let kid = header.kid.as_deref().ok_or_else(kid_is_invalid)?;
            let jwk = keys
                .iter()
                .find(|k| k["kid"].as_str() == Some(kid))
                .ok_or_else(kid_is_invalid)?;
            let key_fits = match header.alg {
                Algorithm::RS256 => jwk["kty"] == "RSA",
                _ => jwk["kty"] == "EC" && jwk["crv"] == "P-256",
            };
            serde_json::from_value::<Jwk>(jwk.clone())
                .ok()
                .and_then(|jwk| DecodingKey::from_jwk(&jwk).ok())
                .filter(|_| key_fits)
                .ok_or_else(bad_signature)?
        }
    };
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
    if exp.saturating_sub(iat) > 3600 || exp.saturating_sub(t) > 3600 {
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
    Ok(Authenticated {
        client: client.to_string(),
        act: claims.get("act").filter(|act| act.is_object()).cloned(),
    })
}

/// `(client_id, secret)` from Basic or the post body.
fn secret_credentials(req: &Req, form: &Params) -> Result<(String, String), Reply> {
    let basic = req.header(AUTHORIZATION.as_str());
    if basic.is_some()
        && (param(form, "client_secret").is_some() || param(form, "client_assertion").is_some())
    {
        return Err(Reply::oauth_error(400, "invalid_request", MULTIPLE));
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
    Ok((id, secret))
}

/// `client_secret_basic` or `client_secret_post` of the OIDC web app.
pub(crate) fn authenticate_secret(state: &State, req: &Req, form: &Params) -> Result<(), Reply> {
    let cfg = &state.cfg;
    let (id, secret) = secret_credentials(req, form)?;
    if id != cfg.oidc_client_id
        || !constant_time_eq(secret.as_bytes(), cfg.oidc_client_secret.as_bytes())
    {
        let reply = invalid_client(AUTH_FAILED);
        return Err(if req.header(AUTHORIZATION.as_str()).is_some() {
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
