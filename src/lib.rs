//! xaa-bridge: an AWS Lambda that lets an AI agent act for a signed-in person.
//!
//! It takes `{prompt, id_token, session_id?}`, proves the agent's identity to Okta with
//! a private key kept in AWS Secrets Manager, trades the person's ID token for a scoped
//! access token with Okta Cross App Access (leg 1: RFC 8693 token exchange for an
//! ID-JAG; leg 2: RFC 7523 JWT bearer grant), and invokes a Bedrock agent with that
//! token in the session attribute `oktaAccessToken`.
//!
//! ```text
//! event {prompt,id_token,session_id?}
//!   -> validate input                 handler::Request        (nothing sent anywhere)
//!   -> ID token pre-check             handler                 (expired: no call)
//!   -> signing key                    secret::KeyStore        (Secrets Manager, cached)
//!   -> token cache hit?  --- yes ---------------------------------------------+
//!   -> leg 1: POST {org}/oauth2/v1/token        oauth::exchange   (ID-JAG)     |
//!   -> leg 2: POST {org}/oauth2/{as}/v1/token   oauth::jwt_bearer (token)      |
//!   -> InvokeAgent(sessionAttributes.oktaAccessToken)  bedrock  <-------------+
//!   -> drain the event stream -> {answer, session_id}
//! ```
//!
//! Layout: `config` (environment, parsed once), `secret` (key source and JWK parsing),
//! `sensitive` (redacted secret newtypes), `oauth` (assertion, the two legs, response
//! parsing and the HTTP trait), `cache` (expiring single-flight token cache), `bedrock`
//! (InvokeAgent and the stream), `error` (one error type and its `errorType`),
//! `handler` (the pipeline), `idtoken` (optional full ID token verification), `init` (real clients from the environment), `clock`
//! (injected time and `jti`s), `logging`.

pub mod bedrock;
pub mod cache;
pub mod clock;
pub mod config;
pub mod error;
pub mod handler;
pub mod idtoken;
pub mod init;
pub mod logging;
pub mod oauth;
pub mod secret;
pub mod sensitive;

pub use error::Error;
pub use handler::{Bridge, Request, Response};
