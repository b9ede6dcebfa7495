//! The Okta org and the agent as configured by an operator: the org URL (https, plain
//! http only for a loopback host, parsed here and nowhere else), the two token
//! endpoints, the custom authorization server issuer, the scope and the agent's ids.
//! Every error names the variable to fix.

use reqwest::Url;
use thiserror::Error;

/// OIDC system scopes: Okta strips them from XAA requests (`invalid_scope`), so asking
/// for one is a configuration mistake we refuse before any call.
pub(crate) const SYSTEM_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
    "device_sso",
    "groups",
];

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

pub(crate) fn err(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

/// The Okta side: where the two token endpoints are and who the agent is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OktaConfig {
    /// `https://{OKTA_DOMAIN}` or `OKTA_BASE_URL`, without a trailing slash.
    pub base_url: String,
    /// Leg 1 endpoint, the org authorization server: `{base}/oauth2/v1/token`.
    pub org_token_url: String,
    /// The custom AS issuer, the `audience` of leg 1: `{base}/oauth2/{as}`.
    pub custom_issuer: String,
    /// Leg 2 endpoint: `{base}/oauth2/{as}/v1/token`.
    pub custom_token_url: String,
    /// Org AS keys, for the optional full ID token verification.
    pub org_jwks_url: String,
    pub scope: String,
    pub agent_client_id: String,
    pub agent_key_id: String,
    /// Set to verify ID tokens fully (signature, `iss`, `aud`) before any exchange.
    pub oidc_client_id: Option<String>,
}

impl OktaConfig {
    /// Plain `http` passes parsing only for a loopback host, so the HTTP client may
    /// allow it exactly when the base URL uses it.
    pub fn uses_plain_http(&self) -> bool {
        self.base_url.starts_with("http://")
    }
}

pub fn parse_base_url(raw: &str) -> Result<String, ConfigError> {
    const VAR: &str = "OKTA_BASE_URL";
    let url = parse_secure_url(VAR, raw)?;
    if !matches!(url.path(), "" | "/") {
        return Err(err(
            VAR,
            "must be the bare org URL, without path, query or fragment",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// The one rule for every URL a token goes to or keys come from: https, or plain http
/// to a loopback host.
pub fn is_secure_scheme(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => url.host_str().is_some_and(is_loopback),
        _ => false,
    }
}

/// A configured URL a token may be sent to: [`is_secure_scheme`], a host, and no
/// credentials, query or fragment. Errors name `var` and never quote the value.
pub fn parse_secure_url(var: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|_| err(var, "is not a valid URL (e.g. https://host)"))?;
    url.host_str().ok_or_else(|| err(var, "has no host"))?;
    if !is_secure_scheme(&url) {
        return Err(err(
            var,
            if url.scheme() == "http" {
                "must use https; plain http is allowed only for loopback hosts (127.0.0.1, localhost, [::1])"
            } else {
                "must be an https URL"
            },
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err(var, "must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err(var, "must not have a query or fragment"));
    }
    Ok(url)
}

pub fn parse_domain(domain: &str) -> Result<String, ConfigError> {
    const VAR: &str = "OKTA_DOMAIN";
    let valid = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !valid {
        return Err(err(
            VAR,
            "must be a host name such as example.okta.com (no scheme, path or port); use OKTA_BASE_URL for anything else",
        ));
    }
    Ok(format!("https://{}", domain.to_ascii_lowercase()))
}

pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

pub fn parse_scope(raw: &str) -> Result<String, ConfigError> {
    const VAR: &str = "OKTA_SCOPE";
    let scopes: Vec<&str> = raw.split_whitespace().collect();
    if scopes.is_empty() {
        return Err(err(VAR, "is empty; set a custom scope such as xaa:read"));
    }
    for s in &scopes {
        // RFC 6749 section 3.3 scope-token characters.
        if !s
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err(err(
                VAR,
                "contains a character not allowed in an OAuth scope",
            ));
        }
        if SYSTEM_SCOPES.contains(&s.to_ascii_lowercase().as_str()) {
            return Err(err(
                VAR,
                format!(
                    "must not contain the OIDC system scope `{s}`: Okta strips system scopes in Cross App Access; use a custom scope such as xaa:read"
                ),
            ));
        }
    }
    Ok(scopes.join(" "))
}

pub fn is_okta_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub fn check_token_like(var: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.len() > 2048 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(err(var, "must be printable ASCII without spaces"));
    }
    Ok(())
}

impl OktaConfig {
    /// Build the endpoints from a parsed org URL (see [`org_url_from_lookup`]) and the
    /// custom authorization server id.
    pub fn new(
        base_url: String,
        custom_as: &str,
        scope: String,
        agent_client_id: String,
        agent_key_id: String,
        oidc_client_id: Option<String>,
    ) -> Result<Self, ConfigError> {
        if !is_okta_id(custom_as) {
            return Err(err(
                "OKTA_CUSTOM_AS_ID",
                "must be the custom authorization server id (letters and digits, e.g. aus8abc123 or default)",
            ));
        }
        Ok(OktaConfig {
            org_token_url: format!("{base_url}/oauth2/v1/token"),
            org_jwks_url: format!("{base_url}/oauth2/v1/keys"),
            custom_issuer: format!("{base_url}/oauth2/{custom_as}"),
            custom_token_url: format!("{base_url}/oauth2/{custom_as}/v1/token"),
            base_url,
            scope,
            agent_client_id,
            agent_key_id,
            oidc_client_id,
        })
    }
}

/// The org URL from `OKTA_BASE_URL` (https, or http for a loopback host) or else
/// `OKTA_DOMAIN` (a bare host name, https implied). The one parser of Okta URLs.
pub fn org_url_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let value = |var: &str| {
        get(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    match value("OKTA_BASE_URL") {
        Some(url) => parse_base_url(&url),
        None => match value("OKTA_DOMAIN") {
            Some(domain) => parse_domain(&domain),
            None => Err(err("OKTA_DOMAIN", "is not set")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_recognised_in_every_spelling_and_nothing_else_is() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.9.9.9",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "example.com",
            "10.0.0.1",
            "localhost.evil.com",
            "0.0.0.0",
            "[::2]",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn the_org_url_comes_from_the_base_url_first_then_the_domain() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            org_url_from_lookup(env(&[("OKTA_DOMAIN", "Example.okta.com")])).unwrap(),
            "https://example.okta.com"
        );
        assert_eq!(
            org_url_from_lookup(env(&[
                ("OKTA_DOMAIN", "example.okta.com"),
                ("OKTA_BASE_URL", "http://[::1]:8080/")
            ]))
            .unwrap(),
            "http://[::1]:8080"
        );
        assert_eq!(
            org_url_from_lookup(env(&[("OKTA_BASE_URL", "http://example.com")]))
                .unwrap_err()
                .var,
            "OKTA_BASE_URL"
        );
        assert_eq!(
            org_url_from_lookup(env(&[])).unwrap_err().var,
            "OKTA_DOMAIN"
        );
    }
}
