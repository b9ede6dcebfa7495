//! Why a token was refused: one [`Reason`] per check, each with a stable code to alert
//! on and a sentence that says what to fix. Neither ever carries token content.

use std::fmt;

/// The check a token failed. Codes are stable: they are published and alerted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    TooLarge,
    Malformed,
    AlgNotAllowed,
    HeaderNotAllowed,
    IdJagPresented,
    IdTokenPresented,
    AccessTokenPresented,
    UnknownKey,
    BadSignature,
    WrongIssuer,
    WrongAudience,
    Expired,
    NotYetValid,
    IssuedInFuture,
    ClaimMissing,
    ClientNotAllowed,
    ScopeMissing,
    PersonMissing,
    SubjectsMismatch,
    KeysUnavailable,
}

impl Reason {
    /// Every reason, in the order the checks run.
    pub const ALL: &'static [Reason] = &[
        Reason::TooLarge,
        Reason::Malformed,
        Reason::AlgNotAllowed,
        Reason::HeaderNotAllowed,
        Reason::IdJagPresented,
        Reason::IdTokenPresented,
        Reason::AccessTokenPresented,
        Reason::UnknownKey,
        Reason::BadSignature,
        Reason::WrongIssuer,
        Reason::WrongAudience,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::IssuedInFuture,
        Reason::ClaimMissing,
        Reason::ClientNotAllowed,
        Reason::ScopeMissing,
        Reason::PersonMissing,
        Reason::SubjectsMismatch,
        Reason::KeysUnavailable,
    ];

    /// The stable code (snake case), e.g. `bad_signature`.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::TooLarge => "token_too_large",
            Reason::Malformed => "token_malformed",
            Reason::AlgNotAllowed => "alg_not_allowed",
            Reason::HeaderNotAllowed => "header_not_allowed",
            Reason::IdJagPresented => "id_jag_presented",
            Reason::IdTokenPresented => "id_token_presented",
            Reason::AccessTokenPresented => "access_token_presented",
            Reason::UnknownKey => "unknown_kid",
            Reason::BadSignature => "bad_signature",
            Reason::WrongIssuer => "wrong_issuer",
            Reason::WrongAudience => "wrong_audience",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::IssuedInFuture => "issued_in_future",
            Reason::ClaimMissing => "claim_missing",
            Reason::ClientNotAllowed => "client_not_allowed",
            Reason::ScopeMissing => "scope_missing",
            Reason::PersonMissing => "person_missing",
            Reason::SubjectsMismatch => "subjects_mismatch",
            Reason::KeysUnavailable => "jwks_unavailable",
        }
    }

    /// What failed and what to do about it, in one sentence of our own.
    pub fn describe(&self) -> &'static str {
        match self {
            Reason::TooLarge => "the token is larger than 16 KiB",
            Reason::Malformed => {
                "the token is not a compact JWS (three base64url parts separated by dots, a JSON object header and claims)"
            }
            Reason::AlgNotAllowed => "the token is not signed with RS256, the only algorithm accepted",
            Reason::HeaderNotAllowed => {
                "the token header carries a field that is not accepted (jku, x5u, jwk, x5c, crit or an unexpected typ)"
            }
            Reason::IdJagPresented => {
                "an ID-JAG was presented; redeem it at the authorization server for an access token first"
            }
            Reason::IdTokenPresented => {
                "an ID token was presented where an access token is required"
            }
            Reason::AccessTokenPresented => {
                "an access token was presented where an ID token is required"
            }
            Reason::UnknownKey => {
                "the token is signed with a key the authorization server does not publish"
            }
            Reason::BadSignature => "the token signature does not verify",
            Reason::WrongIssuer => "the token iss is not the configured issuer",
            Reason::WrongAudience => "the token aud does not include the configured audience",
            Reason::Expired => "the token has expired; get a new one",
            Reason::NotYetValid => "the token is not valid yet (nbf is in the future)",
            Reason::IssuedInFuture => "the token iat is in the future; check the clocks",
            Reason::ClaimMissing => {
                "a required claim is missing (iss, aud, exp, iat, jti or the agent's client id)"
            }
            Reason::ClientNotAllowed => "the agent (client id) is not in the allowed clients",
            Reason::ScopeMissing => "the token lacks a required scope",
            Reason::PersonMissing => "the token does not name the person the agent acts for",
            Reason::SubjectsMismatch => {
                "the token's agent and person are inconsistent (sub differs from cid, the person is an agent, or both are the same)"
            }
            Reason::KeysUnavailable => {
                "the authorization server's keys (JWKS) could not be fetched; try again shortly"
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A refused token. Display is the reason's description; nothing of the token is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        self.reason.code()
    }
}

impl From<Reason> for Refusal {
    fn from(reason: Reason) -> Self {
        Refusal { reason }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason.describe())
    }
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_every_reason_is_listed() {
        let mut codes: Vec<&str> = Reason::ALL.iter().map(Reason::code).collect();
        assert!(codes
            .iter()
            .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Reason::ALL.len());
        assert_eq!(Reason::ALL.len(), 20);
        let r = Refusal::from(Reason::BadSignature);
        assert_eq!(r.code(), "bad_signature");
        assert_eq!(r.to_string(), "the token signature does not verify");
    }
}
