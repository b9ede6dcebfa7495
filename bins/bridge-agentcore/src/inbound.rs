//! Optional inbound check for hosts without AgentCore's JWT authorizer, with the
//! semantics of AgentCore's `customJWTAuthorizer`: the issuer and keys come from the
//! discovery document, the signature (RS256 only) and `exp`/`nbf` are verified, `aud`
//! must hold one of `INBOUND_ALLOWED_AUDIENCE` and `client_id` must be one of
//! `INBOUND_ALLOWED_CLIENTS` (each check only when configured). A refusal happens
//! before any Okta call.
//!
//! Size, form, header and signature are checked by `verify::Jwks::verified_claims`, the
//! project's one JWKS cache: keys cached an hour, an unknown `kid` refetching the JWKS at
//! most once per 30 s, the attempt counted before the request so a failing issuer cannot
//! be hammered either. The discovery document is fetched once (and while that fails, at
//! most once per 30 s too).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use verify::{Jwks, Reason, Refusal};
use xaa::{Clock, ReqwestTransport, SystemClock, TokenTransport};

const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 60;

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
        if !xaa::org::is_secure_scheme(&parsed) {
            return Err(
                "INBOUND_JWT_DISCOVERY_URL: must use https (plain http only for loopback hosts)"
                    .into(),
            );
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

/// What the discovery document named; fetched once, then kept.
struct Issuer {
    issuer: String,
    jwks: Arc<Jwks>,
}

pub struct Inbound {
    config: InboundConfig,
    transport: Arc<dyn TokenTransport>,
    issuer: Mutex<Option<Arc<Issuer>>>,
    /// Held while the discovery document is fetched; the time of the last attempt.
    discovery: tokio::sync::Mutex<Option<Instant>>,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    client_id: Option<String>,
}

const UNAVAILABLE: &str = "the issuer's keys could not be fetched";

/// A short reason safe to show the caller, for a refusal up to the signature.
fn refused(refusal: Refusal) -> &'static str {
    match refusal.reason {
        Reason::TooLarge => "the bearer token is too large to be a JWT",
        Reason::Malformed => "the bearer token is not a JWS",
        Reason::AlgNotAllowed => "the bearer token is not signed with RS256",
        Reason::HeaderNotAllowed => {
            "the bearer token's header carries a field that is not accepted"
        }
        Reason::IdJagPresented => "the bearer token is an ID-JAG, not an access or ID token",
        Reason::UnknownKey => "the bearer token is signed with a key the issuer does not publish",
        Reason::BadSignature => "the bearer token's signature does not verify",
        Reason::KeysUnavailable => UNAVAILABLE,
        _ => "the bearer token is not valid",
    }
}

impl Inbound {
    pub fn new(config: InboundConfig) -> Result<Self, String> {
        let loopback = config.discovery_url.starts_with("http://");
        let transport = ReqwestTransport::new(FETCH_TIMEOUT, loopback).map_err(|_| {
            "INBOUND_JWT_DISCOVERY_URL: the HTTP client could not be built".to_string()
        })?;
        Ok(Inbound {
            config,
            transport: Arc::new(transport),
            issuer: Mutex::new(None),
            discovery: tokio::sync::Mutex::new(None),
        })
    }

    /// Check a bearer token; the error is a short reason safe to show the caller.
    pub async fn check(&self, token: Option<&str>) -> Result<(), &'static str> {
        let token = token.ok_or("no `Authorization: Bearer` token")?;
        let issuer = self.issuer().await?;
        let json = issuer.jwks.verified_claims(token).await.map_err(refused)?;
        let claims: Claims =
            serde_json::from_slice(&json).map_err(|_| "the bearer token is not valid")?;
        if claims.iss.as_deref() != Some(issuer.issuer.as_str()) {
            return Err("the bearer token's iss is not the configured issuer");
        }
        let now = SystemClock.unix_now();
        let exp = claims.exp.ok_or("the bearer token has no exp")?;
        if now >= exp.saturating_add(LEEWAY_SECS) {
            return Err("the bearer token has expired");
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS))
        {
            return Err("the bearer token is not valid yet");
        }
        if !self.config.allowed_audience.is_empty() {
            let allowed = |a: &Value| {
                a.as_str()
                    .is_some_and(|a| self.config.allowed_audience.iter().any(|x| x == a))
            };
            let ok = match &claims.aud {
                Some(Value::Array(auds)) => auds.iter().any(allowed),
                Some(aud) => allowed(aud),
                None => false,
            };
            if !ok {
                return Err("the bearer token's aud is not allowed");
            }
        }
        if !self.config.allowed_clients.is_empty() {
            let client = claims
                .client_id
                .ok_or("the bearer token has no client_id")?;
            if !self.config.allowed_clients.contains(&client) {
                return Err("the bearer token's client_id is not allowed");
            }
        }
        Ok(())
    }

    /// The issuer and its keys, from the discovery document: fetched once, and while
    /// that fails, tried again at most once per 30 s (counted before the request).
    async fn issuer(&self) -> Result<Arc<Issuer>, &'static str> {
        if let Some(known) = self.known() {
            return Ok(known);
        }
        let mut attempted_at = self.discovery.lock().await;
        if let Some(known) = self.known() {
            return Ok(known);
        }
        if attempted_at.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL) {
            return Err(UNAVAILABLE);
        }
        *attempted_at = Some(Instant::now());
        let reply = self
            .transport
            .get(&self.config.discovery_url, FETCH_TIMEOUT)
            .await
            .map_err(|_| UNAVAILABLE)?;
        let discovery: Discovery = (reply.status == 200)
            .then(|| serde_json::from_slice(&reply.body).ok())
            .flatten()
            .ok_or(UNAVAILABLE)?;
        let keys_url_ok =
            reqwest::Url::parse(&discovery.jwks_uri).is_ok_and(|u| xaa::org::is_secure_scheme(&u));
        if !keys_url_ok {
            tracing::warn!("the discovery document's jwks_uri is not https");
            return Err(UNAVAILABLE);
        }
        let jwks = Jwks::new(
            discovery.jwks_uri,
            self.transport.clone(),
            Arc::new(SystemClock),
        );
        let issuer = Arc::new(Issuer {
            issuer: discovery.issuer,
            jwks: Arc::new(jwks),
        });
        tracing::info!("inbound issuer discovered");
        *self.issuer.lock().unwrap_or_else(|p| p.into_inner()) = Some(issuer.clone());
        Ok(issuer)
    }

    fn known(&self) -> Option<Arc<Issuer>> {
        self.issuer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
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
