//! Token endpoint successes: strict parsing of what each grant must return.

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::rejection::{safe_code, Leg, OktaError};

pub const ID_JAG_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";

/// A JSON object with any members, and nothing else. serde's derived structs also read
/// a JSON *array* by position (`["tok",null,0]` would fill the first fields), which no
/// server sends; parsers check this shape first so such a body is refused.
pub(crate) struct ObjectOnly;

impl<'de> serde::Deserialize<'de> for ObjectOnly {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = ObjectOnly;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ObjectOnly, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(ObjectOnly)
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// True when `body` is one JSON object.
pub(crate) fn is_json_object(body: &[u8]) -> bool {
    serde_json::from_slice::<ObjectOnly>(body).is_ok()
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<Zeroizing<String>>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
    issued_token_type: Option<String>,
    scope: Option<String>,
}

/// A token as returned by one leg.
pub struct Issued {
    pub token: Zeroizing<String>,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
}

/// Parse a 2xx token response. `expect_id_jag` selects leg 1's rules.
pub fn parse_success(leg: Leg, body: &[u8]) -> Result<Issued, OktaError> {
    let protocol = |reason: &str| OktaError::Protocol {
        leg,
        reason: reason.to_string(),
    };
    if !is_json_object(body) {
        return Err(protocol("the body is not a JSON token response"));
    }
    let parsed: TokenBody = serde_json::from_slice(body)
        .map_err(|_| protocol("the body is not a JSON token response"))?;
    let token = parsed
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| protocol("`access_token` is missing or empty"))?;
    match leg {
        // issued_token_type is the real check; token_type varies (N_A, Bearer) in Okta's own examples.
        Leg::TokenExchange => match parsed.issued_token_type.as_deref() {
            Some(ID_JAG_TOKEN_TYPE) => {}
            Some(other) => {
                return Err(protocol(&format!(
                    "issued_token_type is `{}`, not the ID-JAG type",
                    safe_code(other)
                )))
            }
            None => return Err(protocol("`issued_token_type` is missing")),
        },
        // Any token_type is accepted (Okta's examples vary), except a sender-constrained
        // DPoP token: we send no DPoP proof, so one cannot be forwarded as a bearer token.
        Leg::JwtBearer
        | Leg::OAuthSts
        | Leg::ClientCredentials
        | Leg::VaultedSecret
        | Leg::ServiceAccount
        | Leg::Revoke => {
            if let Some(tt) = parsed.token_type.as_deref() {
                if tt.eq_ignore_ascii_case("dpop") {
                    return Err(protocol(
                        "token_type is `DPoP`; a sender-constrained token cannot be forwarded to the agent",
                    ));
                }
            }
        }
    }
    let expires_in = parse_expires_in(leg, parsed.expires_in)?;
    Ok(Issued {
        token,
        expires_in,
        scope: parsed.scope,
    })
}

/// `expires_in` as a whole number of seconds: a JSON number, or a string of digits
/// (some servers send one); absent or `null` is `None`.
pub(crate) fn parse_expires_in(
    leg: Leg,
    value: Option<serde_json::Value>,
) -> Result<Option<u64>, OktaError> {
    let protocol = |reason: &str| OktaError::Protocol {
        leg,
        reason: reason.to_string(),
    };
    Ok(match value {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) => Some(
            n.as_u64()
                .ok_or_else(|| protocol("`expires_in` is not a whole number of seconds"))?,
        ),
        // Some servers send numbers as strings; accept digits only.
        Some(serde_json::Value::String(s))
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(
                s.parse()
                    .map_err(|_| protocol("`expires_in` is not a whole number of seconds"))?,
            )
        }
        Some(_) => return Err(protocol("`expires_in` is not a whole number of seconds")),
    })
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Claims of a JWT, decoded without verifying the signature (`jsonwebtoken`'s
/// `insecure_decode`). Only for values whose worst case is a wasted call (expiry, a
/// log id), never for trust decisions.
pub fn unverified_claims(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    jsonwebtoken::dangerous::insecure_decode::<serde_json::Map<String, serde_json::Value>>(jwt)
        .ok()
        .map(|data| data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    #[test]
    fn leg1_success_requires_the_id_jag_token_type_but_any_token_type() {
        for tt in ["N_A", "Bearer"] {
            let body = format!(
                r#"{{"issued_token_type":"{ID_JAG_TOKEN_TYPE}","access_token":"jag","token_type":"{tt}","expires_in":300}}"#
            );
            let issued = parse_success(Leg::TokenExchange, body.as_bytes()).unwrap();
            assert_eq!(
                (issued.token.as_str(), issued.expires_in),
                ("jag", Some(300))
            );
        }
        let missing_expiry =
            format!(r#"{{"issued_token_type":"{ID_JAG_TOKEN_TYPE}","access_token":"jag"}}"#);
        assert_eq!(
            parse_success(Leg::TokenExchange, missing_expiry.as_bytes())
                .unwrap()
                .expires_in,
            None
        );
        let wrong = r#"{"issued_token_type":"urn:ietf:params:oauth:token-type:access_token","access_token":"x"}"#;
        assert_eq!(
            parse_success(Leg::TokenExchange, wrong.as_bytes())
                .unwrap_err()
                .kind(),
            "OktaProtocolError"
        );
        for (body, reason) in [
            (
                &br#"{"access_token":"x"}"#[..],
                "`issued_token_type` is missing",
            ),
            (&b"<html>"[..], "not a JSON token response"),
        ] {
            match parse_success(Leg::TokenExchange, body) {
                Err(OktaError::Protocol { reason: r, .. }) => assert!(r.contains(reason), "{r}"),
                other => panic!("expected a protocol error, got {:?}", other.map(|_| ())),
            }
        }
    }

    fn assert_protocol_error(result: Result<Issued, OktaError>) {
        match result {
            Err(e) => assert_eq!(e.kind(), "OktaProtocolError", "{e}"),
            Ok(_) => panic!("expected a protocol error"),
        }
    }

    #[test]
    fn leg2_success_accepts_any_token_type_but_dpop() {
        let ok = parse_success(
            Leg::JwtBearer,
            br#"{"token_type":"Bearer","expires_in":3600,"access_token":"at","scope":"xaa:read"}"#,
        )
        .unwrap();
        assert_eq!(
            (ok.token.as_str(), ok.expires_in, ok.scope.as_deref()),
            ("at", Some(3600), Some("xaa:read"))
        );
        for tt in ["bearer", "N_A"] {
            let body = format!(r#"{{"token_type":"{tt}","access_token":"at"}}"#);
            assert_eq!(
                parse_success(Leg::JwtBearer, body.as_bytes())
                    .unwrap()
                    .token
                    .as_str(),
                "at"
            );
        }
        assert_protocol_error(parse_success(
            Leg::JwtBearer,
            br#"{"token_type":"DPoP","access_token":"at"}"#,
        ));
        assert_protocol_error(parse_success(
            Leg::JwtBearer,
            br#"{"token_type":"Bearer","access_token":""}"#,
        ));
        assert_protocol_error(parse_success(
            Leg::JwtBearer,
            br#"{"token_type":"Bearer","access_token":"a","expires_in":-5}"#,
        ));
    }

    #[test]
    fn only_a_json_object_with_plain_digits_is_a_token_response() {
        // serde would read this array by position as access_token, token_type, expires_in...
        assert_protocol_error(parse_success(Leg::JwtBearer, br#"["tok",null,0,null,""]"#));
        assert_protocol_error(parse_success(
            Leg::JwtBearer,
            br#"{"token_type":"Bearer","access_token":"a","expires_in":"+1"}"#,
        ));
        let ok = parse_success(
            Leg::JwtBearer,
            br#" {"token_type":"Bearer","access_token":"a","expires_in":"60"}"#,
        )
        .unwrap();
        assert_eq!(ok.expires_in, Some(60));
    }

    #[test]
    fn unverified_claims_decode_the_payload_only() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp":42,"sub":"00u1"}"#);
        let claims = unverified_claims(&format!("eyJhbGciOiJSUzI1NiJ9.{payload}.s")).unwrap();
        assert_eq!(claims["exp"], 42);
        assert!(unverified_claims("a.b").is_none());
        assert!(unverified_claims(&format!("eyJhbGciOiJSUzI1NiJ9.{payload}.s.x")).is_none());
        assert!(unverified_claims(&format!("not-a-header.{payload}.s")).is_none());
    }
}
