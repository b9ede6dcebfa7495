//! Consent, typed refusals and revocation against a scripted token endpoint on
//! loopback, with every log line captured and scanned for secrets.

mod support;

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde_json::json;
use support::*;
use xaa::{
    AccessToken, Deadline, Error, OktaError, Resource, Secret, Subject, SubjectToken,
    SubjectTokenType, SystemClock,
};

const ID_TOKEN: &str = "eyJ.id-token-of-the-person.sig";

fn subject(kind: SubjectTokenType) -> Subject {
    Subject::new(SubjectToken::new(ID_TOKEN), kind).unwrap()
}

/// The body before `client_assertion_type`, and the assertion.
fn split(body: &str) -> (String, String) {
    let (grant, rest) = body
        .split_once("&client_assertion_type=")
        .expect("an assertion");
    (
        grant.to_string(),
        rest.rsplit('=').next().unwrap().to_string(),
    )
}

#[tokio::test]
async fn consent_required_carries_the_checked_uri_and_the_same_request_then_succeeds() {
    let logs = Logs::capture();
    let fake = Fake::start().await;
    let client = client(&fake, Arc::new(SystemClock));
    let resource = Resource::oauth_sts("https://api.example", None).unwrap();
    let subject = subject(SubjectTokenType::IdToken);
    let uri = format!("{}/consent/txn-1", fake.base);
    fake.answer(400, json!({"error": "interaction_required", "error_description": "needs consent of alice@example.com", "interaction_uri": uri}).to_string());
    let first = client
        .exchange_credential(&subject, &resource, Deadline::NONE)
        .await;
    match &first {
        Err(Error::Okta(
            e @ OktaError::ConsentRequired {
                interaction_uri, ..
            },
        )) => {
            assert_eq!(interaction_uri.as_str(), uri);
            assert_eq!(e.kind(), "ConsentRequired");
            assert!(!e.to_string().contains("alice"), "{e}");
        }
        other => panic!("expected ConsentRequired, got {other:?}"),
    }
    fake.answer(200, json!({"issued_token_type": "urn:okta:params:oauth:token-type:oauth-sts", "access_token": "after-consent", "token_type": "Bearer", "expires_in": 3600}).to_string());
    let second = client
        .exchange_credential(&subject, &resource, Deadline::NONE)
        .await
        .unwrap();
    assert!(matches!(&second.secret, Secret::AccessToken(t) if t.expose() == "after-consent"));
    let seen = fake.seen();
    assert_eq!(seen.len(), 2, "no retry of a consent answer");
    assert_eq!(
        split(&seen[0].body).0,
        split(&seen[1].body).0,
        "the same request again"
    );

    // A URI off the org is neither typed nor shown.
    fake.answer(400, json!({"error": "interaction_required", "interaction_uri": "https://phish.example/consent"}).to_string());
    match client
        .exchange_credential(&subject, &resource, Deadline::NONE)
        .await
    {
        Err(Error::Okta(e @ OktaError::Protocol { .. })) => {
            assert!(!format!("{e} {e:?}").contains("phish"), "{e}")
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    let logged = logs.text();
    assert!(
        logged.contains("token request failed"),
        "the capture works: {logged}"
    );
    assert_no_secret(
        "the logs",
        &logged,
        &[
            ID_TOKEN,
            "after-consent",
            "alice@example.com",
            "phish",
            "txn-1",
        ],
    );
}

#[tokio::test]
async fn refusals_are_typed_with_hints_for_the_grant() {
    let fake = Fake::start().await;
    let client = client(&fake, Arc::new(SystemClock));
    let cases = [
        (
            SubjectTokenType::AccessToken,
            Resource::id_jag(&format!("{}/oauth2/aus1", fake.base), "xaa:read").unwrap(),
            "invalid_grant",
            "SubjectTokenRejected",
        ),
        (
            SubjectTokenType::IdToken,
            Resource::id_jag(&format!("{}/oauth2/aus1", fake.base), "xaa:read").unwrap(),
            "invalid_grant",
            "IdTokenRejected",
        ),
        (
            SubjectTokenType::IdToken,
            Resource::vaulted_secret("orn:x").unwrap(),
            "invalid_grant",
            "SubjectTokenRejected",
        ),
        (
            SubjectTokenType::IdToken,
            Resource::service_account("orn:x").unwrap(),
            "invalid_target",
            "OktaRejected",
        ),
        (
            SubjectTokenType::IdToken,
            Resource::oauth_sts("orn:x", None).unwrap(),
            "access_denied",
            "PolicyDenied",
        ),
    ];
    for (kind, resource, code, expected) in cases {
        fake.answer(
            400,
            json!({"error": code, "error_description": "secret-ish description"}).to_string(),
        );
        let e = client
            .exchange_credential(&subject(kind), &resource, Deadline::NONE)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), expected, "{code} {e}");
        assert!(!e.to_string().contains("secret-ish"), "{e}");
        if !matches!(resource, Resource::IdJag { .. }) && code != "invalid_grant" {
            assert!(e.to_string().contains("managed connection"), "{e}");
        }
    }
}

#[tokio::test]
async fn revoke_sends_the_token_with_the_oauth_sts_hint_and_an_assertion_for_the_revoke_url() {
    let fake = Fake::start().await;
    let client = client(&fake, Arc::new(SystemClock));
    fake.answer(200, "");
    let token = AccessToken::new("third-party-token");
    client
        .revoke_oauth_sts(&token, Deadline::NONE)
        .await
        .unwrap();
    let seen = fake.last();
    assert_eq!(seen.path, "/oauth2/v1/revoke");
    let (grant, assertion) = split(&seen.body);
    assert_eq!(grant, "token=third-party-token&token_type_hint=oauth_sts");
    let url = format!("{}/oauth2/v1/revoke", fake.base);
    verify(&assertion, &rsa_public(), Algorithm::RS256, AGENT, &url);
    fake.answer(400, json!({"error": "invalid_client"}).to_string());
    let e = client
        .revoke_oauth_sts(&token, Deadline::NONE)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "AgentAuthFailed");
    assert!(e.to_string().contains("revocation"), "{e}");
    assert!(!format!("{e} {e:?}").contains("third-party-token"));
}
