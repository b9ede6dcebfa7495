//! Every token of the conformance corpus (dev/token-corpus: the one crates/verify's
//! conformance test holds against Okta's own verifier) through the real `xaa-tool` binary,
//! in `sessionAttributes.oktaAccessToken` of a function-details event. For each token:
//!
//! - our verifier refuses it: the tool answers `responseState: FAILURE` with the same
//!   reason code in its message and its audit line, and the recording API got no request;
//! - our verifier accepts it: the tool made exactly one API call, with
//!   `Authorization: Bearer <that token>`, and its audit line names the same agent, person
//!   and `jti` hash.
//!
//! Our verifier judges each token under the policy the tool runs (`as_the_tool_runs`), and
//! where that is the corpus's own policy, its verdict must also be the one the case
//! expects, so a verifier and a tool that both accepted everything would fail here too.
//! One tool process per distinct policy, all started at once; one event at a time, so
//! the API's record since the last event is that event's. The table is printed
//! (`--nocapture` to see it).

mod common;

use std::time::Duration;

use common::api::Recorded;
use common::*;
use devstack::runtime_api::{Outcome, RuntimeApi};
use serde_json::Value;
use testkit::Process;
use token_corpus::{Case, Corpus, Policy, SCOPE};
use verify::{Principal, Refusal, Subjects};

/// Far above what an answer takes (milliseconds): a tool that died on a token fails here.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);
const TARGET: &str = "/api/tickets/TCK-1001";

/// The tool's configuration nearest to a corpus policy.
fn as_the_tool_runs(p: &Policy) -> Policy {
    let mut p = p.clone();
    // TOOL_REQUIRED_SCOPES must name at least one scope (init refuses none): the corpus's
    // policy needing none runs needing the scope of its issuer's tokens.
    if p.scopes.is_empty() {
        p.scopes = vec![SCOPE.to_string()];
    }
    p
}

/// The code the tool gives for a token ours refuses. An empty attribute is no token to
/// the tool: it answers `token_missing` before any verification.
fn tool_code(token: &str, refusal: &Refusal) -> &'static str {
    if token.is_empty() {
        "token_missing"
    } else {
        refusal.code()
    }
}

/// One `xaa-tool` process with one policy, polling a Runtime API of its own.
struct Tool {
    runtime: RuntimeApi,
    process: Process,
}

impl Tool {
    async fn spawn(corpus: &Corpus, api: &ApiServer, p: &Policy) -> Tool {
        let runtime = RuntimeApi::start().await.expect("the Runtime API starts");
        let subjects = match p.subjects {
            Subjects::Xaa => "xaa",
            Subjects::Agbac => "agbac",
        };
        let (clients, scopes) = (p.clients.join(" "), p.scopes.join(" "));
        let leeway = p.leeway.as_secs().to_string();
        let overrides = [
            ("TOOL_ISSUER", p.issuer.as_str()),
            ("TOOL_AUDIENCE", p.audience.as_str()),
            ("TOOL_ALLOWED_CLIENTS", clients.as_str()),
            ("TOOL_REQUIRED_SCOPES", scopes.as_str()),
            ("TOOL_SUBJECTS", subjects),
            ("TOOL_LEEWAY_SECS", leeway.as_str()),
        ];
        let env = tool_env(&corpus.devstack, api, &runtime, &overrides, &[]);
        let process = Process::spawn(env!("CARGO_BIN_EXE_xaa-tool"), &env);
        Tool { runtime, process }
    }
}

/// What happened to one token.
struct Ran {
    tool: usize,
    /// Our verifier's verdict under the tool's policy.
    ours: Result<Principal, Refusal>,
    /// `(responseState, TEXT body)`, or why there was no response.
    answer: Result<(Option<String>, String), String>,
    calls: Vec<Recorded>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_token_through_the_tool_refused_with_no_call_or_called_once() {
    let corpus = Corpus::build().await;
    let api = ApiServer::start().await;
    let mut policies: Vec<Policy> = Vec::new();
    let tool_of: Vec<usize> = corpus
        .policies
        .iter()
        .map(|p| {
            let p = as_the_tool_runs(p);
            policies.iter().position(|q| *q == p).unwrap_or_else(|| {
                policies.push(p);
                policies.len() - 1
            })
        })
        .collect();
    let mut tools = Vec::new();
    for p in &policies {
        tools.push(Tool::spawn(&corpus, &api, p).await);
    }
    for tool in &mut tools {
        if tool.runtime.wait_until_ready(READY_TIMEOUT).await.is_none() {
            panic!("xaa-tool never asked for an event\n{}", tool.process.stop());
        }
    }
    let verifiers = token_corpus::verifiers(&policies).await;

    let mut runs = Vec::new();
    for case in &corpus.cases {
        let t = tool_of[case.policy];
        let ours = verifiers[t].verify(&case.token).await;
        let event = function_event(
            "getTicket",
            &[("id", "string", "TCK-1001")],
            Some(&case.token),
        );
        let answer = match tools[t].runtime.invoke(&event, ANSWER_TIMEOUT).await {
            Some(Outcome::Response(r)) => {
                let (state, text) = function_result(&r);
                Ok((state.map(str::to_string), text.to_string()))
            }
            Some(Outcome::Error {
                error_type,
                error_message,
            }) => Err(format!("a Lambda error {error_type}: {error_message}")),
            None => Err(format!("no answer\n{}", tools[t].process.output())),
        };
        let calls = api.take();
        runs.push(Ran {
            tool: t,
            ours,
            answer,
            calls,
        });
    }

    // Stopped, every line is read: the audit lines, in each tool's order of events.
    let mut secrets = vec![
        ("the prompt".to_string(), "prompt-secret-4410".to_string()),
        ("an API body".to_string(), API_BODY_MARKER.to_string()),
        ("an email domain".to_string(), "@example.com".to_string()),
    ];
    for user in &corpus.devstack.config().users {
        secrets.push(("an email".into(), user.login.clone()));
        secrets.push(("a name".into(), user.name.clone()));
    }
    for case in &corpus.cases {
        let parts = std::iter::once(case.token.as_str()).chain(case.token.split('.').skip(1));
        for part in parts.filter(|p| p.len() >= 16) {
            secrets.push((format!("(part of) the token {:?}", case.label), part.into()));
        }
    }
    let mut audit: Vec<std::vec::IntoIter<Value>> = Vec::new();
    for tool in &mut tools {
        let logs = tool.process.stop();
        testkit::scan::assert_nothing_secret_in(&logs, &secrets);
        audit.push(audit_lines(&logs.stdout).into_iter());
    }

    let mut rows = vec![[
        "token".to_string(),
        "our verifier".into(),
        "tool".into(),
        "API calls".into(),
    ]];
    let mut failures = Vec::new();
    let (mut refused, mut accepted) = (0, 0);
    for (case, ran) in corpus.cases.iter().zip(&runs) {
        let line = audit[ran.tool].next();
        let adjusted = policies[ran.tool] != corpus.policies[case.policy];
        for f in check(case, ran, line.as_ref(), adjusted) {
            failures.push(format!("{}: {f}", case.label));
        }
        refused += usize::from(ran.ours.is_err());
        accepted += usize::from(ran.ours.is_ok());
        let tool = match (&ran.answer, &line) {
            (Err(e), _) => e.lines().next().unwrap_or_default().to_string(),
            (Ok((state, _)), Some(l)) => format!(
                "{} {}",
                state.as_deref().unwrap_or("success"),
                l["reason"].as_str().unwrap_or("?")
            ),
            (Ok((state, _)), None) => format!("{state:?}, no audit line"),
        };
        rows.push([
            format!("{}{}", case.label, if adjusted { " *" } else { "" }),
            ran.ours
                .as_ref()
                .map_or_else(Refusal::code, |_| "accept")
                .into(),
            tool,
            ran.calls.len().to_string(),
        ]);
    }
    token_corpus::print_table(&rows);
    println!(
        "\n{} tokens through {} xaa-tool processes: ours refuses {refused}, accepts {accepted}.\n\
         * the tool runs a nearer policy (a required scope), ours judged under it.",
        corpus.cases.len(),
        tools.len()
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        refused >= 40 && accepted >= 5,
        "too few refusals or acceptances to mean anything"
    );
}

/// Every way the tool's handling of this token differs from our verifier's verdict.
fn check(case: &Case, ran: &Ran, line: Option<&Value>, adjusted: bool) -> Vec<String> {
    let mut failures = Vec::new();
    let refused = ran.ours.as_ref().err().map(Refusal::code);
    if !adjusted && !case.ours.admits(refused) {
        failures.push(format!(
            "ours answered {}, the case expects {:?}",
            refused.unwrap_or("accept"),
            case.ours
        ));
    }
    let (state, text) = match &ran.answer {
        Ok((state, text)) => (state.as_deref(), text.as_str()),
        Err(e) => return vec![format!("the tool gave no response: {e}")],
    };
    let Some(line) = line else {
        return vec!["the tool wrote no audit line".into()];
    };
    let names = (line["agent"].as_str(), line["person"].as_str());
    match &ran.ours {
        Err(refusal) => {
            let code = tool_code(&case.token, refusal);
            if state != Some("FAILURE") || !text.contains(code) {
                failures.push(format!(
                    "ours refuses ({code}), the tool answered {state:?}: {text}"
                ));
            }
            if (line["outcome"].as_str(), line["reason"].as_str()) != (Some("refused"), Some(code))
            {
                failures.push(format!("ours refuses ({code}), the audit line: {line}"));
            }
            if names != (None, None) || !line["jti_hash"].is_null() {
                failures.push(format!("a refusal's audit line names someone: {line}"));
            }
            if !ran.calls.is_empty() {
                failures.push(format!(
                    "ours refuses ({code}), and the API got {} request(s)",
                    ran.calls.len()
                ));
            }
        }
        Ok(p) => {
            if state.is_some() {
                failures.push(format!("ours accepts, the tool answered {state:?}: {text}"));
            }
            let bearer = format!("Bearer {}", case.token);
            let right = |c: &Recorded| {
                (
                    c.method.as_str(),
                    c.target.as_str(),
                    c.authorization.as_deref(),
                ) == ("GET", TARGET, Some(bearer.as_str()))
            };
            match ran.calls.as_slice() {
                [call] if right(call) => {}
                [call] => failures.push(format!(
                    "the call is not GET {TARGET} with the token as bearer ({} {}, {})",
                    call.method,
                    call.target,
                    if call.authorization.is_some() {
                        "another Authorization"
                    } else {
                        "no Authorization"
                    }
                )),
                calls => failures.push(format!(
                    "ours accepts, and the API got {} requests, not one",
                    calls.len()
                )),
            }
            let want = (Some(p.agent.as_str()), Some(p.person.as_str()));
            if names != want
                || line["outcome"] != "allowed"
                || line["jti_hash"].as_str() != Some(p.jti_hash.as_str())
            {
                failures.push(format!(
                    "ours accepts {want:?}, the audit line says otherwise: {line}"
                ));
            }
        }
    }
    failures
}
