//! Where an issuer's keys are: `jwks_uri` from `{issuer}/.well-known/oauth-authorization-server`
//! (RFC 8414, at the path Okta serves it), else Okta's `{issuer}/v1/keys`.
//!
//! The metadata may not send key fetching elsewhere: a `jwks_uri` on another origin
//! (scheme, host, port) than the issuer is refused, and so is metadata naming another
//! issuer (RFC 8414 section 3.3).

use std::sync::Arc;

use serde::Deserialize;
use xaa::{Clock, TokenTransport};

use crate::jwks::{Jwks, JWKS_FETCH_TIMEOUT};
use crate::policy::check_issuer;
use crate::reason::{Reason, Refusal};

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    jwks_uri: Option<String>,
}

fn refused(why: &'static str) -> Refusal {
    tracing::warn!(reason = why, "authorization server metadata refused");
    Reason::KeysUnavailable.into()
}

impl Jwks {
    /// The JWKS of `issuer`, located through its metadata (or Okta's default path when
    /// the metadata cannot be fetched or read). The keys themselves are fetched lazily.
    ///
    /// Refused ([`Reason::KeysUnavailable`]): an issuer that is not https (plain http
    /// only for loopback), metadata whose `issuer` differs, or a `jwks_uri` on another
    /// origin than the issuer.
    pub async fn discover(
        issuer: &str,
        transport: Arc<dyn TokenTransport>,
        clock: Arc<dyn Clock>,
    ) -> Result<Jwks, Refusal> {
        let issuer_url =
            check_issuer(issuer).map_err(|_| refused("the issuer is not an https URL"))?;
        let base = issuer.trim_end_matches('/');
        let fallback = format!("{base}/v1/keys");
        let metadata_url = format!("{base}/.well-known/oauth-authorization-server");
        let metadata = match transport.get(&metadata_url, JWKS_FETCH_TIMEOUT).await {
            Ok(reply) if reply.status == 200 => parse(&reply.body),
            Ok(reply) => {
                tracing::info!(
                    status = reply.status,
                    "no authorization server metadata; using {{issuer}}/v1/keys"
                );
                None
            }
            Err(e) => {
                tracing::info!(
                    reason = e.describe(),
                    "authorization server metadata not fetched; using {{issuer}}/v1/keys"
                );
                None
            }
        };
        let url = match metadata {
            None => fallback,
            Some(meta) => {
                if meta.issuer.as_deref().is_some_and(|i| i != issuer) {
                    return Err(refused("the metadata names another issuer"));
                }
                match meta.jwks_uri {
                    None => fallback,
                    Some(uri) => {
                        if !same_origin(&issuer_url, &uri) {
                            return Err(refused("jwks_uri is not on the issuer's origin"));
                        }
                        uri
                    }
                }
            }
        };
        Ok(Jwks::new(url, transport, clock))
    }
}

/// `uri` is absolute, carries no credentials, and has the issuer's scheme, host and
/// port (a default port written out counts as the same).
fn same_origin(issuer: &reqwest::Url, uri: &str) -> bool {
    reqwest::Url::parse(uri).is_ok_and(|u| {
        u.origin() == issuer.origin() && u.username().is_empty() && u.password().is_none()
    })
}

/// Metadata from a JSON object; anything else reads as no metadata.
fn parse(body: &[u8]) -> Option<Metadata> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_issuers_origin_may_serve_its_keys() {
        let issuer = reqwest::Url::parse("https://example.okta.com/oauth2/default").unwrap();
        for ok in [
            "https://example.okta.com/oauth2/default/v1/keys",
            "https://EXAMPLE.okta.com:443/keys",
        ] {
            assert!(same_origin(&issuer, ok), "{ok}");
        }
        for bad in [
            "http://example.okta.com/oauth2/default/v1/keys",
            "https://example.okta.com:8443/keys",
            "https://example.okta.com.evil.example/keys",
            "https://evil.example/https://example.okta.com/keys",
            "https://user@example.okta.com/keys",
            "//example.okta.com/keys",
            "/oauth2/default/v1/keys",
            "",
        ] {
            assert!(!same_origin(&issuer, bad), "{bad}");
        }
    }

    #[test]
    fn metadata_is_read_from_an_object_only() {
        let meta = parse(br#" {"issuer":"https://x","jwks_uri":"https://x/k","other":[1]}"#);
        assert_eq!(
            meta.and_then(|m| m.jwks_uri).as_deref(),
            Some("https://x/k")
        );
        assert!(parse(br#"["https://x","https://x/k"]"#).is_none());
        assert!(parse(br#"{"jwks_uri":5}"#).is_none());
        assert!(parse(b"").is_none());
    }
}
