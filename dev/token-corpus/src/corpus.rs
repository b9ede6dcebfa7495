//! The policies and the shared pieces of the corpus: what each case expects of Okta's
//! verifier and of ours, and the documented reasons ours may be stricter.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::time::Duration;

use serde_json::Value;
use verify::{Subjects, DEFAULT_LEEWAY};

/// One verifier configuration, given to both verifiers alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub issuer: String,
    pub audience: String,
    pub clients: Vec<String>,
    pub scopes: Vec<String>,
    pub subjects: Subjects,
    /// Ours only: Okta's Node verifier has no clock-skew setting (it allows none).
    pub leeway: Duration,
}

/// Indexes into the policy list built by `policies`.
pub const DEV: usize = 0;
pub const DEV_RW: usize = 1;
pub const DEV_OTHER_AUD: usize = 2;
pub const DEV_OTHER_CLIENT: usize = 3;
pub const LOCAL: usize = 4;
pub const LOCAL_AGBAC: usize = 5;
pub const LOCAL_ANY_SCOPE: usize = 6;
/// `LOCAL` with ours at 0 s leeway, as Okta's Node verifier always is.
pub const LOCAL_NO_LEEWAY: usize = 7;

pub const DEV_AGENT: &str = "wlpdevstackagent";
pub const AGENT: &str = "0oaagent1";
pub const PERSON: &str = "00uperson1";
pub const SCOPE: &str = "tickets:read";
pub const AUDIENCE: &str = "api://default";

pub fn policies(dev_issuer: &str, local_issuer: &str) -> Vec<Policy> {
    let p = |issuer: &str, audience: &str, client: &str, scopes: &[&str], subjects| Policy {
        issuer: issuer.into(),
        audience: audience.into(),
        clients: vec![client.into()],
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        subjects,
        leeway: DEFAULT_LEEWAY,
    };
    let dev_aud = devstack::ACCESS_TOKEN_AUDIENCE;
    vec![
        p(dev_issuer, dev_aud, DEV_AGENT, &["xaa:read"], Subjects::Xaa),
        p(
            dev_issuer,
            dev_aud,
            DEV_AGENT,
            &["xaa:read", "xaa:write"],
            Subjects::Xaa,
        ),
        p(
            dev_issuer,
            AUDIENCE,
            DEV_AGENT,
            &["xaa:read"],
            Subjects::Xaa,
        ),
        p(
            dev_issuer,
            dev_aud,
            "0oaother000",
            &["xaa:read"],
            Subjects::Xaa,
        ),
        p(local_issuer, AUDIENCE, AGENT, &[SCOPE], Subjects::Xaa),
        p(local_issuer, AUDIENCE, AGENT, &[SCOPE], Subjects::Agbac),
        p(local_issuer, AUDIENCE, AGENT, &[], Subjects::Xaa),
        Policy {
            leeway: Duration::ZERO,
            ..p(local_issuer, AUDIENCE, AGENT, &[SCOPE], Subjects::Xaa)
        },
    ]
}

/// What Okta's verifier is expected to answer (the corpus checks itself with this).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Okta {
    Accept,
    /// A refusal, by the class judge.js gives it (the codes of crates/verify).
    Reject(&'static str),
    /// The verifier throws (a TypeError from inside it): no verdict.
    NoVerdict,
}

/// What ours must answer.
#[derive(Clone, Copy, Debug)]
pub enum Ours {
    Accept,
    /// A refusal with one of these codes.
    Refuse(&'static [&'static str]),
    /// Either an acceptance (then the principal must equal Okta's claims) or one of these.
    Either(&'static [&'static str]),
}

impl Ours {
    /// Whether an answer of ours (`None`: accepted; or the refusal's code) is one this allows.
    pub fn admits(self, refused: Option<&str>) -> bool {
        match (self, refused) {
            (Ours::Accept | Ours::Either(_), None) => true,
            (Ours::Refuse(codes) | Ours::Either(codes), Some(code)) => codes.contains(&code),
            _ => false,
        }
    }
}

pub struct Case {
    pub label: String,
    pub token: String,
    pub policy: usize,
    pub okta: Okta,
    pub ours: Ours,
    /// Key into [`STRICTER`] when ours may refuse a token Okta's verifier accepts.
    pub stricter: Option<&'static str>,
}

pub fn case(
    label: impl Into<String>,
    policy: usize,
    token: String,
    okta: Okta,
    ours: Ours,
) -> Case {
    Case {
        label: label.into(),
        token,
        policy,
        okta,
        ours,
        stricter: None,
    }
}

impl Case {
    pub fn stricter(mut self, key: &'static str) -> Case {
        assert!(
            STRICTER.iter().any(|(k, _)| *k == key),
            "no STRICTER entry {key}"
        );
        self.stricter = Some(key);
        self
    }
}

/// Where ours refuses what Okta's Node verifier (4.0.2, njwt 2) accepts, and why.
pub const STRICTER: &[(&str, &str)] = &[
    ("header", "jku/x5u/x5c/crit header: Okta's verifier reads only alg and kid; a header pointing at a key, or a crit extension nobody implements (RFC 7515 4.1.11: must refuse), is refused"),
    ("id_jag", "typ oauth-id-jag+jwt: an ID-JAG is a grant for an authorization server, never an access token for an API; Okta's verifier does not read typ"),
    ("id_token", "ID token shape (nonce, amr, at_hash, no scp): Okta's verifier does not tell token kinds apart"),
    ("size", "over 16 KiB (MAX_TOKEN_BYTES): refused before parsing; Okta's verifier parses and verifies any size"),
    ("time", "no exp, exp not a number, no iat, iat in the future: Okta's verifier takes a missing or non-numeric exp as never expiring and never reads iat"),
    ("jti", "no jti: the principal carries a hash of jti for the audit log; Okta's verifier does not need one"),
    ("scope", "scp a string: Okta's 'scp.includes' on a string is a substring test (\"tickets:readwrite\" passes for tickets:read); ours wants an array of exact names"),
    ("person", "no person (uid; act.sub for agbac): the tool acts for a person; Okta's verifier checks only the claims assertClaims names"),
    ("subjects", "agbac: sub must equal cid, and the person must not be the agent"),
    ("encoding", "signature segment not canonical base64url (stray characters, padding): Node's base64 decoder skips what it does not know"),
    ("duplicate", "duplicate JSON member names: Okta's verifier takes the last; ours may refuse, and when it accepts its principal must equal Okta's claims"),
];

pub fn segments(token: &str) -> Vec<&str> {
    token.split('.').collect()
}

/// The claims of a compact JWS, decoded (not verified).
pub fn claims_of(token: &str) -> Value {
    let payload = URL_SAFE_NO_PAD
        .decode(segments(token)[1])
        .expect("payload is base64url");
    serde_json::from_slice(&payload).expect("payload is JSON")
}

pub fn header_of(token: &str) -> Value {
    let header = URL_SAFE_NO_PAD
        .decode(segments(token)[0])
        .expect("header is base64url");
    serde_json::from_slice(&header).expect("header is JSON")
}

/// The same header and signature over different claims.
pub fn with_claims(token: &str, claims: &Value) -> String {
    let s = segments(token);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{}.{payload}.{}", s[0], s[2])
}

/// The same claims and signature under a different header.
pub fn with_header(token: &str, header: &Value) -> String {
    let s = segments(token);
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    format!("{h}.{}.{}", s[1], s[2])
}
