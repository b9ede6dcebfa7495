//! Optional full verification of the user's ID token before any exchange (enabled by
//! `OKTA_OIDC_CLIENT_ID`), done by `verify::IdTokenVerifier` over a `verify::Jwks` of
//! the org authorization server: RS256 only, signature, `iss`, `aud`, `exp`/`iat`.
//! The keys are cached for an hour; an unknown `kid` refetches them at most once per
//! 30 seconds, counted before the request, so a flood of forged tokens cannot turn into
//! a flood of JWKS requests even while Okta is failing. This module only words the
//! refusals for the bridge's operators.

use std::sync::Arc;
use std::time::Duration;

use verify::{IdTokenVerifier, Jwks, Reason, Refusal};
use xaa::{Clock, IdToken, Leg, OktaConfig, OktaError, TokenTransport};

use crate::error::Error;

pub struct IdTokenCheck {
    verifier: IdTokenVerifier,
}

impl IdTokenCheck {
    /// `client_id` is `OKTA_OIDC_CLIENT_ID`; keys come from the org JWKS.
    pub fn new(
        okta: &OktaConfig,
        client_id: String,
        transport: Arc<dyn TokenTransport>,
        clock: Arc<dyn Clock>,
        http_timeout: Duration,
        leeway: Duration,
    ) -> Self {
        let jwks = Jwks::new(okta.org_jwks_url.clone(), transport, clock.clone())
            .with_timeout(http_timeout);
        IdTokenCheck {
            verifier: IdTokenVerifier::new(
                okta.base_url.clone(),
                client_id,
                Arc::new(jwks),
                clock,
                leeway,
            ),
        }
    }

    pub async fn verify(&self, id_token: &IdToken) -> Result<(), Error> {
        self.verifier
            .verify(id_token.expose())
            .await
            .map(|_| ())
            .map_err(refused)
    }
}

/// The bridge's wording of a refusal: what is wrong with the person's ID token.
fn refused(refusal: Refusal) -> Error {
    let why = match refusal.reason {
        Reason::KeysUnavailable => {
            return Error::Okta(OktaError::Unavailable {
                leg: Leg::TokenExchange,
                reason: "the org JWKS could not be fetched (it is refetched at most every 30 s)"
                    .into(),
                transient: false,
                retry_after: None,
            })
        }
        Reason::AlgNotAllowed => "it is not signed with RS256; only RS256 is accepted",
        Reason::UnknownKey => {
            "it is signed with a key the org authorization server does not publish"
        }
        Reason::BadSignature => "its signature does not verify",
        Reason::WrongAudience => {
            "its aud is not OKTA_OIDC_CLIENT_ID (it was issued for another app)"
        }
        Reason::WrongIssuer => "its iss is not this Okta org",
        Reason::Expired => "it has expired",
        Reason::NotYetValid | Reason::IssuedInFuture => "it is not valid yet",
        _ => refusal.reason.describe(),
    };
    Error::IdTokenPrecheck(format!("{why} ({})", refusal.code()))
}
