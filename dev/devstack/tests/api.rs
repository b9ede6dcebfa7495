//! The Okta-protected API: each person sees their own data, bad tokens are refused with
//! RFC 6750 challenges, and the request counters add up.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use devstack::{Config, Devstack};
use serde_json::Value;

async fn api_get(stack: &Devstack, path: &str, token: Option<&str>) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    request(&stack.api_url(), "GET", path, &headers, b"").await
}

fn ticket_ids(body: &Value) -> Vec<String> {
    body["tickets"]
        .as_array()
        .expect("tickets array")
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// The JWT's parts, and its header and claims decoded (not verified).
fn parts(token: &str) -> (Value, Value, String) {
    let mut it = token.split('.');
    let mut json =
        || serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
    let header = json();
    let claims = json();
    (header, claims, it.next().unwrap().to_string())
}

#[tokio::test]
async fn each_person_gets_only_their_own_data() {
    let stack = Devstack::start(Config::default()).await.unwrap();
    let (_, alice) = tokens_for(&stack, "alice@example.com").await;
    let (_, bob) = tokens_for(&stack, "bob@example.com").await;

    let me = api_get(&stack, "/me", Some(&alice)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["id"], "00ualice0001");
    assert_eq!(me.json()["name"], "Alice Example");
    assert_eq!(me.header("cache-control"), Some("no-store"));
    let me = api_get(&stack, "/me", Some(&bob)).await;
    assert_eq!(me.json()["id"], "00ubob000002");

    let alice_tickets = api_get(&stack, "/tickets", Some(&alice)).await;
    let bob_tickets = api_get(&stack, "/tickets", Some(&bob)).await;
    assert_eq!(ticket_ids(&alice_tickets.json()), ["TCK-1001", "TCK-1002"]);
    assert_eq!(
        ticket_ids(&bob_tickets.json()),
        ["TCK-2001", "TCK-2002", "TCK-2003"]
    );
    for t in alice_tickets.json()["tickets"].as_array().unwrap() {
        assert_eq!(t["owner"], "00ualice0001");
    }

    let own = api_get(&stack, "/tickets/TCK-2002", Some(&bob)).await;
    assert_eq!(
        (own.status, own.json()["id"].as_str()),
        (200, Some("TCK-2002"))
    );
    // Another person's ticket looks exactly like one that does not exist.
    let theirs = api_get(&stack, "/tickets/TCK-2002", Some(&alice)).await;
    let missing = api_get(&stack, "/tickets/TCK-9999", Some(&alice)).await;
    assert_eq!((theirs.status, missing.status), (404, 404));
    assert_eq!(theirs.body, missing.body);

    let stats = stack.stats();
    assert_eq!(
        (stats.api_requests, stats.api_answers, stats.api_refusals),
        (7, 7, 0)
    );
}

#[tokio::test]
async fn bad_tokens_get_401_invalid_token_and_a_missing_scope_403() {
    let stack = Devstack::start(Config {
        scopes: vec!["xaa:read".into(), "xaa:write".into()],
        ..Config::default()
    })
    .await
    .unwrap();
    let (_, alice) = tokens_for(&stack, "alice@example.com").await;
    let (header, mut claims, _) = parts(&alice);
    let kid = header["kid"].as_str().unwrap();

    // No header at all: a bare challenge, no error code (RFC 6750 section 3.1).
    let none = api_get(&stack, "/me", None).await;
    assert_eq!(none.status, 401);
    assert_eq!(
        none.header("www-authenticate"),
        Some("Bearer realm=\"devstack-api\"")
    );

    // Signed by another key under the issuer's kid, and a real token whose uid was
    // swapped for bob's (the signature no longer matches).
    let forged = sign_rs256(&stack.agent_encoding_key(), Some(kid), &claims);
    claims["uid"] = "00ubob000002".into();
    let (_, _, signature) = parts(&alice);
    let header_b64 = alice.split('.').next().unwrap();
    let swapped = format!(
        "{header_b64}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let wrong_alg = {
        let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        hs.kid = Some(kid.to_string());
        jsonwebtoken::encode(&hs, &claims, &jsonwebtoken::EncodingKey::from_secret(b"k")).unwrap()
    };
    for token in [
        forged.as_str(),
        swapped.as_str(),
        wrong_alg.as_str(),
        "not-a-jwt",
    ] {
        let r = api_get(&stack, "/tickets", Some(token)).await;
        assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
        let challenge = r.header("www-authenticate").unwrap();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
            "{challenge}"
        );
        assert_eq!(r.json()["error"], "invalid_token");
        assert!(!String::from_utf8_lossy(&r.body).contains(token));
    }

    // A valid token with only the other scope.
    let id_token = stack.mint_id_token("alice@example.com", Default::default());
    let r1 = leg1_as_agent(&stack, &id_token, &[("scope", "xaa:write")]).await;
    assert_eq!(r1.status, 200);
    let id_jag = r1.json()["access_token"].as_str().unwrap().to_string();
    let r2 = leg2(&stack, &id_jag, &assertion(&stack, &leg2_url(&stack)), &[]).await;
    let write_only = r2.json()["access_token"].as_str().unwrap().to_string();
    let r = api_get(&stack, "/me", Some(&write_only)).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"devstack-api\", error=\"insufficient_scope\", scope=\"xaa:read\"")
    );

    // Routing and methods.
    assert_eq!(api_get(&stack, "/admin", Some(&alice)).await.status, 404);
    let post = request(&stack.api_url(), "POST", "/tickets", &[], b"{}").await;
    assert_eq!((post.status, post.header("allow")), (405, Some("GET")));

    let stats = stack.stats();
    assert_eq!((stats.api_refusals, stats.api_answers), (6, 0));
}

#[tokio::test]
async fn tokens_signed_by_the_issuer_are_still_checked_claim_by_claim() {
    use devstack::AccessTokenOptions;
    let stack = Devstack::start(Config::default()).await.unwrap();
    let mint = |opts: AccessTokenOptions| stack.mint_access_token("bob@example.com", opts);
    let good = mint(AccessTokenOptions::default());
    let me = api_get(&stack, "/me", Some(&good)).await;
    assert_eq!(
        (me.status, me.json()["id"].as_str()),
        (200, Some("00ubob000002"))
    );

    let invalid = [
        (
            "expired",
            mint(AccessTokenOptions {
                lifetime_secs: -10,
                ..Default::default()
            }),
        ),
        (
            "wrong aud",
            mint(AccessTokenOptions {
                audience: Some("api://default".into()),
                ..Default::default()
            }),
        ),
        // The AGBAC shape names the person in act.sub, not uid: this API reads uid only.
        (
            "no uid",
            mint(AccessTokenOptions {
                agbac: true,
                ..Default::default()
            }),
        ),
    ];
    for (what, token) in &invalid {
        let r = api_get(&stack, "/tickets", Some(token)).await;
        assert_eq!(r.status, 401, "{what}");
        let challenge = r.header("www-authenticate").unwrap();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: {challenge}"
        );
    }
    let no_scope = mint(AccessTokenOptions {
        scopes: Some(vec!["xaa:write".into()]),
        ..Default::default()
    });
    let r = api_get(&stack, "/tickets", Some(&no_scope)).await;
    assert_eq!(r.status, 403);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\""));
    let stats = stack.stats();
    assert_eq!((stats.api_answers, stats.api_refusals), (1, 4));
}
