//! `private_key_jwt` client assertions (RFC 7523 section 2.2), one per HTTP request.

use serde::Serialize;

use crate::clock::{Clock, JtiSource};
use crate::key::{KeyError, SigningKey};
use crate::sensitive::ClientAssertion;

/// Okta refuses assertions valid for more than an hour; five minutes is plenty for
/// one request and limits the damage of a leaked assertion.
pub const ASSERTION_LIFETIME_SECS: u64 = 300;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct AssertionClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    /// The exact token endpoint URL this assertion is sent to.
    pub aud: &'a str,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
}

/// Mint a fresh assertion for one request to `token_url`. Okta treats any assertion
/// carrying a `jti` as single use, so retries must call this again.
pub fn mint(
    key: &SigningKey,
    client_id: &str,
    token_url: &str,
    clock: &dyn Clock,
    jti: &dyn JtiSource,
) -> Result<ClientAssertion, KeyError> {
    let now = clock.unix_now();
    key.sign(&AssertionClaims {
        iss: client_id,
        sub: client_id,
        aud: token_url,
        iat: now,
        exp: now + ASSERTION_LIFETIME_SECS,
        jti: jti.next_jti(),
    })
}
