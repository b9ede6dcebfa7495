//! Fuzzing (proptest, stable Rust) of the parsers added for the AI agent credentials:
//! `parse_credential` (vaulted secrets, service accounts, third-party tokens, ID-JAGs)
//! and `classify_failure_at` (consent answers). No input panics; an accepted answer
//! names the requested type and has the resource's shape within the limits; a refusal
//! is a protocol error of the right leg that repeats no string of the body; a consent
//! URI is typed only when it is on the org.

use fuzzkit::{fuzz, no_leak, worth_checking, CANARY};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;
use xaa::{
    classify_failure_at, parse_credential, OktaError, Resource, Secret, MAX_SECRET_FIELDS,
    MAX_SECRET_VALUE_BYTES,
};

const ORG: &str = "https://example.okta.com";

fn resources() -> Vec<Resource> {
    vec![
        Resource::id_jag("https://example.okta.com/oauth2/aus1", "xaa:read").unwrap(),
        Resource::vaulted_secret("orn:okta:pam:o:secrets:1").unwrap(),
        Resource::service_account("orn:okta:pam:o:apps:a:b:service_accounts:1").unwrap(),
        Resource::oauth_sts("https://api.example", None).unwrap(),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "access_token",
        "issued_token_type",
        "token_type",
        "expires_in",
        "scope",
        "vaulted_secret",
        "service_account",
        "username",
        "password",
        "k",
        "k",
    ])
    .prop_map(str::to_string)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "urn:ietf:params:oauth:token-type:id-jag",
            "urn:okta:params:oauth:token-type:vaulted-secret",
            "urn:okta:params:oauth:token-type:service-account",
            "urn:okta:params:oauth:token-type:oauth-sts",
            "Bearer",
            "DPoP",
            "",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z0-9 _.-]{0,24}".prop_map(|s| format!("{CANARY}{s}")),
    ]
}

/// A valid answer for resource `which`, as JSON.
fn valid(which: usize) -> Value {
    let canary = |s: &str| format!("{CANARY}-{s}");
    match which {
        0 => {
            serde_json::json!({"issued_token_type": "urn:ietf:params:oauth:token-type:id-jag", "access_token": canary("jag"), "token_type": "N_A", "expires_in": 300})
        }
        1 => {
            serde_json::json!({"issued_token_type": "urn:okta:params:oauth:token-type:vaulted-secret", "vaulted_secret": {"user": canary("u"), "pw": canary("p")}, "expires_in": 300})
        }
        2 => {
            serde_json::json!({"issued_token_type": "urn:okta:params:oauth:token-type:service-account", "service_account": {"username": canary("u"), "password": canary("p")}})
        }
        _ => {
            serde_json::json!({"issued_token_type": "urn:okta:params:oauth:token-type:oauth-sts", "access_token": canary("tok"), "token_type": "Bearer", "scope": "repo"})
        }
    }
}

/// Bytes, arbitrary JSON, or (mostly) a valid answer of the resource's shape with a few
/// members (top level or inside the secret object) replaced or removed.
fn body() -> impl Strategy<Value = (usize, Vec<u8>)> {
    let json = || fuzzkit::json_value(key, text());
    let edit = (any::<bool>(), key(), prop::option::of(json()));
    (
        0..4usize,
        prop_oneof![
            1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| (None, b)),
            1 => json().prop_map(|v| (None, v.to_string().into_bytes())),
            8 => prop::collection::vec(edit, 0..3).prop_map(|edits| (Some(edits), Vec::new())),
        ],
    )
        .prop_map(|(which, (edits, bytes))| {
            let Some(edits) = edits else {
                return (which, bytes);
            };
            let mut v = valid(which);
            for (nested, name, value) in edits {
                let target = match (nested, which) {
                    (true, 1) => &mut v["vaulted_secret"],
                    (true, 2) => &mut v["service_account"],
                    _ => &mut v,
                };
                if let Value::Object(map) = target {
                    match value {
                        Some(value) => map.insert(name, value),
                        None => map.remove(&name),
                    };
                }
            }
            (which, v.to_string().into_bytes())
        })
}

/// Every string in `v`, recursively, worth checking for an echo.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if worth_checking(s) && !s.starts_with("urn:") => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

fn check(which: usize, bytes: Vec<u8>) -> Result<bool, TestCaseError> {
    let resource = &resources()[which];
    let mut secrets = Vec::new();
    if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
        strings(&v, &mut secrets);
    }
    match parse_credential(resource, &bytes) {
        Ok(parsed) => {
            prop_assert_eq!(parsed.issued_token_type, resource.requested_token_type());
            let shape_ok = match (&parsed.secret, resource) {
                (Secret::IdJag(t), Resource::IdJag { .. }) => !t.is_empty(),
                (Secret::AccessToken(t), Resource::OAuthSts { .. }) => !t.is_empty(),
                (Secret::VaultedSecret(m), Resource::VaultedSecret { .. }) => {
                    !m.is_empty()
                        && m.len() <= MAX_SECRET_FIELDS
                        && m.iter().all(|(_, v)| v.len() <= MAX_SECRET_VALUE_BYTES)
                }
                (
                    Secret::ServiceAccount { username, password },
                    Resource::ServiceAccount { .. },
                ) => !username.is_empty() && !password.is_empty(),
                _ => false,
            };
            prop_assert!(shape_ok, "{:?} for {resource:?}", parsed.secret);
            // The secret's Debug shows no value (the scope is not a secret; it may echo).
            no_leak(&format!("{:?}", parsed.secret), &[])?;
            Ok(true)
        }
        Err(e @ OktaError::Protocol { .. }) => {
            let OktaError::Protocol { leg, .. } = &e else {
                unreachable!()
            };
            prop_assert_eq!(*leg, resource.leg());
            no_leak(&format!("{e} {e:?}"), &secrets)?;
            Ok(false)
        }
        Err(other) => Err(TestCaseError::fail(format!(
            "not a protocol error: {other:?}"
        ))),
    }
}

#[test]
fn fuzz_credential_parser_never_panics_nor_accepts_the_wrong_shape_nor_echoes() {
    fuzz("credential-parser", 3_000, body(), |(which, bytes)| {
        check(which, bytes)
    });
}

fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("https://example.okta.com/oauth2/v1/sts/consent/abc".to_string()),
        "(https?|javascript|ftp)://[a-zA-Z0-9.:@\\[\\]-]{0,30}(/[a-zA-Z0-9?=&%.]{0,20})?",
        "https://example\\.okta\\.com[a-zA-Z0-9.:@/?#-]{0,30}",
        any::<String>(),
    ]
}

#[test]
fn fuzz_consent_uri_is_typed_only_when_on_the_org() {
    let strategy = (uri(), 399..=401u16, any::<bool>());
    fuzz(
        "consent-classifier",
        3_000,
        strategy,
        |(uri, status, string)| {
            let value = if string {
                Value::from(uri.clone())
            } else {
                Value::from(7)
            };
            let body =
                serde_json::json!({"error": "interaction_required", "interaction_uri": value});
            let e = classify_failure_at(
                xaa::Leg::OAuthSts,
                status,
                body.to_string().as_bytes(),
                None,
                ORG,
            );
            match &e {
                OktaError::ConsentRequired {
                    interaction_uri, ..
                } => {
                    let url = reqwest_free_parse(interaction_uri.as_str());
                    prop_assert!(
                        url.0 == "https" && url.1.eq_ignore_ascii_case("example.okta.com"),
                        "{uri}"
                    );
                    Ok(true)
                }
                _ if status == 399 => Ok(false),
                OktaError::Protocol { .. } => {
                    if uri.len() >= 8 {
                        no_leak(&format!("{e} {e:?}"), std::slice::from_ref(&uri))?;
                    }
                    Ok(false)
                }
                other => Err(TestCaseError::fail(format!("{other:?}"))),
            }
        },
    );
}

/// Scheme and host of an absolute URL, by hand (the check must not trust the parser it tests).
fn reqwest_free_parse(url: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", ""));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority
        .rsplit('@')
        .next()
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("");
    (scheme.to_string(), host.to_string())
}
