//! The form bodies of the two Cross App Access legs: pure builders, tested for their
//! exact bytes.
//!
//! Leg 1 (RFC 8693) trades the person's ID token for an ID-JAG at the org
//! authorization server; leg 2 (RFC 7523) redeems the ID-JAG for an access token at the
//! custom authorization server. Each carries its own client assertion, whose `aud` is
//! the endpoint it is sent to.

use zeroize::Zeroizing;

use crate::client_credentials::ClientCredentialsRequest;
use crate::credentials::{Resource, Subject, OAUTH_STS_HINT};
use crate::org::OktaConfig;
use crate::sensitive::{AccessToken, ClientAssertion, ClientSecret, IdJag, IdToken};

pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const REQUESTED_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";
pub const SUBJECT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The form body of leg 1. `audience` is the custom AS *issuer*, not its token URL.
pub fn token_exchange_body(
    cfg: &OktaConfig,
    id_token: &IdToken,
    assertion: &ClientAssertion,
) -> Zeroizing<String> {
    Zeroizing::new(
        form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", TOKEN_EXCHANGE_GRANT)
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

/// The form body of leg 2. The client assertion here carries this endpoint as `aud`.
pub fn jwt_bearer_body(id_jag: &IdJag, assertion: &ClientAssertion) -> Zeroizing<String> {
    Zeroizing::new(
        form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", JWT_BEARER_GRANT)
            .append_pair("assertion", id_jag.expose())
            .append_pair("client_assertion_type", CLIENT_ASSERTION_TYPE)
            .append_pair("client_assertion", assertion.expose())
            .finish(),
    )
}

/// How one attempt authenticates the client in the form body (or not at all, when it
/// sends an `Authorization: Basic` header instead).
pub enum AuthForm<'a> {
    Assertion(&'a ClientAssertion),
    Post {
        client_id: &'a str,
        secret: &'a ClientSecret,
    },
    Header,
}

/// `pairs`, then the client authentication, form-urlencoded into a wiped buffer.
pub fn form(pairs: &[(&str, &str)], auth: AuthForm<'_>) -> Zeroizing<String> {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    ser.extend_pairs(pairs);
    match auth {
        AuthForm::Assertion(assertion) => {
            ser.append_pair("client_assertion_type", CLIENT_ASSERTION_TYPE);
            ser.append_pair("client_assertion", assertion.expose());
        }
        AuthForm::Post { client_id, secret } => {
            ser.append_pair("client_id", client_id);
            ser.append_pair("client_secret", secret.expose());
        }
        AuthForm::Header => {}
    }
    Zeroizing::new(ser.finish())
}

/// The grant's pairs of a token exchange for any [`Resource`].
pub fn credential_exchange_pairs<'a>(
    subject: &'a Subject,
    resource: &'a Resource,
) -> Vec<(&'static str, &'a str)> {
    let mut pairs = vec![
        ("grant_type", TOKEN_EXCHANGE_GRANT),
        ("requested_token_type", resource.requested_token_type()),
        ("subject_token", subject.token.expose()),
        ("subject_token_type", subject.kind.urn()),
    ];
    pairs.extend(resource.params());
    pairs
}

/// The form body of a token exchange for any [`Resource`], with a client assertion.
pub fn credential_exchange_body(
    subject: &Subject,
    resource: &Resource,
    assertion: &ClientAssertion,
) -> Zeroizing<String> {
    form(
        &credential_exchange_pairs(subject, resource),
        AuthForm::Assertion(assertion),
    )
}

/// The grant's pairs of a client credentials request.
pub fn client_credentials_pairs(request: &ClientCredentialsRequest) -> Vec<(&'static str, &str)> {
    request.params()
}

/// The grant's pairs of the revocation of a third-party token (RFC 7009).
pub fn revoke_pairs(token: &AccessToken) -> [(&'static str, &str); 2] {
    [
        ("token", token.expose()),
        ("token_type_hint", OAUTH_STS_HINT),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> OktaConfig {
        OktaConfig::new(
            "https://example.okta.com".into(),
            "aus1",
            "xaa:read tickets:write".into(),
            "wlp1".into(),
            "kid1".into(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn leg1_body_is_exactly_the_documented_form() {
        let body = token_exchange_body(
            &cfg(),
            &IdToken::new("id.tok.en"),
            &ClientAssertion::new("a.b.c"),
        );
        assert_eq!(
            body.as_str(),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange\
             &requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid-jag\
             &subject_token=id.tok.en\
             &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token\
             &audience=https%3A%2F%2Fexample.okta.com%2Foauth2%2Faus1\
             &scope=xaa%3Aread+tickets%3Awrite\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion=a.b.c"
        );
    }

    #[test]
    fn leg2_body_is_exactly_the_documented_form() {
        let body = jwt_bearer_body(&IdJag::new("j.a.g"), &ClientAssertion::new("a.b.c"));
        assert_eq!(
            body.as_str(),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer\
             &assertion=j.a.g\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion=a.b.c"
        );
    }
}
