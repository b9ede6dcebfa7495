//! One case per refusal reason (the table must cover every `Reason`), and the
//! algorithm confusions: alg none, HMAC keyed with the public key, ES256, other RSA
//! algorithms. A real RSA key, a loopback JWKS, the real transport.

mod common;

use std::collections::HashSet;

use common::*;
use serde_json::{json, Value};
use verify::{Reason, Subjects};

/// `claims` changed by `edit`, signed by key 1.
fn edited(
    f: &Fixture,
    base: Value,
    edit: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> String {
    let mut claims = f.claims(base);
    edit(claims.as_object_mut().unwrap());
    RsaKey::shared(0).sign(&claims)
}

fn header_token(f: &Fixture, header: Value) -> String {
    RsaKey::shared(0).sign_raw(&header, &f.claims(xaa_claims()))
}

#[tokio::test]
async fn every_refusal_reason_has_a_case() {
    let f = Fixture::start().await;
    let key = RsaKey::shared(0);
    let genuine = key.sign(&f.claims(xaa_claims()));
    let (head, _) = genuine.rsplit_once('.').unwrap();
    let kid = key.kid.clone();
    let mut cases: Vec<(&str, Subjects, String, Reason)> = vec![
        (
            "100 KB",
            Subjects::Xaa,
            "a".repeat(100_000),
            Reason::TooLarge,
        ),
        (
            "2 segments",
            Subjects::Xaa,
            head.to_string(),
            Reason::Malformed,
        ),
        (
            "4 segments",
            Subjects::Xaa,
            format!("{genuine}.e30"),
            Reason::Malformed,
        ),
        (
            "padding",
            Subjects::Xaa,
            genuine.replacen('.', "=.", 1),
            Reason::Malformed,
        ),
        (
            "claims array",
            Subjects::Xaa,
            key.sign_raw(&json!({"alg": "RS256", "kid": kid}), &json!([1])),
            Reason::Malformed,
        ),
        (
            "jku",
            Subjects::Xaa,
            header_token(
                &f,
                json!({"alg": "RS256", "kid": kid, "jku": "https://evil.example/keys"}),
            ),
            Reason::HeaderNotAllowed,
        ),
        (
            "x5u",
            Subjects::Xaa,
            header_token(
                &f,
                json!({"alg": "RS256", "kid": kid, "x5u": "https://evil.example/c"}),
            ),
            Reason::HeaderNotAllowed,
        ),
        (
            "jwk",
            Subjects::Xaa,
            header_token(
                &f,
                json!({"alg": "RS256", "kid": kid, "jwk": key.public_jwk("x")}),
            ),
            Reason::HeaderNotAllowed,
        ),
        (
            "crit",
            Subjects::Xaa,
            header_token(&f, json!({"alg": "RS256", "kid": kid, "crit": ["exp"]})),
            Reason::HeaderNotAllowed,
        ),
        (
            "typ",
            Subjects::Xaa,
            header_token(&f, json!({"alg": "RS256", "kid": kid, "typ": "dpop+jwt"})),
            Reason::HeaderNotAllowed,
        ),
        (
            "ID-JAG",
            Subjects::Xaa,
            header_token(
                &f,
                json!({"alg": "RS256", "kid": kid, "typ": "oauth-id-jag+jwt"}),
            ),
            Reason::IdJagPresented,
        ),
        (
            "ID token",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.remove("scp");
                c.insert("amr".into(), json!(["pwd"]));
                c.insert("nonce".into(), json!("n"));
            }),
            Reason::IdTokenPresented,
        ),
        (
            "unknown kid",
            Subjects::Xaa,
            header_token(&f, json!({"alg": "RS256", "kid": "rotated"})),
            Reason::UnknownKey,
        ),
        (
            "no kid",
            Subjects::Xaa,
            header_token(&f, json!({"alg": "RS256"})),
            Reason::UnknownKey,
        ),
        (
            "other key",
            Subjects::Xaa,
            RsaKey::shared(1).sign_raw(
                &json!({"alg": "RS256", "kid": kid}),
                &f.claims(xaa_claims()),
            ),
            Reason::BadSignature,
        ),
        (
            "tampered",
            Subjects::Xaa,
            format!(
                "{}.{}.{}",
                head.split('.').next().unwrap(),
                b64(f
                    .claims(xaa_claims())
                    .to_string()
                    .replace(PERSON, "00umallory")),
                genuine.rsplit('.').next().unwrap()
            ),
            Reason::BadSignature,
        ),
        (
            "no signature",
            Subjects::Xaa,
            format!("{head}."),
            Reason::BadSignature,
        ),
        (
            "issuer",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.insert("iss".into(), json!("https://evil.example/oauth2/default"));
            }),
            Reason::WrongIssuer,
        ),
        (
            "issuer prefix",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                let iss = format!("{}/", c["iss"].as_str().unwrap());
                c.insert("iss".into(), json!(iss));
            }),
            Reason::WrongIssuer,
        ),
        (
            "audience",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.insert("aud".into(), json!(["api://other"]));
            }),
            Reason::WrongAudience,
        ),
        (
            "expired",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.insert("exp".into(), json!(NOW - 60));
            }),
            Reason::Expired,
        ),
        (
            "nbf",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.insert("nbf".into(), json!(NOW + 61));
            }),
            Reason::NotYetValid,
        ),
        (
            "iat",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.insert("iat".into(), json!(NOW + 61));
            }),
            Reason::IssuedInFuture,
        ),
        (
            "huge exp and iat",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.insert("exp".into(), json!(u64::MAX));
                c.insert("iat".into(), json!(u64::MAX));
            }),
            Reason::IssuedInFuture,
        ),
        (
            "exp as text",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.insert("exp".into(), json!("soon"));
            }),
            Reason::Malformed,
        ),
        (
            "client",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.insert("cid".into(), json!("wlpintruder"));
            }),
            Reason::ClientNotAllowed,
        ),
        (
            "scope",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.insert("scp".into(), json!(["other"]));
            }),
            Reason::ScopeMissing,
        ),
        (
            "no scp",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.remove("scp");
            }),
            Reason::ScopeMissing,
        ),
        (
            "no uid",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.remove("uid");
            }),
            Reason::PersonMissing,
        ),
        (
            "empty uid",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.insert("uid".into(), json!(""));
            }),
            Reason::PersonMissing,
        ),
        (
            "no act",
            Subjects::Agbac,
            edited(&f, agbac_claims(), |c| {
                c.remove("act");
            }),
            Reason::PersonMissing,
        ),
        (
            "act text",
            Subjects::Agbac,
            edited(&f, agbac_claims(), |c| {
                c.insert("act".into(), json!(PERSON));
            }),
            Reason::PersonMissing,
        ),
        (
            "act.sub number",
            Subjects::Agbac,
            edited(&f, agbac_claims(), |c| {
                c.insert("act".into(), json!({"sub": 7}));
            }),
            Reason::PersonMissing,
        ),
        (
            "sub != cid",
            Subjects::Agbac,
            edited(&f, agbac_claims(), |c| {
                c.insert("cid".into(), json!("wlpother789"));
            }),
            Reason::SubjectsMismatch,
        ),
    ];
    for claim in ["iss", "aud", "exp", "iat", "jti", "cid"] {
        cases.push((
            "missing claim",
            Subjects::Xaa,
            edited(&f, xaa_claims(), |c| {
                c.remove(claim);
            }),
            Reason::ClaimMissing,
        ));
    }
    cases.push((
        "agbac without sub",
        Subjects::Agbac,
        edited(&f, agbac_claims(), |c| {
            c.remove("sub");
        }),
        Reason::ClaimMissing,
    ));

    let mut seen = HashSet::new();
    for (name, subjects, token, want) in &cases {
        let got = reason(&f.verifier(*subjects), token).await;
        assert_eq!(got, *want, "case {name}");
        seen.insert(*want);
    }
    // The rest have their own tests: alg (below), ID-token-only and fetch failures.
    seen.extend([
        Reason::AlgNotAllowed,
        Reason::AccessTokenPresented,
        Reason::KeysUnavailable,
    ]);
    let missing: Vec<_> = Reason::ALL.iter().filter(|r| !seen.contains(r)).collect();
    assert!(missing.is_empty(), "no case for {missing:?}");
}

#[tokio::test]
async fn only_rs256_with_the_published_key_is_accepted() {
    let f = Fixture::start().await;
    let key = RsaKey::shared(0);
    let verifier = f.verifier(Subjects::Xaa);
    let claims = b64(f.claims(xaa_claims()).to_string());
    // alg none, with and without a signature part.
    for alg in ["none", "None", "NONE"] {
        let header = b64(json!({"alg": alg, "kid": key.kid}).to_string());
        for sig in ["", "c2ln"] {
            let token = format!("{header}.{claims}.{sig}");
            assert_eq!(
                reason(&verifier, &token).await,
                Reason::AlgNotAllowed,
                "{alg}"
            );
        }
    }
    // HS256 keyed with the public key, in every form a confused verifier might use.
    let jwk = key.public_jwk(&key.kid);
    for secret in [
        key.modulus(),
        jwk.to_string().into_bytes(),
        jwk["n"].as_str().unwrap().as_bytes().to_vec(),
    ] {
        for alg in ["HS256", "HS384", "HS512"] {
            let input = format!(
                "{}.{claims}",
                b64(json!({"alg": alg, "kid": key.kid}).to_string())
            );
            let mac = aws_lc_rs::hmac::sign(
                &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret),
                input.as_bytes(),
            );
            let token = format!("{input}.{}", b64(mac));
            assert_eq!(
                reason(&verifier, &token).await,
                Reason::AlgNotAllowed,
                "{alg}"
            );
        }
    }
    // ES256 from a real P-256 key, and RSA algorithms other than RS256 over a valid RS256 signature.
    let ec = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let input = format!(
        "{}.{claims}",
        b64(json!({"alg": "ES256", "kid": key.kid}).to_string())
    );
    let sig = ec
        .sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes())
        .unwrap();
    assert_eq!(
        reason(&verifier, &format!("{input}.{}", b64(sig))).await,
        Reason::AlgNotAllowed
    );
    for alg in ["PS256", "RS384", "RS512", "rs256", ""] {
        let token = key.sign_raw(
            &json!({"alg": alg, "kid": key.kid}),
            &f.claims(xaa_claims()),
        );
        assert_eq!(
            reason(&verifier, &token).await,
            Reason::AlgNotAllowed,
            "{alg}"
        );
    }
    assert_eq!(
        f.jwks.fetches(),
        0,
        "no key is fetched for a token refused on its header"
    );
}
