//! Token exchanges for every resource type against a scripted token endpoint on
//! loopback: the exact form bodies, the assertion verified with the public key, the
//! typed results, strict parsing, consent, revocation, and no secret in any output.

mod support;

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde_json::json;
use support::*;
use xaa::{
    Deadline, Error, OktaError, Resource, Secret, Subject, SubjectToken, SubjectTokenType,
    SystemClock,
};

const ID_TOKEN: &str = "eyJ.id-token-of-the-person.sig";
const MACHINE_TOKEN: &str = "eyJ.machine-access-token.sig";

fn subject(kind: SubjectTokenType) -> Subject {
    let raw = match kind {
        SubjectTokenType::IdToken => ID_TOKEN,
        SubjectTokenType::AccessToken => MACHINE_TOKEN,
    };
    Subject::new(SubjectToken::new(raw), kind).unwrap()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The body before `client_assertion_type`, and the assertion.
fn split(body: &str) -> (String, String) {
    let (grant, rest) = body
        .split_once("&client_assertion_type=")
        .expect("an assertion");
    assert!(rest.starts_with(
        "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="
    ));
    (
        grant.to_string(),
        rest.rsplit('=').next().unwrap().to_string(),
    )
}

#[tokio::test]
async fn every_exchange_sends_exactly_the_documented_form_with_a_verified_assertion() {
    let logs = Logs::capture();
    let fake = Fake::start().await;
    let client = client(&fake, Arc::new(SystemClock));
    let audience = format!("{}/oauth2/aus1", fake.base);
    let cases = [
        (
            Resource::id_jag(&audience, "xaa:read tickets:write").unwrap(),
            SubjectTokenType::IdToken,
            "urn:ietf:params:oauth:token-type:id-jag",
            format!(
                "&audience={}&scope=xaa%3Aread+tickets%3Awrite",
                enc(&audience)
            ),
            json!({"issued_token_type": "urn:ietf:params:oauth:token-type:id-jag", "access_token": "jag.jag.jag", "token_type": "N_A", "expires_in": 300}),
        ),
        (
            Resource::vaulted_secret("orn:okta:pam:org1:secrets:abc").unwrap(),
            SubjectTokenType::IdToken,
            "urn:okta:params:oauth:token-type:vaulted-secret",
            "&resource=orn%3Aokta%3Apam%3Aorg1%3Asecrets%3Aabc".to_string(),
            json!({"issued_token_type": "urn:okta:params:oauth:token-type:vaulted-secret", "vaulted_secret": {"api_key": "s3cr3t-value-1", "host": "db.example"}, "token_type": "N_A", "expires_in": 300}),
        ),
        (
            Resource::service_account("orn:okta:pam:org1:apps:x:y:service_accounts:z").unwrap(),
            SubjectTokenType::AccessToken,
            "urn:okta:params:oauth:token-type:service-account",
            "&resource=orn%3Aokta%3Apam%3Aorg1%3Aapps%3Ax%3Ay%3Aservice_accounts%3Az".to_string(),
            json!({"issued_token_type": "urn:okta:params:oauth:token-type:service-account", "service_account": {"username": "svc-user", "password": "hunter2-password"}, "token_type": "N_A", "expires_in": 600}),
        ),
        (
            Resource::oauth_sts("https://api.github.example", Some("repo")).unwrap(),
            SubjectTokenType::IdToken,
            "urn:okta:params:oauth:token-type:oauth-sts",
            "&resource=https%3A%2F%2Fapi.github.example&scope=repo".to_string(),
            json!({"issued_token_type": "urn:okta:params:oauth:token-type:oauth-sts", "access_token": "third-party-token", "token_type": "Bearer", "expires_in": 3600, "scope": "repo"}),
        ),
    ];
    for (resource, kind, requested, params, answer) in cases {
        fake.answer(200, answer.to_string());
        let subject = subject(kind);
        let got = client
            .exchange_credential(&subject, &resource, Deadline::NONE)
            .await
            .unwrap();
        let seen = fake.last();
        assert_eq!(seen.path, "/oauth2/v1/token");
        let (grant, assertion) = split(&seen.body);
        assert_eq!(
            grant,
            format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&requested_token_type={}&subject_token={}&subject_token_type={}{params}",
                enc(requested),
                enc(subject.token.expose()),
                enc(kind.urn()),
            )
        );
        let org_token_url = format!("{}/oauth2/v1/token", fake.base);
        let (kid, _) = verify(
            &assertion,
            &rsa_public(),
            Algorithm::RS256,
            AGENT,
            &org_token_url,
        );
        assert_eq!(kid.as_deref(), Some(KID));
        assert_eq!(got.issued_token_type, Some(requested));
        assert!(got.expires_at.is_some());
        match (&got.secret, &resource) {
            (Secret::IdJag(t), Resource::IdJag { .. }) => assert_eq!(t.expose(), "jag.jag.jag"),
            (Secret::VaultedSecret(map), Resource::VaultedSecret { .. }) => {
                assert_eq!(map.names().collect::<Vec<_>>(), ["api_key", "host"]);
                assert_eq!(map.get("api_key").unwrap().expose(), "s3cr3t-value-1");
                assert_eq!(got.secret.field_names(), ["api_key", "host"]);
            }
            (Secret::ServiceAccount { username, password }, Resource::ServiceAccount { .. }) => {
                assert_eq!(
                    (username.expose(), password.expose()),
                    ("svc-user", "hunter2-password")
                );
            }
            (Secret::AccessToken(t), Resource::OAuthSts { .. }) => {
                assert_eq!(t.expose(), "third-party-token");
                assert_eq!(got.scope.as_deref(), Some("repo"));
            }
            (secret, _) => panic!("wrong secret {secret:?} for {resource:?}"),
        }
        // Nothing secret in Debug.
        let shown = format!("{got:?}");
        assert_no_secret(
            "Debug of a credential",
            &shown,
            &[
                "s3cr3t-value-1",
                "hunter2-password",
                "svc-user",
                "third-party-token",
                "jag.jag.jag",
            ],
        );
    }
    // Nothing secret in any log line, at any level, of ours or of the HTTP stack.
    let logged = logs.text();
    assert!(
        logged.contains("token issued"),
        "the capture works: {logged}"
    );
    let assertions: Vec<String> = fake
        .seen()
        .iter()
        .filter_map(|s| s.param("client_assertion"))
        .collect();
    let mut secrets = vec![
        ID_TOKEN,
        MACHINE_TOKEN,
        "s3cr3t-value-1",
        "hunter2-password",
        "svc-user",
        "third-party-token",
        "jag.jag.jag",
    ];
    secrets.extend(assertions.iter().map(String::as_str));
    assert_no_secret("the logs", &logged, &secrets);
}

async fn refused(body: serde_json::Value, resource: Resource) -> OktaError {
    let fake = Fake::start().await;
    let client = client(&fake, Arc::new(SystemClock));
    fake.answer(200, body.to_string());
    match client
        .exchange_credential(
            &subject(SubjectTokenType::IdToken),
            &resource,
            Deadline::NONE,
        )
        .await
    {
        Err(Error::Okta(e)) => e,
        other => panic!("expected an Okta error, got {other:?}"),
    }
}

#[tokio::test]
async fn strict_parsing_refuses_every_incomplete_or_oversized_answer() {
    let vaulted = || Resource::vaulted_secret("orn:okta:pam:o:secrets:1").unwrap();
    let account =
        || Resource::service_account("orn:okta:pam:o:apps:a:b:service_accounts:1").unwrap();
    let sts = || Resource::oauth_sts("https://api.example", None).unwrap();
    const V: &str = "urn:okta:params:oauth:token-type:vaulted-secret";
    const S: &str = "urn:okta:params:oauth:token-type:service-account";
    let many: serde_json::Map<String, serde_json::Value> = (0..65)
        .map(|i| (format!("k{i}"), json!("leaky-value")))
        .collect();
    let cases = [
        (
            json!({"issued_token_type": S, "vaulted_secret": {"a": "leaky-value"}}),
            vaulted(),
            "issued_token_type",
        ),
        (
            json!({"vaulted_secret": {"a": "leaky-value"}}),
            vaulted(),
            "issued_token_type",
        ),
        (
            json!({"issued_token_type": V, "access_token": "leaky-value"}),
            vaulted(),
            "`vaulted_secret` is missing",
        ),
        (
            json!({"issued_token_type": V, "vaulted_secret": {}}),
            vaulted(),
            "no values",
        ),
        (
            json!({"issued_token_type": V, "vaulted_secret": many}),
            vaulted(),
            "more than 64",
        ),
        (
            json!({"issued_token_type": V, "vaulted_secret": {"a": 7}}),
            vaulted(),
            "not a string",
        ),
        (
            json!({"issued_token_type": V, "vaulted_secret": ["leaky-value"]}),
            vaulted(),
            "not an object",
        ),
        (
            json!({"issued_token_type": V, "vaulted_secret": {"a": "x".repeat(16 * 1024 + 1)}}),
            vaulted(),
            "16 KiB",
        ),
        (
            json!({"issued_token_type": S, "service_account": {"username": "leaky-value"}}),
            account(),
            "`password`",
        ),
        (
            json!({"issued_token_type": S, "service_account": {"password": "leaky-value"}}),
            account(),
            "`username`",
        ),
        (
            json!({"issued_token_type": S, "service_account": {"username": "", "password": "leaky-value"}}),
            account(),
            "`username`",
        ),
        (
            json!({"issued_token_type": S}),
            account(),
            "`service_account` is missing",
        ),
        (
            json!({"issued_token_type": V, "service_account": {"username": "u", "password": "leaky-value"}}),
            account(),
            "issued_token_type",
        ),
        (
            json!({"issued_token_type": "urn:okta:params:oauth:token-type:oauth-sts", "access_token": "leaky-value", "token_type": "DPoP"}),
            sts(),
            "DPoP",
        ),
        (
            json!({"issued_token_type": "urn:okta:params:oauth:token-type:oauth-sts", "access_token": ""}),
            sts(),
            "access_token",
        ),
    ];
    for (body, resource, reason) in cases {
        let e = refused(body, resource).await;
        assert_eq!(e.kind(), "OktaProtocolError", "{e}");
        let text = format!("{e} {e:?}");
        assert!(text.contains(reason), "{reason}: {text}");
        assert_no_secret("a protocol error", &text, &["leaky-value"]);
    }
    // Duplicate names are refused, not silently merged.
    let e = refused_raw(
        format!(
            r#"{{"issued_token_type":"{V}","vaulted_secret":{{"a":"leaky-value","a":"other"}}}}"#
        ),
        vaulted(),
    )
    .await;
    assert!(e.to_string().contains("twice"), "{e}");
}

async fn refused_raw(body: String, resource: Resource) -> OktaError {
    let fake = Fake::start().await;
    let client = client(&fake, Arc::new(SystemClock));
    fake.answer(200, body);
    match client
        .exchange_credential(
            &subject(SubjectTokenType::IdToken),
            &resource,
            Deadline::NONE,
        )
        .await
    {
        Err(Error::Okta(e)) => e,
        other => panic!("expected an Okta error, got {other:?}"),
    }
}

#[test]
fn requests_are_checked_when_built() {
    assert!(Resource::id_jag("not a url", "xaa:read").is_err());
    assert!(Resource::id_jag("http://example.com/oauth2/aus1", "xaa:read").is_err());
    assert_eq!(
        Resource::id_jag("https://example.com/oauth2/aus1", "openid")
            .unwrap_err()
            .var,
        "scope"
    );
    assert!(Resource::vaulted_secret("").is_err());
    assert!(Resource::vaulted_secret("has space").is_err());
    assert!(Subject::new(SubjectToken::new(""), SubjectTokenType::IdToken).is_err());
    assert!(Subject::new(SubjectToken::new("a b"), SubjectTokenType::IdToken).is_err());
    assert_eq!(
        SubjectTokenType::parse("access_token").unwrap(),
        SubjectTokenType::AccessToken
    );
    assert!(SubjectTokenType::parse("refresh_token").is_err());
}
