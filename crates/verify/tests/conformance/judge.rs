//! Okta's verifier as a judge: `node dev/okta-verifier/judge.js` once for the whole corpus
//! (one group per policy), one JSON verdict per token back.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use token_corpus::{Case, Okta, Policy};

/// What judge.js said about one token.
pub struct Verdict {
    pub okta: Okta,
    /// The class, or the exception's name for a token without a verdict.
    pub class: String,
    /// On acceptance: cid, uid, act_sub, scp, exp.
    pub claims: Value,
}

pub fn judge_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dev/okta-verifier")
}

/// Fails (never skips) when the tool is missing, saying how to get it.
fn check_installed() -> PathBuf {
    let dir = judge_dir();
    let installed = dir.join("node_modules/@okta/jwt-verifier/package.json");
    assert!(
        installed.is_file(),
        "Okta's verifier is not installed in {}: run `make okta-verifier` (npm ci; needs node 20+)",
        dir.display()
    );
    dir
}

pub async fn judge(policies: &[Policy], cases: &[Case]) -> Vec<Verdict> {
    let dir = check_installed();
    // One group per policy, in policy order; `order` maps the output lines back to cases.
    let mut order = Vec::new();
    let groups: Vec<Value> = policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let tokens: Vec<&str> = cases
                .iter()
                .enumerate()
                .filter(|(_, c)| c.policy == i)
                .map(|(n, c)| {
                    order.push(n);
                    c.token.as_str()
                })
                .collect();
            json!({"issuer": p.issuer, "audience": p.audience, "clientIds": p.clients,
                   "scopes": p.scopes, "tokens": tokens})
        })
        .collect();
    let mut child = tokio::process::Command::new("node")
        .arg("judge.js")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run node ({e}): node 20+ must be on PATH (make okta-verifier)")
        });
    let input = json!({ "groups": groups }).to_string();
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = tokio::spawn(async move {
        stdin
            .write_all(input.as_bytes())
            .await
            .expect("write to judge.js");
    });
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("judge.js answered within 60 s")
        .expect("judge.js ran");
    writer.await.expect("stdin writer");
    assert!(
        out.status.success(),
        "judge.js failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("judge.js prints JSON lines"))
        .collect();
    assert_eq!(lines.len(), cases.len(), "one verdict per token");
    let mut verdicts: Vec<Option<Verdict>> = (0..cases.len()).map(|_| None).collect();
    for (line, n) in lines.into_iter().zip(order) {
        let class = line["class"].as_str().unwrap_or_default().to_string();
        let okta = match line["verdict"].as_str() {
            Some("accept") => Okta::Accept,
            Some("reject") => Okta::Reject(leak_class(&class)),
            Some("error") => Okta::NoVerdict,
            other => panic!("judge.js verdict {other:?}"),
        };
        verdicts[n] = Some(Verdict {
            okta,
            class,
            claims: line,
        });
    }
    verdicts
        .into_iter()
        .map(|v| v.expect("a verdict"))
        .collect()
}

/// The class as a `&'static str` (the few judge.js can print), so it compares with the corpus.
fn leak_class(class: &str) -> &'static str {
    const CLASSES: &[&str] = &[
        "token_malformed",
        "alg_not_allowed",
        "expired",
        "not_yet_valid",
        "unknown_kid",
        "jwks_unavailable",
        "bad_signature",
        "wrong_audience",
        "wrong_issuer",
        "client_not_allowed",
        "scope_missing",
    ];
    CLASSES
        .iter()
        .find(|c| **c == class)
        .copied()
        .unwrap_or_else(|| panic!("judge.js printed an unknown class {class:?}"))
}
