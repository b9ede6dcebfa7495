//! Hostile tokens crafted here at the JWS level (header, algorithm, signature, encoding),
//! over the claims of a valid access token of the test's own issuer.

use aws_lc_rs::{hmac, signature};
use serde_json::json;

use crate::corpus::*;
use crate::issuer::{b64, unsigned_input, LocalIssuer, RsaKey, KID};
use crate::local_cases::xaa_claims;

pub fn cases(local: &LocalIssuer) -> Vec<Case> {
    use Okta::{Accept, Reject};
    let key = &local.key;
    let headed = |h: serde_json::Value, c: &serde_json::Value| key.sign(h, c);
    let refuse = Ours::Refuse;
    let base = xaa_claims(&local.issuer, 1000);
    let valid = key.sign(json!({}), &base);
    let vs = segments(&valid);
    let other_key = RsaKey::generate("conformance-other-key");
    let attacker = RsaKey::generate(KID);
    let rs_header = json!({"alg": "RS256", "kid": KID});
    let sig_as = |alg: &str, enc: &'static dyn signature::RsaEncoding| {
        let input = unsigned_input(&json!({"alg": alg, "kid": KID}), &base);
        format!("{input}.{}", b64(&key.sign_raw(enc, &input)))
    };
    let hs_input = unsigned_input(&json!({"alg": "HS256", "kid": KID}), &base);
    let hs_key = hmac::Key::new(hmac::HMAC_SHA256, key.public_pem().as_bytes());
    let hs256 = format!(
        "{hs_input}.{}",
        b64(hmac::sign(&hs_key, hs_input.as_bytes()).as_ref())
    );
    let es256 = format!(
        "{}.{}",
        unsigned_input(&json!({"alg": "ES256", "kid": KID}), &base),
        b64(&[0u8; 64])
    );
    let changed = {
        let mut c = base.clone();
        c["uid"] = json!("00uanother1");
        with_claims(&valid, &c)
    };
    let stray = format!("{}.{}.{}!!{}", vs[0], vs[1], &vs[2][..100], &vs[2][100..]);
    let padded = format!("{valid}==");
    let body = base.to_string();
    let dup_alg = key.sign_texts(
        &format!(r#"{{"alg":"HS256","kid":"{KID}","alg":"RS256"}}"#),
        &body,
    );
    let dup_cid = key.sign_texts(
        &rs_header.to_string(),
        &format!(r#"{{"cid":"0oaevil",{}"#, &body[1..]),
    );
    let array_claims = key.sign_texts(&rs_header.to_string(), "[1,2,3]");
    let json_serialization =
        json!({"protected": vs[0], "payload": vs[1], "signature": vs[2]}).to_string();

    vec![
        case(
            "jku header",
            LOCAL,
            headed(json!({"jku": "https://evil.example.com/keys"}), &base),
            Accept,
            refuse(&["header_not_allowed"]),
        )
        .stricter("header"),
        case(
            "x5u header",
            LOCAL,
            headed(json!({"x5u": "https://evil.example.com/cert.pem"}), &base),
            Accept,
            refuse(&["header_not_allowed"]),
        )
        .stricter("header"),
        case(
            "x5c header",
            LOCAL,
            headed(
                json!({"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}),
                &base,
            ),
            Accept,
            refuse(&["header_not_allowed"]),
        )
        .stricter("header"),
        case(
            "crit header",
            LOCAL,
            headed(json!({"crit": ["exp"]}), &base),
            Accept,
            refuse(&["header_not_allowed"]),
        )
        .stricter("header"),
        case(
            "jwk header: the attacker's key, under our kid",
            LOCAL,
            attacker.sign(json!({"jwk": attacker.public_jwk()}), &base),
            Reject("bad_signature"),
            refuse(&["header_not_allowed", "bad_signature"]),
        ),
        case(
            "no kid",
            LOCAL,
            key.sign_texts(r#"{"alg":"RS256"}"#, &body),
            Reject("unknown_kid"),
            refuse(&["unknown_kid", "token_malformed", "header_not_allowed"]),
        ),
        case(
            "unknown kid (another key)",
            LOCAL,
            other_key.sign(json!({}), &base),
            Reject("unknown_kid"),
            refuse(&["unknown_kid"]),
        ),
        case(
            "our kid, signed by another key",
            LOCAL,
            attacker.sign(json!({}), &base),
            Reject("bad_signature"),
            refuse(&["bad_signature"]),
        ),
        case(
            "signature over a changed payload",
            LOCAL,
            changed,
            Reject("bad_signature"),
            refuse(&["bad_signature"]),
        ),
        case(
            "RS256 token re-signed HS256 with the public key PEM",
            LOCAL,
            hs256,
            Reject("alg_not_allowed"),
            refuse(&["alg_not_allowed"]),
        ),
        case(
            "alg none",
            LOCAL,
            format!(
                "{}.",
                unsigned_input(&json!({"alg": "none", "kid": KID}), &base)
            ),
            Reject("alg_not_allowed"),
            refuse(&["alg_not_allowed"]),
        ),
        case(
            "RS384 with the issuer's key",
            LOCAL,
            sig_as("RS384", &signature::RSA_PKCS1_SHA384),
            Reject("alg_not_allowed"),
            refuse(&["alg_not_allowed"]),
        ),
        case(
            "PS256 with the issuer's key",
            LOCAL,
            sig_as("PS256", &signature::RSA_PSS_SHA256),
            Reject("alg_not_allowed"),
            refuse(&["alg_not_allowed"]),
        ),
        case(
            "ES256 with r = s = 0",
            LOCAL,
            es256,
            Reject("alg_not_allowed"),
            refuse(&["alg_not_allowed"]),
        ),
        case(
            "non-compact (JWS JSON serialization)",
            LOCAL,
            json_serialization,
            Reject("token_malformed"),
            refuse(&["token_malformed"]),
        ),
        case(
            "empty string",
            LOCAL,
            String::new(),
            Reject("token_malformed"),
            refuse(&["token_malformed"]),
        ),
        case(
            "leading space",
            LOCAL,
            format!(" {valid}"),
            Reject("bad_signature"),
            refuse(&["token_malformed", "bad_signature"]),
        ),
        case(
            "claims a JSON array",
            LOCAL,
            array_claims,
            Reject("wrong_audience"),
            refuse(&["token_malformed"]),
        ),
        case(
            "signature with stray characters",
            LOCAL,
            stray,
            Accept,
            refuse(&["token_malformed", "bad_signature"]),
        )
        .stricter("encoding"),
        case(
            "signature with base64 padding",
            LOCAL,
            padded,
            Accept,
            Ours::Either(&["token_malformed", "bad_signature"]),
        )
        .stricter("encoding"),
        case(
            "duplicate alg (HS256, then RS256)",
            LOCAL,
            dup_alg,
            Accept,
            Ours::Either(&["alg_not_allowed", "token_malformed"]),
        )
        .stricter("duplicate"),
        case(
            "duplicate cid (a stranger's first, ours last)",
            LOCAL,
            dup_cid,
            Accept,
            Ours::Either(&["client_not_allowed", "token_malformed"]),
        )
        .stricter("duplicate"),
    ]
}
