//! Tokens crafted here with the key of the test's own issuer, at the claims level: valid
//! ones in Okta's shape (both subject models), then one defect in the claims per token.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::corpus::*;
use crate::issuer::{LocalIssuer, RsaKey};

fn rm(c: &mut Value, claim: &str) {
    if let Some(o) = c.as_object_mut() {
        o.remove(claim);
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// A valid access token's claims for the `xaa` subject model (cid + uid).
pub fn xaa_claims(issuer: &str, n: usize) -> Value {
    let t = now();
    json!({"ver": 1, "jti": format!("AT.conformance-{n}"), "iss": issuer, "aud": AUDIENCE,
           "iat": t, "exp": t + 3600, "cid": AGENT, "uid": PERSON, "scp": [SCOPE],
           "sub": "person@example.com"})
}

/// A valid access token's claims for the `agbac` model (sub = cid = agent, act.sub = person).
fn agbac_claims(issuer: &str, n: usize) -> Value {
    let t = now();
    json!({"ver": 1, "jti": format!("AT.conformance-agbac-{n}"), "iss": issuer, "aud": AUDIENCE,
           "iat": t, "exp": t + 3600, "cid": AGENT, "sub": AGENT, "act": {"sub": PERSON},
           "scp": [SCOPE]})
}

/// A valid token of about `len` bytes (a `pad` claim makes up the size).
fn of_size(key: &RsaKey, issuer: &str, len: usize) -> String {
    let mut pad = len;
    loop {
        let mut c = xaa_claims(issuer, len);
        c["pad"] = json!("x".repeat(pad));
        let token = key.sign(json!({}), &c);
        if token.len() <= len && token.len() + 8 > len {
            return token;
        }
        let over = token.len() as i64 - len as i64;
        pad = (pad as i64 - over * 3 / 4 - 1).max(0) as usize;
    }
}

pub fn cases(local: &LocalIssuer) -> Vec<Case> {
    use Okta::{Accept, Reject};
    let (iss, key) = (local.issuer.as_str(), &local.key);
    let mut n = 0;
    // A valid xaa token with one change to its claims.
    let mut xaa = |f: &dyn Fn(&mut Value)| {
        n += 1;
        let mut c = xaa_claims(iss, n);
        f(&mut c);
        c
    };
    let signed = |c: &Value| key.sign(json!({}), c);
    let agbac = |f: &dyn Fn(&mut Value)| {
        let mut c = agbac_claims(iss, 0);
        f(&mut c);
        key.sign(json!({}), &c)
    };
    let headed = |h: Value, c: &Value| key.sign(h, c);
    let refuse = Ours::Refuse;

    let base = xaa(&|_| {});
    let valid = signed(&base);
    vec![
        case(
            "valid access token (xaa: cid + uid)",
            LOCAL,
            valid.clone(),
            Accept,
            Ours::Accept,
        ),
        case(
            "valid, aud an array holding ours",
            LOCAL,
            signed(&xaa(&|c| c["aud"] = json!([AUDIENCE, "api://other"]))),
            Accept,
            Ours::Accept,
        ),
        case(
            "valid agbac token (sub = cid, act.sub = person)",
            LOCAL_AGBAC,
            agbac(&|_| {}),
            Accept,
            Ours::Accept,
        ),
        case(
            "valid, policy needs no scope",
            LOCAL_ANY_SCOPE,
            valid.clone(),
            Accept,
            Ours::Accept,
        ),
        case(
            "15 KB token (under the 16 KiB limit)",
            LOCAL,
            of_size(key, iss, 15_000),
            Accept,
            Ours::Accept,
        ),
        case(
            "17 KB token (over the 16 KiB limit)",
            LOCAL,
            of_size(key, iss, 17_000),
            Accept,
            refuse(&["token_too_large"]),
        )
        .stricter("size"),
        case(
            "100 KB token",
            LOCAL,
            of_size(key, iss, 100_000),
            Accept,
            refuse(&["token_too_large"]),
        )
        .stricter("size"),
        case(
            "expired an hour ago",
            LOCAL,
            signed(&xaa(&|c| c["exp"] = json!(now() - 3600))),
            Reject("expired"),
            refuse(&["expired"]),
        ),
        case(
            "nbf an hour ahead",
            LOCAL,
            signed(&xaa(&|c| c["nbf"] = json!(now() + 3600))),
            Reject("not_yet_valid"),
            refuse(&["not_yet_valid"]),
        ),
        case(
            "expired 30 s ago (ours at 0 s leeway)",
            LOCAL_NO_LEEWAY,
            signed(&xaa(&|c| c["exp"] = json!(now() - 30))),
            Reject("expired"),
            refuse(&["expired"]),
        ),
        case(
            "nbf 30 s ahead (ours at 0 s leeway)",
            LOCAL_NO_LEEWAY,
            signed(&xaa(&|c| c["nbf"] = json!(now() + 30))),
            Reject("not_yet_valid"),
            refuse(&["not_yet_valid"]),
        ),
        case(
            "valid, ours at 0 s leeway",
            LOCAL_NO_LEEWAY,
            valid.clone(),
            Accept,
            Ours::Accept,
        ),
        case(
            "iat an hour ahead",
            LOCAL,
            signed(&xaa(&|c| c["iat"] = json!(now() + 3600))),
            Accept,
            refuse(&["issued_in_future"]),
        )
        .stricter("time"),
        case(
            "no exp",
            LOCAL,
            signed(&xaa(&|c| rm(c, "exp"))),
            Accept,
            refuse(&["claim_missing"]),
        )
        .stricter("time"),
        case(
            "exp a string",
            LOCAL,
            signed(&xaa(&|c| c["exp"] = json!((now() + 3600).to_string()))),
            Accept,
            refuse(&["token_malformed", "claim_missing"]),
        )
        .stricter("time"),
        case(
            "no iat",
            LOCAL,
            signed(&xaa(&|c| rm(c, "iat"))),
            Accept,
            refuse(&["claim_missing"]),
        )
        .stricter("time"),
        case(
            "no jti",
            LOCAL,
            signed(&xaa(&|c| rm(c, "jti"))),
            Accept,
            refuse(&["claim_missing"]),
        )
        .stricter("jti"),
        case(
            "wrong iss",
            LOCAL,
            signed(&xaa(&|c| {
                c["iss"] = json!("https://evil.example.com/oauth2/default")
            })),
            Reject("wrong_issuer"),
            refuse(&["wrong_issuer"]),
        ),
        case(
            "iss with a trailing slash",
            LOCAL,
            signed(&xaa(&|c| {
                c["iss"] = json!(format!("{}/", c["iss"].as_str().unwrap_or_default()))
            })),
            Reject("wrong_issuer"),
            refuse(&["wrong_issuer"]),
        ),
        case(
            "wrong aud",
            LOCAL,
            signed(&xaa(&|c| c["aud"] = json!("api://other"))),
            Reject("wrong_audience"),
            refuse(&["wrong_audience"]),
        ),
        case(
            "aud an array without ours",
            LOCAL,
            signed(&xaa(&|c| {
                c["aud"] = json!(["api://other", "api://default/"])
            })),
            Reject("wrong_audience"),
            refuse(&["wrong_audience"]),
        ),
        case(
            "bad cid (not in the allow-list)",
            LOCAL,
            signed(&xaa(&|c| c["cid"] = json!("0oaevil"))),
            Reject("client_not_allowed"),
            refuse(&["client_not_allowed"]),
        ),
        case(
            "no cid (client_id instead)",
            LOCAL,
            signed(&xaa(&|c| {
                c["client_id"] = c["cid"].clone();
                rm(c, "cid");
            })),
            Reject("client_not_allowed"),
            refuse(&["claim_missing", "client_not_allowed"]),
        ),
        case(
            "missing scp",
            LOCAL,
            signed(&xaa(&|c| rm(c, "scp"))),
            Reject("scope_missing"),
            refuse(&["scope_missing"]),
        ),
        case(
            "scp without the required scope",
            LOCAL,
            signed(&xaa(&|c| c["scp"] = json!(["tickets:write"]))),
            Reject("scope_missing"),
            refuse(&["scope_missing"]),
        ),
        case(
            "scp a string holding the scope name",
            LOCAL,
            signed(&xaa(&|c| c["scp"] = json!("tickets:readwrite"))),
            Accept,
            refuse(&["scope_missing", "token_malformed"]),
        )
        .stricter("scope"),
        case(
            "xaa: no uid",
            LOCAL,
            signed(&xaa(&|c| rm(c, "uid"))),
            Accept,
            refuse(&["person_missing"]),
        )
        .stricter("person"),
        case(
            "agbac: sub differs from cid",
            LOCAL_AGBAC,
            agbac(&|c| c["sub"] = json!("0oaimpostor")),
            Accept,
            refuse(&["subjects_mismatch"]),
        )
        .stricter("subjects"),
        case(
            "agbac: no act",
            LOCAL_AGBAC,
            agbac(&|c| rm(c, "act")),
            Accept,
            refuse(&["person_missing"]),
        )
        .stricter("person"),
        case(
            "agbac: act a string",
            LOCAL_AGBAC,
            agbac(&|c| c["act"] = json!(PERSON)),
            Accept,
            refuse(&["person_missing", "token_malformed"]),
        )
        .stricter("person"),
        case(
            "agbac: act.sub is the agent",
            LOCAL_AGBAC,
            agbac(&|c| c["act"] = json!({"sub": AGENT})),
            Accept,
            refuse(&["subjects_mismatch"]),
        )
        .stricter("subjects"),
        case(
            "ID token as access token (nonce, amr, at_hash, no scp)",
            LOCAL_ANY_SCOPE,
            signed(&xaa(&|c| {
                c["nonce"] = json!("n-0S6_WzA2Mj");
                c["amr"] = json!(["pwd"]);
                c["at_hash"] = json!("77QmUPtjPfzWtF2AnpK9RQ");
                rm(c, "scp");
            })),
            Accept,
            refuse(&["id_token_presented"]),
        )
        .stricter("id_token"),
        case(
            "ID-JAG (typ oauth-id-jag+jwt)",
            LOCAL,
            headed(json!({"typ": "oauth-id-jag+jwt"}), &base),
            Accept,
            refuse(&["id_jag_presented"]),
        )
        .stricter("id_jag"),
    ]
}
