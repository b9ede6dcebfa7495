//! Token endpoint responses: strict parsing of successes, and the mapping of Okta's
//! documented OAuth errors to our error types and operator hints.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::error::safe_code;

pub const ID_JAG_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";

/// Which of the two token requests failed; shown in messages and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// Leg 1: token exchange at the org authorization server.
    TokenExchange,
    /// Leg 2: JWT bearer grant at the custom authorization server.
    JwtBearer,
}

impl std::fmt::Display for Leg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Leg::TokenExchange => "leg 1 (token exchange at the org authorization server)",
            Leg::JwtBearer => "leg 2 (JWT bearer grant at the custom authorization server)",
        })
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OktaError {
    /// Okta answered with an OAuth error.
    #[error("Okta refused {leg} with `{code}` (HTTP {status}): {hint}")]
    Rejected {
        leg: Leg,
        status: u16,
        code: String,
        error_type: &'static str,
        hint: String,
    },
    /// Okta could not be reached or answered 429/5xx, after the allowed retries.
    #[error("Okta is unavailable for {leg}: {reason}; retry later or check network access to the Okta org")]
    Unavailable {
        leg: Leg,
        reason: String,
        transient: bool,
        retry_after: Option<Duration>,
    },
    /// Okta answered 2xx with something that is not the token we asked for.
    #[error("unexpected answer from Okta to {leg}: {reason}")]
    Protocol { leg: Leg, reason: String },
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl OktaError {
    pub fn error_type(&self) -> &'static str {
        match self {
            OktaError::Rejected { error_type, .. } => error_type,
            OktaError::Unavailable { .. } => "OktaUnavailable",
            OktaError::Protocol { .. } => "OktaProtocolError",
        }
    }

    /// A cached ID-JAG answered with `invalid_grant` at leg 2: start again from leg 1.
    pub fn is_invalid_grant_at_leg2(&self) -> bool {
        matches!(self, OktaError::Rejected { leg: Leg::JwtBearer, code, .. } if code == "invalid_grant")
    }

    /// The server's Retry-After, when it gave one with a 429 or 503.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            OktaError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Worth another attempt (connect error, timeout, 5xx, 429 with Retry-After).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            OktaError::Unavailable {
                transient: true,
                ..
            }
        )
    }
}

/// Set when `invalid_client` names the key (`kid` or signature): the secret may have
/// been rotated, so it is worth reloading once.
pub fn points_at_key(error: &OktaError) -> bool {
    matches!(error, OktaError::Rejected { code, hint, .. } if code == "invalid_client" && (hint.contains("AGENT_KEY_ID") || hint.contains("does not match")))
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
        Leg::JwtBearer => {
            if let Some(tt) = parsed.token_type.as_deref() {
                if tt.eq_ignore_ascii_case("dpop") {
                    return Err(protocol(
                        "token_type is `DPoP`; a sender-constrained token cannot be forwarded to the agent",
                    ));
                }
            }
        }
    }
    let expires_in = match parsed.expires_in {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) => Some(
            n.as_u64()
                .ok_or_else(|| protocol("`expires_in` is not a whole number of seconds"))?,
        ),
        // Some servers send numbers as strings; accept digits only.
        Some(serde_json::Value::String(s)) => Some(
            s.parse()
                .map_err(|_| protocol("`expires_in` is not a whole number of seconds"))?,
        ),
        Some(_) => return Err(protocol("`expires_in` is not a whole number of seconds")),
    };
    Ok(Issued {
        token,
        expires_in,
        scope: parsed.scope,
    })
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
    error_description: Option<String>,
    max_age: Option<serde_json::Value>,
}

/// Map a non-2xx answer to a typed error with a hint of our own. The description is
/// only matched against known phrases, never copied.
pub fn classify_failure(
    leg: Leg,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> OktaError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let code = parsed
        .as_ref()
        .and_then(|b| b.error.clone())
        .unwrap_or_default();
    if status == 429 || status >= 500 || (code.is_empty() && status != 400 && status != 401) {
        let transient =
            matches!(status, 500 | 502 | 503 | 504) || (status == 429 && retry_after.is_some());
        return OktaError::Unavailable {
            leg,
            reason: if status == 429 {
                "rate limited (HTTP 429)".into()
            } else {
                format!("HTTP {status}")
            },
            transient,
            retry_after,
        };
    }
    let desc = parsed
        .as_ref()
        .and_then(|b| b.error_description.as_deref())
        .unwrap_or("")
        .to_ascii_lowercase();
    let max_age = parsed
        .as_ref()
        .and_then(|b| b.max_age.as_ref())
        .and_then(|v| match v {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        });
    let (error_type, hint): (&'static str, String) = match code.as_str() {
        "invalid_scope" => ("ScopeRejected", "Cross App Access strips system scopes such as openid, and the scope must exist on the custom authorization server: set OKTA_SCOPE to a custom scope such as xaa:read".into()),
        "invalid_client" if desc.contains("jwkset") || desc.contains("jwks") => ("AgentAuthFailed", "no public key is registered on the AI agent: register the public JWK of the agent's key on the AI agent in Okta".into()),
        "invalid_client" if desc.contains("kid") => ("AgentAuthFailed", "the key id is not the one registered on the AI agent: copy the registered key id into AGENT_KEY_ID".into()),
        "invalid_client" if desc.contains("audience") || desc.contains("aud ") => ("AgentAuthFailed", "the client assertion's aud must be the exact token endpoint invoked: check OKTA_DOMAIN (or OKTA_BASE_URL) and OKTA_CUSTOM_AS_ID".into()),
        "invalid_client" if desc.contains("signature") => ("AgentAuthFailed", "the client assertion's signature did not verify: the private key in the secret does not match the public key registered on the AI agent".into()),
        "invalid_client" => ("AgentAuthFailed", "Okta did not accept the AI agent's client authentication: check AGENT_CLIENT_ID, AGENT_KEY_ID and the public key registered on the agent".into()),
        "invalid_grant" | "invalid_token" if leg == Leg::TokenExchange => ("IdTokenRejected", "the ID token is expired or was issued for another app: the user must sign in again, and the ID token's aud must be the OIDC app linked to the AI agent".into()),
        "invalid_grant" | "invalid_token" => ("IdTokenRejected", "the custom authorization server refused the ID-JAG: check that OKTA_CUSTOM_AS_ID is the resource's authorization server; the user may need to sign in again".into()),
        "access_denied" => ("PolicyDenied", "no access policy rule of the custom authorization server allows this: enable the JWT Bearer grant (and the scope) for the AI agent in the rule".into()),
        "unauthorized_client" => ("AgentAuthFailed", "this client may not use this grant: leg 1 needs the AI agent (workload principal) client id in AGENT_CLIENT_ID".into()),
        "token_exchange_invalid_audience" => ("AgentAuthFailed", "wrong flow for this client: use the AI agent client for leg 1 and the custom authorization server issuer as audience".into()),
        "insufficient_user_authentication" => ("StepUpRequired", match max_age {
            Some(age) => format!("Okta requires a more recent sign-in (max_age {age} s): the user must sign in again"),
            None => "Okta requires a stronger or more recent sign-in: the user must sign in again".into(),
        }),
        "invalid_target" => ("OktaRejected", "the audience is not an authorization server this agent may reach: check OKTA_CUSTOM_AS_ID and the managed connection between the agent and the resource".into()),
        _ => ("OktaRejected", "Okta refused the request: check the Cross App Access set-up of the org (see the troubleshooting table)".into()),
    };
    OktaError::Rejected {
        leg,
        status,
        code: if code.is_empty() {
            format!("HTTP {status}")
        } else {
            safe_code(&code)
        },
        error_type,
        hint,
    }
}

/// Claims of a JWT, decoded without verifying the signature. Only for values whose
/// worst case is a wasted call (expiry), never for trust decisions.
pub fn unverified_claims(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut parts = jwt.split('.');
    let (_, payload, _, rest) = (parts.next()?, parts.next()?, parts.next()?, parts.next());
    if rest.is_some() {
        return None;
    }
    let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(payload).ok()?);
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject(leg: Leg, status: u16, body: &str) -> (String, String) {
        match classify_failure(leg, status, body.as_bytes(), None) {
            e @ OktaError::Rejected { .. } => (e.error_type().to_string(), e.to_string()),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn every_documented_okta_error_maps_to_its_type_and_hint() {
        let rows = [
            (
                Leg::TokenExchange,
                400,
                r#"{"error":"invalid_scope","error_description":"openid not allowed"}"#,
                "ScopeRejected",
                "xaa:read",
            ),
            (
                Leg::TokenExchange,
                401,
                r#"{"error":"invalid_client","error_description":"JWKSet not configured"}"#,
                "AgentAuthFailed",
                "register the public JWK",
            ),
            (
                Leg::TokenExchange,
                401,
                r#"{"error":"invalid_client","error_description":"kid is invalid"}"#,
                "AgentAuthFailed",
                "AGENT_KEY_ID",
            ),
            (
                Leg::JwtBearer,
                401,
                r#"{"error":"invalid_client","error_description":"The audience claim for client_assertion must be the endpoint invoked for the request"}"#,
                "AgentAuthFailed",
                "exact token endpoint",
            ),
            (
                Leg::TokenExchange,
                400,
                r#"{"error":"invalid_grant","error_description":"The subject token is expired"}"#,
                "IdTokenRejected",
                "sign in again",
            ),
            (
                Leg::TokenExchange,
                400,
                r#"{"error":"invalid_token"}"#,
                "IdTokenRejected",
                "OIDC app linked",
            ),
            (
                Leg::JwtBearer,
                400,
                r#"{"error":"access_denied","error_description":"no_matching_policy"}"#,
                "PolicyDenied",
                "JWT Bearer",
            ),
            (
                Leg::TokenExchange,
                400,
                r#"{"error":"unauthorized_client","error_description":"Only service apps can use client_credentials"}"#,
                "AgentAuthFailed",
                "AI agent",
            ),
            (
                Leg::TokenExchange,
                400,
                r#"{"error":"token_exchange_invalid_audience"}"#,
                "AgentAuthFailed",
                "AI agent client",
            ),
            (
                Leg::TokenExchange,
                400,
                r#"{"error":"insufficient_user_authentication","max_age":300}"#,
                "StepUpRequired",
                "max_age 300 s",
            ),
        ];
        for (leg, status, body, ty, hint) in rows {
            let (t, message) = reject(leg, status, body);
            assert_eq!(t, ty, "{body}");
            assert!(message.contains(hint), "{message:?} lacks {hint:?}");
        }
    }

    #[test]
    fn upstream_descriptions_are_never_copied_into_messages() {
        let (_, message) = reject(
            Leg::TokenExchange,
            400,
            r#"{"error":"invalid_request","error_description":"token eyJhbGciOi.secret.sig for alice@example.com"}"#,
        );
        assert!(
            !message.contains("eyJhbGciOi") && !message.contains("alice@"),
            "{message}"
        );
        let (_, message) = reject(
            Leg::TokenExchange,
            400,
            r#"{"error":"eyJ.bad code with spaces"}"#,
        );
        assert!(message.contains("<unrecognised>"), "{message}");
    }

    #[test]
    fn transient_statuses_are_retryable_and_others_are_not() {
        for (status, retry_after, transient) in [
            (503, None, true),
            (500, None, true),
            (502, None, true),
            (504, None, true),
            (429, Some(Duration::from_secs(1)), true),
            (429, None, false),
            (501, None, false),
        ] {
            let e = classify_failure(Leg::JwtBearer, status, b"", retry_after);
            assert_eq!(e.error_type(), "OktaUnavailable");
            assert_eq!(e.is_transient(), transient, "{status}");
        }
        assert!(
            !classify_failure(Leg::JwtBearer, 400, br#"{"error":"invalid_grant"}"#, None)
                .is_transient()
        );
    }

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
                .error_type(),
            "OktaProtocolError"
        );
        assert!(parse_success(Leg::TokenExchange, br#"{"access_token":"x"}"#).is_err());
        assert!(parse_success(Leg::TokenExchange, b"<html>").is_err());
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
        assert!(parse_success(
            Leg::JwtBearer,
            br#"{"token_type":"DPoP","access_token":"at"}"#
        )
        .is_err());
        assert!(parse_success(
            Leg::JwtBearer,
            br#"{"token_type":"Bearer","access_token":""}"#
        )
        .is_err());
        assert!(parse_success(
            Leg::JwtBearer,
            br#"{"token_type":"Bearer","access_token":"a","expires_in":-5}"#
        )
        .is_err());
    }

    #[test]
    fn unverified_claims_decode_the_payload_only() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp":42,"sub":"00u1"}"#);
        let claims = unverified_claims(&format!("h.{payload}.s")).unwrap();
        assert_eq!(claims["exp"], 42);
        assert!(unverified_claims("a.b").is_none());
        assert!(unverified_claims(&format!("h.{payload}.s.x")).is_none());
    }
}
