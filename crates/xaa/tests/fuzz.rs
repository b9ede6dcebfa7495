//! Fuzzing on stable Rust: hostile bytes into every parser `xaa` runs on a secret's or
//! an upstream's text, as property tests (proptest).
//!
//! Each target asserts that no input panics, that every refusal is the documented typed
//! error, and that no refusal message carries the input's secret-looking parts. The
//! number of inputs per target is `FUZZ_CASES` (a few thousand by default, so `cargo
//! test` stays fast; `make fuzz` runs a million each in release). `FUZZ_SEED` (a
//! number) replays a run; each target prints the seed it used.
//!
//! Targets: the JWK/JWKS parser (`SigningKey::from_jwk_json`), the token-response
//! parser (`parse_success`) and the error-body classifier (`classify_failure`).
//!
//! Found by these targets and fixed: key material echoed as a kid, use, kty or alg
//! (`key_material_is_never_echoed`), and serde reading a struct from a JSON array by
//! position (now refused; see `check_success`).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fuzzkit::{fuzz, no_leak, worth_checking, CANARY};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value};
use xaa::{classify_failure, parse_success, safe_code, KeyError, Leg, OktaError, SigningKey};

// ---------------------------------------------------------------------------------
// The runner (N inputs, a seed to replay, one summary line) is `fuzzkit`, shared with
// the bridge's tests/fuzz.rs.

/// Upstream identifiers (a kid, an OAuth error code) may be echoed when they are plain
/// identifiers (`safe_code`); any other text never.
fn is_plain(s: &str) -> bool {
    safe_code(s) == s
}

/// String values of `value` (recursively) that must never be echoed: every one that is
/// not a plain identifier, and every one under a key in `always` (key material).
fn secret_values(value: &Value, always: &[&str], out: &mut Vec<String>) {
    match value {
        Value::String(s) if worth_checking(s) && !is_plain(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| secret_values(v, always, out)),
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if always.contains(&k.as_str()) && worth_checking(s) => {
                        out.push(s.clone())
                    }
                    _ => secret_values(v, always, out),
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------
// Generators.

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        3 => "[a-zA-Z0-9_.:-]{0,24}",
        2 => vec(any::<char>(), 0..24).prop_map(String::from_iter),
        1 => ("[ -~]{0,8}", "[a-zA-Z0-9_-]{0,8}")
            .prop_map(|(a, b)| format!("{a} {CANARY}{b}")),
        // Huge: a character repeated up to 64 Ki times.
        1 => (any::<char>(), 0usize..65_536).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

const FIELDS: &[&str] = &[
    "kty",
    "kid",
    "alg",
    "use",
    "crv",
    "n",
    "e",
    "d",
    "p",
    "q",
    "dp",
    "dq",
    "qi",
    "x",
    "y",
    "keys",
    "access_token",
    "token_type",
    "expires_in",
    "issued_token_type",
    "scope",
    "error",
    "error_description",
    "max_age",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(FIELDS).prop_map(str::to_string),
        1 => "[a-z_]{1,12}",
        1 => any::<String>(),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    fuzzkit::json_value(key, text())
}

/// JSON literals for numbers, including what serde cannot hold in a u64 or an f64.
fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<u64>().prop_map(|n| n.to_string()),
        2 => (0u64..100_000).prop_map(|n| n.to_string()),
        2 => prop::sample::select(vec![
            "18446744073709551615", "18446744073709551616", "-1", "-0", "0", "1.0", "1e400",
            "-1e400", "1e19", "3600.5", "99999999999999999999999999999", "null", "true",
            "\"3600\"", "\"18446744073709551615\"", "\"18446744073709551616\"", "\"-1\"",
            "\" 1\"", "\"+1\"", "\"\"", "[]", "{}",
        ])
        .prop_map(str::to_string),
        1 => "-?[0-9]{1,40}(\\.[0-9]{1,5})?(e[+-]?[0-9]{1,4})?",
        1 => "\"[0-9]{0,25}\"",
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|f| Value::from(f).to_string()),
        1 => json().prop_map(|v| v.to_string()),
    ]
}

/// A byte-level mutation (positions are taken modulo the length).
#[derive(Debug, Clone)]
enum ByteMutation {
    FlipBit(usize, u8),
    SetByte(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

fn byte_mutation() -> impl Strategy<Value = ByteMutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| ByteMutation::FlipBit(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| ByteMutation::SetByte(i, b)),
        any::<usize>().prop_map(ByteMutation::Truncate),
        (any::<usize>(), vec(any::<u8>(), 1..8)).prop_map(|(i, b)| ByteMutation::Insert(i, b)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| ByteMutation::Delete(i, n)),
    ]
}

fn byte_mutations() -> impl Strategy<Value = Vec<ByteMutation>> {
    prop_oneof![4 => Just(Vec::new()), 1 => vec(byte_mutation(), 1..4)]
}

fn mutate_bytes(body: &mut Vec<u8>, mutations: &[ByteMutation]) {
    for m in mutations {
        let len = body.len();
        let at = |i: usize| i % (len + 1);
        match m {
            ByteMutation::FlipBit(i, bit) if len > 0 => body[i % len] ^= 1 << (bit % 8),
            ByteMutation::SetByte(i, b) if len > 0 => body[i % len] = *b,
            ByteMutation::Truncate(i) => body.truncate(at(*i)),
            ByteMutation::Insert(i, bytes) => {
                let i = at(*i);
                body.splice(i..i, bytes.iter().copied());
            }
            ByteMutation::Delete(i, n) => {
                let i = at(*i);
                body.drain(i..(i + n).min(len));
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------
// 1. The JWK / JWKS parser.

const RFC7520_KID: &str = "bilbo.baggins@hobbiton.example";
const EC_KID: &str = "ec-fuzz-1";
const MATERIAL: &[&str] = &["d", "p", "q", "dp", "dq", "qi"];

/// The RFC 7520 RSA test key (the same fixture testkit serves) and a fresh P-256 key
/// made as testkit's `ec_p256_jwk` does; `xaa` keeps testkit (which links the bridge
/// and the AWS SDK) out of its test build.
fn valid_jwks() -> [Value; 2] {
    let rfc: Value =
        serde_json::from_str(include_str!("fixtures/rfc7520-4.1.json")).expect("fixture");
    use aws_lc_rs::encoding::AsBigEndian;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
    let public = pair.public_key().as_ref().to_vec();
    let d = pair.private_key().as_be_bytes().expect("EC private scalar");
    let b = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let ec = serde_json::json!({"kty": "EC", "crv": "P-256", "kid": EC_KID, "alg": "ES256",
        "use": "sig", "x": b(&public[1..33]), "y": b(&public[33..]), "d": b(d.as_ref())});
    [rfc["jwk"].clone(), ec]
}

#[derive(Debug, Clone)]
enum B64Edit {
    /// Replace the character at a position with one of the alphabet, or `=`/`.`/`+`.
    SetChar(usize, char),
    Truncate(usize),
    Append(String),
    /// Leading zero bytes (`AAAA` is three), which change a big integer's encoding only.
    ZeroPrefix(usize),
    Padding(usize),
}

#[derive(Debug, Clone)]
enum JwkEdit {
    Remove(&'static str),
    /// Any JSON value in place of a field (wrong types included).
    Set(&'static str, Value),
    /// A string that looks plausible for the field.
    SetText(&'static str, String),
    Base64(&'static str, B64Edit),
    /// One field's value copied into another (q = p, kid = d, ...).
    Copy(&'static str, &'static str),
}

#[derive(Debug, Clone)]
enum Wrap {
    Plain,
    /// A JWKS: the key, plus `public` public copies and `private` extra private copies.
    Set {
        public: usize,
        private: usize,
    },
    /// `{"keys": <anything>}`.
    Junk(Value),
}

#[derive(Debug, Clone)]
enum JwkInput {
    Bytes(Vec<u8>),
    Json(Value),
    Mutated {
        ec: bool,
        edits: Vec<JwkEdit>,
        wrap: Wrap,
        /// Members are written in an order drawn from this (secrets come in any order).
        order: u64,
        bytes: Vec<ByteMutation>,
        kid: Option<String>,
    },
}

const JWK_FIELDS: &[&str] = &[
    "kty", "kid", "alg", "use", "crv", "n", "e", "d", "p", "q", "dp", "dq", "qi", "x", "y",
];
const B64_FIELDS: &[&str] = &["n", "e", "d", "p", "q", "dp", "dq", "qi", "x", "y"];

fn jwk_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "RSA",
            "EC",
            "oct",
            "OKP",
            "rsa",
            "RS256",
            "ES256",
            "HS256",
            "none",
            "sig",
            "enc",
            "P-256",
            "P-384",
            "secp256k1",
            "",
            RFC7520_KID,
            EC_KID,
        ])
        .prop_map(str::to_string),
        text(),
    ]
}

fn jwk_edit() -> impl Strategy<Value = JwkEdit> {
    let field = prop::sample::select(JWK_FIELDS);
    let b64_field = prop::sample::select(B64_FIELDS);
    let b64_edit = prop_oneof![
        (
            any::<usize>(),
            prop::sample::select(vec!['A', 'z', '0', '-', '_', '=', '.', '+', '/', ' ', 'é'])
        )
            .prop_map(|(i, c)| B64Edit::SetChar(i, c)),
        any::<usize>().prop_map(B64Edit::Truncate),
        "[A-Za-z0-9_-]{1,8}".prop_map(B64Edit::Append),
        (1usize..40).prop_map(B64Edit::ZeroPrefix),
        (1usize..4).prop_map(B64Edit::Padding),
    ];
    prop_oneof![
        2 => field.clone().prop_map(JwkEdit::Remove),
        2 => (field.clone(), json()).prop_map(|(f, v)| JwkEdit::Set(f, v)),
        3 => (field.clone(), jwk_text()).prop_map(|(f, t)| JwkEdit::SetText(f, t)),
        4 => (b64_field.clone(), b64_edit).prop_map(|(f, e)| JwkEdit::Base64(f, e)),
        // Material copied anywhere, echoed fields included (kid, kty, use, alg).
        2 => (b64_field, field).prop_map(|(a, b)| JwkEdit::Copy(a, b)),
    ]
}

fn jwk_input() -> impl Strategy<Value = JwkInput> {
    let wrap = prop_oneof![
        6 => Just(Wrap::Plain),
        3 => (0usize..3, 0usize..2).prop_map(|(public, private)| Wrap::Set { public, private }),
        1 => json().prop_map(Wrap::Junk),
    ];
    let kid = option::weighted(0.1, prop_oneof!["[ -~]{0,40}", any::<String>()]);
    prop_oneof![
        1 => vec(any::<u8>(), 0..256).prop_map(JwkInput::Bytes),
        1 => json().prop_map(JwkInput::Json),
        8 => (
            any::<bool>(),
            prop_oneof![1 => Just(Vec::new()), 4 => vec(jwk_edit(), 1..4)],
            wrap,
            any::<u64>(),
            byte_mutations(),
            kid,
        )
            .prop_map(|(ec, edits, wrap, order, bytes, kid)| JwkInput::Mutated { ec, edits, wrap, order, bytes, kid }),
    ]
}

fn edit_b64(value: &str, edit: &B64Edit) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    match edit {
        B64Edit::SetChar(i, c) if !chars.is_empty() => {
            let n = chars.len();
            chars[i % n] = *c;
        }
        B64Edit::Truncate(i) => chars.truncate(i % (chars.len() + 1)),
        B64Edit::Append(s) => chars.extend(s.chars()),
        B64Edit::ZeroPrefix(n) => {
            // Whole groups of four keep the rest of the encoding aligned.
            let mut bytes = URL_SAFE_NO_PAD.decode(value).unwrap_or_default();
            bytes.splice(0..0, std::iter::repeat_n(0u8, *n));
            return URL_SAFE_NO_PAD.encode(bytes);
        }
        B64Edit::Padding(n) => chars.extend(std::iter::repeat_n('=', *n)),
        _ => {}
    }
    chars.into_iter().collect()
}

fn apply_jwk_edit(jwk: &mut Map<String, Value>, edit: &JwkEdit) {
    match edit {
        JwkEdit::Remove(f) => {
            jwk.remove(*f);
        }
        JwkEdit::Set(f, v) => {
            jwk.insert(f.to_string(), v.clone());
        }
        JwkEdit::SetText(f, t) => {
            jwk.insert(f.to_string(), Value::String(t.clone()));
        }
        JwkEdit::Base64(f, e) => {
            if let Some(Value::String(s)) = jwk.get(*f) {
                let edited = edit_b64(s, e);
                jwk.insert(f.to_string(), Value::String(edited));
            }
        }
        JwkEdit::Copy(from, to) => {
            if let Some(v) = jwk.get(*from).cloned() {
                jwk.insert(to.to_string(), v);
            }
        }
    }
}

struct JwkTarget {
    bases: [Value; 2],
    /// Every 16-character window of the bases' private material (d, p, q, dp, dq, qi).
    material: std::collections::HashSet<String>,
}

const WINDOW: usize = 16;

/// A JSON text of `value` with each object's members in an order drawn from `order`.
fn write_shuffled(value: &Value, order: u64, out: &mut String) {
    match value {
        Value::Object(map) => {
            let rank = |k: &str| {
                k.bytes().fold(order, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                })
            };
            let mut members: Vec<_> = map.iter().collect();
            members.sort_by_key(|(k, _)| rank(k));
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                write_shuffled(v, order, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_shuffled(v, order, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

impl JwkTarget {
    fn new() -> Self {
        let bases = valid_jwks();
        let mut material = std::collections::HashSet::new();
        for base in &bases {
            for field in MATERIAL {
                let value = base[*field].as_str().unwrap_or_default();
                for i in 0..value.len().saturating_sub(WINDOW - 1) {
                    material.insert(value[i..i + WINDOW].to_string());
                }
            }
        }
        JwkTarget { bases, material }
    }

    /// Whether `message` shows 16 characters in a row of the bases' private material.
    fn shows_material(&self, message: &str) -> bool {
        message
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .filter(|run| run.len() >= WINDOW)
            .any(|run| {
                (0..=run.len() - WINDOW).any(|i| self.material.contains(&run[i..i + WINDOW]))
            })
    }

    fn check(&self, input: JwkInput) -> Result<bool, TestCaseError> {
        let (bytes, sent, expected_kid) = match input {
            JwkInput::Bytes(b) => (b, None, RFC7520_KID.to_string()),
            JwkInput::Json(v) => (v.to_string().into_bytes(), Some(v), EC_KID.to_string()),
            JwkInput::Mutated {
                ec,
                edits,
                wrap,
                order,
                bytes,
                kid,
            } => {
                let base = &self.bases[usize::from(ec)];
                let mut jwk = base.as_object().cloned().unwrap_or_default();
                for edit in &edits {
                    apply_jwk_edit(&mut jwk, edit);
                }
                let jwk = Value::Object(jwk);
                let sent = match wrap {
                    Wrap::Plain => jwk,
                    Wrap::Set { public, private } => {
                        let mut public_copy = base.clone();
                        if let Some(map) = public_copy.as_object_mut() {
                            for f in MATERIAL {
                                map.remove(*f);
                            }
                        }
                        let mut keys = vec![public_copy; public];
                        keys.push(jwk);
                        keys.extend(std::iter::repeat_n(base.clone(), private));
                        serde_json::json!({ "keys": keys })
                    }
                    Wrap::Junk(v) => serde_json::json!({ "keys": v }),
                };
                let mut text = String::new();
                write_shuffled(&sent, order, &mut text);
                let mut text = text.into_bytes();
                mutate_bytes(&mut text, &bytes);
                let default_kid = if ec { EC_KID } else { RFC7520_KID };
                (
                    text,
                    Some(sent),
                    kid.unwrap_or_else(|| default_kid.to_string()),
                )
            }
        };
        // Never shown: any 16 characters of the bases' private material (see
        // `shows_material`), and any string we sent. The expected kid is ours
        // (AGENT_KEY_ID) and is echoed.
        let mut secrets = Vec::new();
        if let Some(sent) = &sent {
            secret_values(sent, &[], &mut secrets);
        }
        secrets.retain(|s| !expected_kid.contains(s.as_str()));
        let result = SigningKey::from_jwk_json(&bytes, &expected_kid);
        let accepted = result.is_ok();
        match result {
            Ok(key) => {
                prop_assert_eq!(key.kid(), expected_kid.as_str());
                // Accepted means ready to sign: a key that parses and then cannot sign
                // would fail at the first token request instead of at load.
                let signed = key.sign(&serde_json::json!({"sub": "fuzz"}));
                prop_assert!(signed.is_ok(), "an accepted key cannot sign: {signed:?}");
                let shown = format!("{key:?}");
                prop_assert!(!self.shows_material(&shown), "{shown}");
                no_leak(&shown, &secrets)?;
            }
            Err(KeyError::Invalid(message)) => {
                prop_assert!(!message.is_empty());
                let leaks = |m: &str| no_leak(m, &secrets).is_err() || self.shows_material(m);
                // This target found key material echoed as a kid, use, kty or alg
                // (see `key_material_is_never_echoed`); key.rs now echoes nothing it read
                // from the secret, so any leak fails.
                prop_assert!(!leaks(&message), "leak: {message:?} (secrets {secrets:?})");
            }
            Err(other) => prop_assert!(false, "undocumented refusal: {other:?}"),
        }
        Ok(accepted)
    }
}

#[test]
fn fuzz_jwk_parser() {
    let target = JwkTarget::new();
    // Both bases are valid as they are: the mutations start from keys that work.
    for (base, kid) in target.bases.iter().zip([RFC7520_KID, EC_KID]) {
        SigningKey::from_jwk_json(base.to_string().as_bytes(), kid).expect("a valid base");
    }
    fuzz("jwk-parser", 2_000, jwk_input(), |input| {
        target.check(input)
    });
}

/// The leak `fuzz_jwk_parser` found: `safe_code` keeps any text of up to 64 characters
/// of `[A-Za-z0-9_.-]`, and a P-256 private scalar is 43 such characters, so a secret
/// whose `d` landed in kid, use, kty or alg was printed in the error (which front doors
/// return and log). Fixed in key.rs: nothing read from the secret is echoed.
#[test]
fn key_material_is_never_echoed() {
    let [_, ec] = valid_jwks();
    let d = ec["d"].as_str().expect("d").to_string();
    let mut shown = Vec::new();
    for field in ["kid", "use", "kty", "alg"] {
        let mut jwk = ec.clone();
        jwk[field] = Value::from(d.as_str());
        shown.push(SigningKey::from_jwk_json(
            jwk.to_string().as_bytes(),
            EC_KID,
        ));
    }
    // As a damaged secret shows it: `d` right after `kid`, and `","d":"` lost.
    let damaged = format!(
        r#"{{"kty":"EC","crv":"P-256","kid":"{EC_KID}","d":"{d}","x":{},"y":{}}}"#,
        ec["x"], ec["y"]
    )
    .replace(r#"","d":""#, "");
    shown.push(SigningKey::from_jwk_json(damaged.as_bytes(), EC_KID));
    let leaks: Vec<String> = shown
        .into_iter()
        .map(|result| result.expect_err("refused").to_string())
        .filter(|message| message.contains(&d))
        .collect();
    assert!(leaks.is_empty(), "private key shown:\n{}", leaks.join("\n"));
}

// ---------------------------------------------------------------------------------
// 2. Token endpoint answers: 2xx bodies (`parse_success`) and error bodies
//    (`classify_failure`).

const ID_JAG: &str = xaa::ID_JAG_TOKEN_TYPE;
/// One member of a body as raw JSON text: kept as is, replaced, or sent twice.
#[derive(Debug, Clone)]
enum Member {
    Keep,
    Drop,
    Literal(String),
    Twice(String),
}

fn member(valid: &'static str) -> impl Strategy<Value = (&'static str, Member)> {
    let literal = prop_oneof![
        2 => number_literal(),
        2 => text().prop_map(|t| Value::String(t).to_string()),
        1 => json().prop_map(|v| v.to_string()),
    ]
    .boxed();
    (
        Just(valid),
        prop_oneof![
            6 => Just(Member::Keep),
            1 => Just(Member::Drop),
            3 => literal.clone().prop_map(Member::Literal),
            1 => literal.prop_map(Member::Twice),
        ],
    )
}

fn body_text(members: &[(&str, &str, Member)], extra: &[(String, Value)]) -> Vec<u8> {
    let mut parts = Vec::new();
    for (name, valid, m) in members {
        let name = Value::from(*name);
        match m {
            Member::Keep => parts.push(format!("{name}:{valid}")),
            Member::Drop => {}
            Member::Literal(l) => parts.push(format!("{name}:{l}")),
            Member::Twice(l) => {
                parts.push(format!("{name}:{valid}"));
                parts.push(format!("{name}:{l}"));
            }
        }
    }
    parts.extend(
        extra
            .iter()
            .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str()))),
    );
    format!("{{{}}}", parts.join(",")).into_bytes()
}

#[derive(Debug, Clone)]
enum Body {
    Bytes(Vec<u8>),
    Json(Value),
    /// A valid body of the leg's shape, its members changed one by one.
    Mutated(
        Vec<(&'static str, &'static str, Member)>,
        Vec<(String, Value)>,
        Vec<ByteMutation>,
    ),
}

impl Body {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Bytes(b) => b.clone(),
            Body::Json(v) => v.to_string().into_bytes(),
            Body::Mutated(members, extra, mutations) => {
                let mut text = body_text(members, extra);
                mutate_bytes(&mut text, mutations);
                text
            }
        }
    }
}

const ACCESS_TOKEN: &str = "\"eyJhbGciOiJSUzI1NiJ9.eyJTM0NSM1QiOjF9.S3CR3T-signature\"";
const ACCESS_TOKEN_RAW: &str = "eyJhbGciOiJSUzI1NiJ9.eyJTM0NSM1QiOjF9.S3CR3T-signature";

fn success_body() -> impl Strategy<Value = Body> {
    let valid =
        |name: &'static str, text: &'static str| member(name).prop_map(move |(n, m)| (n, text, m));
    let members = (
        valid("access_token", ACCESS_TOKEN),
        valid(
            "issued_token_type",
            "\"urn:ietf:params:oauth:token-type:id-jag\"",
        ),
        prop::sample::select(vec![
            "\"N_A\"",
            "\"Bearer\"",
            "\"bearer\"",
            "\"DPoP\"",
            "\"dpop\"",
        ])
        .prop_flat_map(move |tt| valid("token_type", tt)),
        valid("expires_in", "3600"),
        valid("scope", "\"xaa:read\""),
    )
        .prop_map(|(a, b, c, d, e)| vec![a, b, c, d, e]);
    let extra = prop_oneof![3 => Just(Vec::new()), 1 => vec((key(), json()), 1..3)];
    prop_oneof![
        1 => vec(any::<u8>(), 0..128).prop_map(Body::Bytes),
        1 => json().prop_map(Body::Json),
        8 => (members, extra, byte_mutations())
            .prop_map(|(m, e, b)| Body::Mutated(m, e, b)),
    ]
}

fn leg() -> impl Strategy<Value = Leg> {
    prop_oneof![Just(Leg::TokenExchange), Just(Leg::JwtBearer)]
}

/// The body as a JSON value, where it is one. Invalid UTF-8 is replaced first: serde
/// skips members it ignores (`deny_unknown_fields` is not set) without decoding them.
fn as_json(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes)
        .ok()
        .or_else(|| serde_json::from_str(&String::from_utf8_lossy(bytes)).ok())
}

fn check_success(leg: Leg, body: Body) -> Result<bool, TestCaseError> {
    let bytes = body.bytes();
    let parsed = as_json(&bytes);
    let mut secrets = vec![ACCESS_TOKEN_RAW.to_string()];
    if let Some(v) = &parsed {
        secret_values(v, &["access_token"], &mut secrets);
    }
    let result = parse_success(leg, &bytes);
    let accepted = result.is_ok();
    match result {
        Ok(issued) => {
            // Accepted means: a JSON object whose members say what the leg needs. (An
            // ignored member may hold what serde_json's Value refuses, such as 1e400.)
            prop_assert!(!issued.token.is_empty());
            // This target found serde reading a struct from a JSON array by position
            // (`["tok",null,0,null,""]` accepted as a leg 2 answer); only objects pass now.
            let v = match parsed {
                Some(Value::Object(v)) => v,
                Some(other) => {
                    prop_assert!(false, "accepted a body that is not an object: {other}");
                    unreachable!()
                }
                None => {
                    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
                    prop_assert!(matches!(first, Some(b'{')), "accepted {bytes:?}");
                    return Ok(true);
                }
            };
            prop_assert_eq!(
                Some(issued.token.as_str()),
                v.get("access_token").and_then(Value::as_str)
            );
            prop_assert!(!issued.token.is_empty());
            let expected_expiry = match v.get("expires_in") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) if s.bytes().all(|b| b.is_ascii_digit()) => {
                    s.parse::<u64>().ok()
                }
                Some(other) => {
                    return Err(TestCaseError::fail(format!("accepted expires_in {other}")))
                }
            };
            prop_assert_eq!(issued.expires_in, expected_expiry);
            match leg {
                Leg::TokenExchange => prop_assert_eq!(
                    v.get("issued_token_type").and_then(Value::as_str),
                    Some(ID_JAG)
                ),
                _ => prop_assert!(!v
                    .get("token_type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("dpop"))),
            }
            let shown = format!("{issued:?}");
            // (A token of digits only may equal the expires_in that Debug shows.)
            let token = issued.token.as_str();
            prop_assert!(!worth_checking(token) || !shown.contains(token), "{shown}");
        }
        Err(error @ OktaError::Protocol { .. }) => {
            prop_assert_eq!(error.kind(), "OktaProtocolError");
            let OktaError::Protocol { leg: reported, .. } = &error else {
                unreachable!()
            };
            prop_assert_eq!(*reported, leg);
            no_leak(&format!("{error} {error:?}"), &secrets)?;
        }
        Err(other) => prop_assert!(false, "undocumented refusal: {other:?}"),
    }
    Ok(accepted)
}

#[test]
fn fuzz_token_response_parser() {
    fuzz(
        "token-response",
        3_000,
        (leg(), success_body()),
        |(leg, body)| check_success(leg, body),
    );
}

const OKTA_CODES: &[&str] = &[
    "invalid_scope",
    "invalid_client",
    "invalid_grant",
    "invalid_token",
    "access_denied",
    "unauthorized_client",
    "token_exchange_invalid_audience",
    "insufficient_user_authentication",
    "invalid_target",
    "invalid_request",
    "server_error",
    "",
];

fn error_body() -> impl Strategy<Value = Body> {
    let code = prop_oneof![
        3 => prop::sample::select(OKTA_CODES).prop_map(|c| Value::from(c).to_string()),
        1 => text().prop_map(|t| Value::String(t).to_string()),
        1 => json().prop_map(|v| v.to_string()),
    ];
    let description = prop_oneof![
        2 => prop::sample::select(vec![
            "JWKSet not configured", "kid is invalid", "The audience claim is wrong",
            "aud mismatch", "signature verification failed", "",
        ])
        .prop_map(|d| format!("{d} ({CANARY} alice@example.com)")),
        2 => text(),
    ]
    .prop_map(|t| Value::String(t).to_string());
    let members = (
        code,
        description,
        option::of(number_literal()),
        option::weighted(0.2, (key(), json())),
    )
        .prop_map(|(code, desc, max_age, extra)| {
            let mut parts = vec![
                format!("\"error\":{code}"),
                format!("\"error_description\":{desc}"),
            ];
            if let Some(m) = max_age {
                parts.push(format!("\"max_age\":{m}"));
            }
            if let Some((k, v)) = extra {
                parts.push(format!("{}:{v}", Value::from(k)));
            }
            format!("{{{}}}", parts.join(",")).into_bytes()
        });
    prop_oneof![
        1 => vec(any::<u8>(), 0..128).prop_map(Body::Bytes),
        1 => json().prop_map(Body::Json),
        8 => (members, byte_mutations()).prop_map(|(mut b, m)| {
            mutate_bytes(&mut b, &m);
            Body::Bytes(b)
        }),
    ]
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop::sample::select(vec![200, 302, 400, 401, 403, 404, 429, 500, 501, 502, 503, 504]),
        1 => any::<u16>(),
    ]
}

fn retry_after() -> impl Strategy<Value = Option<Duration>> {
    option::of(prop_oneof![
        (0u64..600).prop_map(Duration::from_secs),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        Just(Duration::MAX),
    ])
}

const OKTA_KINDS: &[&str] = &[
    "ScopeRejected",
    "AgentAuthFailed",
    "IdTokenRejected",
    "PolicyDenied",
    "StepUpRequired",
    "OktaRejected",
    "OktaUnavailable",
];

fn check_failure(
    leg: Leg,
    status: u16,
    body: Body,
    retry_after: Option<Duration>,
) -> Result<bool, TestCaseError> {
    let bytes = body.bytes();
    let parsed = as_json(&bytes);
    let mut secrets = Vec::new();
    if let Some(v) = &parsed {
        secret_values(v, &["error_description"], &mut secrets);
    }
    let error = classify_failure(leg, status, &bytes, retry_after);
    prop_assert!(OKTA_KINDS.contains(&error.kind()), "kind {}", error.kind());
    let shown = format!("{error} {error:?}");
    // An identifier-like description may equal the (echoed) code or words of our hint.
    secrets.retain(|s| {
        !is_plain(s) || !shown.contains(s.as_str()) || {
            parsed
                .as_ref()
                .and_then(|v| v.get("error_description"))
                .and_then(Value::as_str)
                == Some(s.as_str())
        }
    });
    no_leak(&shown, &secrets)?;
    match &error {
        OktaError::Unavailable {
            leg: reported,
            transient,
            retry_after: kept,
            ..
        } => {
            prop_assert_eq!(*reported, leg);
            prop_assert_eq!(*kept, retry_after);
            prop_assert_eq!(
                *transient,
                matches!(status, 500 | 502 | 503 | 504) || (status == 429 && retry_after.is_some())
            );
        }
        OktaError::Rejected {
            leg: reported,
            status: kept,
            code,
            ..
        } => {
            prop_assert!(
                status != 429 && status < 500,
                "{status} must be Unavailable"
            );
            prop_assert_eq!(*reported, leg);
            prop_assert_eq!(*kept, status);
            prop_assert!(is_plain(code) || code == "<unrecognised>" || code.starts_with("HTTP "));
            prop_assert!(!error.is_transient());
        }
        OktaError::Protocol { .. } => prop_assert!(false, "a failure read as a protocol error"),
        OktaError::ConsentRequired { .. } => {
            prop_assert!(false, "classify_failure does not read consent answers")
        }
    }
    Ok(matches!(error, OktaError::Rejected { .. }))
}

#[test]
fn fuzz_error_body_classifier() {
    fuzz(
        "okta-error-body",
        3_000,
        (leg(), status(), error_body(), retry_after()),
        |(leg, status, body, retry_after)| check_failure(leg, status, body, retry_after),
    );
}
