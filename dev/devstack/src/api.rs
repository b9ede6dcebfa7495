//! The Okta-protected API: a resource server that trusts the custom authorization server.
//!
//! `GET /me` (the person: id, login, name), `GET /tickets` (their tickets only) and
//! `GET /tickets/{id}` (one of theirs; another person's ticket answers 404 exactly like a
//! ticket that does not exist, so ids do not leak). The person is the token's `uid`.
//!
//! Every request needs `Authorization: Bearer <access token>`, checked with devstack's own
//! knowledge of the custom authorization server's key (deliberately not with the `verify`
//! crate, so the two check each other): RS256 with the server's `kid` only (no `jku`,
//! `x5u`, `jwk` headers), the signature, `iss` exact, `aud` = [`ACCESS_TOKEN_AUDIENCE`]
//! (string or array), `exp` in the future, `nbf` not ahead, a known `uid`. Failures answer
//! 401 with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750); a missing header
//! 401 with a bare `Bearer realm` challenge; `scp` without the API's scope (the first of
//! [`Config::scopes`](crate::Config::scopes)) 403 `error="insufficient_scope"`.
//!
//! Tickets are derived from the user list, so they need no storage: user number `n`
//! (1-based) owns `TCK-n001`, `TCK-n002` and, for even `n`, `TCK-n003`.

use std::sync::Arc;

use hyper::header::{HeaderName, AUTHORIZATION};
use hyper::Method;
use serde_json::{json, Value};

use crate::keys::RsaKey;
use crate::server::{Reply, Req};
use crate::{now, State, User, ACCESS_TOKEN_AUDIENCE};

/// Access tokens above this size are refused before any parsing.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Clock skew allowed for `nbf` only; `exp` is checked strictly, as the stand-in and its
/// clients share one clock.
const NBF_LEEWAY_SECS: i64 = 60;
const REALM: &str = "devstack-api";
const TITLES: [&str; 6] = [
    "Laptop does not boot",
    "Access to the billing dashboard",
    "VPN drops every hour",
    "New monitor for the home office",
    "Password reset loop",
    "Printer on floor 3 is offline",
];

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 401 `invalid_token`, with a description that names the check (never token content).
    Invalid(&'static str),
    /// 403 `insufficient_scope`.
    Scope,
}

/// What [`check`] compares a token against.
pub(crate) struct Expect<'a> {
    pub key: &'a RsaKey,
    pub issuer: &'a str,
    pub audience: &'a str,
    pub scope: &'a str,
    pub now: i64,
}

/// The `uid` of a valid access token.
pub(crate) fn check(token: &str, expect: &Expect<'_>) -> Result<String, Refusal> {
    use Refusal::Invalid;
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Invalid("The access token is too large."));
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| Invalid("Not a JWT."))?;
    if header.alg != jsonwebtoken::Algorithm::RS256 {
        return Err(Invalid("The token must be signed with RS256."));
    }
    if header.jku.is_some() || header.x5u.is_some() || header.jwk.is_some() {
        return Err(Invalid(
            "Key-carrying headers (jku, x5u, jwk) are not accepted.",
        ));
    }
    if header.kid.as_deref() != Some(expect.key.kid.as_str()) {
        return Err(Invalid("The token was not signed by a key of the issuer."));
    }
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Value>(token, &expect.key.decoding, &validation)
        .map_err(|_| Invalid("The token signature is invalid."))?
        .claims;
    if claims["iss"].as_str() != Some(expect.issuer) {
        return Err(Invalid(
            "The token was issued by another authorization server.",
        ));
    }
    let audience_ok = match &claims["aud"] {
        Value::String(aud) => aud == expect.audience,
        Value::Array(auds) => auds.iter().any(|a| a.as_str() == Some(expect.audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(Invalid("The token is not meant for this API (aud)."));
    }
    match claims["exp"].as_i64() {
        Some(exp) if exp > expect.now => {}
        Some(_) => return Err(Invalid("The access token is expired.")),
        None => return Err(Invalid("The token has no exp.")),
    }
    if claims["nbf"]
        .as_i64()
        .is_some_and(|nbf| nbf > expect.now.saturating_add(NBF_LEEWAY_SECS))
    {
        return Err(Invalid("The token is not valid yet (nbf)."));
    }
    let Some(uid) = claims["uid"].as_str().filter(|u| !u.is_empty()) else {
        return Err(Invalid("The token names no person (uid)."));
    };
    let scoped = claims["scp"]
        .as_array()
        .is_some_and(|scp| scp.iter().any(|s| s.as_str() == Some(expect.scope)));
    if !scoped {
        return Err(Refusal::Scope);
    }
    Ok(uid.to_string())
}

fn quoted(value: &str) -> String {
    value.replace(['"', '\\'], "")
}

fn refuse(refusal: Refusal, scope: &str) -> Reply {
    let (status, challenge, code, description) = match refusal {
        Refusal::Invalid(why) => (
            401,
            format!(
                "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{}\"",
                quoted(why)
            ),
            "invalid_token",
            why,
        ),
        Refusal::Scope => (
            403,
            format!(
                "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{}\"",
                quoted(scope)
            ),
            "insufficient_scope",
            "The access token lacks the scope this API requires.",
        ),
    };
    Reply::json(
        status,
        &json!({"error": code, "error_description": description}),
    )
    .header(hyper::header::WWW_AUTHENTICATE, challenge)
    .note(format!("error={code}"))
}

fn not_found() -> Reply {
    Reply::json(
        404,
        &json!({"error": "not_found", "error_description": "No such resource."}),
    )
}

/// The tickets of user number `index` (0-based in the user list).
pub(crate) fn tickets_of(index: usize, user: &User) -> Vec<Value> {
    let n = index.saturating_add(1);
    let count = if n.is_multiple_of(2) { 3 } else { 2 };
    (1..=count)
        .map(|k| {
            let title = TITLES[(index.wrapping_mul(3).wrapping_add(k)) % TITLES.len()];
            let status = if k == 1 { "open" } else { "in_progress" };
            json!({"id": format!("TCK-{n}{k:03}"), "title": title, "status": status, "owner": user.id})
        })
        .collect()
}

fn bearer(req: &Req) -> Option<&str> {
    let value = req.header(AUTHORIZATION.as_str())?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

pub(crate) fn too_large() -> Reply {
    Reply::json(
        413,
        &json!({"error": "too_large", "error_description": "The request body is too large."}),
    )
}

pub(crate) async fn handle(state: Arc<State>, req: Req) -> Reply {
    state.lock().stats.api_requests += 1;
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let ticket_id = match segments[..] {
        ["me"] | ["tickets"] => None,
        ["tickets", id] if !id.is_empty() => Some(id),
        _ => return not_found(),
    };
    if req.method != Method::GET {
        return Reply::json(
            405,
            &json!({"error": "method_not_allowed", "error_description": "This API takes GET."}),
        )
        .header(hyper::header::ALLOW, "GET");
    }
    let scope = state.cfg.scopes.first().map(String::as_str).unwrap_or("");
    let Some(token) = bearer(&req) else {
        state.lock().stats.api_refusals += 1;
        return Reply::json(
            401,
            &json!({"error": "unauthorized", "error_description": "Send Authorization: Bearer <access token>."}),
        )
        .header(
            hyper::header::WWW_AUTHENTICATE,
            format!("Bearer realm=\"{REALM}\""),
        )
        .note("error=no_token");
    };
    let expect = Expect {
        key: &state.custom_key,
        issuer: &state.custom_issuer,
        audience: ACCESS_TOKEN_AUDIENCE,
        scope,
        now: now(),
    };
    let checked = check(token, &expect).and_then(|uid| {
        state
            .cfg
            .users
            .iter()
            .position(|u| u.id == uid)
            .ok_or(Refusal::Invalid(
                "The token's person is not a user of this org.",
            ))
    });
    let index = match checked {
        Ok(index) => index,
        Err(refusal) => {
            state.lock().stats.api_refusals += 1;
            return refuse(refusal, scope);
        }
    };
    let user = &state.cfg.users[index];
    let reply = match (segments[0], ticket_id) {
        ("me", _) => Reply::json(
            200,
            &json!({"id": user.id, "login": user.login, "name": user.name}),
        ),
        (_, None) => Reply::json(200, &json!({"tickets": tickets_of(index, user)})),
        (_, Some(id)) => match tickets_of(index, user).into_iter().find(|t| t["id"] == id) {
            Some(ticket) => Reply::json(200, &ticket),
            None => not_found(),
        },
    };
    state.lock().stats.api_answers += 1;
    reply
        .header(HeaderName::from_static("cache-control"), "no-store")
        .note(format!("user={}", user.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "http://127.0.0.1:1/oauth2/aus1";

    fn claims(now: i64) -> Value {
        json!({"iss": ISS, "aud": ACCESS_TOKEN_AUDIENCE, "iat": now, "exp": now + 60,
               "uid": "00u1", "cid": "wlp1", "scp": ["xaa:read"], "jti": "AT.1"})
    }

    fn run(key: &RsaKey, token: &str, now: i64) -> Result<String, Refusal> {
        let expect = Expect {
            key,
            issuer: ISS,
            audience: ACCESS_TOKEN_AUDIENCE,
            scope: "xaa:read",
            now,
        };
        check(token, &expect)
    }

    #[test]
    fn each_claim_is_checked() {
        let key = RsaKey::generate("k1").unwrap();
        let other = RsaKey::generate("k1").unwrap();
        let t = 1_000_000;
        assert_eq!(run(&key, &key.sign(None, &claims(t)), t), Ok("00u1".into()));
        let mut array_aud = claims(t);
        array_aud["aud"] = json!(["x", ACCESS_TOKEN_AUDIENCE]);
        assert!(run(&key, &key.sign(None, &array_aud), t).is_ok());
        let edits: [(&str, Value); 6] = [
            ("iss", json!("http://127.0.0.1:1/oauth2/default")),
            ("aud", json!("api://default")),
            ("exp", json!(t)),
            ("nbf", json!(t + 61)),
            ("uid", json!(null)),
            ("exp", json!(null)),
        ];
        for (name, value) in edits {
            let mut c = claims(t);
            c[name] = value;
            let got = run(&key, &key.sign(None, &c), t);
            assert!(matches!(got, Err(Refusal::Invalid(_))), "{name}: {got:?}");
        }
        let mut c = claims(t);
        c["scp"] = json!(["xaa:write"]);
        assert_eq!(run(&key, &key.sign(None, &c), t), Err(Refusal::Scope));
        // Same kid, another key: the signature decides.
        let forged = other.sign(None, &claims(t));
        assert_eq!(
            run(&key, &forged, t),
            Err(Refusal::Invalid("The token signature is invalid."))
        );
        assert!(run(&key, "a.b.c", t).is_err());
        assert!(run(&key, &"a".repeat(MAX_TOKEN_BYTES + 1), t).is_err());
    }

    #[test]
    fn tickets_differ_per_person() {
        let (a, b) = (User::new("00ua", "a@x", "A"), User::new("00ub", "b@x", "B"));
        let ids = |v: Vec<Value>| -> Vec<String> {
            v.iter()
                .map(|t| t["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(ids(tickets_of(0, &a)), ["TCK-1001", "TCK-1002"]);
        assert_eq!(ids(tickets_of(1, &b)), ["TCK-2001", "TCK-2002", "TCK-2003"]);
    }
}
