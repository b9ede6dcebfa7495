//! Cross App Access at the stand-in: both legs, each refusal, faults.

mod common;

use std::time::{Duration, Instant};

use common::*;
use devstack::{Config, Devstack, IdTokenOptions, OktaFault};
use serde_json::{json, Value};

async fn stack() -> Devstack {
    Devstack::start(Config::default()).await.unwrap()
}

fn expect_error(resp: &Resp, status: u16, code: &str, description: &str) {
    let (error, text) = resp.oauth_error();
    assert_eq!((resp.status, error.as_str()), (status, code), "{text}");
    assert!(text.contains(description), "{text:?} lacks {description:?}");
    assert_eq!(resp.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn both_legs_issue_an_id_jag_and_an_access_token() {
    let stack = stack().await;
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    let r1 = leg1_as_agent(&stack, &id_token, &[]).await;
    assert_eq!(r1.status, 200);
    assert_eq!(r1.header("cache-control"), Some("no-store"));
    let body = r1.json();
    assert_eq!(body["issued_token_type"], ID_JAG);
    assert_eq!(body["token_type"], "N_A");
    assert_eq!(body["expires_in"], 300);
    let id_jag = body["access_token"].as_str().unwrap();
    let (header, claims) = verify_with_jwks(id_jag, &stack.org_jwks());
    assert_eq!(header.typ.as_deref(), Some("oauth-id-jag+jwt"));
    assert_eq!(claims["iss"], stack.okta_base_url());
    assert_eq!(claims["aud"], stack.custom_as_issuer());
    assert_eq!(claims["sub"], "00ualice0001");
    assert_eq!(claims["client_id"], "wlpdevstackagent");
    assert_eq!(claims["scope"], "xaa:read");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );

    let r2 = leg2(&stack, id_jag, &assertion(&stack, &leg2_url(&stack)), &[]).await;
    assert_eq!(r2.status, 200);
    let body = r2.json();
    assert_eq!(
        (
            body["token_type"].as_str(),
            body["expires_in"].as_i64(),
            body["scope"].as_str()
        ),
        (Some("Bearer"), Some(3600), Some("xaa:read"))
    );
    let (_, claims) = verify_with_jwks(
        body["access_token"].as_str().unwrap(),
        &stack.custom_as_jwks(),
    );
    assert_eq!(claims["ver"], 1);
    assert_eq!(claims["iss"], stack.custom_as_issuer());
    assert_eq!(claims["aud"], devstack::ACCESS_TOKEN_AUDIENCE);
    assert_eq!(claims["cid"], "wlpdevstackagent");
    assert_eq!(claims["uid"], "00ualice0001");
    assert_eq!(claims["scp"], json!(["xaa:read"]));
    assert_eq!(claims["sub"], "alice@example.com");
    assert!(claims["jti"].is_string());

    // The ID-JAG stays redeemable while valid.
    let again = leg2(&stack, id_jag, &assertion(&stack, &leg2_url(&stack)), &[]).await;
    assert_eq!(again.status, 200);
    let stats = stack.stats();
    assert_eq!((stats.leg1, stats.leg2), (1, 2));
}

#[tokio::test]
async fn discovery_and_jwks_name_both_issuers_and_publish_public_keys_only() {
    let stack = stack().await;
    let base = stack.okta_base_url();
    let org = get(&base, "/.well-known/openid-configuration").await.json();
    assert_eq!(org["issuer"], base);
    assert_eq!(org["token_endpoint"], leg1_url(&stack));
    assert_eq!(
        org["authorization_endpoint"],
        format!("{base}/oauth2/v1/authorize")
    );
    assert_eq!(org["jwks_uri"], format!("{base}/oauth2/v1/keys"));
    let custom = get(
        &base,
        "/oauth2/ausdevstack1/.well-known/openid-configuration",
    )
    .await
    .json();
    assert_eq!(custom["issuer"], stack.custom_as_issuer());
    assert_eq!(custom["token_endpoint"], leg2_url(&stack));
    assert!(custom["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!(JWT_BEARER)));
    for path in ["/oauth2/v1/keys", "/oauth2/ausdevstack1/v1/keys"] {
        let jwks = get(&base, path).await.json();
        let key = &jwks["keys"][0];
        assert_eq!(
            (key["kty"].as_str(), key["alg"].as_str()),
            (Some("RSA"), Some("RS256"))
        );
        assert!(
            key.get("d").is_none() && key.get("p").is_none(),
            "private part served at {path}"
        );
    }
    assert_eq!(get(&base, "/oauth2/v1/keys").await.json(), stack.org_jwks());
    assert_eq!(stack.stats().jwks_fetches, 3);
    assert_eq!(get(&base, "/oauth2/ausother/v1/keys").await.status, 404);
    assert_eq!(get(&base, "/nope").await.status, 404);
    assert_eq!(get(&base, "/oauth2/v1/token").await.status, 405);
}

#[tokio::test]
async fn assertion_for_another_endpoint_is_invalid_client() {
    let stack = stack().await;
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    // The leg 2 URL at leg 1, and the issuer (not the token URL).
    for aud in [leg2_url(&stack), stack.okta_base_url()] {
        let resp = leg1(&stack, &id_token, &assertion(&stack, &aud), &[]).await;
        expect_error(
            &resp,
            401,
            "invalid_client",
            "The audience claim for client_assertion must be the endpoint invoked for the request",
        );
    }
}

#[tokio::test]
async fn replayed_assertion_jti_is_invalid_client() {
    let stack = stack().await;
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    let once = assertion(&stack, &leg1_url(&stack));
    assert_eq!(leg1(&stack, &id_token, &once, &[]).await.status, 200);
    let resp = leg1(&stack, &id_token, &once, &[]).await;
    expect_error(&resp, 401, "invalid_client", "jti has already been used");
}

#[tokio::test]
async fn assertion_with_unregistered_kid_is_refused() {
    let stack = stack().await;
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    let claims = assertion_claims(&stack, &leg1_url(&stack));
    for kid in [Some("some-other-key"), None] {
        let jwt = sign_rs256(&agent_key(&stack), kid, &claims);
        expect_error(
            &leg1(&stack, &id_token, &jwt, &[]).await,
            401,
            "invalid_client",
            "kid is invalid",
        );
    }
}

#[tokio::test]
async fn agent_without_registered_keys_is_refused_with_jwkset_not_configured() {
    let stack = stack().await;
    stack.set_agent_public_jwks(vec![]);
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    let resp = leg1_as_agent(&stack, &id_token, &[]).await;
    expect_error(&resp, 401, "invalid_client", "JWKSet not configured");
}

#[tokio::test]
async fn assertion_signed_by_another_key_is_refused_on_its_signature() {
    let stack = stack().await;
    let other = Devstack::start(Config::default()).await.unwrap();
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    // Same kid, other key pair.
    let jwt = sign_rs256(
        &agent_key(&other),
        Some("devstack-agent-key"),
        &assertion_claims(&stack, &leg1_url(&stack)),
    );
    expect_error(
        &leg1(&stack, &id_token, &jwt, &[]).await,
        401,
        "invalid_client",
        "signature is invalid",
    );
}

#[tokio::test]
async fn assertion_claims_are_checked() {
    let stack = stack().await;
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "expired",
            Box::new(|c| c["exp"] = json!(now() - 5)),
            "expired",
        ),
        (
            "too long",
            Box::new(|c| c["exp"] = json!(now() + 3700)),
            "at most one hour",
        ),
        (
            "no exp",
            Box::new(|c| drop(c.as_object_mut().unwrap().remove("exp"))),
            "exp claim",
        ),
        (
            "no jti",
            Box::new(|c| drop(c.as_object_mut().unwrap().remove("jti"))),
            "jti claim",
        ),
        (
            "iss != sub",
            Box::new(|c| c["sub"] = json!("someone")),
            "iss and sub",
        ),
        (
            "unknown client",
            Box::new(|c| {
                c["iss"] = json!("wlpother");
                c["sub"] = json!("wlpother");
            }),
            "Client authentication failed",
        ),
    ];
    for (name, edit, description) in cases {
        let mut claims = assertion_claims(&stack, &leg1_url(&stack));
        edit(&mut claims);
        let jwt = sign_rs256(&agent_key(&stack), Some("devstack-agent-key"), &claims);
        let resp = leg1(&stack, &id_token, &jwt, &[]).await;
        assert_eq!(resp.status, 401, "{name}");
        expect_error(&resp, 401, "invalid_client", description);
    }
    let missing = leg1(&stack, &id_token, "", &[("client_assertion_type", "")]).await;
    expect_error(
        &missing,
        401,
        "invalid_client",
        "Client authentication failed",
    );
}

#[tokio::test]
async fn es256_assertion_verifies_against_a_registered_ec_key() {
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let stack = stack().await;
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = pair.public_key().as_ref().to_vec(); // 0x04 | x | y
    stack.register_agent_public_jwk(json!({
        "kty": "EC", "crv": "P-256", "kid": "ec-key", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..]),
    }));
    let pkcs8 = pair.to_pkcs8v1().unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("ec-key".into());
    let jwt =
        jsonwebtoken::encode(&header, &assertion_claims(&stack, &leg1_url(&stack)), &key).unwrap();
    let id_token = stack.mint_id_token("bob@example.com", IdTokenOptions::default());
    let resp = leg1(&stack, &id_token, &jwt, &[]).await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    // An ES256 header naming the RSA key does not verify.
    header.kid = Some("devstack-agent-key".into());
    let jwt =
        jsonwebtoken::encode(&header, &assertion_claims(&stack, &leg1_url(&stack)), &key).unwrap();
    expect_error(
        &leg1(&stack, &id_token, &jwt, &[]).await,
        401,
        "invalid_client",
        "signature",
    );
}

#[tokio::test]
async fn system_scopes_are_refused_by_name() {
    let stack = stack().await;
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    for (scope, description) in [
        ("openid", "openid not allowed"),
        ("xaa:read profile", "profile not allowed"),
        ("offline_access", "offline_access not allowed"),
        ("xaa:write", "One or more scopes are not configured"),
    ] {
        let resp = leg1_as_agent(&stack, &id_token, &[("scope", scope)]).await;
        expect_error(&resp, 400, "invalid_scope", description);
    }
}

#[tokio::test]
async fn expired_id_token_is_invalid_grant() {
    let stack = stack().await;
    let opts = IdTokenOptions {
        lifetime_secs: -10,
        ..Default::default()
    };
    let id_token = stack.mint_id_token("alice@example.com", opts);
    let resp = leg1_as_agent(&stack, &id_token, &[]).await;
    expect_error(&resp, 400, "invalid_grant", "The subject token is expired");
}

#[tokio::test]
async fn id_token_for_another_app_is_invalid_grant() {
    let stack = stack().await;
    let opts = IdTokenOptions {
        audience: Some("0oaanotherapp".into()),
        ..Default::default()
    };
    let id_token = stack.mint_id_token("alice@example.com", opts);
    let resp = leg1_as_agent(&stack, &id_token, &[]).await;
    expect_error(&resp, 400, "invalid_grant", "not linked to this AI agent");
    // Nor is an ID token of another org (other key).
    let other = Devstack::start(Config::default()).await.unwrap();
    let foreign = other.mint_id_token("alice@example.com", IdTokenOptions::default());
    let resp = leg1_as_agent(&stack, &foreign, &[]).await;
    expect_error(&resp, 400, "invalid_grant", "The subject token is invalid");
}

#[tokio::test]
async fn sign_in_older_than_the_step_up_max_age_is_insufficient_user_authentication() {
    let stack = stack().await;
    stack.set_max_auth_age(Some(600));
    let stale = stack.mint_id_token(
        "alice@example.com",
        IdTokenOptions {
            issued_at_offset_secs: -900,
            ..Default::default()
        },
    );
    let resp = leg1_as_agent(&stack, &stale, &[]).await;
    expect_error(
        &resp,
        400,
        "insufficient_user_authentication",
        "authenticate again",
    );
    assert_eq!(resp.json()["max_age"], 600);
    let fresh = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    let resp = leg1_as_agent(&stack, &fresh, &[]).await;
    assert_eq!(resp.status, 200);
    stack.set_max_auth_age(None);
    let resp = leg1_as_agent(&stack, &stale, &[]).await;
    assert_eq!(resp.status, 200);
}

#[tokio::test]
async fn service_app_authenticates_but_may_not_exchange_for_an_id_jag() {
    let stack = stack().await;
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    let service_assertion = |stack: &Devstack| {
        let mut claims = assertion_claims(stack, &leg1_url(stack));
        claims["iss"] = json!("0oaserviceapp01");
        claims["sub"] = json!("0oaserviceapp01");
        sign_rs256(
            &agent_key(stack),
            Some(&stack.config().agent_key_id),
            &claims,
        )
    };
    // Unregistered: an unknown client.
    let resp = leg1(&stack, &id_token, &service_assertion(&stack), &[]).await;
    expect_error(&resp, 401, "invalid_client", "Client authentication failed");
    // Registered with the same key pair: authenticated, but the wrong flow.
    stack.register_service_app("0oaserviceapp01", stack.agent_public_jwk());
    let resp = leg1(&stack, &id_token, &service_assertion(&stack), &[]).await;
    expect_error(
        &resp,
        400,
        "token_exchange_invalid_audience",
        "not an AI agent",
    );
}

#[tokio::test]
async fn token_exchange_parameters_are_strict() {
    let stack = stack().await;
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    let token_url = leg2_url(&stack);
    let cases = [
        (
            ("audience", token_url.as_str()),
            "invalid_target",
            "audience",
        ),
        (
            (
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            "invalid_request",
            "requested_token_type",
        ),
        (
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:saml2",
            ),
            "invalid_request",
            "subject_token_type",
        ),
        (("audience", ""), "invalid_request", "'audience'"),
        (("subject_token", ""), "invalid_request", "'subject_token'"),
    ];
    for (over, code, description) in cases {
        let resp = leg1_as_agent(&stack, &id_token, &[over]).await;
        expect_error(&resp, 400, code, description);
    }
    // Not a form body.
    let resp = request(
        &stack.okta_base_url(),
        "POST",
        "/oauth2/v1/token",
        &[("Content-Type", "application/json")],
        b"{}",
    )
    .await;
    expect_error(&resp, 400, "invalid_request", "x-www-form-urlencoded");
    // Jwt-bearer belongs to the custom AS only.
    let resp = post_form(
        &stack.okta_base_url(),
        "/oauth2/v1/token",
        &[("grant_type", JWT_BEARER)],
    )
    .await;
    expect_error(
        &resp,
        400,
        "unsupported_grant_type",
        "Configured grant types",
    );
}

#[tokio::test]
async fn wrong_client_types_are_unauthorized_client() {
    let stack = stack().await;
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    let resp = leg1(
        &stack,
        &id_token,
        "",
        &[
            ("client_assertion_type", ""),
            ("client_id", "0oadevstackweb"),
            ("client_secret", &stack.config().oidc_client_secret),
        ],
    )
    .await;
    expect_error(
        &resp,
        400,
        "unauthorized_client",
        "not authorized to use the provided grant type",
    );
    let resp = post_form(
        &stack.okta_base_url(),
        "/oauth2/v1/token",
        &[("grant_type", "client_credentials")],
    )
    .await;
    expect_error(
        &resp,
        400,
        "unauthorized_client",
        "Only service apps can use client_credentials",
    );
}

#[tokio::test]
async fn policy_without_jwt_bearer_is_access_denied() {
    let stack = stack().await;
    let (id_jag, _) = tokens_for(&stack, "alice@example.com").await;
    stack.set_policy_allows_jwt_bearer(false);
    let resp = leg2(&stack, &id_jag, &assertion(&stack, &leg2_url(&stack)), &[]).await;
    expect_error(&resp, 400, "access_denied", "no_matching_policy");
    stack.set_policy_allows_jwt_bearer(true);
    assert_eq!(
        leg2(&stack, &id_jag, &assertion(&stack, &leg2_url(&stack)), &[])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn leg2_refuses_what_is_not_an_id_jag_for_this_server() {
    let stack = stack().await;
    let (id_jag, access_token) = tokens_for(&stack, "alice@example.com").await;
    // An ID token is signed by the org but lacks the ID-JAG typ.
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    let resp = leg2(
        &stack,
        &id_token,
        &assertion(&stack, &leg2_url(&stack)),
        &[],
    )
    .await;
    expect_error(&resp, 400, "invalid_grant", "typ must be oauth-id-jag+jwt");
    // The access token is neither.
    let resp = leg2(
        &stack,
        &access_token,
        &assertion(&stack, &leg2_url(&stack)),
        &[],
    )
    .await;
    expect_error(&resp, 400, "invalid_grant", "not an ID-JAG");
    // A tampered ID-JAG.
    let mut parts: Vec<String> = id_jag.split('.').map(str::to_string).collect();
    parts[2] = parts[2].chars().rev().collect();
    let resp = leg2(
        &stack,
        &parts.join("."),
        &assertion(&stack, &leg2_url(&stack)),
        &[],
    )
    .await;
    expect_error(&resp, 400, "invalid_grant", "signature");
    // The leg 1 endpoint as assertion audience at leg 2.
    let resp = leg2(&stack, &id_jag, &assertion(&stack, &leg1_url(&stack)), &[]).await;
    expect_error(
        &resp,
        401,
        "invalid_client",
        "The audience claim for client_assertion",
    );
    // More scope than the ID-JAG carries.
    let resp = leg2(
        &stack,
        &id_jag,
        &assertion(&stack, &leg2_url(&stack)),
        &[("scope", "xaa:read xaa:admin")],
    )
    .await;
    expect_error(&resp, 400, "invalid_scope", "exceeds");
}

#[tokio::test]
async fn status_fault_answers_the_next_token_requests_then_clears() {
    let stack = stack().await;
    stack.set_okta_fault(OktaFault::Status {
        status: 503,
        times: 2,
        retry_after_secs: Some(1),
    });
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    for _ in 0..2 {
        let resp = leg1_as_agent(&stack, &id_token, &[]).await;
        assert_eq!((resp.status, resp.header("retry-after")), (503, Some("1")));
        assert_eq!(resp.oauth_error().0, "temporarily_unavailable");
    }
    assert_eq!(leg1_as_agent(&stack, &id_token, &[]).await.status, 200);
    stack.set_okta_fault(OktaFault::Status {
        status: 429,
        times: 1,
        retry_after_secs: None,
    });
    let resp = leg1_as_agent(&stack, &id_token, &[]).await;
    assert_eq!(
        (resp.status, resp.json()["errorCode"].as_str()),
        (429, Some("E0000047"))
    );
    assert_eq!(stack.stats().leg1, 4);
}

#[tokio::test]
async fn slow_fault_delays_token_answers() {
    let stack = stack().await;
    stack.set_okta_fault(OktaFault::Slow(Duration::from_millis(300)));
    let id_token = stack.mint_id_token("alice@example.com", IdTokenOptions::default());
    let started = Instant::now();
    let resp = leg1_as_agent(&stack, &id_token, &[]).await;
    assert_eq!(resp.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let stack = stack().await;
    let big = vec![b'a'; 70 * 1024];
    let resp = request(
        &stack.okta_base_url(),
        "POST",
        "/oauth2/v1/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &big,
    )
    .await;
    assert_eq!(resp.status, 413);
}
