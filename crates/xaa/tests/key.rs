//! The signing key: RFC 7520's published vector byte for byte, the refusals of bad
//! keys (never echoing material), EC P-256, and no printable form.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Algorithm;
use xaa::{KeyError, SigningKey};

const RFC7520: &str = include_str!("fixtures/rfc7520-4.1.json");

fn rfc_jwk() -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(RFC7520).unwrap();
    v["jwk"].clone()
}

const KID: &str = "bilbo.baggins@hobbiton.example";

#[test]
fn rs256_signer_reproduces_rfc7520_section_4_1_byte_for_byte() {
    let v: serde_json::Value = serde_json::from_str(RFC7520).unwrap();
    let key = SigningKey::from_jwk_json(v["jwk"].to_string().as_bytes(), KID).unwrap();
    let input = format!(
        "{}.{}",
        v["protected"].as_str().unwrap(),
        v["payload"].as_str().unwrap()
    );
    assert_eq!(
        key.sign_raw(input.as_bytes()).unwrap(),
        v["signature"].as_str().unwrap()
    );
}

#[test]
fn a_jwks_with_exactly_one_private_key_is_accepted() {
    let mut public = rfc_jwk();
    for f in ["d", "p", "q", "dp", "dq", "qi"] {
        public.as_object_mut().unwrap().remove(f);
    }
    let jwks = serde_json::json!({"keys": [public, rfc_jwk()]});
    assert_eq!(
        SigningKey::from_jwk_json(jwks.to_string().as_bytes(), KID)
            .unwrap()
            .algorithm(),
        Algorithm::RS256
    );
    let two = serde_json::json!({"keys": [rfc_jwk(), rfc_jwk()]});
    assert_eq!(
        SigningKey::from_jwk_json(two.to_string().as_bytes(), KID).unwrap_err(),
        KeyError::Invalid("the JWKS holds 2 private keys; keep exactly one".into())
    );
}

fn refusal(mutate: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> String {
    let mut jwk = rfc_jwk();
    mutate(jwk.as_object_mut().unwrap());
    SigningKey::from_jwk_json(jwk.to_string().as_bytes(), KID)
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_keys_are_refused_without_echoing_material() {
    let d = rfc_jwk()["d"].as_str().unwrap().to_string();
    let cases: Vec<(String, &str)> = vec![
        (
            refusal(|j| {
                j.remove("d");
            }),
            "public key only",
        ),
        (
            refusal(|j| {
                j.insert("kty".into(), "oct".into());
            }),
            "unsupported kty; use an RSA",
        ),
        (
            refusal(|j| {
                j.remove("kty");
            }),
            "`kty` is missing",
        ),
        (
            refusal(|j| {
                j.insert("d".into(), "!!not base64!!".into());
            }),
            "`d` is not base64url",
        ),
        (
            refusal(|j| {
                j.insert("kid".into(), "other".into());
            }),
            "differs from AGENT_KEY_ID",
        ),
        (
            refusal(|j| {
                j.insert("alg".into(), "HS256".into());
            }),
            "alg is not RS256",
        ),
        (
            refusal(|j| {
                j.insert("use".into(), "enc".into());
            }),
            "use is not `sig`",
        ),
        (
            refusal(|j| {
                j.insert("q".into(), j["p"].clone());
            }),
            "inconsistent",
        ),
        (
            refusal(|j| {
                let n = j["n"].as_str().unwrap()[..168].to_string();
                j.insert("n".into(), n.into());
            }),
            "has 1008 bits; use 2048 bits or more",
        ),
    ];
    for (message, expected) in cases {
        assert!(
            message.contains(expected),
            "{message:?} should contain {expected:?}"
        );
        assert!(
            !message.contains(&d[..20]),
            "key material leaked: {message}"
        );
    }
    assert!(SigningKey::from_jwk_json(b"not json", KID)
        .unwrap_err()
        .to_string()
        .contains("not valid JSON"));
}

#[test]
fn an_ec_p256_key_signs_and_verifies_with_its_public_key() {
    let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    use aws_lc_rs::encoding::AsBigEndian;
    use aws_lc_rs::signature::KeyPair;
    let public = pair.public_key().as_ref().to_vec();
    let d = pair.private_key().as_be_bytes().unwrap();
    let b = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let jwk = serde_json::json!({"kty":"EC","crv":"P-256","kid":"ec-1","x":b(&public[1..33]),"y":b(&public[33..]),"d":b(d.as_ref())});
    let key = SigningKey::from_jwk_json(jwk.to_string().as_bytes(), "ec-1").unwrap();
    assert_eq!(key.algorithm(), Algorithm::ES256);
    let token = key.sign(&serde_json::json!({"sub":"x"})).unwrap();
    let decoding =
        jsonwebtoken::DecodingKey::from_ec_components(&b(&public[1..33]), &b(&public[33..]))
            .unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let data =
        jsonwebtoken::decode::<serde_json::Value>(token.expose(), &decoding, &validation).unwrap();
    assert_eq!(data.header.kid.as_deref(), Some("ec-1"));
    assert_eq!(data.claims["sub"], "x");
    // A mismatched public point is refused.
    let mut wrong = jwk.clone();
    wrong["x"] = b(&[7u8; 32]).into();
    assert!(matches!(
        SigningKey::from_jwk_json(wrong.to_string().as_bytes(), "ec-1"),
        Err(KeyError::Invalid(m)) if m.contains("does not match its public point")
    ));
}

#[test]
fn no_member_read_from_the_secret_is_ever_echoed() {
    // Key material can land in any member of a damaged secret: a 43-character P-256
    // scalar even passes for a plain identifier. Nothing of it may reach a message.
    let rsa = rfc_jwk();
    let d = rsa["d"].as_str().unwrap();
    let secret_like = &d[..43];
    for field in ["kid", "use", "kty", "alg"] {
        let mut jwk = rsa.clone();
        jwk[field] = secret_like.into();
        let err = SigningKey::from_jwk_json(jwk.to_string().as_bytes(), KID).unwrap_err();
        assert!(matches!(&err, KeyError::Invalid(_)), "{field}: {err:?}");
        assert!(!err.to_string().contains(secret_like), "{field}: {err}");
    }
}

#[test]
fn signing_key_debug_prints_no_material() {
    let key = SigningKey::from_jwk_json(rfc_jwk().to_string().as_bytes(), KID).unwrap();
    assert_eq!(
        format!("{key:?}"),
        "SigningKey { alg: RS256, kid: \"bilbo.baggins@hobbiton.example\", key: \"<redacted>\" }"
    );
}

#[test]
fn a_jwk_written_as_an_array_is_refused() {
    // serde's derived structs read arrays by position; a secret is an object or nothing.
    let jwk = rfc_jwk();
    let fields = [
        "kty", "kid", "alg", "use", "crv", "n", "e", "d", "p", "q", "dp", "dq", "qi",
    ];
    let as_array: Vec<serde_json::Value> = fields.iter().map(|f| jwk[*f].clone()).collect();
    let err = SigningKey::from_jwk_json(
        serde_json::Value::Array(as_array.clone())
            .to_string()
            .as_bytes(),
        KID,
    )
    .unwrap_err();
    assert!(
        matches!(&err, KeyError::Invalid(m) if m.contains("not a JSON object")),
        "{err:?}"
    );
    let nested = serde_json::json!({"keys": [as_array]}).to_string();
    assert!(matches!(
        SigningKey::from_jwk_json(nested.as_bytes(), KID),
        Err(KeyError::Invalid(_))
    ));
}
