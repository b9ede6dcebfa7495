//! The Okta stand-in: routing, discovery documents, JWKS, and the OIDC app's sign-in
//! (`/oauth2/v1/authorize`, Authorization Code + PKCE S256, no prompt).
//!
//! Paths served (GET unless noted):
//! `/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server`,
//! `/oauth2/v1/keys`, `/oauth2/v1/authorize`, POST `/oauth2/v1/token`, and for the custom
//! authorization server `/oauth2/{as}/.well-known/openid-configuration` (and
//! `oauth-authorization-server`), `/oauth2/{as}/v1/keys`, POST `/oauth2/{as}/v1/token`;
//! and from [`crate::consent`]: POST `/oauth2/v1/revoke`, GET/POST
//! `/oauth2/v1/sts/consent?ticket=T`, GET `/thirdparty/v1/me`.
//! Anything else is 404 with Okta's `E0000007` body; a wrong method is 405.
//!
//! Authorize refusals: an unknown `client_id` or unregistered `redirect_uri` is a 400 JSON
//! answer (never a redirect); everything else redirects to `redirect_uri` with
//! `error`, `error_description` and `state`: `unsupported_response_type` (not `code`),
//! `invalid_request` ("The 'state' parameter is required.", "PKCE code_challenge_method
//! must be S256.", "PKCE code_challenge is required (43 base64url characters).", duplicate
//! parameter), `invalid_scope` ("The 'openid' scope is required." / "One or more scopes are
//! not configured for the authorization server resource."), `access_denied`
//! ("The login_hint does not name a user of this org.").

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hyper::header::{ALLOW, LOCATION};
use hyper::Method;
use serde_json::{json, Value};

use crate::server::{Reply, Req};
use crate::{consent, now, token, CodeGrant, IdTokenOptions, State, User};

/// Codes live this long, like Okta's (60 s).
const CODE_LIFETIME_SECS: i64 = 60;
/// Scopes the OIDC app may ask for at sign-in.
pub(crate) const OIDC_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
    "groups",
];

pub(crate) fn too_large() -> Reply {
    Reply::oauth_error(413, "invalid_request", "The request body is too large.")
}

fn not_found() -> Reply {
    Reply::json(
        404,
        &json!({"errorCode": "E0000007", "errorSummary": "Not found: Resource not found", "errorLink": "E0000007", "errorCauses": []}),
    )
}

pub(crate) fn method_not_allowed(allowed: &str) -> Reply {
    Reply::json(
        405,
        &json!({"errorCode": "E0000022", "errorSummary": "The endpoint does not support the provided HTTP method"}),
    )
    .header(ALLOW, allowed)
}

pub(crate) async fn handle(state: Arc<State>, req: Req) -> Reply {
    if let Some(reply) = consent::route(&state, &req) {
        return reply;
    }
    let path = req.path.clone();
    let get = req.method == Method::GET || req.method == Method::HEAD;
    let post = req.method == Method::POST;
    let org = |get_ok: bool, f: &dyn Fn() -> Reply| {
        if get_ok {
            f()
        } else {
            method_not_allowed("GET")
        }
    };
    match path.as_str() {
        "/.well-known/openid-configuration" | "/.well-known/oauth-authorization-server" => {
            org(get, &|| Reply::json(200, &org_discovery(&state)))
        }
        "/oauth2/v1/keys" => org(get, &|| jwks(&state, false)),
        "/oauth2/v1/authorize" => org(get, &|| authorize(&state, &req)),
        "/oauth2/v1/token" if post => token::handle(&state, &req, token::Server::Org).await,
        "/oauth2/v1/token" => method_not_allowed("POST"),
        _ => {
            let Some((as_id, rest)) = path
                .strip_prefix("/oauth2/")
                .and_then(|p| p.split_once('/'))
            else {
                return not_found();
            };
            if as_id != state.cfg.custom_as_id {
                return not_found();
            }
            match rest {
                ".well-known/openid-configuration" | ".well-known/oauth-authorization-server" => {
                    org(get, &|| Reply::json(200, &custom_discovery(&state)))
                }
                "v1/keys" => org(get, &|| jwks(&state, true)),
                "v1/token" if post => token::handle(&state, &req, token::Server::Custom).await,
                "v1/token" => method_not_allowed("POST"),
                _ => not_found(),
            }
        }
    }
}

fn jwks(state: &State, custom: bool) -> Reply {
    state.lock().stats.jwks_fetches += 1;
    let key = if custom {
        &state.custom_key
    } else {
        &state.org_key
    };
    Reply::json(200, &key.jwks()).header(hyper::header::CACHE_CONTROL, "max-age=3600")
}

fn org_discovery(state: &State) -> Value {
    let base = &state.okta_base;
    json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth2/v1/authorize"),
        "token_endpoint": format!("{base}/oauth2/v1/token"),
        "jwks_uri": format!("{base}/oauth2/v1/keys"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", token::TOKEN_EXCHANGE],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": OIDC_SCOPES,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "revocation_endpoint": format!("{base}/oauth2/v1/revoke"),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "sub", "aud", "iat", "exp", "nonce", "email", "name", "preferred_username"],
        "requested_token_types_supported": [token::ID_JAG, token::VAULTED_SECRET, token::SERVICE_ACCOUNT, token::OAUTH_STS],
    })
}

fn custom_discovery(state: &State) -> Value {
    let issuer = &state.custom_issuer;
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/v1/authorize"),
        "token_endpoint": format!("{issuer}/v1/token"),
        "jwks_uri": format!("{issuer}/v1/keys"),
        "response_types_supported": ["code"],
        "grant_types_supported": [token::JWT_BEARER, token::CLIENT_CREDENTIALS],
        "scopes_supported": state.cfg.scopes,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256", "HS256", "HS384", "HS512"],
    })
}

/// Registered redirect URIs: `http://localhost[:port]/callback`, `http://127.0.0.1[:port]/callback`.
pub(crate) fn redirect_uri_allowed(uri: &str) -> bool {
    let Some(rest) = uri
        .strip_prefix("http://localhost")
        .or_else(|| uri.strip_prefix("http://127.0.0.1"))
    else {
        return false;
    };
    let Some(port_part) = rest.strip_suffix("/callback") else {
        return false;
    };
    match port_part.strip_prefix(':') {
        None => port_part.is_empty(),
        Some(port) => {
            !port.is_empty() && port.len() <= 5 && port.parse::<u16>().is_ok_and(|p| p > 0)
        }
    }
}

/// Parse a query or form body; a repeated name is an error naming it.
pub(crate) fn parse_params(raw: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut map = HashMap::new();
    for (name, value) in form_urlencoded::parse(raw) {
        if map.insert(name.to_string(), value.to_string()).is_some() {
            return Err(name.to_string());
        }
    }
    Ok(map)
}

pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("system randomness");
    URL_SAFE_NO_PAD.encode(buf)
}

fn authorize(state: &State, req: &Req) -> Reply {
    state.lock().stats.authorize += 1;
    let params = match parse_params(req.query.as_deref().unwrap_or("").as_bytes()) {
        Ok(p) => p,
        Err(name) => {
            return Reply::oauth_error(
                400,
                "invalid_request",
                &format!("Duplicate parameter: {name}."),
            )
        }
    };
    let p = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    if p("client_id") != Some(state.cfg.oidc_client_id.as_str()) {
        return Reply::oauth_error(
            400,
            "invalid_client",
            "The 'client_id' parameter is missing or not a client of this org.",
        );
    }
    let Some(redirect_uri) = p("redirect_uri").filter(|u| redirect_uri_allowed(u)) else {
        return Reply::oauth_error(
            400,
            "invalid_request",
            "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.",
        );
    };
    let redirect = |pairs: &[(&str, &str)]| {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        Reply::new(302, "text/plain", "").header(LOCATION, format!("{redirect_uri}?{query}"))
    };
    let state_param = p("state").unwrap_or("");
    let fail = |code: &str, description: &str| {
        let mut pairs = vec![("error", code), ("error_description", description)];
        if !state_param.is_empty() {
            pairs.push(("state", state_param));
        }
        redirect(&pairs).note(format!("error={code}"))
    };
    if p("response_type") != Some("code") {
        return fail("unsupported_response_type", "The response type is not supported by the authorization server. Configured response types: [code].");
    }
    if state_param.is_empty() {
        return fail("invalid_request", "The 'state' parameter is required.");
    }
    let scope = p("scope").unwrap_or("");
    if !scope.split(' ').any(|s| s == "openid") {
        return fail("invalid_scope", "The 'openid' scope is required.");
    }
    if scope.split(' ').any(|s| !OIDC_SCOPES.contains(&s)) {
        return fail(
            "invalid_scope",
            "One or more scopes are not configured for the authorization server resource.",
        );
    }
    if p("code_challenge_method") != Some("S256") {
        return fail(
            "invalid_request",
            "PKCE code_challenge_method must be S256.",
        );
    }
    let challenge = p("code_challenge").unwrap_or("");
    if challenge.len() != 43 || URL_SAFE_NO_PAD.decode(challenge).is_err() {
        return fail(
            "invalid_request",
            "PKCE code_challenge is required (43 base64url characters).",
        );
    }
    let user = match p("login_hint") {
        Some(hint) => match state.user(hint) {
            Some(user) => user,
            None => {
                return fail(
                    "access_denied",
                    "The login_hint does not name a user of this org.",
                )
            }
        },
        None => &state.cfg.users[0],
    };
    let code = random_token(32);
    {
        let mut inner = state.lock();
        let t = now();
        inner.codes.retain(|_, c| c.expires_at > t);
        inner.codes.insert(
            code.clone(),
            CodeGrant {
                client_id: state.cfg.oidc_client_id.clone(),
                redirect_uri: redirect_uri.to_string(),
                user_id: user.id.clone(),
                nonce: p("nonce").map(str::to_string),
                code_challenge: challenge.to_string(),
                scope: scope.to_string(),
                expires_at: t + CODE_LIFETIME_SECS,
            },
        );
    }
    redirect(&[("code", &code), ("state", state_param)]).note(format!("user={}", user.id))
}

/// An ID token of the org authorization server for the OIDC app.
pub(crate) fn id_token(state: &State, user: &User, opts: &IdTokenOptions) -> String {
    let iat = now() + opts.issued_at_offset_secs;
    let mut claims = json!({
        "ver": 1,
        "iss": state.okta_base,
        "aud": opts.audience.clone().unwrap_or_else(|| state.cfg.oidc_client_id.clone()),
        "sub": user.id,
        "iat": iat,
        "exp": iat + opts.lifetime_secs,
        "auth_time": iat,
        "jti": format!("ID.{}", random_token(16)),
        "amr": ["pwd"],
        "idp": "00odevstackidp",
        "email": user.login,
        "preferred_username": user.login,
        "name": user.name,
    });
    if let Some(nonce) = &opts.nonce {
        claims["nonce"] = json!(nonce);
    }
    state.org_key.sign(None, &claims)
}

/// An access token of the org authorization server (what the code grant returns beside
/// the ID token; nothing here accepts it).
pub(crate) fn org_access_token(state: &State, user: &User, scope: &str) -> String {
    let iat = now();
    let claims = json!({
        "ver": 1,
        "jti": format!("AT.{}", random_token(16)),
        "iss": state.okta_base,
        "aud": state.okta_base,
        "iat": iat,
        "exp": iat + 3600,
        "cid": state.cfg.oidc_client_id,
        "uid": user.id,
        "scp": scope.split(' ').collect::<Vec<_>>(),
        "sub": user.login,
    });
    state.org_key.sign(None, &claims)
}

pub(crate) fn new_jti(prefix: &str) -> String {
    format!("{prefix}.{}", random_token(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_callback_uris_are_registered() {
        for ok in [
            "http://localhost:8765/callback",
            "http://127.0.0.1:1/callback",
            "http://localhost/callback",
        ] {
            assert!(redirect_uri_allowed(ok), "{ok}");
        }
        for bad in [
            "https://localhost:8765/callback",
            "http://localhost:8765/callback/x",
            "http://localhost:99999/callback",
            "http://localhost.evil.com:80/callback",
            "http://localhost:/callback",
            "http://127.0.0.1:0/callback",
        ] {
            assert!(!redirect_uri_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn repeated_parameters_are_refused_by_name() {
        assert_eq!(parse_params(b"a=1&b=2&a=3"), Err("a".to_string()));
        assert_eq!(parse_params(b"a=1%202").unwrap()["a"], "1 2");
    }
}
