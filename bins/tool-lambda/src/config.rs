//! The tool's configuration, read once at init from the environment. Every error names
//! the variable to fix and never quotes a value that could be a secret.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use reqwest::{Method, Url};
use serde::Deserialize;
use verify::{Subjects, DEFAULT_LEEWAY, MAX_LEEWAY};
use xaa::org::parse_secure_url;

use crate::template::Template;

/// Okta's default audience of a custom authorization server.
pub const DEFAULT_AUDIENCE: &str = "api://default";
/// The session attribute xaa-bridge puts the person's access token in.
pub const DEFAULT_TOKEN_ATTRIBUTE: &str = "oktaAccessToken";

/// The same typed configuration error as the Okta side's: the variable and what to fix.
pub use xaa::ConfigError;

fn err(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

/// One API operation: the method and the path template (`/tickets/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    pub path: Template,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub issuer: String,
    pub audience: String,
    pub required_scopes: Vec<String>,
    pub allowed_clients: Vec<String>,
    pub subjects: Subjects,
    /// Clock skew allowed on `exp`/`nbf`/`iat` (`TOOL_LEEWAY_SECS`, 0 to 120, default 60;
    /// Okta's own Node verifier allows none).
    pub leeway: Duration,
    pub token_attribute: String,
    /// Without a trailing slash; its path (if any) prefixes every call.
    pub api_base_url: Url,
    /// Function-details action groups: function name -> operation.
    pub functions: BTreeMap<String, Route>,
    /// OpenAPI action groups: the operations allowed; `None` = every operation the
    /// agent's schema sends (`httpMethod` + `apiPath` as given).
    pub openapi_paths: Option<Vec<Route>>,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// `lookup` gives a variable's value (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |var: &'static str| lookup(var).filter(|v| !v.trim().is_empty());
        let issuer = https_url(
            "TOOL_ISSUER",
            get("TOOL_ISSUER").ok_or_else(|| {
                err(
                    "TOOL_ISSUER",
                    "is not set; set the custom authorization server's issuer (https://{org}/oauth2/{id})",
                )
            })?,
        )?;
        let api_base_url = https_url(
            "TOOL_API_BASE_URL",
            get("TOOL_API_BASE_URL").ok_or_else(|| {
                err(
                    "TOOL_API_BASE_URL",
                    "is not set; set the base URL of the Okta-protected API",
                )
            })?,
        )?;
        let audience = get("TOOL_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_string());
        let allowed_clients = words(get("TOOL_ALLOWED_CLIENTS"));
        if allowed_clients.is_empty() {
            return Err(err(
                "TOOL_ALLOWED_CLIENTS",
                "is not set; list the AI agents' client ids (space separated) whose tokens are accepted",
            ));
        }
        let required_scopes = words(get("TOOL_REQUIRED_SCOPES"));
        if required_scopes.is_empty() {
            return Err(err(
                "TOOL_REQUIRED_SCOPES",
                "is not set; list the scopes (space separated) every token must carry, e.g. xaa:read",
            ));
        }
        let subjects = match get("TOOL_SUBJECTS") {
            None => Subjects::Xaa,
            Some(raw) => Subjects::from_str(raw.trim())
                .map_err(|_| err("TOOL_SUBJECTS", "must be `xaa` or `agbac`"))?,
        };
        let leeway = match get("TOOL_LEEWAY_SECS") {
            None => DEFAULT_LEEWAY,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs)
                .filter(|leeway| *leeway <= MAX_LEEWAY)
                .ok_or_else(|| {
                    err(
                        "TOOL_LEEWAY_SECS",
                        "must be a whole number of seconds from 0 to 120",
                    )
                })?,
        };
        let token_attribute =
            get("TOOL_TOKEN_ATTRIBUTE").unwrap_or_else(|| DEFAULT_TOKEN_ATTRIBUTE.to_string());
        let functions = match get("TOOL_FUNCTIONS") {
            None => BTreeMap::new(),
            Some(raw) => parse_functions(&raw)?,
        };
        let openapi_paths = get("TOOL_OPENAPI_PATHS")
            .map(|raw| parse_openapi_paths(&raw))
            .transpose()?;
        Ok(Config {
            issuer: issuer.as_str().trim_end_matches('/').to_string(),
            audience,
            required_scopes,
            allowed_clients,
            subjects,
            leeway,
            token_attribute,
            api_base_url,
            functions,
            openapi_paths,
        })
    }

    /// Plain http passes parsing only for loopback, so the client may allow it exactly
    /// when a configured URL uses it.
    pub fn issuer_uses_plain_http(&self) -> bool {
        self.issuer.starts_with("http://")
    }

    pub fn api_uses_plain_http(&self) -> bool {
        self.api_base_url.scheme() == "http"
    }
}

fn words(raw: Option<String>) -> Vec<String> {
    raw.unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// https, or plain http for a loopback host only; no credentials, query or fragment.
fn https_url(var: &'static str, raw: String) -> Result<Url, ConfigError> {
    parse_secure_url(var, raw.trim())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSpec {
    method: String,
    path: String,
}

fn parse_functions(raw: &str) -> Result<BTreeMap<String, Route>, ConfigError> {
    const VAR: &str = "TOOL_FUNCTIONS";
    let specs: BTreeMap<String, RouteSpec> = serde_json::from_str(raw).map_err(|_| {
        err(
            VAR,
            r#"must be a JSON object {"<function>": {"method": "GET", "path": "/tickets/{id}"}}"#,
        )
    })?;
    let mut functions = BTreeMap::new();
    for (name, spec) in specs {
        if name.is_empty() || name.len() > 100 {
            return Err(err(
                VAR,
                "a function name is empty or longer than 100 bytes",
            ));
        }
        let route = route(&spec.method, &spec.path)
            .map_err(|reason| err(VAR, format!("function `{name}`: {reason}")))?;
        functions.insert(name, route);
    }
    Ok(functions)
}

fn parse_openapi_paths(raw: &str) -> Result<Vec<Route>, ConfigError> {
    const VAR: &str = "TOOL_OPENAPI_PATHS";
    let entries: Vec<String> = serde_json::from_str(raw).map_err(|_| {
        err(
            VAR,
            r#"must be a JSON array of "METHOD /path" strings, e.g. ["GET /tickets/{id}"]"#,
        )
    })?;
    entries
        .iter()
        .map(|entry| {
            let (method, path) = entry
                .trim()
                .split_once(' ')
                .ok_or_else(|| err(VAR, "an entry is not \"METHOD /path\""))?;
            route(method, path.trim()).map_err(|reason| err(VAR, reason))
        })
        .collect()
}

fn route(method: &str, path: &str) -> Result<Route, String> {
    Ok(Route {
        method: crate::call::method(method)
            .ok_or("the method must be one of GET, POST, PUT, PATCH, DELETE")?,
        path: Template::parse(path).map_err(|e| e.to_string())?,
    })
}

#[cfg(test)]
mod tests;
