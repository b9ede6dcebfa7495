//! Leg 1: RFC 8693 token exchange of the user's ID token for an ID-JAG at the org
//! authorization server.

use zeroize::Zeroizing;

use crate::config::OktaConfig;
use crate::sensitive::{ClientAssertion, IdToken};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const REQUESTED_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";
pub const SUBJECT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The form body of leg 1. `audience` is the custom AS *issuer*, not its token URL.
pub fn request_body(
    cfg: &OktaConfig,
    id_token: &IdToken,
    assertion: &ClientAssertion,
) -> Zeroizing<String> {
    Zeroizing::new(
        form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", GRANT_TYPE)
            .append_pair("requested_token_type", REQUESTED_TOKEN_TYPE)
            .append_pair("subject_token", id_token.expose())
            .append_pair("subject_token_type", SUBJECT_TOKEN_TYPE)
            .append_pair("audience", &cfg.custom_issuer)
            .append_pair("scope", &cfg.scope)
            .append_pair("client_assertion_type", CLIENT_ASSERTION_TYPE)
            .append_pair("client_assertion", assertion.expose())
            .finish(),
    )
}
