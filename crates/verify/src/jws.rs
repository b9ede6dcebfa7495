//! The compact JWS, taken apart before any cryptography: the size first, then the form
//! (exactly three base64url parts without padding, a JSON object header), then the
//! header fields a verifier decides on. The claims are decoded only after the
//! signature verified ([`Jws::claims`]).

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

use crate::jwks::{Jwks, Key};
use crate::reason::{Reason, Refusal};

/// Larger tokens are refused before anything else is looked at.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The media type a token declares in `typ`, reduced to what a verifier decides on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Typ {
    Absent,
    /// `JWT`
    Jwt,
    /// `at+jwt` (RFC 9068 access token)
    AccessToken,
    /// `oauth-id-jag+jwt`, or `authorization-grant+jwt` (an older name)
    IdJag,
    Other,
}

impl Typ {
    fn of(typ: Option<&str>) -> Typ {
        let Some(typ) = typ else {
            return Typ::Absent;
        };
        // RFC 7515 4.1.9: "application/" may be left out; media types are case-insensitive.
        let bare = match typ.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
            _ => typ,
        };
        let is = |name: &str| bare.eq_ignore_ascii_case(name);
        if is("JWT") {
            Typ::Jwt
        } else if is("at+jwt") {
            Typ::AccessToken
        } else if is("oauth-id-jag+jwt") || is("authorization-grant+jwt") {
            Typ::IdJag
        } else {
            Typ::Other
        }
    }
}

/// `true` when the member is present at all (even `null`): these headers are refused.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow, default)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    jku: bool,
    #[serde(default, deserialize_with = "present")]
    x5u: bool,
    #[serde(default, deserialize_with = "present")]
    jwk: bool,
    #[serde(default, deserialize_with = "present")]
    x5c: bool,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// A token that has the form of a compact JWS, with its header read.
pub(crate) struct Jws<'t> {
    signing_input: &'t str,
    payload: &'t str,
    signature: &'t str,
    pub typ: Typ,
    pub kid: Option<String>,
    rs256: bool,
    forbidden_header: bool,
}

fn malformed() -> Refusal {
    Reason::Malformed.into()
}

fn is_b64url(part: &str) -> bool {
    part.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Serde reads a struct from a JSON array by position: only an object is accepted.
fn parse_object<'a, T: Deserialize<'a>>(json: &'a [u8]) -> Result<T, Refusal> {
    let first = json.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(malformed());
    }
    serde_json::from_slice(json).map_err(|_| malformed())
}

impl<'t> Jws<'t> {
    /// Size, form and header; no key and no claim is looked at here.
    pub fn parse(token: &'t str) -> Result<Jws<'t>, Refusal> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Reason::TooLarge.into());
        }
        let (signing_input, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        let (header, payload) = signing_input.split_once('.').ok_or_else(malformed)?;
        // The signature may be empty here so that `alg: none` is named as such.
        if header.is_empty()
            || payload.is_empty()
            || !is_b64url(header)
            || !is_b64url(payload)
            || !is_b64url(signature)
        {
            return Err(malformed());
        }
        let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| malformed())?;
        let raw: RawHeader<'_> = parse_object(&header)?;
        Ok(Jws {
            signing_input,
            payload,
            signature,
            typ: Typ::of(raw.typ.as_deref()),
            kid: raw.kid.map(Cow::into_owned),
            rs256: raw.alg.as_deref() == Some("RS256"),
            forbidden_header: raw.jku || raw.x5u || raw.jwk || raw.x5c || raw.crit,
        })
    }

    /// The header checks every verifier runs, in order: an ID-JAG is named as such,
    /// then the algorithm (RS256 only), then `typ` (`allowed`) and forbidden members.
    pub fn check_header(&self, allowed: &[Typ]) -> Result<(), Refusal> {
        if self.typ == Typ::IdJag {
            return Err(Reason::IdJagPresented.into());
        }
        if !self.rs256 {
            return Err(Reason::AlgNotAllowed.into());
        }
        if self.forbidden_header || !allowed.contains(&self.typ) {
            return Err(Reason::HeaderNotAllowed.into());
        }
        Ok(())
    }

    /// RS256 over `header.payload` with `key` (whose algorithm the JWKS pinned).
    pub fn verify_signature(&self, key: &Key) -> Result<(), Refusal> {
        if key.verifies(self.signing_input.as_bytes(), self.signature) {
            Ok(())
        } else {
            Err(Reason::BadSignature.into())
        }
    }

    /// The decoded claims bytes; call only after [`Jws::verify_signature`].
    pub fn claims_json(&self) -> Result<Vec<u8>, Refusal> {
        URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| malformed())
    }
}

impl Jwks {
    /// For verifiers with claim rules of their own (AgentCore's inbound check): a
    /// compact JWS checked up to and including its signature, in the same order as
    /// [`crate::AccessTokenVerifier`] (size, form, header: not an ID-JAG, RS256, no
    /// `jku`/`x5u`/`jwk`/`x5c`/`crit`, `typ` absent, `JWT` or `at+jwt`; key by `kid`
    /// with the throttled refetch; signature). Answers the decoded claims, a JSON
    /// object; no claim is checked.
    pub async fn verified_claims(&self, token: &str) -> Result<Vec<u8>, Refusal> {
        let jws = Jws::parse(token)?;
        jws.check_header(&[Typ::Absent, Typ::Jwt, Typ::AccessToken])?;
        let key = self.key(jws.kid.as_deref()).await?;
        jws.verify_signature(&key)?;
        let json = jws.claims_json()?;
        claims::<IgnoredAny>(&json)?;
        Ok(json)
    }
}

/// The claims as `T`, from a JSON object only.
pub(crate) fn claims<'a, T: Deserialize<'a>>(json: &'a [u8]) -> Result<T, Refusal> {
    parse_object(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(r#"{"a":1}"#))
    }

    fn reason(token: &str) -> Option<Reason> {
        Jws::parse(token)
            .and_then(|j| j.check_header(&[Typ::Absent, Typ::Jwt]))
            .err()
            .map(|r| r.reason)
    }

    #[test]
    fn the_form_is_checked_before_the_header() {
        assert_eq!(
            reason(&"a".repeat(MAX_TOKEN_BYTES + 1)),
            Some(Reason::TooLarge)
        );
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            ".b.c",
            "a..c",
            "a=.b.c",
            "a.b.c ",
            "{\"a\":1}",
        ] {
            assert_eq!(reason(bad), Some(Reason::Malformed), "{bad}");
        }
        let array = format!("{}.{}.c2ln", b64(r#"["RS256"]"#), b64("{}"));
        assert_eq!(reason(&array), Some(Reason::Malformed));
        let dup = token(r#"{"alg":"RS256","alg":"none"}"#);
        assert_eq!(
            reason(&dup),
            Some(Reason::Malformed),
            "duplicate members are refused"
        );
    }

    #[test]
    fn header_checks_name_what_is_wrong() {
        assert_eq!(reason(&token(r#"{"alg":"RS256","kid":"k"}"#)), None);
        assert_eq!(reason(&token(r#"{"alg":"RS256","typ":"JWT"}"#)), None);
        for (header, want) in [
            (r#"{"alg":"none"}"#, Reason::AlgNotAllowed),
            (r#"{"alg":"HS256"}"#, Reason::AlgNotAllowed),
            (r#"{"alg":"rs256"}"#, Reason::AlgNotAllowed),
            (r#"{"typ":"JWT"}"#, Reason::AlgNotAllowed),
            (r#"{"alg":"RS256","jku":null}"#, Reason::HeaderNotAllowed),
            (
                r#"{"alg":"RS256","x5u":"https://x"}"#,
                Reason::HeaderNotAllowed,
            ),
            (r#"{"alg":"RS256","jwk":{}}"#, Reason::HeaderNotAllowed),
            (r#"{"alg":"RS256","x5c":[]}"#, Reason::HeaderNotAllowed),
            (
                r#"{"alg":"RS256","crit":["b64"]}"#,
                Reason::HeaderNotAllowed,
            ),
            (
                r#"{"alg":"RS256","typ":"at+jwt"}"#,
                Reason::HeaderNotAllowed,
            ),
            (
                r#"{"alg":"RS256","typ":"oauth-id-jag+jwt"}"#,
                Reason::IdJagPresented,
            ),
            (
                r#"{"alg":"ES256","typ":"application/OAUTH-ID-JAG+JWT"}"#,
                Reason::IdJagPresented,
            ),
        ] {
            assert_eq!(reason(&token(header)), Some(want), "{header}");
        }
        // alg none with its usual empty signature is named as such, not as malformed.
        let none = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64("{}"));
        assert_eq!(reason(&none), Some(Reason::AlgNotAllowed));
    }

    #[test]
    fn typ_names_are_normalized() {
        assert_eq!(Typ::of(Some("application/jwt")), Typ::Jwt);
        assert_eq!(Typ::of(Some("AT+JWT")), Typ::AccessToken);
        assert_eq!(Typ::of(Some("authorization-grant+jwt")), Typ::IdJag);
        assert_eq!(Typ::of(Some("é")), Typ::Other);
        assert_eq!(Typ::of(None), Typ::Absent);
    }
}
