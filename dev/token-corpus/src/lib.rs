//! The conformance corpus of access tokens, built by one piece of code for every test that
//! runs it: `crates/verify/tests/conformance.rs` (our verifier against Okta's Node
//! verifier) and `bins/tool-lambda/tests/corpus.rs` (every token through the real
//! `xaa-tool` binary). Real tokens come from devstack's two legs; hostile ones are derived
//! from them or signed by a loopback issuer of our own. Each case names its policy and
//! what both verifiers are expected to answer. Dev-only: never linked into a shipped binary.
//!
//! ```text
//! lib.rs             Corpus::build (devstack, the loopback issuer, policies, cases), verifiers
//! corpus.rs          policies, expected verdicts, the STRICTER table, JWS helpers
//! issuer.rs          a loopback authorization server of our own (key, discovery, JWKS)
//! devstack_cases.rs  devstack's tokens (leg 1 + leg 2) and ones derived from them
//! local_cases.rs     crafted tokens signed by our own issuer: claims defects
//! jws_cases.rs       crafted tokens: header, algorithm, signature, encoding defects
//! ```

mod corpus;
mod devstack_cases;
mod issuer;
mod jws_cases;
mod local_cases;

use std::sync::Arc;
use std::time::Duration;

use devstack::{Config, Devstack};
use verify::{AccessPolicy, AccessTokenVerifier, Jwks};

pub use corpus::{Case, Okta, Ours, Policy, SCOPE, STRICTER};
pub use issuer::LocalIssuer;

/// The corpus and the servers its tokens are judged against (both stop when it is dropped).
pub struct Corpus {
    /// Devstack with scopes `xaa:read xaa:write`: issuer of the real tokens.
    pub devstack: Devstack,
    /// The loopback issuer whose key signs the crafted tokens.
    pub local: LocalIssuer,
    /// Indexed by [`Case::policy`].
    pub policies: Vec<Policy>,
    pub cases: Vec<Case>,
}

impl Corpus {
    /// Start devstack and the loopback issuer, run devstack's flow for real tokens, and
    /// build every case.
    pub async fn build() -> Corpus {
        let devstack = Devstack::start(Config {
            scopes: vec!["xaa:read".into(), "xaa:write".into()],
            ..Config::default()
        })
        .await
        .expect("devstack");
        let local = LocalIssuer::start().await;
        let policies = corpus::policies(&devstack.custom_as_issuer(), &local.issuer);
        let dev = devstack_cases::dev_tokens(&devstack).await;
        let mut cases = devstack_cases::cases(&devstack, &dev);
        cases.extend(local_cases::cases(&local));
        cases.extend(jws_cases::cases(&local));
        Corpus {
            devstack,
            local,
            policies,
            cases,
        }
    }
}

/// Our verifier for each policy (one JWKS per issuer, found by discovery), in order.
pub async fn verifiers(policies: &[Policy]) -> Vec<AccessTokenVerifier> {
    let transport: Arc<dyn xaa::TokenTransport> =
        Arc::new(xaa::ReqwestTransport::new(Duration::from_secs(5), true).expect("transport"));
    let clock: Arc<dyn xaa::Clock> = Arc::new(xaa::SystemClock);
    let mut by_issuer: Vec<(String, Arc<Jwks>)> = Vec::new();
    let mut out = Vec::new();
    for p in policies {
        let jwks = match by_issuer.iter().find(|(i, _)| *i == p.issuer) {
            Some((_, jwks)) => jwks.clone(),
            None => {
                let jwks = Jwks::discover(&p.issuer, transport.clone(), clock.clone())
                    .await
                    .unwrap_or_else(|e| panic!("discovery of {}: {e}", p.issuer));
                let jwks = Arc::new(jwks);
                by_issuer.push((p.issuer.clone(), jwks.clone()));
                jwks
            }
        };
        let policy = AccessPolicy::new(
            p.issuer.clone(),
            p.audience.clone(),
            p.clients.clone(),
            p.scopes.clone(),
            p.subjects,
            p.leeway,
        )
        .expect("policy");
        out.push(AccessTokenVerifier::new(policy, jwks, clock.clone()));
    }
    out
}

/// A markdown table of `rows` (the first is the header) on stdout, columns padded.
pub fn print_table<const N: usize>(rows: &[[String; N]]) {
    let widths: Vec<usize> = (0..N)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("| {} |", cells.join(" | "));
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            println!("| {} |", rule.join(" | "));
        }
    }
}
