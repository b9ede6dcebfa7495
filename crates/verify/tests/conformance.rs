//! Conformance: our `AccessTokenVerifier` held against Okta's own Node verifier
//! (`@okta/jwt-verifier` 4.0.2, installed by `make okta-verifier`) on one corpus of tokens:
//! real ones from devstack's flow and hostile ones crafted here. For every token: when Okta
//! accepts, we accept (or refuse for a reason listed in `token_corpus::STRICTER`) and name the
//! same agent, person, scopes and expiry; when Okta refuses or cannot judge, we refuse.
//! Each case also states what both verifiers are expected to answer, so a corpus that stops
//! testing what it says fails too. The table is printed (`--nocapture` to see it).
//!
//! Clock skew: Okta's Node verifier allows none (njwt compares `exp`/`nbf` with the clock
//! as is); ours allows `DEFAULT_LEEWAY` (60 s). Times in the corpus are an hour off, and the
//! boundary cases (30 s off) run with ours at 0 s leeway, where both must agree. Inside
//! the leeway (e.g. expired 30 s ago) ours at its default accepts what Okta's refuses.
//!
//! ```text
//! conformance.rs        the test: both verifiers, the table, the checks
//! conformance/judge.rs  node dev/okta-verifier/judge.js, once for the whole corpus
//! dev/token-corpus      the corpus (devstack's tokens, the loopback issuer's, the
//!                       policies, expected verdicts, STRICTER), shared with xaa-tool's
//!                       tests/corpus.rs, which runs every token through the real binary
//! ```

#[path = "conformance/judge.rs"]
mod judge;

use judge::Verdict;
use serde_json::Value;
use token_corpus::{Case, Corpus, Okta, STRICTER};
use verify::{Principal, Refusal, Subjects};

/// Corpus size the issue asks for, at least.
const MIN_TOKENS: usize = 40;

fn okta_cell(v: &Verdict) -> String {
    match v.okta {
        Okta::Accept => "accept".into(),
        Okta::Reject(class) => format!("reject: {class}"),
        Okta::NoVerdict => format!("no verdict ({})", v.class),
    }
}

/// What differs between our principal and the claims Okta's verifier accepted.
fn principal_differences(p: &Principal, subjects: Subjects, okta: &Value) -> Vec<String> {
    let person = match subjects {
        Subjects::Xaa => &okta["uid"],
        Subjects::Agbac => &okta["act_sub"],
    };
    let scopes: Vec<&str> = okta["scp"]
        .as_array()
        .map_or(Vec::new(), |a| a.iter().filter_map(Value::as_str).collect());
    let mut diff = Vec::new();
    if okta["cid"].as_str() != Some(p.agent.as_str()) {
        diff.push("agent is not Okta's cid".to_string());
    }
    if person.as_str() != Some(p.person.as_str()) {
        diff.push("person differs from Okta's claims".to_string());
    }
    if scopes != p.scopes.iter().map(String::as_str).collect::<Vec<_>>() {
        diff.push("scopes differ from Okta's scp".to_string());
    }
    if okta["exp"].as_u64() != Some(p.expires_at) {
        diff.push("expires_at is not Okta's exp".to_string());
    }
    diff
}

/// Every way this case fails the conformance rule or its own expectations.
fn check(
    case: &Case,
    okta: &Verdict,
    ours: &Result<Principal, Refusal>,
    subjects: Subjects,
) -> Vec<String> {
    let mut failures = Vec::new();
    if okta.okta != case.okta {
        failures.push(format!(
            "corpus: Okta's verifier answered {}, the case expects {:?}",
            okta_cell(okta),
            case.okta
        ));
    }
    let refused = ours.as_ref().err().map(Refusal::code);
    if !case.ours.admits(refused) {
        failures.push(format!(
            "ours answered {}, the case expects {:?}",
            refused.unwrap_or("accept"),
            case.ours
        ));
    }
    match (&okta.okta, ours) {
        (Okta::Accept, Ok(p)) => failures.extend(principal_differences(p, subjects, &okta.claims)),
        (Okta::Accept, Err(_)) if case.stricter.is_none() => failures
            .push("Okta's verifier accepts, ours refuses, and no STRICTER entry says why".into()),
        (Okta::Reject(_) | Okta::NoVerdict, Ok(_)) => failures.push(
            "LOOSER THAN OKTA: Okta's verifier refuses (or cannot judge) and ours accepts".into(),
        ),
        _ => {}
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_verdicts_hold_against_oktas_own_verifier() {
    let corpus = Corpus::build().await;
    let (policies, cases) = (&corpus.policies, &corpus.cases);
    assert!(
        cases.len() >= MIN_TOKENS,
        "{} tokens, the corpus needs {MIN_TOKENS}",
        cases.len()
    );

    let verdicts = judge::judge(policies, cases).await;
    let verifiers = token_corpus::verifiers(policies).await;

    let mut rows = vec![[
        "token".to_string(),
        "Okta".into(),
        "ours".into(),
        "code".into(),
        "stricter".into(),
    ]];
    let mut failures = Vec::new();
    let (mut okta_accepts, mut we_accept) = (0, 0);
    for (case, okta) in cases.iter().zip(&verdicts) {
        let ours = verifiers[case.policy].verify(&case.token).await;
        okta_accepts += usize::from(okta.okta == Okta::Accept);
        we_accept += usize::from(ours.is_ok());
        let code = ours.as_ref().map_or_else(|r| r.code(), |_| "-");
        for f in check(case, okta, &ours, policies[case.policy].subjects) {
            failures.push(format!("{}: {f}", case.label));
        }
        rows.push([
            case.label.clone(),
            okta_cell(okta),
            if ours.is_ok() { "accept" } else { "refuse" }.into(),
            code.into(),
            if ours.is_err() && okta.okta == Okta::Accept {
                case.stricter.unwrap_or("?")
            } else {
                ""
            }
            .into(),
        ]);
    }
    token_corpus::print_table(&rows);
    println!(
        "\n{} tokens: Okta's verifier accepts {okta_accepts}, ours {we_accept}; ours stricter on {}.",
        cases.len(),
        rows.iter().skip(1).filter(|r| !r[4].is_empty()).count()
    );
    println!("\nWhere ours is stricter:");
    for (key, why) in STRICTER {
        println!("- {key}: {why}");
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Both verifiers see valid tokens: a judge that refused everything would not do.
    assert!(
        okta_accepts >= 5 && we_accept >= 5,
        "too few acceptances to mean anything"
    );
}
