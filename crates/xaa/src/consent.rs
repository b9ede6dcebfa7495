//! Consent: Okta's `interaction_required` answer to a token exchange for a third-party
//! token, read into a typed [`OktaError::ConsentRequired`] carrying the one value of an
//! error body we may show the person, the `interaction_uri`.
//!
//! The URI is shown only after it passed [`InteractionUri::check`]: an https URL on the
//! Okta org's own host (or, when the org URL is loopback, a loopback URL, for devstack).
//! Anything else could send the person to a page of the server's choosing, so it is not
//! shown and the answer is a protocol error. The person opens the URI, consents, and
//! the same request then succeeds; there is nothing to poll.

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::org::is_loopback;
use crate::rejection::{classify_failure, Leg, OktaError};

/// The OAuth error code of a consent request.
pub const INTERACTION_REQUIRED: &str = "interaction_required";
/// The longest `interaction_uri` accepted.
pub const MAX_INTERACTION_URI_BYTES: usize = 2048;

/// A consent page URL that passed [`InteractionUri::check`]. `Debug` shows its origin
/// only; [`InteractionUri::as_str`] is for showing it to the person.
#[derive(Clone, PartialEq, Eq)]
pub struct InteractionUri(Url);

impl fmt::Debug for InteractionUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "InteractionUri({}/…)",
            self.0.origin().ascii_serialization()
        )
    }
}

impl InteractionUri {
    /// Accept `raw` only as an https URL on the org's host and port (`org_base_url` is
    /// the configured org URL), or any loopback URL when the org URL is loopback itself.
    /// The reason of a refusal never repeats the URI.
    pub fn check(raw: &str, org_base_url: &str) -> Result<Self, &'static str> {
        if raw.len() > MAX_INTERACTION_URI_BYTES {
            return Err("the interaction_uri is longer than 2048 bytes");
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the interaction_uri has characters a URL may not contain");
        }
        let org = Url::parse(org_base_url).map_err(|_| "the org URL is not a URL")?;
        let uri = Url::parse(raw).map_err(|_| "the interaction_uri is not a URL")?;
        if !uri.username().is_empty() || uri.password().is_some() {
            return Err("the interaction_uri carries credentials");
        }
        let host = uri.host_str().ok_or("the interaction_uri has no host")?;
        let org_host = org.host_str().ok_or("the org URL has no host")?;
        let local_org = is_loopback(org_host);
        let same_origin = uri.scheme() == "https"
            && host.eq_ignore_ascii_case(org_host)
            && uri.port_or_known_default() == org.port_or_known_default();
        let local = local_org && is_loopback(host) && matches!(uri.scheme(), "http" | "https");
        if same_origin || local {
            Ok(InteractionUri(uri))
        } else if local_org {
            Err("the interaction_uri is not a loopback URL although the org URL is")
        } else {
            Err("the interaction_uri is not an https URL on the Okta org")
        }
    }

    /// The URL, for the person to open in a browser.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[derive(Deserialize)]
struct ConsentBody {
    error: Option<String>,
    interaction_uri: Option<serde_json::Value>,
}

/// [`classify_failure`], plus Okta's consent answer: `interaction_required` with an
/// acceptable `interaction_uri` becomes [`OktaError::ConsentRequired`]; with a missing
/// or unacceptable one, a protocol error that does not show it.
pub fn classify_failure_at(
    leg: Leg,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
    org_base_url: &str,
) -> OktaError {
    let consent: Option<ConsentBody> = crate::response::is_json_object(body)
        .then(|| serde_json::from_slice(body).ok())
        .flatten();
    match consent {
        Some(ConsentBody {
            error: Some(code),
            interaction_uri,
            // Okta asks for consent only for a third-party token (the resource server
            // type); anywhere else the answer stays an ordinary rejection, so the bridge's
            // legs keep to the error kinds it publishes.
        }) if code == INTERACTION_REQUIRED
            && leg == Leg::OAuthSts
            && (400..500).contains(&status) =>
        {
            let checked = interaction_uri
                .as_ref()
                .and_then(|v| v.as_str())
                .ok_or("`interaction_uri` is missing or not a string")
                .and_then(|raw| InteractionUri::check(raw, org_base_url));
            match checked {
                Ok(interaction_uri) => OktaError::ConsentRequired {
                    leg,
                    interaction_uri,
                },
                Err(reason) => OktaError::Protocol {
                    leg,
                    reason: format!("Okta asked for consent, but {reason}; it is not shown"),
                },
            }
        }
        _ => classify_failure(leg, status, body, retry_after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "https://example.okta.com";

    #[test]
    fn only_https_on_the_org_host_or_loopback_for_a_loopback_org_is_shown() {
        for ok in [
            "https://example.okta.com/oauth2/v1/consent?id=1",
            "https://EXAMPLE.okta.com:443/c",
        ] {
            assert!(InteractionUri::check(ok, ORG).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.okta.com/c",
            "https://example.okta.com.evil.com/c",
            "https://evil.com/?u=https://example.okta.com",
            "https://user:pw@example.okta.com/c",
            "https://example.okta.com:8443/c",
            "http://127.0.0.1:1/c",
            "javascript:alert(1)",
            "/relative",
            "https://example.okta.com/a b",
        ] {
            assert!(InteractionUri::check(bad, ORG).is_err(), "{bad}");
        }
        let local = "http://127.0.0.1:18080";
        assert!(InteractionUri::check("http://127.0.0.1:18080/consent/1", local).is_ok());
        assert!(InteractionUri::check("http://localhost:9/consent", local).is_ok());
        assert!(InteractionUri::check("https://example.okta.com/c", local).is_err());
        let long = format!("{ORG}/{}", "a".repeat(MAX_INTERACTION_URI_BYTES));
        assert!(InteractionUri::check(&long, ORG).is_err());
    }

    #[test]
    fn debug_shows_the_origin_only() {
        let uri = InteractionUri::check("https://example.okta.com/consent?txn=abc", ORG).unwrap();
        assert_eq!(
            format!("{uri:?}"),
            "InteractionUri(https://example.okta.com/…)"
        );
        assert_eq!(uri.as_str(), "https://example.okta.com/consent?txn=abc");
    }

    #[test]
    fn interaction_required_is_typed_only_with_an_acceptable_uri() {
        let body = br#"{"error":"interaction_required","error_description":"consent","interaction_uri":"https://example.okta.com/consent/1"}"#;
        match classify_failure_at(Leg::OAuthSts, 400, body, None, ORG) {
            OktaError::ConsentRequired {
                interaction_uri, ..
            } => assert_eq!(
                interaction_uri.as_str(),
                "https://example.okta.com/consent/1"
            ),
            other => panic!("{other:?}"),
        }
        for body in [
            &br#"{"error":"interaction_required","interaction_uri":"https://evil.com/consent/1"}"#
                [..],
            br#"{"error":"interaction_required"}"#,
            br#"{"error":"interaction_required","interaction_uri":7}"#,
        ] {
            let e = classify_failure_at(Leg::OAuthSts, 400, body, None, ORG);
            assert_eq!(e.kind(), "OktaProtocolError", "{e:?}");
            assert!(!e.to_string().contains("evil"), "{e}");
        }
        let other = classify_failure_at(
            Leg::OAuthSts,
            400,
            br#"{"error":"invalid_grant"}"#,
            None,
            ORG,
        );
        assert_eq!(other.kind(), "SubjectTokenRejected");
    }

    #[test]
    fn interaction_required_outside_a_third_party_token_is_an_ordinary_rejection() {
        let body = br#"{"error":"interaction_required","interaction_uri":"https://example.okta.com/consent/1"}"#;
        for leg in [
            Leg::TokenExchange,
            Leg::JwtBearer,
            Leg::VaultedSecret,
            Leg::ServiceAccount,
            Leg::ClientCredentials,
        ] {
            let e = classify_failure_at(leg, 400, body, None, ORG);
            assert_eq!(e.kind(), "OktaRejected", "{leg}: {e:?}");
        }
    }
}
