//! Okta's answers that are not a token, decided once as types.
//!
//! [`Rejection::from_okta`] is the only code in the workspace that reads Okta's error
//! text. Everything downstream (the operator hint, the stable error name, the retry
//! rule, the key reload, the restart from leg 1) matches on the enum, so rewording a
//! hint can never change behaviour.

use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

/// Which token request failed; shown in messages and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// Leg 1: token exchange at the org authorization server.
    TokenExchange,
    /// Leg 2: JWT bearer grant at the custom authorization server.
    JwtBearer,
    /// Token exchange for a secret vaulted in Okta Privileged Access.
    VaultedSecret,
    /// Token exchange for a service account's username and password.
    ServiceAccount,
    /// Token exchange for a third-party access token brokered by Okta.
    OAuthSts,
    /// Client credentials grant at a custom authorization server.
    ClientCredentials,
    /// Revocation of a third-party token at the org authorization server.
    Revoke,
}

impl std::fmt::Display for Leg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Leg::TokenExchange => "leg 1 (token exchange at the org authorization server)",
            Leg::JwtBearer => "leg 2 (JWT bearer grant at the custom authorization server)",
            Leg::VaultedSecret => {
                "the token exchange for a vaulted secret (org authorization server)"
            }
            Leg::ServiceAccount => {
                "the token exchange for a service account (org authorization server)"
            }
            Leg::OAuthSts => {
                "the token exchange for a third-party token (org authorization server)"
            }
            Leg::ClientCredentials => "the client credentials grant (custom authorization server)",
            Leg::Revoke => "the revocation of a third-party token (org authorization server)",
        })
    }
}

/// Why Okta refused a token request, as far as its documented errors tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// `invalid_scope`: a system scope, or a scope the custom AS lacks.
    ScopeRejected,
    /// `invalid_client` "JWKSet not configured": no public key on the agent.
    NoKeyRegistered,
    /// `invalid_client` naming the `kid`.
    WrongKid,
    /// `invalid_client` naming the assertion's audience.
    WrongAudience,
    /// `invalid_client` naming the signature.
    BadSignature,
    /// Any other `invalid_client`.
    ClientAuthFailed,
    /// `invalid_grant`/`invalid_token` at leg 1: the ID token is dead or for another app.
    IdTokenRejected,
    /// `invalid_grant`/`invalid_token` at leg 2: the ID-JAG was refused.
    IdJagRejected,
    /// `invalid_grant`/`invalid_token` to a token exchange for a vaulted secret, a
    /// service account or a third-party token, or to one whose subject is an access token.
    SubjectTokenRejected,
    /// `access_denied`: no policy rule allows the grant.
    PolicyDenied,
    /// `unauthorized_client`: this client may not use the grant.
    UnauthorizedClient,
    /// `token_exchange_invalid_audience`: the wrong client for leg 1.
    WrongFlow,
    /// `insufficient_user_authentication`, with Okta's `max_age` when it gave one.
    StepUp { max_age: Option<u64> },
    /// `invalid_target`: the audience is not reachable for this agent.
    InvalidTarget,
    /// Anything else Okta may answer.
    Other,
}

impl Rejection {
    /// The one reader of Okta's error text. `description` is matched against known
    /// phrases only; it is never copied anywhere.
    pub fn from_okta(leg: Leg, code: &str, description: &str, max_age: Option<u64>) -> Self {
        let desc = description.to_ascii_lowercase();
        match code {
            "invalid_scope" => Self::ScopeRejected,
            "invalid_client" if desc.contains("jwkset") || desc.contains("jwks") => {
                Self::NoKeyRegistered
            }
            "invalid_client" if desc.contains("kid") => Self::WrongKid,
            "invalid_client" if desc.contains("audience") || desc.contains("aud ") => {
                Self::WrongAudience
            }
            "invalid_client" if desc.contains("signature") => Self::BadSignature,
            "invalid_client" => Self::ClientAuthFailed,
            "invalid_grant" | "invalid_token" => match leg {
                Leg::TokenExchange => Self::IdTokenRejected,
                Leg::JwtBearer => Self::IdJagRejected,
                Leg::VaultedSecret | Leg::ServiceAccount | Leg::OAuthSts => {
                    Self::SubjectTokenRejected
                }
                Leg::ClientCredentials | Leg::Revoke => Self::Other,
            },
            "access_denied" => Self::PolicyDenied,
            "unauthorized_client" => Self::UnauthorizedClient,
            "token_exchange_invalid_audience" => Self::WrongFlow,
            "insufficient_user_authentication" => Self::StepUp { max_age },
            "invalid_target" => Self::InvalidTarget,
            _ => Self::Other,
        }
    }

    /// Okta blamed our key, so one reload of the secret may help (it may have rotated).
    pub fn blames_our_key(self) -> bool {
        matches!(self, Self::WrongKid | Self::BadSignature)
    }

    /// A cached ID-JAG was refused at leg 2: start again from leg 1.
    pub fn restarts_from_leg1(self) -> bool {
        self == Self::IdJagRejected
    }

    /// The stable error name operators alert on.
    pub fn kind(self) -> &'static str {
        match self {
            Self::ScopeRejected => "ScopeRejected",
            Self::NoKeyRegistered
            | Self::WrongKid
            | Self::WrongAudience
            | Self::BadSignature
            | Self::ClientAuthFailed
            | Self::UnauthorizedClient
            | Self::WrongFlow => "AgentAuthFailed",
            Self::IdTokenRejected | Self::IdJagRejected => "IdTokenRejected",
            Self::SubjectTokenRejected => "SubjectTokenRejected",
            Self::PolicyDenied => "PolicyDenied",
            Self::StepUp { .. } => "StepUpRequired",
            Self::InvalidTarget | Self::Other => "OktaRejected",
        }
    }

    /// What the operator should do, in our words (from the troubleshooting table).
    pub fn hint(self) -> String {
        match self {
            Self::ScopeRejected => "Cross App Access strips system scopes such as openid, and the scope must exist on the custom authorization server: set OKTA_SCOPE to a custom scope such as xaa:read".into(),
            Self::NoKeyRegistered => "no public key is registered on the AI agent: register the public JWK of the agent's key on the AI agent in Okta".into(),
            Self::WrongKid => "the key id is not the one registered on the AI agent: copy the registered key id into AGENT_KEY_ID".into(),
            Self::WrongAudience => "the client assertion's aud must be the exact token endpoint invoked: check OKTA_DOMAIN (or OKTA_BASE_URL) and OKTA_CUSTOM_AS_ID".into(),
            Self::BadSignature => "the client assertion's signature did not verify: the private key in the secret does not match the public key registered on the AI agent".into(),
            Self::ClientAuthFailed => "Okta did not accept the AI agent's client authentication: check AGENT_CLIENT_ID, AGENT_KEY_ID and the public key registered on the agent".into(),
            Self::IdTokenRejected => "the ID token is expired or was issued for another app: the user must sign in again, and the ID token's aud must be the OIDC app linked to the AI agent".into(),
            Self::SubjectTokenRejected => "the subject token is expired or not accepted: for user access pass a fresh ID token of the OIDC app linked to the AI agent; for machine access an access token of a custom authorization server whose audience is the agent's resource".into(),
            Self::IdJagRejected => "the custom authorization server refused the ID-JAG: check that OKTA_CUSTOM_AS_ID is the resource's authorization server; the user may need to sign in again".into(),
            Self::PolicyDenied => "no access policy rule of the custom authorization server allows this: enable the JWT Bearer grant (and the scope) for the AI agent in the rule".into(),
            Self::UnauthorizedClient => "this client may not use this grant: leg 1 needs the AI agent (workload principal) client id in AGENT_CLIENT_ID".into(),
            Self::WrongFlow => "wrong flow for this client: use the AI agent client for leg 1 and the custom authorization server issuer as audience".into(),
            Self::StepUp { max_age: Some(age) } => format!("Okta requires a more recent sign-in (max_age {age} s): the user must sign in again"),
            Self::StepUp { max_age: None } => "Okta requires a stronger or more recent sign-in: the user must sign in again".into(),
            Self::InvalidTarget => "the audience is not an authorization server this agent may reach: check OKTA_CUSTOM_AS_ID and the managed connection between the agent and the resource".into(),
            Self::Other => "Okta refused the request: check the Cross App Access set-up of the org (see the troubleshooting table)".into(),
        }
    }

    /// [`Rejection::hint`], in the words of the grant that failed: the credential
    /// exchanges and the client credentials grant have causes of their own.
    pub fn hint_for(self, leg: Leg) -> String {
        let resource_leg = matches!(
            leg,
            Leg::VaultedSecret | Leg::ServiceAccount | Leg::OAuthSts
        );
        match (leg, self) {
            (_, Self::InvalidTarget) | (_, Self::PolicyDenied) | (_, Self::Other) if resource_leg => "the resource is not one the AI agent may reach: pass exactly the resource of a managed connection of the agent (e.g. orn:okta:pam:...), and check that the connection is active".into(),
            (Leg::ClientCredentials, Self::ScopeRejected) => "the scope does not exist on this custom authorization server or is not granted to the client: pass a custom scope of that server (never openid)".into(),
            (Leg::ClientCredentials, Self::PolicyDenied) => "no access policy rule of the custom authorization server allows the client credentials grant for this client: add one (grant type Client Credentials)".into(),
            (Leg::ClientCredentials, Self::UnauthorizedClient) => "this client may not use client_credentials: it must be an API Services app (or AI agent) with the Client Credentials grant enabled".into(),
            (Leg::ClientCredentials, Self::ClientAuthFailed | Self::WrongAudience | Self::BadSignature | Self::WrongKid | Self::NoKeyRegistered) => "the custom authorization server did not accept the client's authentication: check the client id, the client secret or key, and that the app's token_endpoint_auth_method is the one used".into(),
            (Leg::Revoke, Self::Other | Self::UnauthorizedClient) => "Okta refused to revoke the token: check that it is a third-party token issued to this AI agent".into(),
            _ => self.hint(),
        }
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OktaError {
    /// Okta answered with an OAuth error.
    #[error("Okta refused {leg} with `{code}` (HTTP {status}): {}", rejection.hint_for(*leg))]
    Rejected {
        leg: Leg,
        status: u16,
        /// Okta's `error` code, kept only when it is a plain identifier.
        code: String,
        rejection: Rejection,
    },
    /// Okta could not be reached or answered 429/5xx, after the allowed retries.
    #[error("Okta is unavailable for {leg}: {reason}; retry later or check network access to the Okta org")]
    Unavailable {
        leg: Leg,
        reason: String,
        transient: bool,
        retry_after: Option<Duration>,
    },
    /// `interaction_required`: the person must consent first. They open
    /// `interaction_uri` (checked to be on the Okta org) in a browser; afterwards the
    /// same request succeeds. The URI is not part of the message.
    #[error("{leg} needs the person's consent: open the interaction_uri in a browser, consent, then send the same request again")]
    ConsentRequired {
        leg: Leg,
        interaction_uri: crate::consent::InteractionUri,
    },
    /// Okta answered 2xx with something that is not the token we asked for.
    #[error("unexpected answer from Okta to {leg}: {reason}")]
    Protocol { leg: Leg, reason: String },
}

impl OktaError {
    pub fn kind(&self) -> &'static str {
        match self {
            OktaError::Rejected { rejection, .. } => rejection.kind(),
            OktaError::Unavailable { .. } => "OktaUnavailable",
            OktaError::Protocol { .. } => "OktaProtocolError",
            OktaError::ConsentRequired { .. } => "ConsentRequired",
        }
    }

    /// The typed reason, when Okta answered with an OAuth error.
    pub fn rejection(&self) -> Option<Rejection> {
        match self {
            OktaError::Rejected { rejection, .. } => Some(*rejection),
            _ => None,
        }
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

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
    error_description: Option<String>,
    max_age: Option<serde_json::Value>,
}

/// Map a non-2xx answer to a typed error. 429 and 5xx are availability problems
/// (retried by the client); everything else with an OAuth `error` is a [`Rejection`].
pub fn classify_failure(
    leg: Leg,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> OktaError {
    let parsed: Option<ErrorBody> = crate::response::is_json_object(body)
        .then(|| serde_json::from_slice(body).ok())
        .flatten();
    let code = parsed
        .as_ref()
        .and_then(|b| b.error.as_deref())
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
    let description = parsed
        .as_ref()
        .and_then(|b| b.error_description.as_deref())
        .unwrap_or("");
    let max_age = parsed
        .as_ref()
        .and_then(|b| b.max_age.as_ref())
        .and_then(|v| match v {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        });
    OktaError::Rejected {
        leg,
        status,
        code: if code.is_empty() {
            format!("HTTP {status}")
        } else {
            safe_code(code)
        },
        rejection: Rejection::from_okta(leg, code, description, max_age),
    }
}

/// Keep an upstream identifier (an OAuth `error` code, an exception name) only if it is
/// a short plain identifier; anything else could be attacker- or body-controlled text.
pub fn safe_code(code: &str) -> String {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if ok {
        code.to_string()
    } else {
        "<unrecognised>".to_string()
    }
}
