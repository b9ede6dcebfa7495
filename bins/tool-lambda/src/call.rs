//! The call to the Okta-protected API as the person: the request built from the event
//! (a pure function), then sent with the person's token by a client that follows no
//! redirect, times out, and reads at most [`MAX_RESPONSE_BYTES`].

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::event::Parameter;
use crate::template::{FillError, Template};

/// The most of an API answer we read. Escaped as JSON (at most 6 bytes per byte, for
/// `\u00XX`) it stays far below Lambda's 6 MB response limit.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest a call may take; less when Lambda's deadline is nearer.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Parameters beyond this many are refused (Bedrock sends a handful).
const MAX_PARAMETERS: usize = 64;

/// The methods the tool calls with.
pub fn method(raw: &str) -> Option<Method> {
    match raw.to_ascii_uppercase().as_str() {
        "GET" => Some(Method::GET),
        "POST" => Some(Method::POST),
        "PUT" => Some(Method::PUT),
        "PATCH" => Some(Method::PATCH),
        "DELETE" => Some(Method::DELETE),
        _ => None,
    }
}

/// Why the request could not be built: refused, no call made.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BuildError {
    #[error(transparent)]
    Fill(#[from] FillError),
    #[error("parameter `{0}` is given twice")]
    Duplicate(String),
    #[error("parameter `{0}` is not a valid {1}")]
    Type(String, &'static str),
    #[error("more than 64 parameters")]
    TooMany,
}

/// Where the parameters that fill no placeholder go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    Query,
    JsonBody,
}

#[derive(Debug)]
pub struct ApiRequest {
    pub method: Method,
    pub url: Url,
    pub body: Option<Vec<u8>>,
}

/// `base` + the filled template; the other `params` to `rest`; `body` (OpenAPI
/// `requestBody` properties) as a JSON object.
pub fn build(
    base: &Url,
    method: Method,
    template: &Template,
    params: &[Parameter],
    rest: Rest,
    body: Option<&[Parameter]>,
) -> Result<ApiRequest, BuildError> {
    if params.len() + body.map_or(0, <[Parameter]>::len) > MAX_PARAMETERS {
        return Err(BuildError::TooMany);
    }
    let mut by_name = BTreeMap::new();
    for p in params {
        if by_name.insert(p.name.as_str(), p).is_some() {
            return Err(BuildError::Duplicate(p.name.clone()));
        }
    }
    let path = template.fill(|name| by_name.get(name).map(|p| p.value.as_str()))?;
    let mut url = base.clone();
    url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
    let placeholders: Vec<&str> = template.names().collect();
    let others: Vec<&Parameter> = params
        .iter()
        .filter(|p| !placeholders.contains(&p.name.as_str()))
        .collect();
    let mut json_body = match body {
        Some(props) => Some(json_object(props.iter())?),
        None => None,
    };
    match rest {
        Rest::Query if !others.is_empty() => {
            let mut query = url.query_pairs_mut();
            for p in &others {
                query.append_pair(&p.name, &p.value);
            }
        }
        Rest::Query => {}
        Rest::JsonBody => {
            let object = json_object(others.into_iter())?;
            json_body = Some(match json_body {
                Some(Value::Object(mut merged)) => {
                    merged.extend(object.as_object().cloned().unwrap_or_default());
                    Value::Object(merged)
                }
                _ => object,
            });
        }
    }
    let body = json_body.map(|v| v.to_string().into_bytes());
    Ok(ApiRequest { method, url, body })
}

/// Bedrock sends every value as a string, with the schema's type beside it.
fn json_object<'p>(params: impl Iterator<Item = &'p Parameter>) -> Result<Value, BuildError> {
    let mut object = Map::new();
    for p in params {
        let bad = |what| BuildError::Type(p.name.clone(), what);
        let value = match p.kind.as_deref().unwrap_or("string") {
            "integer" => Value::from(p.value.trim().parse::<i64>().map_err(|_| bad("integer"))?),
            "number" => p
                .value
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| bad("number"))?,
            "boolean" => Value::Bool(p.value.trim().parse().map_err(|_| bad("boolean"))?),
            "array" => match serde_json::from_str::<Value>(&p.value) {
                Ok(array @ Value::Array(_)) => array,
                _ => return Err(bad("JSON array")),
            },
            _ => Value::String(p.value.clone()),
        };
        if object.insert(p.name.clone(), value).is_some() {
            return Err(BuildError::Duplicate(p.name.clone()));
        }
    }
    Ok(Value::Object(object))
}

/// How a call failed (a FAILURE for the agent; the codes are the audit's reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    Unreachable,
    Timeout,
    TooLarge,
    Other,
}

impl SendError {
    pub fn code(self) -> &'static str {
        match self {
            SendError::Unreachable => "api_unreachable",
            SendError::Timeout => "api_timeout",
            SendError::TooLarge => "api_response_too_large",
            SendError::Other => "api_exchange_failed",
        }
    }
}

#[derive(Debug)]
pub struct ApiReply {
    pub status: u16,
    pub body: String,
}

/// The API client: rustls, no redirects, no proxies from the environment, https only
/// unless the configured base URL is loopback http.
pub struct Api {
    client: reqwest::Client,
}

impl Api {
    pub fn new(allow_plain_http: bool) -> Result<Api, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .https_only(!allow_plain_http)
            .user_agent(concat!("xaa-tool/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(50))
            .build()?;
        Ok(Api { client })
    }

    pub async fn send(
        &self,
        request: ApiRequest,
        token: &str,
        timeout: Duration,
    ) -> Result<ApiReply, SendError> {
        let mut authorization =
            HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| SendError::Other)?;
        authorization.set_sensitive(true);
        let mut builder = self
            .client
            .request(request.method, request.url)
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json");
        if let Some(body) = request.body {
            builder = builder.header(CONTENT_TYPE, "application/json").body(body);
        }
        let map = |e: reqwest::Error| {
            if e.is_timeout() {
                SendError::Timeout
            } else if e.is_connect() {
                SendError::Unreachable
            } else {
                SendError::Other
            }
        };
        let exchange = async {
            let mut response = builder.send().await.map_err(map)?;
            let status = response.status().as_u16();
            if response
                .content_length()
                .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
            {
                return Err(SendError::TooLarge);
            }
            let mut buf = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(map)? {
                if buf.len().saturating_add(chunk.len()) > MAX_RESPONSE_BYTES {
                    return Err(SendError::TooLarge);
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(ApiReply {
                status,
                body: String::from_utf8_lossy(&buf).into_owned(),
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(SendError::Timeout))
    }
}

#[cfg(test)]
mod tests;
