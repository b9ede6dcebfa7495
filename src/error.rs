//! One error type for the whole bridge, and its single mapping to the Lambda error
//! (`errorType`, `errorMessage`) at the edge.
//!
//! Messages say what to fix. They never carry a token, a key, the prompt, an email or
//! an upstream body verbatim: upstream errors are reduced to their OAuth `error` code
//! (checked to be a plain identifier) and a hint of our own.

use lambda_runtime::Diagnostic;
use thiserror::Error;

use crate::bedrock::AgentError;
use crate::config::ConfigError;
use crate::oauth::OktaError;
use crate::secret::KeyError;

#[derive(Debug, Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    #[error("signing key error: {0}")]
    Key(#[from] KeyError),
    #[error(transparent)]
    Okta(#[from] OktaError),
    #[error(transparent)]
    Agent(#[from] AgentError),
    #[error("the ID token was refused before any call: {0}; the user must sign in again")]
    IdTokenPrecheck(String),
    #[error(
        "no time left before the Lambda deadline while {stage}; raise the function timeout or check the upstream latency"
    )]
    Timeout { stage: &'static str },
}

impl Error {
    /// The stable `errorType` an operator can alert on.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::InvalidRequest(_) => "InvalidRequest",
            Error::Config(_) => "ConfigError",
            Error::Key(_) => "KeyError",
            Error::Okta(e) => e.error_type(),
            Error::Agent(e) => e.error_type(),
            Error::IdTokenPrecheck(_) => "IdTokenRejected",
            Error::Timeout { .. } => "Timeout",
        }
    }
}

impl From<Error> for Diagnostic {
    fn from(error: Error) -> Diagnostic {
        Diagnostic {
            error_type: error.error_type().to_string(),
            error_message: error.to_string(),
        }
    }
}

impl From<&Error> for Diagnostic {
    fn from(error: &Error) -> Diagnostic {
        Diagnostic {
            error_type: error.error_type().to_string(),
            error_message: error.to_string(),
        }
    }
}

/// Keep an upstream identifier (an OAuth `error` code, an exception name) only if it is
/// a short plain identifier; anything else could be attacker- or body-controlled text.
pub(crate) fn safe_code(code: &str) -> String {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if ok {
        code.to_string()
    } else {
        "<unrecognised>".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_code_keeps_identifiers_and_drops_free_text() {
        assert_eq!(safe_code("invalid_grant"), "invalid_grant");
        assert_eq!(safe_code("eyJ.a b"), "<unrecognised>");
        assert_eq!(safe_code(&"x".repeat(65)), "<unrecognised>");
        assert_eq!(safe_code(""), "<unrecognised>");
    }

    #[test]
    fn diagnostic_carries_the_stable_type_and_the_hint() {
        let d: Diagnostic = Error::InvalidRequest("field `prompt` is missing".into()).into();
        assert_eq!(d.error_type, "InvalidRequest");
        assert_eq!(
            d.error_message,
            "invalid request: field `prompt` is missing"
        );
        let d: Diagnostic = Error::Timeout {
            stage: "calling Okta",
        }
        .into();
        assert_eq!(d.error_type, "Timeout");
    }
}
