//! Okta's error answers as Okta documents them (fixtures/okta-error-bodies.json, each
//! with its source) go to the right type, and only the key errors reload the key.

use serde_json::Value;
use xaa::{classify_failure, Leg};

#[test]
fn documented_okta_error_bodies_are_classified_as_documented() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/okta-error-bodies.json")).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 9);
    for case in cases {
        let source = case["source"].as_str().unwrap();
        let leg = match case["leg"].as_str().unwrap() {
            "token_exchange" => Leg::TokenExchange,
            "jwt_bearer" => Leg::JwtBearer,
            other => panic!("leg {other}"),
        };
        let status = case["status"].as_u64().unwrap() as u16;
        let body = case["body"].to_string();
        let error = classify_failure(leg, status, body.as_bytes(), None);
        assert_eq!(error.kind(), case["kind"].as_str().unwrap(), "{source}");
        let rejection = error.rejection().map(|r| format!("{r:?}"));
        assert_eq!(rejection.as_deref(), case["rejection"].as_str(), "{source}");
        assert_eq!(
            error.rejection().is_some_and(|r| r.blames_our_key()),
            case["blames_our_key"].as_bool().unwrap(),
            "{source}"
        );
        // Okta's description is never repeated to our caller.
        if let Some(description) = case["body"]["error_description"].as_str() {
            assert!(
                !error.to_string().contains(description),
                "{source}: {error}"
            );
        }
    }
}
