//! The claims both verifiers read, decoded once (strings borrowed from the decoded
//! payload where they carry no escapes), and the checks they share: issuer, audience,
//! and `exp`/`nbf`/`iat` with a leeway, in saturating arithmetic (no overflow on
//! `exp + leeway` whatever the numbers).

use std::borrow::Cow;
use std::fmt;

use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::reason::{Reason, Refusal};

/// A string or an array of strings (`aud`, `scp`).
pub(crate) struct Strings<'a>(pub Vec<Cow<'a, str>>);

impl<'a> Strings<'a> {
    pub fn contains(&self, wanted: &str) -> bool {
        self.0.iter().any(|s| s == wanted)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Strings<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Strings<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Strings(vec![Cow::Borrowed(s)]))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Strings(vec![Cow::Owned(s.to_string())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
                while let Some(s) = seq.next_element::<Cow<'de, str>>()? {
                    out.push(s);
                }
                Ok(Strings(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `true` when the member is present at all.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

/// The claims of an access token or an ID token. Unknown members are ignored;
/// a member present twice, or of another type than here, makes the token malformed.
#[derive(Deserialize)]
pub(crate) struct Claims<'a> {
    #[serde(borrow, default)]
    pub iss: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub aud: Option<Strings<'a>>,
    #[serde(default)]
    pub exp: Option<u64>,
    #[serde(default)]
    pub nbf: Option<u64>,
    #[serde(default)]
    pub iat: Option<u64>,
    #[serde(borrow, default)]
    pub jti: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub sub: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub cid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub uid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub scp: Option<Strings<'a>>,
    /// Any JSON: the AGBAC person is `act.sub` when `act` is an object.
    #[serde(default)]
    pub act: Option<serde_json::Value>,
    /// Claims only an ID token carries.
    #[serde(default, deserialize_with = "present")]
    pub nonce: bool,
    #[serde(default, deserialize_with = "present")]
    pub at_hash: bool,
    #[serde(default, deserialize_with = "present")]
    pub amr: bool,
    #[serde(default, deserialize_with = "present")]
    pub idp: bool,
}

/// A claim value that counts as present: a non-empty string.
pub(crate) fn non_empty<'s>(value: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
    value.as_deref().filter(|s| !s.is_empty())
}

impl Claims<'_> {
    /// An ID token: no `scp`, and a claim only ID tokens carry.
    pub fn looks_like_id_token(&self) -> bool {
        self.scp.is_none() && (self.nonce || self.at_hash || self.amr || self.idp)
    }

    pub fn check_issuer(&self, issuer: &str) -> Result<(), Refusal> {
        match non_empty(&self.iss) {
            None => Err(Reason::ClaimMissing.into()),
            Some(iss) if iss == issuer => Ok(()),
            Some(_) => Err(Reason::WrongIssuer.into()),
        }
    }

    pub fn check_audience(&self, audience: &str) -> Result<(), Refusal> {
        match &self.aud {
            None => Err(Reason::ClaimMissing.into()),
            Some(aud) if aud.contains(audience) => Ok(()),
            Some(_) => Err(Reason::WrongAudience.into()),
        }
    }

    /// `exp` and `iat` required, `nbf` optional, each with `leeway` seconds of skew.
    /// Answers `exp`.
    pub fn check_times(&self, now: u64, leeway: u64) -> Result<u64, Refusal> {
        let (Some(exp), Some(iat)) = (self.exp, self.iat) else {
            return Err(Reason::ClaimMissing.into());
        };
        if now >= exp.saturating_add(leeway) {
            return Err(Reason::Expired.into());
        }
        let latest = now.saturating_add(leeway);
        if self.nbf.is_some_and(|nbf| nbf > latest) {
            return Err(Reason::NotYetValid.into());
        }
        if iat > latest {
            return Err(Reason::IssuedInFuture.into());
        }
        Ok(exp)
    }
}

/// Hex of the first 16 bytes of SHA-256(`jti`): a replay key that is not the `jti`.
pub(crate) fn jti_hash(jti: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, jti.as_bytes());
    let mut out = String::with_capacity(32);
    for b in &digest.as_ref()[..16] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> Result<Claims<'_>, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn aud_and_scp_are_a_string_or_an_array_of_strings() {
        let c = claims(r#"{"aud":"api://default","scp":["a","b\u0041"]}"#).unwrap();
        assert!(c.check_audience("api://default").is_ok());
        assert!(c.scp.as_ref().unwrap().contains("bA"));
        let c = claims(r#"{"aud":["x","api://default"]}"#).unwrap();
        assert!(c.check_audience("api://default").is_ok());
        assert_eq!(
            c.check_audience("api://other"),
            Err(Reason::WrongAudience.into())
        );
        assert!(claims(r#"{"aud":[1]}"#).is_err());
        assert!(claims(r#"{"aud":{"a":"b"}}"#).is_err());
        assert!(claims(r#"{"exp":1.5}"#).is_err());
        assert!(claims(r#"{"exp":-1}"#).is_err());
        assert!(
            claims(r#"{"sub":"a","sub":"b"}"#).is_err(),
            "duplicates are refused"
        );
    }

    #[test]
    fn times_use_the_leeway_without_overflow() {
        let at = |exp: u64, iat: u64, nbf: Option<u64>| Claims {
            exp: Some(exp),
            iat: Some(iat),
            nbf,
            ..claims("{}").unwrap()
        };
        let now = 1_000_000;
        assert_eq!(at(now + 1, now, None).check_times(now, 0), Ok(now + 1));
        assert_eq!(
            at(now, now, None).check_times(now, 0),
            Err(Reason::Expired.into())
        );
        assert!(at(now - 59, now - 100, None).check_times(now, 60).is_ok());
        assert_eq!(
            at(now - 60, now - 100, None).check_times(now, 60),
            Err(Reason::Expired.into())
        );
        assert_eq!(
            at(u64::MAX, u64::MAX, None).check_times(now, 60),
            Err(Reason::IssuedInFuture.into())
        );
        assert_eq!(
            at(u64::MAX, now, Some(u64::MAX)).check_times(now, 120),
            Err(Reason::NotYetValid.into())
        );
        assert!(at(u64::MAX, u64::MAX, None)
            .check_times(u64::MAX - 1, 120)
            .is_ok());
        assert_eq!(
            at(now + 10, now + 61, None).check_times(now, 60),
            Err(Reason::IssuedInFuture.into())
        );
        assert!(at(now + 10, now + 60, Some(now + 60))
            .check_times(now, 60)
            .is_ok());
        let missing = Claims {
            exp: Some(now + 10),
            ..claims("{}").unwrap()
        };
        assert_eq!(
            missing.check_times(now, 60),
            Err(Reason::ClaimMissing.into())
        );
    }

    #[test]
    fn the_jti_hash_is_the_first_half_of_sha256_in_hex() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a3...
        assert_eq!(jti_hash("abc"), "ba7816bf8f01cfea414140de5dae2223");
    }
}
