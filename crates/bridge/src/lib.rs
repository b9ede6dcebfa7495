//! The bridge core: lets an AI agent act for a signed-in person. It knows nothing of
//! Lambda or HTTP servers; front doors (`bins/bridge-lambda`, `bins/bridge-agentcore`)
//! map their input to a [`Request`] and [`Error::kind`] to their own error shape.
//!
//! ```text
//! Request {prompt, id_token, session_id?}            request   (strict, nothing sent)
//!   -> ID token pre-check                            request   (expired: no call)
//!   -> optional full ID token verification           idtoken (over the verify crate)
//!   -> signing key                                   xaa::KeyStore over secrets_manager
//!   -> token cache hit?  --- yes ----------------------------------------------+
//!   -> leg 1: POST {org}/oauth2/v1/token        xaa::OktaClient (ID-JAG)        |
//!   -> leg 2: POST {org}/oauth2/{as}/v1/token   xaa::OktaClient (access token)  |
//!   -> InvokeAgent(sessionAttributes.oktaAccessToken)      bedrock  <----------+
//!   -> drain the event stream (optionally streaming it) -> Answer {answer, session_id}
//! ```
//!
//! Modules (private; the API is re-exported below): `bridge` ([`Bridge::ask`]),
//! `request`, `config` (environment, parsed once), `init` (real AWS clients),
//! `secrets_manager` (the key source), `cache` (expiring single-flight token cache),
//! `bedrock` (InvokeAgent and its stream), `idtoken`, `error`, `logging`.

mod bedrock;
mod bridge;
mod cache;
mod config;
mod error;
mod idtoken;
mod init;
pub mod logging;
mod request;
mod secrets_manager;

pub use bedrock::{
    AgentAnswer, AgentError, AgentInvoker, AgentRequest, ChunkSink, SdkAgentInvoker,
    MAX_ANSWER_BYTES, MAX_ESCAPED_ANSWER_BYTES, MAX_STREAM_EVENTS, TOKEN_ATTRIBUTE,
};
pub use bridge::{Bridge, Call, Parts, INIT_KEY_BUDGET};
pub use cache::{CacheKey, TokenCache};
pub use config::Config;
pub use error::{Error, KINDS};
pub use request::{is_valid_session_id, Answer, Request, CLOCK_LEEWAY_SECS, MAX_ID_TOKEN_BYTES};
pub use secrets_manager::SecretsManagerSource;
pub use xaa::{ConfigError, Deadline, OktaConfig};
