//! Access tokens, as a resource server checks them: form and header, key, signature,
//! then the claims (nothing in them is trusted before the signature verified), and the
//! two subjects: every accepted token names the agent and the person it acts for.

use std::fmt;
use std::sync::Arc;

use xaa::Clock;

use crate::claims::{jti_hash, non_empty, Claims};
use crate::jwks::Jwks;
use crate::jws::{self, Jws, Typ};
use crate::policy::{AccessPolicy, Subjects, MAX_LEEWAY};
use crate::reason::{Reason, Refusal};

/// Who an accepted access token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Client id of the AI agent.
    pub agent: String,
    /// The person the agent acts for (Okta user id, `00u...`).
    pub person: String,
    /// The token's `scp`.
    pub scopes: Vec<String>,
    /// Hex of the first 16 bytes of SHA-256(`jti`); a token without `jti` is refused.
    pub jti_hash: String,
    /// `exp`, unix seconds.
    pub expires_at: u64,
}

/// Verifies access tokens of one authorization server against one [`AccessPolicy`].
pub struct AccessTokenVerifier {
    policy: AccessPolicy,
    jwks: Arc<Jwks>,
    clock: Arc<dyn Clock>,
    leeway: u64,
}

impl fmt::Debug for AccessTokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenVerifier")
            .field("policy", &self.policy)
            .field("jwks_url", &self.jwks.url())
            .finish_non_exhaustive()
    }
}

/// Header types an access token may declare: none (Okta's), `JWT` or `at+jwt`.
const ACCESS_TYPES: &[Typ] = &[Typ::Absent, Typ::Jwt, Typ::AccessToken];

impl AccessTokenVerifier {
    /// `policy.leeway` above [`MAX_LEEWAY`] (possible only by building the policy by
    /// hand) is held to it.
    pub fn new(policy: AccessPolicy, jwks: Arc<Jwks>, clock: Arc<dyn Clock>) -> Self {
        let leeway = policy.leeway.min(MAX_LEEWAY).as_secs();
        AccessTokenVerifier {
            policy,
            jwks,
            clock,
            leeway,
        }
    }

    pub fn policy(&self) -> &AccessPolicy {
        &self.policy
    }

    /// Size, form, header, key (with the one throttled refetch), signature, claims.
    pub async fn verify(&self, token: &str) -> Result<Principal, Refusal> {
        let jws = Jws::parse(token)?;
        jws.check_header(ACCESS_TYPES)?;
        let key = self.jwks.key(jws.kid.as_deref()).await?;
        jws.verify_signature(&key)?;
        let json = jws.claims_json()?;
        let claims: Claims<'_> = jws::claims(&json)?;
        self.check(&claims)
    }

    fn check(&self, c: &Claims<'_>) -> Result<Principal, Refusal> {
        let p = &self.policy;
        if c.looks_like_id_token() {
            return Err(Reason::IdTokenPresented.into());
        }
        c.check_issuer(&p.issuer)?;
        c.check_audience(&p.audience)?;
        let expires_at = c.check_times(self.clock.unix_now(), self.leeway)?;
        let jti = non_empty(&c.jti).ok_or(Reason::ClaimMissing)?;
        let (agent, person) = subjects(c, p.subjects)?;
        if !p.allowed_clients.iter().any(|a| a == agent) {
            return Err(Reason::ClientNotAllowed.into());
        }
        // A swap (the person where the agent belongs) cannot pass: an agent id is never
        // a person, and the two are never the same.
        if person == agent || p.allowed_clients.iter().any(|a| a == person) {
            return Err(Reason::SubjectsMismatch.into());
        }
        let scopes = c.scp.as_ref().map(|s| s.0.as_slice()).unwrap_or_default();
        let granted = |wanted: &String| scopes.iter().any(|s| s == wanted);
        if !p.required_scopes.iter().all(granted) {
            return Err(Reason::ScopeMissing.into());
        }
        Ok(Principal {
            agent: agent.to_string(),
            person: person.to_string(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            jti_hash: jti_hash(jti),
            expires_at,
        })
    }
}

/// `(agent, person)` as the model places them.
fn subjects<'c>(c: &'c Claims<'_>, model: Subjects) -> Result<(&'c str, &'c str), Refusal> {
    match model {
        Subjects::Xaa => {
            let agent = non_empty(&c.cid).ok_or(Reason::ClaimMissing)?;
            let person = non_empty(&c.uid).ok_or(Reason::PersonMissing)?;
            Ok((agent, person))
        }
        Subjects::Agbac => {
            let agent = non_empty(&c.sub).ok_or(Reason::ClaimMissing)?;
            if non_empty(&c.cid).is_some_and(|cid| cid != agent) {
                return Err(Reason::SubjectsMismatch.into());
            }
            let person = c
                .act
                .as_ref()
                .and_then(|act| act.as_object())
                .and_then(|act| act.get("sub"))
                .and_then(|sub| sub.as_str())
                .filter(|sub| !sub.is_empty())
                .ok_or(Reason::PersonMissing)?;
            Ok((agent, person))
        }
    }
}
