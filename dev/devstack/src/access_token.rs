//! The access tokens of the custom authorization server: the claims the JWT bearer grant
//! (leg 2) issues, built in one place for the grant and for
//! [`Devstack::mint_access_token`](crate::Devstack::mint_access_token), which tests use to
//! get a token of any shape (expired, another audience, another client, fewer scopes, the
//! AGBAC shape) without running the two legs.

use serde_json::{json, Value};

use crate::okta::new_jti;
use crate::token::ACCESS_TOKEN_LIFETIME_SECS;
use crate::{now, State, User, ACCESS_TOKEN_AUDIENCE};

/// How [`Devstack::mint_access_token`](crate::Devstack::mint_access_token) shapes the
/// token. `Default` = what the JWT bearer grant issues to the AI agent for the
/// configured scopes.
#[derive(Debug, Clone)]
pub struct AccessTokenOptions {
    /// `scp`; `None` = [`Config::scopes`](crate::Config::scopes).
    pub scopes: Option<Vec<String>>,
    /// `exp - iat`; negative = already expired. Default 3600, as the grant.
    pub lifetime_secs: i64,
    /// Added to now for `iat` (and so for `exp`). Default 0.
    pub issued_at_offset_secs: i64,
    /// `cid`; `None` = the AI agent's client id.
    pub client_id: Option<String>,
    /// `aud`; `None` = [`ACCESS_TOKEN_AUDIENCE`].
    pub audience: Option<String>,
    /// The shape of Okta's AGBAC (dual subject) guide: `sub` = the client id, the person
    /// in `act` (`sub` = user id, with email and name as the guide's assertion carries
    /// them), no `uid`. Default false (the Cross App Access shape: `uid` + `sub` = login).
    pub agbac: bool,
}

impl Default for AccessTokenOptions {
    fn default() -> Self {
        AccessTokenOptions {
            scopes: None,
            lifetime_secs: ACCESS_TOKEN_LIFETIME_SECS,
            issued_at_offset_secs: 0,
            client_id: None,
            audience: None,
            agbac: false,
        }
    }
}

/// The claims every access token of the custom authorization server carries, before
/// its subject (`sub`, `uid`) is set: what the grant and the minting helper share.
pub(crate) fn base_claims(
    state: &State,
    client: &str,
    scopes: &[&str],
    audience: &str,
    issued_at: i64,
    lifetime_secs: i64,
) -> Value {
    json!({
        "ver": 1,
        "jti": new_jti("AT"),
        "iss": state.custom_issuer,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at.saturating_add(lifetime_secs),
        "cid": client,
        "scp": scopes,
    })
}

/// A signed access token for `user`, shaped by `opts`.
pub(crate) fn mint(state: &State, user: &User, opts: &AccessTokenOptions) -> String {
    let client = opts
        .client_id
        .as_deref()
        .unwrap_or(&state.cfg.agent_client_id);
    let scopes: Vec<&str> = match &opts.scopes {
        Some(scopes) => scopes.iter().map(String::as_str).collect(),
        None => state.cfg.scopes.iter().map(String::as_str).collect(),
    };
    let mut claims = base_claims(
        state,
        client,
        &scopes,
        opts.audience.as_deref().unwrap_or(ACCESS_TOKEN_AUDIENCE),
        now().saturating_add(opts.issued_at_offset_secs),
        opts.lifetime_secs,
    );
    if opts.agbac {
        claims["sub"] = json!(client);
        claims["act"] = json!({"sub": user.id, "email": user.login, "name": user.name});
    } else {
        claims["uid"] = json!(user.id);
        claims["sub"] = json!(user.login);
    }
    state.custom_key.sign(None, &claims)
}
