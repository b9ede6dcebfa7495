//! `xaa`: the credentials an Okta AI agent obtains, as a library that knows nothing of
//! AWS, Lambda or HTTP servers.
//!
//! ```text
//! SigningKey (key)        a private JWK (RSA >= 2048 or EC P-256, or a one-key JWKS) that
//!                         signs client assertions; no printable form
//! KeyStore (keystore)     the key kept parsed, reloaded when old or when Okta blames it,
//!                         over any KeySource (the bridge's is Secrets Manager)
//! assertion               private_key_jwt client assertions, fresh per HTTP request
//! grants                  exact form bodies: token exchange (leg 1), JWT bearer (leg 2)
//! response                strict parsing of token responses; unverified claim peeks
//! rejection               Okta's error bodies -> OktaError / Rejection, read in one place
//! jwks                    RS256 verification keys of a JWKS, algorithm pinned per key
//! http                    TokenTransport: the one I/O trait (reqwest: https only unless
//!                         loopback, no redirects, 64 KiB bound, timeouts)
//! client                  OktaClient: both legs with the retry and key-reload rules
//! org                     OktaConfig: the org URL (the one parser), endpoints, scope, ids
//! deadline, clock         injected time: Deadline, Clock, JtiSource
//! sensitive               redacted, zeroized newtypes for every token and secret
//! ```

mod assertion;
mod client;
mod clock;
mod deadline;
mod grants;
mod http;
mod jwks;
mod key;
mod keystore;
pub mod org;
mod rejection;
mod response;
mod sensitive;

pub use assertion::{mint as mint_assertion, AssertionClaims, ASSERTION_LIFETIME_SECS};
pub use client::{backoff, Error, Grant, OktaClient, MAX_ATTEMPTS};
pub use clock::{Clock, JtiSource, ManualClock, RandomJti, SequentialJti, SystemClock};
pub use deadline::Deadline;
pub use grants::{
    jwt_bearer_body, token_exchange_body, CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT,
    REQUESTED_TOKEN_TYPE, SUBJECT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT,
};
pub use http::{HttpReply, ReqwestTransport, TokenTransport, TransportError, MAX_RESPONSE_BYTES};
pub use jwks::rs256_keys_by_kid;
pub use key::{KeyError, SigningKey};
pub use keystore::{BoxFuture, KeySource, KeyStore};
pub use org::{ConfigError, OktaConfig};
pub use rejection::{classify_failure, safe_code, Leg, OktaError, Rejection};
pub use response::{parse_success, unverified_claims, Issued, ID_JAG_TOKEN_TYPE};
pub use sensitive::{AccessToken, ClientAssertion, IdJag, IdToken, SecretBytes};
