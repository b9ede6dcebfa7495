//! One error type for the bridge core, with [`Error::kind`]: the stable names we
//! publish (`InvalidRequest`, `IdTokenRejected`, ...) that every front door maps to its
//! own shape in one place (Lambda's `errorType`, an HTTP status and JSON body).
//!
//! Messages say what to fix. They never carry a token, a key, the prompt, an email or
//! an upstream body verbatim: upstream errors are reduced to their OAuth `error` code
//! (checked to be a plain identifier) and a hint of our own.

use thiserror::Error;
use xaa::{ConfigError, KeyError, OktaError};

use crate::bedrock::AgentError;

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
        "no time left before the deadline while {stage}; raise the function timeout (or REQUEST_TIMEOUT_MS) or check the upstream latency"
    )]
    Timeout { stage: &'static str },
}

/// The stable kinds, for front doors that enumerate them (status tables, docs).
pub const KINDS: &[&str] = &[
    "InvalidRequest",
    "ConfigError",
    "KeyError",
    "IdTokenRejected",
    "Timeout",
    "ScopeRejected",
    "AgentAuthFailed",
    "PolicyDenied",
    "StepUpRequired",
    "OktaRejected",
    "OktaUnavailable",
    "OktaProtocolError",
    "AgentNotFound",
    "AgentThrottled",
    "AgentAccessDenied",
    "AgentFailed",
];

impl Error {
    /// The stable error name an operator can alert on.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidRequest(_) => "InvalidRequest",
            Error::Config(_) => "ConfigError",
            Error::Key(_) => "KeyError",
            Error::Okta(e) => e.kind(),
            Error::Agent(e) => e.kind(),
            Error::IdTokenPrecheck(_) => "IdTokenRejected",
            Error::Timeout { .. } => "Timeout",
        }
    }
}

impl From<xaa::Error> for Error {
    fn from(error: xaa::Error) -> Self {
        match error {
            xaa::Error::Key(e) => Error::Key(e),
            xaa::Error::Okta(e) => Error::Okta(e),
            xaa::Error::Timeout { stage } => Error::Timeout { stage },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_and_messages_carry_the_hint() {
        let e = Error::InvalidRequest("field `prompt` is missing".into());
        assert_eq!(e.kind(), "InvalidRequest");
        assert_eq!(e.to_string(), "invalid request: field `prompt` is missing");
        let e = Error::Timeout {
            stage: "calling Okta",
        };
        assert_eq!(e.kind(), "Timeout");
        for e in [
            Error::InvalidRequest(String::new()),
            Error::IdTokenPrecheck(String::new()),
            Error::Timeout { stage: "x" },
            Error::Agent(AgentError::NotFound),
            Error::Agent(AgentError::Throttled("x")),
            Error::Agent(AgentError::AccessDenied("x")),
            Error::Agent(AgentError::ReturnControl),
        ] {
            assert!(KINDS.contains(&e.kind()), "{}", e.kind());
        }
    }

    #[test]
    fn a_timeout_from_the_okta_client_stays_a_timeout() {
        let e: Error = xaa::Error::Timeout {
            stage: "calling Okta",
        }
        .into();
        assert!(matches!(
            e,
            Error::Timeout {
                stage: "calling Okta"
            }
        ));
    }
}
