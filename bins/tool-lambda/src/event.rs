//! The action-group event Bedrock sends and the two responses it reads (function details
//! and OpenAPI), as our own serde types: `aws_lambda_events` has only the OpenAPI event,
//! and it requires `apiPath` and both attribute maps.
//!
//! Strict on types (a parameter value that is not a string is refused), lenient on
//! presence (`parameters` and both attribute maps may be absent or null) and on extra
//! members (Bedrock may add some). `inputText` (the person's prompt) is checked to be a
//! string and dropped: nothing here keeps or prints it.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use thiserror::Error;

/// Why an invocation is not an action-group event: errorType `InvalidEvent`. Positions
/// and field names only, never a value.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EventError {
    #[error("the event is not JSON ({0}); Bedrock sends an action-group event object")]
    NotJson(String),
    #[error("the event is not a JSON object; Bedrock sends an action-group event object")]
    NotObject,
    #[error("field `{0}` is missing or not {1}")]
    Field(&'static str, &'static str),
    #[error("the event names neither `function` nor `apiPath` with `httpMethod` (or both): not an action-group event")]
    NoAction,
    #[error("requestBody has no `application/json` content; only JSON bodies are supported")]
    BodyType,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Parameter {
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub value: String,
}

/// The Bedrock agent that called; the other members are type-checked and dropped.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgentInfo {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "name", deserialize_with = "string_dropped")]
    _name: (),
    #[serde(default, rename = "alias", deserialize_with = "string_dropped")]
    _alias: (),
    #[serde(default, rename = "version", deserialize_with = "string_dropped")]
    _version: (),
}

#[derive(Debug, Clone, Deserialize)]
pub struct MediaContent {
    #[serde(default, deserialize_with = "null_default")]
    pub properties: Vec<Parameter>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RequestBody {
    #[serde(default, deserialize_with = "null_default")]
    pub content: HashMap<String, MediaContent>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(
        default,
        rename = "messageVersion",
        deserialize_with = "string_dropped"
    )]
    _message_version: (),
    #[serde(default)]
    pub agent: Option<AgentInfo>,
    /// The prompt: type-checked, then dropped.
    #[serde(default, rename = "inputText", deserialize_with = "string_dropped")]
    _input_text: (),
    #[serde(default, rename = "sessionId", deserialize_with = "string_dropped")]
    _session_id: (),
    pub action_group: String,
    #[serde(default)]
    pub function: Option<String>,
    #[serde(default)]
    pub api_path: Option<String>,
    #[serde(default)]
    pub http_method: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub request_body: Option<RequestBody>,
    #[serde(default, deserialize_with = "null_default")]
    pub session_attributes: HashMap<String, String>,
    #[serde(default, deserialize_with = "null_default")]
    pub prompt_session_attributes: HashMap<String, String>,
}

/// What the event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'e> {
    Function(&'e str),
    OpenApi { method: &'e str, path: &'e str },
}

impl Event {
    pub fn parse(body: &[u8]) -> Result<Event, EventError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Eof => "it ends early",
                _ => "syntax error",
            };
            EventError::NotJson(format!(
                "{what} at line {}, column {}",
                e.line(),
                e.column()
            ))
        })?;
        if !value.is_object() {
            return Err(EventError::NotObject);
        }
        // serde's messages quote the offending value: find the field ourselves instead.
        Event::deserialize(&value).map_err(|_| first_bad_field(&value))
    }

    pub fn action(&self) -> Result<Action<'_>, EventError> {
        match (&self.function, &self.api_path, &self.http_method) {
            (Some(name), None, None) if !name.is_empty() => Ok(Action::Function(name)),
            (None, Some(path), Some(method)) => Ok(Action::OpenApi { method, path }),
            _ => Err(EventError::NoAction),
        }
    }

    /// The JSON request body's properties (OpenAPI), `None` without a request body.
    pub fn body_properties(&self) -> Result<Option<&[Parameter]>, EventError> {
        match &self.request_body {
            None => Ok(None),
            Some(body) if body.content.is_empty() => Ok(None),
            Some(body) => body
                .content
                .get("application/json")
                .map(|c| Some(c.properties.as_slice()))
                .ok_or(EventError::BodyType),
        }
    }
}

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn string_dropped<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    struct Str;
    impl<'de> serde::de::Visitor<'de> for Str {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }
    d.deserialize_any(Str)
}

/// The first member, in the event's documented order, whose type is wrong.
fn first_bad_field(event: &Value) -> EventError {
    fn fits<T: DeserializeOwned>(event: &Value, field: &str) -> bool {
        event
            .get(field)
            .is_none_or(|v| Option::<T>::deserialize(v).is_ok())
    }
    type Check = fn(&Value, &str) -> bool;
    let string: Check = fits::<String>;
    let checks: [(&'static str, Check, &'static str); 12] = [
        ("messageVersion", string, "a string"),
        ("agent", fits::<AgentInfo>, "an object of strings"),
        ("inputText", string, "a string"),
        ("sessionId", string, "a string"),
        ("actionGroup", string, "a string"),
        ("function", string, "a string"),
        ("apiPath", string, "a string"),
        ("httpMethod", string, "a string"),
        (
            "parameters",
            fits::<Vec<Parameter>>,
            "an array of {name, type, value} with string values",
        ),
        (
            "requestBody",
            fits::<RequestBody>,
            "an object {content: {<type>: {properties: [{name, type, value}]}}} with string values",
        ),
        (
            "sessionAttributes",
            fits::<HashMap<String, String>>,
            "an object of strings",
        ),
        (
            "promptSessionAttributes",
            fits::<HashMap<String, String>>,
            "an object of strings",
        ),
    ];
    if event.get("actionGroup").is_none_or(Value::is_null) {
        return EventError::Field("actionGroup", "a string");
    }
    checks
        .iter()
        .find(|(field, check, _)| !check(event, field))
        .map(|(field, _, expected)| EventError::Field(field, expected))
        .unwrap_or(EventError::NoAction)
}

/// `responseState` of a function response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ResponseState {
    /// The agent fails the turn (`dependencyFailedException` to its caller).
    Failure,
}

#[derive(Debug, Serialize)]
pub struct Body {
    pub body: String,
}

#[derive(Debug, Serialize)]
pub struct TextBody {
    #[serde(rename = "TEXT")]
    pub text: Body,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_state: Option<ResponseState>,
    pub response_body: TextBody,
}

#[derive(Debug, Serialize)]
pub struct JsonBody {
    #[serde(rename = "application/json")]
    pub json: Body,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ActionResponse {
    #[serde(rename_all = "camelCase")]
    Function {
        action_group: String,
        function: String,
        function_response: FunctionResult,
    },
    #[serde(rename_all = "camelCase")]
    OpenApi {
        action_group: String,
        api_path: String,
        http_method: String,
        http_status_code: u16,
        response_body: JsonBody,
    },
}

/// The answer to Bedrock. The attribute maps are left out, so the session's stay as
/// they are (and the token is not echoed back).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub message_version: &'static str,
    pub response: ActionResponse,
}

#[cfg(test)]
mod tests;
