//! Okta's answers that are not a token: every documented error to its kind and hint,
//! nothing of Okta's text copied, and only key errors reloading the key.

use std::time::Duration;

use xaa::{classify_failure, safe_code, Leg, OktaError, Rejection};

fn reject(leg: Leg, status: u16, body: &str) -> (String, String) {
    match classify_failure(leg, status, body.as_bytes(), None) {
        e @ OktaError::Rejected { .. } => (e.kind().to_string(), e.to_string()),
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
        assert_eq!(e.kind(), "OktaUnavailable");
        assert_eq!(e.is_transient(), transient, "{status}");
    }
    assert!(
        !classify_failure(Leg::JwtBearer, 400, br#"{"error":"invalid_grant"}"#, None)
            .is_transient()
    );
}

#[test]
fn only_key_rejections_reload_the_key_and_only_a_refused_id_jag_restarts() {
    let key = [Rejection::WrongKid, Rejection::BadSignature];
    let all = [
        Rejection::ScopeRejected,
        Rejection::NoKeyRegistered,
        Rejection::WrongKid,
        Rejection::WrongAudience,
        Rejection::BadSignature,
        Rejection::ClientAuthFailed,
        Rejection::IdTokenRejected,
        Rejection::IdJagRejected,
        Rejection::PolicyDenied,
        Rejection::UnauthorizedClient,
        Rejection::WrongFlow,
        Rejection::StepUp { max_age: None },
        Rejection::InvalidTarget,
        Rejection::Other,
    ];
    for r in all {
        assert_eq!(r.blames_our_key(), key.contains(&r), "{r:?}");
        assert_eq!(
            r.restarts_from_leg1(),
            r == Rejection::IdJagRejected,
            "{r:?}"
        );
    }
    assert_eq!(
        Rejection::from_okta(Leg::JwtBearer, "invalid_grant", "", None),
        Rejection::IdJagRejected
    );
    assert_eq!(
        Rejection::from_okta(Leg::TokenExchange, "invalid_grant", "", None),
        Rejection::IdTokenRejected
    );
}

#[test]
fn safe_code_keeps_identifiers_and_drops_free_text() {
    assert_eq!(safe_code("invalid_grant"), "invalid_grant");
    assert_eq!(safe_code("eyJ.a b"), "<unrecognised>");
    assert_eq!(safe_code(&"x".repeat(65)), "<unrecognised>");
    assert_eq!(safe_code(""), "<unrecognised>");
}
