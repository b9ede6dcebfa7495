//! Leg 2: RFC 7523 JWT bearer grant, redeeming the ID-JAG for an access token at the
//! custom authorization server.

use zeroize::Zeroizing;

use super::exchange::CLIENT_ASSERTION_TYPE;
use crate::sensitive::{ClientAssertion, IdJag};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The form body of leg 2. The client assertion here carries this endpoint as `aud`.
pub fn request_body(id_jag: &IdJag, assertion: &ClientAssertion) -> Zeroizing<String> {
    Zeroizing::new(
        form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", GRANT_TYPE)
            .append_pair("assertion", id_jag.expose())
            .append_pair("client_assertion_type", CLIENT_ASSERTION_TYPE)
            .append_pair("client_assertion", assertion.expose())
            .finish(),
    )
}
