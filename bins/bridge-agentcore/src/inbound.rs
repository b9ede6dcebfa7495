//! Optional inbound check for hosts without AgentCore's JWT authorizer, with the
//! semantics of AgentCore's `customJWTAuthorizer`: the issuer and keys come from the
//! discovery document, the signature (RS256 only) and `exp`/`nbf` are verified, `aud`
//! must hold one of `INBOUND_ALLOWED_AUDIENCE` and `client_id` must be one of
//! `INBOUND_ALLOWED_CLIENTS` (each check only when configured). A refusal happens
//! before any Okta call.
//!
//! Keys are cached; an unknown `kid` refetches the discovery document and JWKS at most
//! once per 30 s, the attempt counted before the request so a failing issuer cannot be
//! hammered either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use xaa::{ReqwestTransport, TokenTransport};

const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A bearer token far larger than any JWT an IdP issues is refused unparsed.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

pub struct InboundConfig {
    pub discovery_url: String,
    pub allowed_audience: Vec<String>,
    pub allowed_clients: Vec<String>,
}

impl InboundConfig {
    /// `None` when `INBOUND_JWT_DISCOVERY_URL` is unset; an error names the variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let list = |var: &str| -> Vec<String> {
            get(var)
                .unwrap_or_default()
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let Some(url) = get("INBOUND_JWT_DISCOVERY_URL").filter(|v| !v.trim().is_empty()) else {
            if get("INBOUND_ALLOWED_AUDIENCE").is_some() || get("INBOUND_ALLOWED_CLIENTS").is_some()
            {
                return Err("INBOUND_JWT_DISCOVERY_URL: is not set, but INBOUND_ALLOWED_AUDIENCE or INBOUND_ALLOWED_CLIENTS is; set the discovery URL or remove them".into());
            }
            return Ok(None);
        };
        let url = url.trim().to_string();
        if !(url.ends_with("/.well-known/openid-configuration")
            || url.ends_with("/.well-known/oauth-authorization-server"))
        {
            return Err("INBOUND_JWT_DISCOVERY_URL: must end in /.well-known/openid-configuration or /.well-known/oauth-authorization-server".into());
        }
        let parsed = reqwest::Url::parse(&url)
            .map_err(|_| "INBOUND_JWT_DISCOVERY_URL: is not a valid URL".to_string())?;
        let loopback = parsed.host_str().is_some_and(xaa::org::is_loopback);
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err(
                "INBOUND_JWT_DISCOVERY_URL: must use https (plain http only for loopback hosts)"
                    .into(),
            ),
        }
        let config = InboundConfig {
            discovery_url: url,
            allowed_audience: list("INBOUND_ALLOWED_AUDIENCE"),
            allowed_clients: list("INBOUND_ALLOWED_CLIENTS"),
        };
        if config.allowed_audience.is_empty() && config.allowed_clients.is_empty() {
            return Err("INBOUND_ALLOWED_AUDIENCE: set it or INBOUND_ALLOWED_CLIENTS; a token for any audience and any client would pass".into());
        }
        Ok(Some(config))
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Default)]
struct Keys {
    issuer: Option<String>,
    by_kid: HashMap<String, Arc<DecodingKey>>,
    attempted_at: Option<Instant>,
}

pub struct Inbound {
    config: InboundConfig,
    transport: ReqwestTransport,
    keys: Mutex<Keys>,
    fetch: tokio::sync::Mutex<()>,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    client_id: Option<String>,
}

impl Inbound {
    pub fn new(config: InboundConfig) -> Result<Self, String> {
        let loopback = config.discovery_url.starts_with("http://");
        let transport = ReqwestTransport::new(FETCH_TIMEOUT, loopback).map_err(|_| {
            "INBOUND_JWT_DISCOVERY_URL: the HTTP client could not be built".to_string()
        })?;
        Ok(Inbound {
            config,
            transport,
            keys: Mutex::new(Keys::default()),
            fetch: tokio::sync::Mutex::new(()),
        })
    }

    /// Check a bearer token; the error is a short reason safe to show the caller.
    pub async fn check(&self, token: Option<&str>) -> Result<(), &'static str> {
        let token = token.ok_or("no `Authorization: Bearer` token")?;
        if token.len() > MAX_TOKEN_BYTES {
            return Err("the bearer token is too large to be a JWT");
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| "the bearer token is not a JWS")?;
        if header.alg != Algorithm::RS256 {
            return Err("the bearer token is not signed with RS256");
        }
        let kid = header.kid.ok_or("the bearer token's header has no `kid`")?;
        let (key, issuer) = match self.key(&kid) {
            Some(found) => found,
            None => {
                self.refresh().await?;
                self.key(&kid)
                    .ok_or("the bearer token is signed with a key the issuer does not publish")?
            }
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer.as_str()]);
        validation.leeway = 60;
        if self.config.allowed_audience.is_empty() {
            validation.validate_aud = false;
            validation.set_required_spec_claims(&["exp", "iss"]);
        } else {
            validation.set_audience(&self.config.allowed_audience);
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => "the bearer token has expired",
                ErrorKind::ImmatureSignature => "the bearer token is not valid yet",
                ErrorKind::InvalidAudience => "the bearer token's aud is not allowed",
                ErrorKind::InvalidIssuer => "the bearer token's iss is not the configured issuer",
                ErrorKind::InvalidSignature => "the bearer token's signature does not verify",
                _ => "the bearer token is not valid",
            }
        })?;
        if !self.config.allowed_clients.is_empty() {
            let client = data
                .claims
                .client_id
                .ok_or("the bearer token has no client_id")?;
            if !self.config.allowed_clients.contains(&client) {
                return Err("the bearer token's client_id is not allowed");
            }
        }
        Ok(())
    }

    fn key(&self, kid: &str) -> Option<(Arc<DecodingKey>, String)> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        Some((keys.by_kid.get(kid)?.clone(), keys.issuer.clone()?))
    }

    async fn refresh(&self) -> Result<(), &'static str> {
        const UNAVAILABLE: &str = "the issuer's keys could not be fetched";
        let _one_at_a_time = self.fetch.lock().await;
        {
            let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            if keys
                .attempted_at
                .is_some_and(|at| at.elapsed() < REFETCH_INTERVAL)
            {
                return Ok(());
            }
            // Counted before the request: a failing issuer is rate limited too.
            keys.attempted_at = Some(Instant::now());
        }
        let reply = self
            .transport
            .get(&self.config.discovery_url, FETCH_TIMEOUT)
            .await
            .map_err(|_| UNAVAILABLE)?;
        let discovery: Discovery = (reply.status == 200)
            .then(|| serde_json::from_slice(&reply.body).ok())
            .flatten()
            .ok_or(UNAVAILABLE)?;
        let reply = self
            .transport
            .get(&discovery.jwks_uri, FETCH_TIMEOUT)
            .await
            .map_err(|_| UNAVAILABLE)?;
        let set: JwkSet = (reply.status == 200)
            .then(|| serde_json::from_slice(&reply.body).ok())
            .flatten()
            .ok_or(UNAVAILABLE)?;
        let by_kid = xaa::rs256_keys_by_kid(&set);
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        tracing::info!(keys = by_kid.len(), "inbound issuer keys fetched");
        keys.by_kid = by_kid;
        keys.issuer = Some(discovery.issuer);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_inbound_settings_are_checked_and_name_the_variable() {
        assert!(InboundConfig::from_lookup(env(&[])).unwrap().is_none());
        let ok = InboundConfig::from_lookup(env(&[
            (
                "INBOUND_JWT_DISCOVERY_URL",
                "http://127.0.0.1:9/.well-known/openid-configuration",
            ),
            ("INBOUND_ALLOWED_AUDIENCE", "api://default, other"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(ok.allowed_audience, ["api://default", "other"]);
        for (pairs, var) in [
            (
                &[("INBOUND_ALLOWED_CLIENTS", "c1")][..],
                "INBOUND_JWT_DISCOVERY_URL",
            ),
            (
                &[
                    ("INBOUND_JWT_DISCOVERY_URL", "https://idp.example.com/keys"),
                    ("INBOUND_ALLOWED_CLIENTS", "c1"),
                ][..],
                "INBOUND_JWT_DISCOVERY_URL",
            ),
            (
                &[
                    (
                        "INBOUND_JWT_DISCOVERY_URL",
                        "http://idp.example.com/.well-known/openid-configuration",
                    ),
                    ("INBOUND_ALLOWED_CLIENTS", "c1"),
                ][..],
                "INBOUND_JWT_DISCOVERY_URL",
            ),
            (
                &[(
                    "INBOUND_JWT_DISCOVERY_URL",
                    "https://idp.example.com/.well-known/openid-configuration",
                )][..],
                "INBOUND_ALLOWED_AUDIENCE",
            ),
        ] {
            let owned: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let err = InboundConfig::from_lookup(|k| {
                owned.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            })
            .err()
            .expect("refused");
            assert!(err.starts_with(var), "{err}");
        }
    }
}
