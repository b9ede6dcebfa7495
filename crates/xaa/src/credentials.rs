//! What an AI agent can ask the org authorization server for (a [`Resource`], with a
//! [`SubjectToken`] of a [`SubjectTokenType`]) and what it gets back (a [`Credential`]).
//!
//! Requests are validated when built, so a bad flag or variable is a [`ConfigError`]
//! naming it, before any call. Every secret value in a result is a redacted, zeroized
//! newtype: `Debug` shows field names and lifetimes, never values.

use std::collections::BTreeMap;

use reqwest::Url;

use crate::org::{check_token_like, err, ConfigError, SYSTEM_SCOPES};
use crate::rejection::Leg;
use crate::sensitive::{AccessToken, IdJag, SecretValue, SubjectToken};

pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const VAULTED_SECRET_TOKEN_TYPE: &str = "urn:okta:params:oauth:token-type:vaulted-secret";
pub const SERVICE_ACCOUNT_TOKEN_TYPE: &str = "urn:okta:params:oauth:token-type:service-account";
pub const OAUTH_STS_TOKEN_TYPE: &str = "urn:okta:params:oauth:token-type:oauth-sts";
/// `token_type_hint` of a third-party token at the revocation endpoint.
pub const OAUTH_STS_HINT: &str = "oauth_sts";

/// What the subject token is: the person's ID token (user access) or an access token
/// of a custom authorization server targeting the agent's resource (machine access).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectTokenType {
    IdToken,
    AccessToken,
}

impl SubjectTokenType {
    pub fn urn(self) -> &'static str {
        match self {
            SubjectTokenType::IdToken => ID_TOKEN_TYPE,
            SubjectTokenType::AccessToken => ACCESS_TOKEN_TYPE,
        }
    }

    /// `id_token`, `access_token`, or the full URN of either.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        match raw {
            "id_token" | ID_TOKEN_TYPE => Ok(SubjectTokenType::IdToken),
            "access_token" | ACCESS_TOKEN_TYPE => Ok(SubjectTokenType::AccessToken),
            _ => Err(err(
                "subject_token_type",
                "must be id_token (user access) or access_token (machine access)",
            )),
        }
    }
}

/// The most bytes of a subject token accepted (Okta's ID tokens are a few KiB).
pub const MAX_SUBJECT_TOKEN_BYTES: usize = 16 * 1024;

/// The subject of a token exchange, checked to look like a token (printable, no spaces).
#[derive(Debug, Clone)]
pub struct Subject {
    pub token: SubjectToken,
    pub kind: SubjectTokenType,
}

impl Subject {
    pub fn new(token: SubjectToken, kind: SubjectTokenType) -> Result<Self, ConfigError> {
        let ok = !token.is_empty()
            && token.len() <= MAX_SUBJECT_TOKEN_BYTES
            && token.expose().bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(err(
                "subject_token",
                "must be one token of printable ASCII without spaces, at most 16 KiB",
            ));
        }
        Ok(Subject { token, kind })
    }
}

/// What to ask the org authorization server for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// An ID-JAG for a custom authorization server: its issuer, and a custom scope.
    IdJag { audience: String, scope: String },
    /// A secret vaulted in Okta Privileged Access (`orn:okta:pam:{org}:secrets:{id}`).
    VaultedSecret { resource: String },
    /// A service account's username and password (`orn:okta:pam:...:service_accounts:{id}`).
    ServiceAccount { resource: String },
    /// A third-party access token brokered by Okta, for the connection's resource
    /// indicator; may need the person's consent first.
    OAuthSts {
        resource: String,
        scope: Option<String>,
    },
}

/// A resource indicator exactly as configured on the agent's managed connection.
fn resource(raw: &str) -> Result<String, ConfigError> {
    if raw.is_empty() {
        return Err(err(
            "resource",
            "is empty; pass the resource of the agent's managed connection",
        ));
    }
    check_token_like("resource", raw)?;
    Ok(raw.to_string())
}

/// A space-separated list of custom scopes; OIDC system scopes are refused.
pub fn parse_scope_list(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    let scopes: Vec<&str> = raw.split_whitespace().collect();
    if scopes.is_empty() || raw.len() > 1024 {
        return Err(err(
            var,
            "must list one or more custom scopes (at most 1 KiB)",
        ));
    }
    for s in &scopes {
        if !s
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err(err(
                var,
                "contains a character not allowed in an OAuth scope",
            ));
        }
        if SYSTEM_SCOPES.contains(&s.to_ascii_lowercase().as_str()) {
            return Err(err(
                var,
                format!("must not contain the OIDC system scope `{s}`; use a custom scope"),
            ));
        }
    }
    Ok(scopes.join(" "))
}

impl Resource {
    /// `audience` is the custom authorization server's issuer URL (https, or http on loopback).
    pub fn id_jag(audience: &str, scope: &str) -> Result<Self, ConfigError> {
        let url = Url::parse(audience).map_err(|_| {
            err(
                "audience",
                "must be the custom authorization server's issuer URL",
            )
        })?;
        if !crate::org::is_secure_scheme(&url) || audience.len() > 2048 || url.query().is_some() {
            return Err(err(
                "audience",
                "must be an https issuer URL such as https://example.okta.com/oauth2/aus1",
            ));
        }
        Ok(Resource::IdJag {
            audience: audience.to_string(),
            scope: parse_scope_list("scope", scope)?,
        })
    }

    pub fn vaulted_secret(raw: &str) -> Result<Self, ConfigError> {
        Ok(Resource::VaultedSecret {
            resource: resource(raw)?,
        })
    }

    pub fn service_account(raw: &str) -> Result<Self, ConfigError> {
        Ok(Resource::ServiceAccount {
            resource: resource(raw)?,
        })
    }

    pub fn oauth_sts(raw: &str, scope: Option<&str>) -> Result<Self, ConfigError> {
        Ok(Resource::OAuthSts {
            resource: resource(raw)?,
            scope: scope.map(|s| parse_scope_list("scope", s)).transpose()?,
        })
    }

    /// The `requested_token_type`, which the answer's `issued_token_type` must repeat.
    pub fn requested_token_type(&self) -> &'static str {
        match self {
            Resource::IdJag { .. } => crate::response::ID_JAG_TOKEN_TYPE,
            Resource::VaultedSecret { .. } => VAULTED_SECRET_TOKEN_TYPE,
            Resource::ServiceAccount { .. } => SERVICE_ACCOUNT_TOKEN_TYPE,
            Resource::OAuthSts { .. } => OAUTH_STS_TOKEN_TYPE,
        }
    }

    pub fn leg(&self) -> Leg {
        match self {
            Resource::IdJag { .. } => Leg::TokenExchange,
            Resource::VaultedSecret { .. } => Leg::VaultedSecret,
            Resource::ServiceAccount { .. } => Leg::ServiceAccount,
            Resource::OAuthSts { .. } => Leg::OAuthSts,
        }
    }

    /// The parameters after `subject_token_type`, in the order they are sent.
    pub(crate) fn params(&self) -> Vec<(&'static str, &str)> {
        match self {
            Resource::IdJag { audience, scope } => vec![("audience", audience), ("scope", scope)],
            Resource::VaultedSecret { resource } | Resource::ServiceAccount { resource } => {
                vec![("resource", resource)]
            }
            Resource::OAuthSts { resource, scope } => {
                let mut p = vec![("resource", resource.as_str())];
                if let Some(scope) = scope {
                    p.push(("scope", scope));
                }
                p
            }
        }
    }
}

/// A secret's values by name. `Debug` lists the names only.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretMap(pub(crate) BTreeMap<String, SecretValue>);

impl SecretMap {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn get(&self, name: &str) -> Option<&SecretValue> {
        self.0.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &SecretValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecretMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

/// The secret part of a [`Credential`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    IdJag(IdJag),
    /// A third-party token, or the token of the client credentials grant.
    AccessToken(AccessToken),
    VaultedSecret(SecretMap),
    ServiceAccount {
        username: SecretValue,
        password: SecretValue,
    },
}

impl Secret {
    /// A short stable name: `id-jag`, `access-token`, `vaulted-secret`, `service-account`.
    pub fn kind(&self) -> &'static str {
        match self {
            Secret::IdJag(_) => "id-jag",
            Secret::AccessToken(_) => "access-token",
            Secret::VaultedSecret(_) => "vaulted-secret",
            Secret::ServiceAccount { .. } => "service-account",
        }
    }

    /// The names of the secret's values (never the values).
    pub fn field_names(&self) -> Vec<&str> {
        match self {
            Secret::IdJag(_) | Secret::AccessToken(_) => vec!["access_token"],
            Secret::VaultedSecret(map) => map.names().collect(),
            Secret::ServiceAccount { .. } => vec!["username", "password"],
        }
    }
}

/// A credential as issued, with what Okta said about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub secret: Secret,
    /// The `issued_token_type` (checked to be the one requested), when the grant has one.
    pub issued_token_type: Option<&'static str>,
    /// When it stops being usable (unix seconds), if known. Never cached past this.
    pub expires_at: Option<u64>,
    pub scope: Option<String>,
}
