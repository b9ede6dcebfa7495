//! OIDC ID tokens (the bridge's optional check that the person's ID token was issued by
//! the org for our web app): RS256 against the org JWKS, `iss`, `aud` = the client id,
//! `exp`/`iat`/`nbf` with a leeway, `sub`. An access token presented instead is refused.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use xaa::Clock;

use crate::claims::{non_empty, Claims};
use crate::jwks::Jwks;
use crate::jws::{self, Jws, Typ};
use crate::policy::MAX_LEEWAY;
use crate::reason::{Reason, Refusal};

/// What an accepted ID token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdClaims {
    /// `sub`: the Okta user id.
    pub subject: String,
    /// `exp`, unix seconds.
    pub expires_at: u64,
}

pub struct IdTokenVerifier {
    issuer: String,
    client_id: String,
    jwks: Arc<Jwks>,
    clock: Arc<dyn Clock>,
    leeway: u64,
}

impl fmt::Debug for IdTokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenVerifier")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("jwks_url", &self.jwks.url())
            .finish_non_exhaustive()
    }
}

/// Header types an ID token may declare: none or `JWT`.
const ID_TYPES: &[Typ] = &[Typ::Absent, Typ::Jwt];

impl IdTokenVerifier {
    /// `leeway` is held to at most [`MAX_LEEWAY`].
    pub fn new(
        issuer: String,
        client_id: String,
        jwks: Arc<Jwks>,
        clock: Arc<dyn Clock>,
        leeway: Duration,
    ) -> Self {
        IdTokenVerifier {
            issuer,
            client_id,
            jwks,
            clock,
            leeway: leeway.min(MAX_LEEWAY).as_secs(),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<IdClaims, Refusal> {
        let jws = Jws::parse(token)?;
        jws.check_header(ID_TYPES)?;
        let key = self.jwks.key(jws.kid.as_deref()).await?;
        jws.verify_signature(&key)?;
        let json = jws.claims_json()?;
        let c: Claims<'_> = jws::claims(&json)?;
        if c.scp.is_some() || c.cid.is_some() {
            return Err(Reason::AccessTokenPresented.into());
        }
        c.check_issuer(&self.issuer)?;
        c.check_audience(&self.client_id)?;
        let expires_at = c.check_times(self.clock.unix_now(), self.leeway)?;
        let subject = non_empty(&c.sub).ok_or(Reason::ClaimMissing)?;
        Ok(IdClaims {
            subject: subject.to_string(),
            expires_at,
        })
    }
}
