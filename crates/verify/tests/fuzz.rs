//! Fuzzing on stable Rust (proptest through `fuzzkit`): hostile tokens into both
//! verifiers. No input panics, no refusal carries any of the input, and whatever is
//! accepted satisfies the policy (an allowed agent, a person who is not an agent, the
//! required scope, the issuer, a live `exp`).
//!
//! Targets: arbitrary strings; a genuine token under byte mutations; arbitrary headers
//! and claims *signed with the real key* (so the claim checks behind the signature are
//! reached). `FUZZ_CASES` sets the inputs per target, `FUZZ_SEED` replays a run.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fuzzkit::{fuzz, no_leak, worth_checking, CANARY};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Value};
use verify::{
    AccessPolicy, AccessTokenVerifier, IdTokenVerifier, Jwks, Principal, Refusal, Subjects,
};
use xaa::{BoxFuture, HttpReply, ManualClock, TokenTransport, TransportError};

const NOW: u64 = 1_800_000_000;
const ISSUER: &str = "https://example.okta.com/oauth2/default";
const AGENT: &str = "wlpagent123";
const PERSON: &str = "00ualice456";
const KID: &str = "fuzz-key";

/// Serves one JWKS from memory: no sockets in the fuzz loop.
struct StaticJwks(Vec<u8>);

impl TokenTransport for StaticJwks {
    fn post_form<'a>(
        &'a self,
        _: &'a str,
        _: zeroize::Zeroizing<String>,
        _: Duration,
    ) -> BoxFuture<'a, Result<HttpReply, TransportError>> {
        Box::pin(async { Err(TransportError::Other) })
    }
    fn get<'a>(
        &'a self,
        _: &'a str,
        _: Duration,
    ) -> BoxFuture<'a, Result<HttpReply, TransportError>> {
        let body = zeroize::Zeroizing::new(self.0.clone());
        Box::pin(async move {
            Ok(HttpReply {
                status: 200,
                body,
                retry_after: None,
            })
        })
    }
}

struct World {
    key: KeyPair,
    rt: tokio::runtime::Runtime,
    access: [AccessTokenVerifier; 2],
    id: IdTokenVerifier,
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let public = key.public_key();
        let jwk = json!({"kty": "RSA", "kid": KID, "alg": "RS256",
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero())});
        let transport = Arc::new(StaticJwks(
            json!({ "keys": [jwk] }).to_string().into_bytes(),
        ));
        let clock = Arc::new(ManualClock::at(NOW));
        let jwks = Arc::new(Jwks::new(
            "https://example.okta.com/oauth2/default/v1/keys".into(),
            transport,
            clock.clone(),
        ));
        let policy = |subjects| {
            AccessPolicy::new(
                ISSUER,
                "api://default",
                vec![AGENT.into()],
                vec!["xaa:read".into()],
                subjects,
                Duration::from_secs(60),
            )
            .unwrap()
        };
        World {
            access: [
                AccessTokenVerifier::new(policy(Subjects::Xaa), jwks.clone(), clock.clone()),
                AccessTokenVerifier::new(policy(Subjects::Agbac), jwks.clone(), clock.clone()),
            ],
            id: IdTokenVerifier::new(
                ISSUER.into(),
                "0oawebapp".into(),
                jwks,
                clock,
                Duration::from_secs(60),
            ),
            rt: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
            key,
        }
    })
}

fn sign(input: &str) -> String {
    let key = &world().key;
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", b64(sig))
}

fn genuine_claims() -> Value {
    json!({"iss": ISSUER, "aud": "api://default", "iat": NOW, "exp": NOW + 3600, "jti": "AT.1",
           "cid": AGENT, "uid": PERSON, "sub": AGENT, "act": {"sub": PERSON}, "scp": ["xaa:read"]})
}

/// Runs every verifier on `token`; answers whether any accepted it, checking that
/// refusals echo nothing of `secrets` and acceptances satisfy the policy.
fn check(token: &str, secrets: &[String]) -> Result<bool, TestCaseError> {
    let w = world();
    let mut accepted = false;
    for verifier in &w.access {
        match w.rt.block_on(verifier.verify(token)) {
            Ok(p) => {
                accepted = true;
                holds(&p)?;
            }
            Err(refusal) => leak_free(&refusal, secrets)?,
        }
    }
    match w.rt.block_on(w.id.verify(token)) {
        Ok(claims) => {
            accepted = true;
            prop_assert!(!claims.subject.is_empty() && claims.expires_at + 60 > NOW);
        }
        Err(refusal) => leak_free(&refusal, secrets)?,
    }
    Ok(accepted)
}

fn holds(p: &Principal) -> Result<(), TestCaseError> {
    prop_assert_eq!(p.agent.as_str(), AGENT);
    prop_assert!(!p.person.is_empty() && p.person != p.agent);
    prop_assert!(p.scopes.iter().any(|s| s == "xaa:read"));
    prop_assert!(p.expires_at.saturating_add(60) > NOW);
    prop_assert_eq!(p.jti_hash.len(), 32);
    Ok(())
}

fn leak_free(refusal: &Refusal, secrets: &[String]) -> Result<(), TestCaseError> {
    no_leak(
        &format!("{refusal} {refusal:?} {}", refusal.code()),
        secrets,
    )
}

/// The parts of a token worth checking for echoes: each segment and the whole.
fn secrets_of(token: &str) -> Vec<String> {
    std::iter::once(token)
        .chain(token.split('.'))
        .filter(|s| worth_checking(s))
        .map(str::to_string)
        .collect()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        3 => "[A-Za-z0-9_-]{0,40}(\\.[A-Za-z0-9_-]{0,40}){0,4}",
        1 => "[ -~]{0,8}".prop_map(|s| format!("{s}{CANARY}")),
        1 => (any::<char>(), 0usize..40_000).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

#[test]
fn fuzz_arbitrary_strings() {
    fuzz("verify/arbitrary strings", 3_000, text(), |s| {
        let accepted = check(&s, &secrets_of(&s))?;
        prop_assert!(!accepted);
        Ok(false)
    });
}

#[test]
fn fuzz_mutated_genuine_tokens() {
    let header = b64(json!({"alg": "RS256", "kid": KID}).to_string());
    let genuine = sign(&format!("{header}.{}", b64(genuine_claims().to_string())));
    let edits = vec((any::<usize>(), any::<u8>(), 0u8..3), 1..4);
    fuzz("verify/mutated tokens", 3_000, edits, |edits| {
        let mut bytes = genuine.clone().into_bytes();
        for (at, byte, kind) in edits {
            let at = at % (bytes.len() + 1);
            match kind {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        let token = String::from_utf8_lossy(&bytes).into_owned();
        // Only the genuine token verifies; the accepted share shows mutations that
        // left it unchanged.
        let accepted = check(&token, &secrets_of(&token))?;
        prop_assert!(!accepted || token == genuine);
        Ok(accepted)
    });
}

const CLAIMS: &[&str] = &[
    "iss", "aud", "exp", "nbf", "iat", "jti", "cid", "uid", "sub", "act", "scp", "nonce", "amr",
    "idp", "at_hash",
];
const HEADERS: &[&str] = &[
    "alg", "kid", "typ", "jku", "x5u", "jwk", "x5c", "crit", "cty",
];

fn value() -> impl Strategy<Value = Value> {
    let names = || prop::sample::select([CLAIMS, HEADERS].concat()).prop_map(str::to_string);
    prop_oneof![
        2 => fuzzkit::json_value(names, text()),
        2 => prop::sample::select(vec![
            json!(ISSUER), json!("api://default"), json!(AGENT), json!(PERSON), json!(NOW),
            json!(NOW + 3600), json!(u64::MAX), json!(-1), json!(["xaa:read"]), json!({"sub": PERSON}),
            json!({"sub": AGENT}), json!("RS256"), json!(KID), json!("JWT"), json!(null), json!(""),
        ]),
    ]
}

/// An object built from a genuine one, with members removed, replaced or added.
fn object(
    base: Value,
    names: &'static [&'static str],
) -> impl Strategy<Value = Map<String, Value>> {
    let edit = (prop::sample::select(names), prop::option::of(value()));
    vec(edit, 0..5).prop_map(move |edits| {
        let mut map = base.as_object().cloned().unwrap_or_default();
        for (name, v) in edits {
            match v {
                Some(v) => map.insert(name.to_string(), v),
                None => map.remove(name),
            };
        }
        map
    })
}

#[test]
fn fuzz_signed_headers_and_claims() {
    let header = object(json!({"alg": "RS256", "kid": KID}), HEADERS);
    let claims = object(genuine_claims(), CLAIMS);
    fuzz(
        "verify/signed headers and claims",
        2_000,
        (header, claims),
        |(header, claims)| {
            let (h, c) = (
                Value::Object(header).to_string(),
                Value::Object(claims).to_string(),
            );
            let token = sign(&format!("{}.{}", b64(&h), b64(&c)));
            let mut secrets = secrets_of(&token);
            secrets.extend([h, c].into_iter().filter(|s| worth_checking(s)));
            check(&token, &secrets)
        },
    );
}
