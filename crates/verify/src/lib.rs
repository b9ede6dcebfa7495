//! `verify`: an Okta access token checked as a resource server checks it, and an OIDC
//! ID token checked for the app it was issued to. Every refusal is a typed [`Reason`]
//! with a stable code; nothing of the token is echoed.
//!
//! ```text
//! token --> jws        size (16 KiB), compact form, header: typ, alg RS256, no jku/x5u/jwk/x5c/crit
//!       --> jwks       key by kid (cached 1 h, unknown kid refetched at most once per 30 s)
//!       --> jws        RS256 signature with the key's pinned algorithm
//!       --> claims     iss, aud, exp/nbf/iat with leeway (shared by both verifiers)
//!       --> access     jti, agent and person (xaa: cid + uid; agbac: sub + act.sub),
//!                      allowed clients, required scopes -> Principal
//!       --> idtoken    aud = client id, sub -> IdClaims
//! discovery  jwks_uri from {issuer}/.well-known/oauth-authorization-server (same origin
//!            only), else {issuer}/v1/keys
//! policy     AccessPolicy, Subjects, PolicyError; reason: Reason, Refusal
//! Jwks::verified_claims (jws): everything up to the signature, for callers with claim
//!            rules of their own (the AgentCore front door's inbound check)
//! ```
//!
//! ```no_run
//! # async fn demo(token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use verify::{AccessPolicy, AccessTokenVerifier, Jwks, Subjects, DEFAULT_LEEWAY};
//! let issuer = "https://example.okta.com/oauth2/default";
//! let transport = Arc::new(xaa::ReqwestTransport::new(std::time::Duration::from_secs(3), false)?);
//! let clock = Arc::new(xaa::SystemClock);
//! let jwks = Arc::new(Jwks::discover(issuer, transport, clock.clone()).await?);
//! let policy = AccessPolicy::new(issuer, "api://default", vec!["0oaagent".into()],
//!     vec!["xaa:read".into()], Subjects::Xaa, DEFAULT_LEEWAY)?;
//! let verifier = AccessTokenVerifier::new(policy, jwks, clock);
//! let principal = verifier.verify(token).await?;
//! println!("{} for {}", principal.agent, principal.person);
//! # Ok(()) }
//! ```

mod access;
mod claims;
mod discovery;
mod idtoken;
mod jwks;
mod jws;
mod policy;
mod reason;

pub use access::{AccessTokenVerifier, Principal};
pub use idtoken::{IdClaims, IdTokenVerifier};
pub use jwks::{Jwks, JWKS_FETCH_TIMEOUT, JWKS_MAX_AGE, MAX_JWKS_KEYS, UNKNOWN_KID_REFETCH};
pub use jws::MAX_TOKEN_BYTES;
pub use policy::{
    AccessPolicy, PolicyError, Subjects, DEFAULT_AUDIENCE, DEFAULT_LEEWAY, MAX_LEEWAY,
};
pub use reason::{Reason, Refusal};
