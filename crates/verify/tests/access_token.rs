//! Access tokens end to end: a real RSA key, a loopback JWKS, the real transport. Both
//! subject models including the swap, the leeway bounds, and nothing echoed. The
//! refusal reasons one by one are in tests/refusals.rs.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use verify::{AccessPolicy, AccessTokenVerifier, PolicyError, Reason, Subjects, MAX_LEEWAY};

#[tokio::test]
async fn a_genuine_xaa_token_names_the_agent_and_the_person() {
    let f = Fixture::start().await;
    let token = RsaKey::shared(0).sign(&f.claims(xaa_claims()));
    let p = f.verifier(Subjects::Xaa).verify(&token).await.unwrap();
    assert_eq!(p.agent, AGENT);
    assert_eq!(p.person, PERSON);
    assert_eq!(p.scopes, [SCOPE, "other"]);
    assert_eq!(p.expires_at, NOW + 3600);
    assert_eq!(p.jti_hash.len(), 32);
    assert!(p.jti_hash.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(p.jti_hash, "AT.abc123");
    assert_eq!(f.jwks.fetches(), 1);
    f.verifier(Subjects::Xaa).verify(&token).await.unwrap();
    assert_eq!(f.jwks.fetches(), 1, "keys are cached");
    assert_eq!(f.server.hits(f.keys_path()), 1);
}

#[tokio::test]
async fn a_genuine_agbac_token_names_the_agent_in_sub_and_the_person_in_act() {
    let f = Fixture::start().await;
    let token = RsaKey::shared(0).sign(&f.claims(agbac_claims()));
    let p = f.verifier(Subjects::Agbac).verify(&token).await.unwrap();
    assert_eq!((p.agent.as_str(), p.person.as_str()), (AGENT, PERSON));
    // Each model refuses the other's token: the person is not where it looks.
    assert_eq!(
        reason(&f.verifier(Subjects::Xaa), &token).await,
        Reason::PersonMissing
    );
    let xaa = RsaKey::shared(0).sign(&f.claims(xaa_claims()));
    assert_eq!(
        reason(&f.verifier(Subjects::Agbac), &xaa).await,
        Reason::SubjectsMismatch
    );
}

#[tokio::test]
async fn swapping_the_agent_and_the_person_never_passes() {
    let f = Fixture::start().await;
    let key = RsaKey::shared(0);
    let agbac = f.verifier(Subjects::Agbac);
    let xaa = f.verifier(Subjects::Xaa);
    // AGBAC with RFC 8693 roles (person in sub, agent in act.sub), with and without cid.
    let mut swapped = f.claims(agbac_claims());
    swapped["sub"] = PERSON.into();
    swapped["act"] = json!({"sub": AGENT});
    assert_eq!(
        reason(&agbac, &key.sign(&swapped)).await,
        Reason::SubjectsMismatch
    );
    swapped.as_object_mut().unwrap().remove("cid");
    assert_eq!(
        reason(&agbac, &key.sign(&swapped)).await,
        Reason::ClientNotAllowed
    );
    // XAA with cid and uid swapped.
    let mut swapped = f.claims(xaa_claims());
    swapped["cid"] = PERSON.into();
    swapped["uid"] = AGENT.into();
    assert_eq!(
        reason(&xaa, &key.sign(&swapped)).await,
        Reason::ClientNotAllowed
    );
    // An allowed agent naming another allowed agent (or itself) as the person.
    let mut agents = f.claims(xaa_claims());
    agents["uid"] = "wlpother789".into();
    assert_eq!(
        reason(&xaa, &key.sign(&agents)).await,
        Reason::SubjectsMismatch
    );
    agents["uid"] = AGENT.into();
    assert_eq!(
        reason(&xaa, &key.sign(&agents)).await,
        Reason::SubjectsMismatch
    );
    let mut same = f.claims(agbac_claims());
    same["act"] = json!({"sub": AGENT});
    assert_eq!(
        reason(&agbac, &key.sign(&same)).await,
        Reason::SubjectsMismatch
    );
}

#[tokio::test]
async fn the_leeway_is_bounded_and_applies_to_exp_nbf_and_iat() {
    let f = Fixture::start().await;
    let key = RsaKey::shared(0);
    for leeway in [0u64, 60, 120] {
        let verifier = AccessTokenVerifier::new(
            f.policy(Subjects::Xaa, leeway),
            f.jwks.clone(),
            f.clock.clone(),
        );
        let at = |exp: u64, nbf: u64, iat: u64| {
            let mut c = f.claims(xaa_claims());
            c["exp"] = exp.into();
            c["nbf"] = nbf.into();
            c["iat"] = iat.into();
            key.sign(&c)
        };
        verifier
            .verify(&at(NOW + 600, NOW + leeway, NOW + leeway))
            .await
            .unwrap();
        verifier
            .verify(&at(NOW - leeway + 1, NOW, NOW - 100))
            .await
            .unwrap();
        assert_eq!(
            reason(&verifier, &at(NOW - leeway, NOW, NOW - 100)).await,
            Reason::Expired,
            "{leeway}"
        );
        assert_eq!(
            reason(&verifier, &at(NOW + 600, NOW + leeway + 1, NOW)).await,
            Reason::NotYetValid,
            "{leeway}"
        );
        assert_eq!(
            reason(&verifier, &at(NOW + 600, NOW, NOW + leeway + 1)).await,
            Reason::IssuedInFuture,
            "{leeway}"
        );
    }
    let too_much = AccessPolicy::new(
        f.server.issuer(),
        AUDIENCE,
        vec![AGENT.into()],
        vec![],
        Subjects::Xaa,
        MAX_LEEWAY + Duration::from_secs(1),
    );
    assert_eq!(too_much, Err(PolicyError::Leeway));
    // A policy built by hand with more leeway is held to 120 s.
    let mut policy = f.policy(Subjects::Xaa, 60);
    policy.leeway = Duration::from_secs(3600);
    let verifier = AccessTokenVerifier::new(policy, f.jwks.clone(), f.clock.clone());
    let mut c = f.claims(xaa_claims());
    c["exp"] = (NOW - 120).into();
    assert_eq!(reason(&verifier, &key.sign(&c)).await, Reason::Expired);
}

#[tokio::test]
async fn refusals_and_debug_output_carry_no_token_or_key_material() {
    let f = Fixture::start().await;
    let key = RsaKey::shared(0);
    let verifier = f.verifier(Subjects::Xaa);
    verifier
        .verify(&key.sign(&f.claims(xaa_claims())))
        .await
        .unwrap();
    let shown = format!("{verifier:?} {:?}", f.jwks);
    let n = key.public_jwk("x")["n"].as_str().unwrap().to_string();
    assert!(!shown.contains(&n[..20]), "{shown}");
    assert!(shown.contains("keys: 1"), "{shown}");
    for r in Reason::ALL {
        let refusal = verify::Refusal { reason: *r };
        assert_eq!(refusal.to_string(), r.describe());
        assert_eq!(refusal.code(), r.code());
    }
}
