//! Typed configuration, parsed once at init from the environment. Every error names
//! the variable to fix; nothing here is read again per invocation.

use std::time::Duration;

use xaa::org::{check_token_like, org_url_from_lookup, parse_scope};
pub use xaa::{ConfigError, OktaConfig};

fn err(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub okta: OktaConfig,
    pub secret_id: String,
    pub agent_id: String,
    pub agent_alias_id: String,
    pub region: String,
    pub max_prompt_chars: usize,
    pub http_connect_timeout: Duration,
    pub http_timeout: Duration,
    pub cache_margin: Duration,
    pub cache_max_entries: usize,
    pub key_max_age: Duration,
    /// Kept back from the Lambda deadline so we answer with `Timeout` instead of being killed.
    pub deadline_margin: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Parse from any variable source (the environment in production, a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |var: &'static str| -> Result<String, ConfigError> {
            match get(var).map(|v| v.trim().to_string()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(err(var, "is not set")),
            }
        };
        let optional = |var: &'static str| {
            get(var)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let base_url = org_url_from_lookup(&get)?;
        let custom_as = required("OKTA_CUSTOM_AS_ID")?;
        let scope = parse_scope(&optional("OKTA_SCOPE").unwrap_or_else(|| "xaa:read".into()))?;
        let agent_client_id = required("AGENT_CLIENT_ID")?;
        check_token_like("AGENT_CLIENT_ID", &agent_client_id)?;
        let agent_key_id = required("AGENT_KEY_ID")?;
        check_token_like("AGENT_KEY_ID", &agent_key_id)?;
        let oidc_client_id = optional("OKTA_OIDC_CLIENT_ID");
        if let Some(id) = &oidc_client_id {
            check_token_like("OKTA_OIDC_CLIENT_ID", id)?;
        }
        let secret_id = required("AGENT_PRIVATE_KEY_SECRET_ID")?;
        check_token_like("AGENT_PRIVATE_KEY_SECRET_ID", &secret_id)?;
        let agent_id = required("BEDROCK_AGENT_ID")?;
        check_bedrock_id("BEDROCK_AGENT_ID", &agent_id)?;
        let agent_alias_id = required("BEDROCK_AGENT_ALIAS_ID")?;
        check_bedrock_id("BEDROCK_AGENT_ALIAS_ID", &agent_alias_id)?;
        let region = required("AWS_REGION")?;
        if !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(err("AWS_REGION", "must look like us-east-1"));
        }

        let number =
            |var: &'static str, default: u64, min: u64, max: u64| -> Result<u64, ConfigError> {
                match optional(var) {
                    None => Ok(default),
                    Some(v) => match v.parse::<u64>() {
                        Ok(n) if (min..=max).contains(&n) => Ok(n),
                        _ => Err(err(
                            var,
                            format!("must be a whole number from {min} to {max}"),
                        )),
                    },
                }
            };

        let okta = OktaConfig::new(
            base_url,
            &custom_as,
            scope,
            agent_client_id,
            agent_key_id,
            oidc_client_id,
        )?;
        Ok(Config {
            okta,
            secret_id,
            agent_id,
            agent_alias_id,
            region,
            // Bedrock's InvokeAgent caps inputText at 25,000 characters.
            max_prompt_chars: number("MAX_PROMPT_CHARS", 25_000, 1, 25_000)? as usize,
            http_connect_timeout: Duration::from_millis(number(
                "HTTP_CONNECT_TIMEOUT_MS",
                3_000,
                100,
                30_000,
            )?),
            http_timeout: Duration::from_millis(number("HTTP_TIMEOUT_MS", 10_000, 500, 120_000)?),
            cache_margin: Duration::from_secs(number("TOKEN_CACHE_MARGIN_SECONDS", 60, 0, 3_000)?),
            cache_max_entries: number("TOKEN_CACHE_MAX_ENTRIES", 10_000, 1, 1_000_000)? as usize,
            key_max_age: Duration::from_secs(number("KEY_MAX_AGE_SECONDS", 3_600, 60, 604_800)?),
            deadline_margin: Duration::from_millis(number("DEADLINE_MARGIN_MS", 500, 50, 10_000)?),
        })
    }
}

fn check_bedrock_id(var: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(err(
            var,
            "must be 1 to 10 letters or digits (as shown in the Bedrock console)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, String> {
        [
            ("OKTA_DOMAIN", "example.okta.com"),
            ("OKTA_CUSTOM_AS_ID", "aus8abc123"),
            ("AGENT_CLIENT_ID", "wlp8agent"),
            ("AGENT_KEY_ID", "key-1"),
            ("AGENT_PRIVATE_KEY_SECRET_ID", "xaa/agent-key"),
            ("BEDROCK_AGENT_ID", "AGENT12345"),
            ("BEDROCK_AGENT_ALIAS_ID", "TSTALIASID"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect()
    }

    fn parse(env: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| env.get(k).cloned())
    }

    fn parse_with(var: &'static str, value: &str) -> Result<Config, ConfigError> {
        let mut env = base();
        env.insert(var, value.to_string());
        parse(&env)
    }

    #[test]
    fn okta_domain_gives_both_token_urls_and_the_custom_issuer() {
        let cfg = parse(&base()).unwrap();
        assert_eq!(
            cfg.okta.org_token_url,
            "https://example.okta.com/oauth2/v1/token"
        );
        assert_eq!(
            cfg.okta.custom_issuer,
            "https://example.okta.com/oauth2/aus8abc123"
        );
        assert_eq!(
            cfg.okta.custom_token_url,
            "https://example.okta.com/oauth2/aus8abc123/v1/token"
        );
        assert_eq!(cfg.okta.scope, "xaa:read");
        assert_eq!(cfg.max_prompt_chars, 25_000);
    }

    #[test]
    fn every_missing_required_variable_is_named() {
        for var in [
            "OKTA_DOMAIN",
            "OKTA_CUSTOM_AS_ID",
            "AGENT_CLIENT_ID",
            "AGENT_KEY_ID",
            "AGENT_PRIVATE_KEY_SECRET_ID",
            "BEDROCK_AGENT_ID",
            "BEDROCK_AGENT_ALIAS_ID",
            "AWS_REGION",
        ] {
            let mut env = base();
            env.remove(var);
            let e = parse(&env).unwrap_err();
            assert_eq!(e.var, var);
            assert_eq!(e.to_string(), format!("{var}: is not set"));
        }
    }

    #[test]
    fn system_scopes_are_refused_at_init() {
        for scope in [
            "openid",
            "xaa:read profile",
            "EMAIL",
            "offline_access xaa:read",
        ] {
            let e = parse_with("OKTA_SCOPE", scope).unwrap_err();
            assert_eq!(e.var, "OKTA_SCOPE");
            assert!(e.reason.contains("system scope"), "{e}");
        }
        assert_eq!(
            parse_with("OKTA_SCOPE", " xaa:read  xaa:write ")
                .unwrap()
                .okta
                .scope,
            "xaa:read xaa:write"
        );
    }

    #[test]
    fn plain_http_is_allowed_for_loopback_only() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1/",
            "http://[::1]:9",
            "https://x.okta.com",
        ] {
            let okta = parse_with("OKTA_BASE_URL", ok).expect(ok).okta;
            assert_eq!(okta.uses_plain_http(), ok.starts_with("http:"), "{ok}");
        }
        assert!(!parse_with("OKTA_DOMAIN", "x.okta.com")
            .unwrap()
            .okta
            .uses_plain_http());
        assert_eq!(
            parse_with("OKTA_BASE_URL", "http://127.0.0.1:8080/")
                .unwrap()
                .okta
                .org_token_url,
            "http://127.0.0.1:8080/oauth2/v1/token"
        );
        for bad in [
            "http://example.okta.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "https://x.okta.com/oauth2",
            "https://user:pw@x.okta.com",
            "not a url",
        ] {
            assert_eq!(
                parse_with("OKTA_BASE_URL", bad).unwrap_err().var,
                "OKTA_BASE_URL",
                "{bad}"
            );
        }
    }

    #[test]
    fn malformed_values_are_refused_with_the_variable_name() {
        for (var, value) in [
            ("BEDROCK_AGENT_ID", "AGENT-1234"),
            ("BEDROCK_AGENT_ID", "ABCDEFGHIJK"),
            ("BEDROCK_AGENT_ALIAS_ID", ""),
            ("OKTA_DOMAIN", "https://example.okta.com"),
            ("OKTA_DOMAIN", "example.okta.com/path"),
            ("OKTA_CUSTOM_AS_ID", "aus/../x"),
            ("AGENT_KEY_ID", "has space"),
            ("AWS_REGION", "US EAST"),
            ("MAX_PROMPT_CHARS", "0"),
            ("TOKEN_CACHE_MAX_ENTRIES", "lots"),
        ] {
            let mut env = base();
            env.insert(var, value.to_string());
            if value.is_empty() {
                env.remove(var);
            }
            assert_eq!(parse(&env).unwrap_err().var, var, "{var}={value}");
        }
    }
}
