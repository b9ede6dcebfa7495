//! What the CLI prints: a JSON description of a credential (its values only with
//! `--reveal`), and one exit code per error kind.

use serde_json::{json, Map, Value};
use xaa::{Credential, Secret};

/// Exit codes, one per error kind (also listed in `xaa --help`).
pub const EXIT_CODES: &[(u8, &str)] = &[
    (0, "success"),
    (1, "unexpected failure (I/O)"),
    (2, "usage or configuration error (flags, environment)"),
    (
        3,
        "KeyError: the signing key or client secret could not be loaded",
    ),
    (
        4,
        "ConsentRequired: the person must consent at the printed interaction_uri",
    ),
    (
        5,
        "IdTokenRejected / SubjectTokenRejected: get a fresh subject token",
    ),
    (
        6,
        "AgentAuthFailed: client authentication refused (key, kid, secret, client type)",
    ),
    (7, "ScopeRejected"),
    (
        8,
        "PolicyDenied: no access policy rule (or managed connection) allows it",
    ),
    (9, "StepUpRequired: the person must sign in again"),
    (10, "OktaRejected: another refusal (e.g. unknown resource)"),
    (11, "OktaUnavailable: network, 5xx or rate limit"),
    (
        12,
        "OktaProtocolError: an answer that is not what was asked for",
    ),
    (13, "Timeout"),
];

pub const USAGE: u8 = 2;
pub const UNEXPECTED: u8 = 1;
pub const CONSENT: u8 = 4;

/// The exit code of an error kind (`xaa::Error::kind`).
pub fn exit_code(kind: &str) -> u8 {
    match kind {
        "ConfigError" => USAGE,
        "KeyError" => 3,
        "ConsentRequired" => CONSENT,
        "IdTokenRejected" | "SubjectTokenRejected" => 5,
        "AgentAuthFailed" => 6,
        "ScopeRejected" => 7,
        "PolicyDenied" => 8,
        "StepUpRequired" => 9,
        "OktaRejected" => 10,
        "OktaUnavailable" => 11,
        "OktaProtocolError" => 12,
        "Timeout" => 13,
        _ => UNEXPECTED,
    }
}

/// `--help` text for the exit codes.
pub fn exit_code_help() -> String {
    let mut text = String::from("Exit codes:\n");
    for (code, meaning) in EXIT_CODES {
        text.push_str(&format!("  {code:>2}  {meaning}\n"));
    }
    text
}

/// The credential as JSON: its type, expiry, scope and the names of its values; the
/// values themselves only when `reveal`.
pub fn describe(grant: &str, credential: &Credential, now: u64, reveal: bool) -> Value {
    let mut out = Map::new();
    out.insert("grant".into(), grant.into());
    out.insert("type".into(), credential.secret.kind().into());
    out.insert(
        "issued_token_type".into(),
        credential
            .issued_token_type
            .map_or(Value::Null, Value::from),
    );
    out.insert("expires_at".into(), json!(credential.expires_at));
    out.insert(
        "expires_in".into(),
        json!(credential.expires_at.map(|at| at.saturating_sub(now))),
    );
    out.insert("scope".into(), json!(credential.scope));
    out.insert("fields".into(), json!(credential.secret.field_names()));
    out.insert("revealed".into(), reveal.into());
    if reveal {
        out.insert("values".into(), values(&credential.secret));
    }
    Value::Object(out)
}

fn values(secret: &Secret) -> Value {
    match secret {
        Secret::IdJag(t) => json!({"access_token": t.expose()}),
        Secret::AccessToken(t) => json!({"access_token": t.expose()}),
        Secret::VaultedSecret(map) => Value::Object(
            map.iter()
                .map(|(name, value)| (name.to_string(), Value::from(value.expose())))
                .collect(),
        ),
        Secret::ServiceAccount { username, password } => {
            json!({"username": username.expose(), "password": password.expose()})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_code_and_the_help_lists_them() {
        let kinds = [
            "KeyError",
            "ConsentRequired",
            "IdTokenRejected",
            "AgentAuthFailed",
            "ScopeRejected",
            "PolicyDenied",
            "StepUpRequired",
            "OktaRejected",
            "OktaUnavailable",
            "OktaProtocolError",
            "Timeout",
        ];
        let mut codes: Vec<u8> = kinds.iter().map(|k| exit_code(k)).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len());
        assert!(!codes.contains(&0) && !codes.contains(&USAGE) && !codes.contains(&UNEXPECTED));
        let help = exit_code_help();
        for code in codes {
            assert!(help.contains(&format!("{code:>2}  ")), "{help}");
        }
    }

    #[test]
    fn values_appear_only_when_revealed() {
        let credential = Credential {
            secret: Secret::AccessToken(xaa::AccessToken::new("tok-value")),
            issued_token_type: None,
            expires_at: Some(1_100),
            scope: Some("repo".into()),
        };
        let hidden = describe("oauth-sts", &credential, 1_000, false).to_string();
        assert!(!hidden.contains("tok-value"), "{hidden}");
        assert!(hidden.contains(r#""expires_in":100"#), "{hidden}");
        let shown = describe("oauth-sts", &credential, 1_000, true);
        assert_eq!(shown["values"]["access_token"], "tok-value");
    }
}
