//! The handler's token flow against a recording token endpoint: exact wire bodies,
//! client assertions checked with the public key, retries, cache and key rotation.

use std::sync::Arc;
use std::time::Duration;

use bridge::{Bridge, Parts};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use testkit::*;
use xaa::TransportError;
use xaa::{ManualClock, SequentialJti};

const NOW: u64 = 1_900_000_000;
const ORG_TOKEN_URL: &str = "https://example.okta.com/oauth2/v1/token";
const CUSTOM_TOKEN_URL: &str = "https://example.okta.com/oauth2/aus8abc123/v1/token";

fn id_jag_ok() -> Answer {
    Ok((200, r#"{"issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","access_token":"the-id-jag","token_type":"N_A","expires_in":300}"#.into(), None))
}

fn access_ok(tag: &str) -> Answer {
    Ok((200, access_token_body(tag, "00ualice", 3600), None))
}

fn oauth_error(status: u16, code: &str, description: &str) -> Answer {
    Ok((
        status,
        json!({"error": code, "error_description": description}).to_string(),
        None,
    ))
}

struct Harness {
    bridge: Bridge,
    okta: Arc<FakeOkta>,
    agent: Arc<EchoAgent>,
    keys: Arc<StaticKeys>,
    clock: Arc<ManualClock>,
}

fn harness(answers: Vec<Answer>) -> Harness {
    harness_with(
        answers,
        StaticKeys::new(vec![Ok(rfc7520_jwk().to_string())]),
        EchoAgent::new(),
    )
}

fn harness_with(answers: Vec<Answer>, keys: Arc<StaticKeys>, agent: Arc<EchoAgent>) -> Harness {
    let okta = FakeOkta::new(answers);
    let clock = Arc::new(ManualClock::at(NOW));
    let bridge = Bridge::new(Parts {
        config: test_config(),
        transport: okta.clone(),
        key_source: keys.clone(),
        agent: agent.clone(),
        clock: clock.clone(),
        jti: Arc::new(SequentialJti::default()),
    });
    Harness {
        bridge,
        okta,
        agent,
        keys,
        clock,
    }
}

fn id_token_for(sub: &str) -> String {
    unsigned_jwt(
        json!({"iss": "https://example.okta.com", "sub": sub, "aud": "0oaweb", "iat": NOW - 10, "exp": NOW + 3600}),
    )
}

async fn ask(h: &Harness, id_token: &str) -> Result<bridge::Answer, bridge::Error> {
    ask_json(
        &h.bridge,
        json!({"prompt": "Who am I?", "id_token": id_token}),
        bridge::Deadline::NONE,
    )
    .await
}

fn public_key() -> DecodingKey {
    let jwk = rfc7520_jwk();
    DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
        .unwrap()
}

/// Verify a client assertion's signature with the public key and return header and claims.
fn verified(assertion: &str, aud: &str) -> (jsonwebtoken::Header, Value) {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[aud]);
    validation.set_issuer(&["wlp8agent"]);
    validation.validate_exp = false; // the manual clock is in the future of the real one
    let data = jsonwebtoken::decode::<Value>(assertion, &public_key(), &validation)
        .expect("assertion verifies with the public key");
    (data.header, data.claims)
}

#[tokio::test]
async fn both_legs_send_the_exact_form_bodies_with_verified_assertions() {
    let h = harness(vec![id_jag_ok(), access_ok("the-access-token")]);
    let id_token = id_token_for("00ualice");
    let response = ask(&h, &id_token).await.unwrap();
    assert_eq!(response.answer, "answered");
    assert_eq!(h.agent.tokens(), vec!["the-access-token"]);

    let sent = h.okta.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].url, ORG_TOKEN_URL);
    let names: Vec<&str> = sent[0].form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "grant_type",
            "requested_token_type",
            "subject_token",
            "subject_token_type",
            "audience",
            "scope",
            "client_assertion_type",
            "client_assertion"
        ]
    );
    assert_eq!(
        sent[0].param("grant_type"),
        Some("urn:ietf:params:oauth:grant-type:token-exchange")
    );
    assert_eq!(
        sent[0].param("requested_token_type"),
        Some("urn:ietf:params:oauth:token-type:id-jag")
    );
    assert_eq!(sent[0].param("subject_token"), Some(id_token.as_str()));
    assert_eq!(
        sent[0].param("subject_token_type"),
        Some("urn:ietf:params:oauth:token-type:id_token")
    );
    assert_eq!(
        sent[0].param("audience"),
        Some("https://example.okta.com/oauth2/aus8abc123"),
        "the custom AS issuer, not its token URL"
    );
    assert_eq!(sent[0].param("scope"), Some("xaa:read"));
    assert_eq!(
        sent[0].param("client_assertion_type"),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );

    assert_eq!(sent[1].url, CUSTOM_TOKEN_URL);
    let names: Vec<&str> = sent[1].form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "grant_type",
            "assertion",
            "client_assertion_type",
            "client_assertion"
        ]
    );
    assert_eq!(
        sent[1].param("grant_type"),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    assert_eq!(sent[1].param("assertion"), Some("the-id-jag"));

    let (header1, claims1) = verified(sent[0].param("client_assertion").unwrap(), ORG_TOKEN_URL);
    let (header2, claims2) = verified(sent[1].param("client_assertion").unwrap(), CUSTOM_TOKEN_URL);
    for header in [&header1, &header2] {
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(RFC7520_KID));
    }
    assert_eq!(
        claims1,
        json!({"iss": "wlp8agent", "sub": "wlp8agent", "aud": ORG_TOKEN_URL, "iat": NOW, "exp": NOW + 300, "jti": "jti-1"})
    );
    assert_eq!(claims2["aud"], CUSTOM_TOKEN_URL);
    assert_ne!(claims1["jti"], claims2["jti"]);
}

#[tokio::test]
async fn a_warm_invocation_makes_no_okta_call() {
    let h = harness(vec![id_jag_ok(), access_ok("at-1")]);
    let id_token = id_token_for("00ualice");
    ask(&h, &id_token).await.unwrap();
    ask(&h, &id_token).await.unwrap();
    ask(&h, &id_token).await.unwrap();
    assert_eq!(
        h.okta.sent().len(),
        2,
        "only the first invocation calls Okta"
    );
    assert_eq!(h.agent.tokens(), vec!["at-1", "at-1", "at-1"]);
}

#[tokio::test]
async fn an_expired_access_token_is_renewed_with_leg_2_only() {
    let h = harness(vec![
        id_jag_ok(),
        Ok((200, access_token_body("at-1", "00ualice", 120), None)),
        access_ok("at-2"),
    ]);
    let id_token = id_token_for("00ualice");
    ask(&h, &id_token).await.unwrap();
    // 120 s lifetime minus the 60 s margin: stale after 60 s; the ID-JAG (300 s) is not.
    h.clock.advance(Duration::from_secs(61));
    ask(&h, &id_token).await.unwrap();
    let urls: Vec<String> = h.okta.sent().into_iter().map(|s| s.url).collect();
    assert_eq!(urls, [ORG_TOKEN_URL, CUSTOM_TOKEN_URL, CUSTOM_TOKEN_URL]);
    assert_eq!(h.agent.tokens(), vec!["at-1", "at-2"]);
}

#[tokio::test]
async fn a_cached_id_jag_refused_at_leg_2_starts_again_from_leg_1() {
    let h = harness(vec![
        id_jag_ok(),
        Ok((200, access_token_body("at-1", "00ualice", 100), None)),
        oauth_error(400, "invalid_grant", "The assertion is no longer valid"),
        id_jag_ok(),
        access_ok("at-2"),
    ]);
    let id_token = id_token_for("00ualice");
    ask(&h, &id_token).await.unwrap();
    h.clock.advance(Duration::from_secs(50));
    ask(&h, &id_token).await.unwrap();
    let urls: Vec<String> = h.okta.sent().into_iter().map(|s| s.url).collect();
    assert_eq!(
        urls,
        [
            ORG_TOKEN_URL,
            CUSTOM_TOKEN_URL,
            CUSTOM_TOKEN_URL,
            ORG_TOKEN_URL,
            CUSTOM_TOKEN_URL
        ]
    );
    assert_eq!(h.agent.tokens(), vec!["at-1", "at-2"]);
}

#[tokio::test]
async fn a_forged_id_token_with_another_users_sub_never_gets_their_cached_token() {
    let h = harness(vec![
        id_jag_ok(),
        access_ok("alice-token"),
        oauth_error(
            400,
            "invalid_grant",
            "The subject token signature is invalid",
        ),
    ]);
    ask(&h, &id_token_for("00ualice")).await.unwrap();
    // Same claims as Alice's token, but not her token: an attacker's forgery.
    let forged = unsigned_jwt(
        json!({"iss": "https://example.okta.com", "sub": "00ualice", "aud": "0oaweb", "iat": NOW - 10, "exp": NOW + 3600, "x": 1}),
    );
    let err = ask(&h, &forged).await.unwrap_err();
    assert_eq!(err.kind(), "IdTokenRejected");
    assert_eq!(
        h.agent.tokens(),
        vec!["alice-token"],
        "the forgery reached no agent with Alice's token"
    );
    assert_eq!(
        h.okta.sent()[2].param("subject_token"),
        Some(forged.as_str()),
        "the forgery went to Okta, which refused it"
    );
}

#[tokio::test]
async fn an_expired_id_token_costs_no_network_call() {
    let h = harness(vec![id_jag_ok()]);
    let expired = unsigned_jwt(json!({"sub": "00ualice", "exp": NOW - 3600}));
    let err = ask(&h, &expired).await.unwrap_err();
    assert_eq!(err.kind(), "IdTokenRejected");
    assert!(err.to_string().contains("sign in again"), "{err}");
    assert!(h.okta.sent().is_empty());
    assert_eq!(h.keys.fetches(), 0, "not even the secret was read");
}

#[tokio::test]
async fn transient_failures_are_retried_with_a_fresh_assertion_each_time() {
    let h = harness(vec![
        Ok((503, String::new(), None)),
        Err(TransportError::Connect),
        id_jag_ok(),
        Ok((429, String::new(), Some(0))),
        access_ok("at-1"),
    ]);
    ask(&h, &id_token_for("00ualice")).await.unwrap();
    let sent = h.okta.sent();
    assert_eq!(sent.len(), 5);
    let jtis: std::collections::HashSet<String> = sent
        .iter()
        .map(|s| {
            verified(s.param("client_assertion").unwrap(), &s.url).1["jti"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(jtis.len(), 5, "every attempt carries a new jti");
}

#[tokio::test]
async fn retries_stop_after_three_attempts() {
    let h = harness(vec![Ok((503, String::new(), None))]);
    let err = ask(&h, &id_token_for("00ualice")).await.unwrap_err();
    assert_eq!(err.kind(), "OktaUnavailable");
    assert_eq!(h.okta.sent().len(), 3);
}

#[tokio::test]
async fn oauth_errors_and_429_without_retry_after_are_not_retried() {
    for answer in [
        oauth_error(400, "invalid_scope", "openid not allowed"),
        Ok((429, String::new(), None)),
        oauth_error(400, "access_denied", "no_matching_policy"),
    ] {
        let h = harness(vec![answer]);
        ask(&h, &id_token_for("00ualice")).await.unwrap_err();
        assert_eq!(h.okta.sent().len(), 1);
    }
}

#[tokio::test]
async fn a_refused_key_is_reloaded_once_for_rotation() {
    // The secret was rotated from key A (RSA) to key B (EC) under the same key id.
    let (key_b, public_b) = ec_p256_jwk(RFC7520_KID);
    let keys = StaticKeys::new(vec![Ok(rfc7520_jwk().to_string()), Ok(key_b.to_string())]);
    let h = harness_with(
        vec![
            oauth_error(401, "invalid_client", "kid is invalid"),
            id_jag_ok(),
            access_ok("at-1"),
        ],
        keys,
        EchoAgent::new(),
    );
    ask(&h, &id_token_for("00ualice")).await.unwrap();
    assert_eq!(
        h.keys.fetches(),
        2,
        "loaded, then reloaded once after Okta refused the key"
    );
    let sent = h.okta.sent();
    let first = sent[0].param("client_assertion").unwrap();
    let retried = sent[1].param("client_assertion").unwrap();
    verified(first, ORG_TOKEN_URL); // key A (RS256)
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(public_b).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[ORG_TOKEN_URL]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(retried, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
        .expect("the retried assertion is signed with the rotated key B");
    assert!(
        jsonwebtoken::decode::<Value>(retried, &public_key(), &Validation::new(Algorithm::RS256))
            .is_err(),
        "and not with key A"
    );

    let keys = StaticKeys::new(vec![Ok(rfc7520_jwk().to_string())]);
    let h = harness_with(
        vec![oauth_error(401, "invalid_client", "kid is invalid")],
        keys,
        EchoAgent::new(),
    );
    let err = ask(&h, &id_token_for("00ualice")).await.unwrap_err();
    assert_eq!(err.kind(), "AgentAuthFailed");
    assert!(err.to_string().contains("AGENT_KEY_ID"), "{err}");
    assert_eq!(
        (h.keys.fetches(), h.okta.sent().len()),
        (2, 2),
        "one reload, one retry, then the typed error"
    );
}

#[tokio::test]
async fn an_unreadable_secret_is_a_key_error() {
    let keys = StaticKeys::new(vec![Err(xaa::KeyError::SecretNotFound {
        secret_id: "xaa/agent-key".into(),
    })]);
    let h = harness_with(vec![id_jag_ok()], keys, EchoAgent::new());
    let err = ask(&h, &id_token_for("00ualice")).await.unwrap_err();
    assert_eq!(err.kind(), "KeyError");
    assert!(h.okta.sent().is_empty());
}

#[tokio::test]
async fn the_lambda_deadline_bounds_the_whole_invocation() {
    let h = harness_with(
        vec![id_jag_ok(), access_ok("at")],
        StaticKeys::new(vec![Ok(rfc7520_jwk().to_string())]),
        EchoAgent::slow(Duration::from_secs(30)),
    );
    let started = std::time::Instant::now();
    let err = ask_json(
        &h.bridge,
        json!({"prompt": "hi", "id_token": id_token_for("00ualice")}),
        bridge::Deadline::after(Duration::from_millis(1500)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "Timeout");
    assert!(err.to_string().contains("Bedrock agent"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A token endpoint that holds every caller until `expected` callers are inside it (or
/// a bound passes): without single flight all of them arrive at once and each posts;
/// with it only the first arrives, and the rest are queued behind it meanwhile.
struct Gate {
    inner: Arc<FakeOkta>,
    expected: usize,
    arrived: std::sync::atomic::AtomicUsize,
    all_in: tokio::sync::Notify,
}

impl xaa::TokenTransport for Gate {
    fn post_form<'a>(
        &'a self,
        url: &'a str,
        body: zeroize::Zeroizing<String>,
        timeout: Duration,
    ) -> xaa::BoxFuture<'a, Result<xaa::HttpReply, TransportError>> {
        Box::pin(async move {
            let n = self
                .arrived
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                + 1;
            if n >= self.expected {
                self.all_in.notify_waiters();
            } else {
                let _ =
                    tokio::time::timeout(Duration::from_millis(500), self.all_in.notified()).await;
            }
            self.inner.post_form(url, body, timeout).await
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_requests_for_one_user_make_one_exchange() {
    const CALLERS: usize = 20;
    let okta = FakeOkta::new(vec![id_jag_ok(), access_ok("at-1")]);
    let gate = Arc::new(Gate {
        inner: okta.clone(),
        expected: CALLERS,
        arrived: Default::default(),
        all_in: tokio::sync::Notify::new(),
    });
    let agent = EchoAgent::new();
    let bridge = Arc::new(Bridge::new(Parts {
        config: test_config(),
        transport: gate.clone(),
        key_source: StaticKeys::new(vec![Ok(rfc7520_jwk().to_string())]),
        agent: agent.clone(),
        clock: Arc::new(ManualClock::at(NOW)),
        jti: Arc::new(SequentialJti::default()),
    }));
    let id_token = id_token_for("00ualice");
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (bridge, t) = (bridge.clone(), id_token.clone());
            tokio::spawn(async move {
                ask_json(
                    &bridge,
                    json!({"prompt": "hi", "id_token": t}),
                    bridge::Deadline::NONE,
                )
                .await
                .map(|_| ())
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        okta.sent().len(),
        2,
        "one leg 1 and one leg 2 for twenty callers"
    );
    assert_eq!(agent.tokens(), vec!["at-1"; CALLERS]);
}

#[tokio::test]
async fn a_fresh_id_jag_refused_at_leg_2_is_not_exchanged_again() {
    // Only a *cached* ID-JAG refused at leg 2 restarts from leg 1; a fresh one refused
    // is the answer (no loop of exchanges).
    let h = harness(vec![
        id_jag_ok(),
        oauth_error(400, "invalid_grant", "The assertion is no longer valid"),
        id_jag_ok(),
        access_ok("never"),
    ]);
    let err = ask(&h, &id_token_for("00ualice")).await.unwrap_err();
    assert_eq!(err.kind(), "IdTokenRejected");
    let urls: Vec<String> = h.okta.sent().into_iter().map(|s| s.url).collect();
    assert_eq!(urls, [ORG_TOKEN_URL, CUSTOM_TOKEN_URL]);
}

/// An ID-JAG whose claims carry `exp`, as Okta's do; the signature is not checked here.
fn id_jag_with_exp(exp: u64) -> String {
    unsigned_jwt(json!({"iss": "https://example.okta.com", "sub": "00ualice", "exp": exp}))
}

#[tokio::test]
async fn an_absurd_lifetime_from_okta_is_a_protocol_error_not_a_panic() {
    for body in [
        format!(
            r#"{{"token_type":"Bearer","expires_in":{},"access_token":"at-1"}}"#,
            u64::MAX
        ),
        // No expires_in, and a token whose exp is absurdly far away.
        format!(
            r#"{{"token_type":"Bearer","access_token":"{}"}}"#,
            id_jag_with_exp(u64::MAX)
        ),
    ] {
        let h = harness(vec![id_jag_ok(), Ok((200, body, None))]);
        let err = ask(&h, &id_token_for("00ualice")).await.unwrap_err();
        assert_eq!(err.kind(), "OktaProtocolError", "{err}");
        assert!(err.to_string().contains("not plausible"), "{err}");
        assert!(h.agent.tokens().is_empty(), "nothing reached the agent");
    }
    // The same at leg 1.
    let h = harness(vec![Ok((
        200,
        format!(
            r#"{{"issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","access_token":"j","expires_in":{}}}"#,
            u64::MAX
        ),
        None,
    ))]);
    let err = ask(&h, &id_token_for("00ualice")).await.unwrap_err();
    assert_eq!(err.kind(), "OktaProtocolError");
}

#[tokio::test]
async fn a_long_stated_lifetime_is_cached_for_a_day_at_most() {
    let h = harness(vec![
        id_jag_ok(),
        Ok((200, access_token_body("at-1", "00ualice", 864_000), None)),
        id_jag_ok(),
        access_ok("at-2"),
    ]);
    let id_token = unsigned_jwt(
        json!({"iss": "https://example.okta.com", "sub": "00ualice", "aud": "0oaweb", "iat": NOW - 10, "exp": NOW + 20 * 86_400}),
    );
    ask(&h, &id_token).await.unwrap();
    h.clock.advance(Duration::from_secs(23 * 3600));
    ask(&h, &id_token).await.unwrap();
    assert_eq!(h.okta.sent().len(), 2, "still cached after 23 h");
    h.clock.advance(Duration::from_secs(3600));
    ask(&h, &id_token).await.unwrap();
    assert_eq!(
        h.agent.tokens(),
        vec!["at-1", "at-1", "at-2"],
        "renewed after 24 h"
    );
}

#[tokio::test]
async fn without_expires_in_the_expiry_comes_from_the_tokens_own_exp() {
    let h = harness(vec![
        id_jag_ok(),
        Ok((
            200,
            format!(
                r#"{{"token_type":"Bearer","access_token":"{}"}}"#,
                id_jag_with_exp(NOW + 120)
            ),
            None,
        )),
        access_ok("at-2"),
    ]);
    let id_token = id_token_for("00ualice");
    ask(&h, &id_token).await.unwrap();
    // exp 120 s away minus the 60 s margin: still cached at +59 s, renewed at +61 s.
    h.clock.advance(Duration::from_secs(59));
    ask(&h, &id_token).await.unwrap();
    assert_eq!(h.okta.sent().len(), 2);
    h.clock.advance(Duration::from_secs(2));
    ask(&h, &id_token).await.unwrap();
    assert_eq!(
        h.okta.sent().len(),
        3,
        "renewed once its own exp came within the margin"
    );
}

#[tokio::test]
async fn a_session_id_is_bound_to_the_person_okta_identified() {
    let h = harness(vec![
        id_jag_ok(),
        Ok((200, access_token_body("alice-1", "00ualice", 3600), None)),
        id_jag_ok(),
        Ok((200, access_token_body("bob-1", "00ubob", 3600), None)),
        id_jag_ok(),
        Ok((200, access_token_body("alice-2", "00ualice", 3600), None)),
    ]);
    let ask_in = |id_token: String| {
        let bridge = &h.bridge;
        async move {
            ask_json(
                bridge,
                json!({"prompt": "hi", "id_token": id_token, "session_id": "chat-42"}),
                bridge::Deadline::NONE,
            )
            .await
            .unwrap()
        }
    };
    // Alice, then Bob naming Alice's session id, then Alice again with a renewed ID token.
    let alice = ask_in(id_token_for("00ualice")).await;
    let bob = ask_in(id_token_for("00ubob")).await;
    let renewed = unsigned_jwt(
        json!({"iss": "https://example.okta.com", "sub": "00ualice", "aud": "0oaweb", "iat": NOW, "exp": NOW + 7200}),
    );
    let alice_again = ask_in(renewed).await;
    for answer in [&alice, &bob, &alice_again] {
        assert_eq!(
            answer.session_id, "chat-42",
            "the caller keeps seeing its id"
        );
    }
    let sessions = h.agent.sessions();
    assert_eq!(h.agent.tokens(), ["alice-1", "bob-1", "alice-2"]);
    assert_ne!(
        sessions[0], sessions[1],
        "Bob must not continue Alice's session"
    );
    assert_eq!(
        sessions[0], sessions[2],
        "Alice keeps her session across ID tokens"
    );
    // Bedrock's documented rule, written out here rather than taken from our validator.
    for s in &sessions {
        assert!(
            (2..=100).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c)),
            "{s}"
        );
        assert_ne!(s, "chat-42", "the caller's id never reaches Bedrock as is");
    }
}

#[tokio::test]
async fn an_access_token_that_names_no_person_is_refused_before_the_agent() {
    let h = harness(vec![
        id_jag_ok(),
        Ok((
            200,
            r#"{"token_type":"Bearer","expires_in":3600,"access_token":"opaque"}"#.into(),
            None,
        )),
    ]);
    let err = ask(&h, &id_token_for("00ualice")).await.unwrap_err();
    assert_eq!(err.kind(), "OktaProtocolError");
    assert!(h.agent.tokens().is_empty());
}

#[tokio::test]
async fn a_retry_after_of_a_day_is_okta_unavailable_at_once() {
    let h = harness(vec![Ok((
        429,
        r#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}"#.into(),
        Some(86_400),
    ))]);
    let answered =
        tokio::time::timeout(Duration::from_secs(10), ask(&h, &id_token_for("00ualice")))
            .await
            .expect("no waiting out a day-long Retry-After");
    let err = answered.unwrap_err();
    assert_eq!(err.kind(), "OktaUnavailable");
    assert_eq!(h.okta.sent().len(), 1, "not retried");
}

/// A key source that never answers the first time (Secrets Manager hanging at init).
struct HangsOnce {
    inner: Arc<StaticKeys>,
    calls: std::sync::atomic::AtomicUsize,
}

impl xaa::KeySource for HangsOnce {
    fn fetch(&self) -> xaa::BoxFuture<'_, Result<xaa::SecretBytes, xaa::KeyError>> {
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return Box::pin(std::future::pending());
        }
        self.inner.fetch()
    }
}

#[tokio::test(start_paused = true)]
async fn init_gives_up_on_the_key_in_time_and_the_first_invocation_fetches_it() {
    let source = Arc::new(HangsOnce {
        inner: StaticKeys::new(vec![Ok(rfc7520_jwk().to_string())]),
        calls: Default::default(),
    });
    let okta = FakeOkta::new(vec![id_jag_ok(), access_ok("at-1")]);
    let bridge = Bridge::new(Parts {
        config: test_config(),
        transport: okta.clone(),
        key_source: source.clone(),
        agent: EchoAgent::new(),
        clock: Arc::new(ManualClock::at(NOW)),
        jti: Arc::new(SequentialJti::default()),
    });
    let started = tokio::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(60), bridge.warm_up())
        .await
        .expect("init is bounded");
    assert!(
        started.elapsed() <= bridge::INIT_KEY_BUDGET + Duration::from_millis(10),
        "init waited {:?}",
        started.elapsed()
    );
    ask_json(
        &bridge,
        json!({"prompt": "hi", "id_token": id_token_for("00ualice")}),
        bridge::Deadline::NONE,
    )
    .await
    .unwrap();
    assert_eq!(source.calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}
