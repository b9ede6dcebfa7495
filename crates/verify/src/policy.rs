//! What an access token must say to pass: the issuer, the audience, the agents allowed,
//! the scopes required, where the two subjects are, and the clock leeway. Checked once,
//! when built; every error names the field to fix.

use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

/// Okta's default audience for a custom authorization server.
pub const DEFAULT_AUDIENCE: &str = "api://default";
/// Clock skew allowed on `exp`, `nbf` and `iat` unless configured.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// The most leeway accepted (what Okta's own verifiers allow).
pub const MAX_LEEWAY: Duration = Duration::from_secs(120);

/// Where a token names the agent and the person it acts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Subjects {
    /// Okta Cross App Access: agent = `cid`, person = `uid` (`sub` is the login).
    #[default]
    Xaa,
    /// The AGBAC dual-subject model (client credentials, `act` mapped from the client
    /// assertion): agent = `sub` (equal to `cid` when present), person = `act.sub`.
    Agbac,
}

impl FromStr for Subjects {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, PolicyError> {
        match s.trim() {
            "xaa" => Ok(Subjects::Xaa),
            "agbac" => Ok(Subjects::Agbac),
            _ => Err(PolicyError::Subjects),
        }
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PolicyError {
    #[error("issuer must be an https URL without query, fragment or credentials (plain http only for loopback), e.g. https://example.okta.com/oauth2/default")]
    Issuer,
    #[error("audience must not be empty (Okta's default is api://default)")]
    Audience,
    #[error(
        "allowed_clients must name at least one agent client id, each non-empty and without spaces"
    )]
    AllowedClients,
    #[error("required_scopes: each scope must be non-empty and without spaces")]
    RequiredScopes,
    #[error("subjects must be `xaa` (agent in cid, person in uid) or `agbac` (agent in sub, person in act.sub)")]
    Subjects,
    #[error("leeway must be at most 120 s")]
    Leeway,
}

/// The checks an access token must pass; build it with [`AccessPolicy::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessPolicy {
    /// Exact `iss`.
    pub issuer: String,
    /// Must be `aud` or a member of it.
    pub audience: String,
    /// The agents allowed; must be non-empty.
    pub allowed_clients: Vec<String>,
    /// Every one must be in `scp`.
    pub required_scopes: Vec<String>,
    pub subjects: Subjects,
    /// At most [`MAX_LEEWAY`].
    pub leeway: Duration,
}

fn is_plain_value(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl AccessPolicy {
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        allowed_clients: Vec<String>,
        required_scopes: Vec<String>,
        subjects: Subjects,
        leeway: Duration,
    ) -> Result<Self, PolicyError> {
        let issuer = issuer.into();
        check_issuer(&issuer)?;
        let audience = audience.into();
        if !is_plain_value(&audience) {
            return Err(PolicyError::Audience);
        }
        if allowed_clients.is_empty() || !allowed_clients.iter().all(|c| is_plain_value(c)) {
            return Err(PolicyError::AllowedClients);
        }
        if !required_scopes.iter().all(|s| is_plain_value(s)) {
            return Err(PolicyError::RequiredScopes);
        }
        if leeway > MAX_LEEWAY {
            return Err(PolicyError::Leeway);
        }
        Ok(AccessPolicy {
            issuer,
            audience,
            allowed_clients,
            required_scopes,
            subjects,
            leeway,
        })
    }
}

/// An issuer we may fetch keys for: https (plain http only on loopback), a host, no
/// credentials, query or fragment.
pub(crate) fn check_issuer(issuer: &str) -> Result<reqwest::Url, PolicyError> {
    xaa::org::parse_secure_url("issuer", issuer).map_err(|_| PolicyError::Issuer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(issuer: &str, clients: &[&str], leeway: u64) -> Result<AccessPolicy, PolicyError> {
        AccessPolicy::new(
            issuer,
            DEFAULT_AUDIENCE,
            clients.iter().map(|c| c.to_string()).collect(),
            vec!["xaa:read".into()],
            Subjects::Xaa,
            Duration::from_secs(leeway),
        )
    }

    #[test]
    fn every_field_is_checked() {
        let ok = "https://example.okta.com/oauth2/default";
        assert!(policy(ok, &["0oaagent"], 120).is_ok());
        assert!(policy("http://127.0.0.1:8080/oauth2/default", &["a"], 0).is_ok());
        assert_eq!(policy(ok, &["a"], 121), Err(PolicyError::Leeway));
        assert_eq!(policy(ok, &[], 60), Err(PolicyError::AllowedClients));
        assert_eq!(policy(ok, &[""], 60), Err(PolicyError::AllowedClients));
        for bad in [
            "http://example.okta.com/oauth2/default",
            "example.okta.com",
            "https://u:p@example.okta.com",
            "https://example.okta.com/?x=1",
            "ftp://example.okta.com",
        ] {
            assert_eq!(policy(bad, &["a"], 60), Err(PolicyError::Issuer), "{bad}");
        }
        let no_aud = AccessPolicy::new(
            ok,
            " ",
            vec!["a".into()],
            vec![],
            Subjects::Xaa,
            DEFAULT_LEEWAY,
        );
        assert_eq!(no_aud, Err(PolicyError::Audience));
    }

    #[test]
    fn subjects_parse_from_their_names_only() {
        assert_eq!("xaa".parse(), Ok(Subjects::Xaa));
        assert_eq!("agbac".parse(), Ok(Subjects::Agbac));
        assert_eq!("AGBAC".parse::<Subjects>(), Err(PolicyError::Subjects));
        assert!(PolicyError::Subjects.to_string().contains("agbac"));
    }
}
