//! The verify job (`--only verify`): access-token verification throughput on one core with
//! a warm JWKS cache, ours beside Okta's own Node verifier, on the same token in one run.
//!
//! * **ours**: `verify::AccessTokenVerifier` on a current_thread tokio runtime in one OS
//!   thread; its JWKS fetched (discovery + keys) and the token verified once before the
//!   clock starts, then `--verify-count` verifications back to back.
//! * **Okta's**: `node judge.js --bench N` (dev/okta-verifier, `@okta/jwt-verifier` with
//!   `testing.disableHttpsCheck` against the same loopback issuer): one verification fills
//!   its JWKS cache, 1,000 warm up V8, then N back to back on node's one JavaScript thread.
//! * **the floor**: the RS256 signature check alone with aws-lc-rs, on the same thread
//!   and token: with the key parsed once (`ParsedPublicKey`), and with the key built from
//!   `n`/`e` at every call (`RsaPublicKeyComponents`, what jsonwebtoken does).
//! * The token is a real one: devstack's leg 1 + leg 2 for one user. Rounds take turns
//!   (ours, then Okta's); the report gives the median round of each and the ratio.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use devstack::{Config, Devstack, IdTokenOptions};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use verify::{AccessPolicy, AccessTokenVerifier, Jwks, Subjects, DEFAULT_LEEWAY};

use crate::args::Args;
use crate::stats::thousands;
use crate::{loadavg, progress, Res};

/// The target: ours at least this many times Okta's.
const TARGET_RATIO: f64 = 10.0;

pub struct VerifyFigures {
    /// Verifications per second, one entry per round.
    pub ours: Vec<f64>,
    pub okta: Vec<f64>,
    /// RS256 alone: key parsed once, key built at every call.
    pub parsed: Vec<f64>,
    pub per_call: Vec<f64>,
    pub count: usize,
    pub token_bytes: usize,
    pub node: String,
    pub load: (String, String),
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `count` verifications on a fresh current_thread runtime in a thread of its own.
fn ours_round(verifier: Arc<AccessTokenVerifier>, token: Arc<String>, count: usize) -> Res<f64> {
    let thread = std::thread::spawn(move || -> Res<f64> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let started = Instant::now();
            for _ in 0..count {
                verifier
                    .verify(&token)
                    .await
                    .map_err(|r| format!("our verifier refused the bench token: {}", r.code()))?;
            }
            Ok(count as f64 / started.elapsed().as_secs_f64())
        })
    });
    thread.join().map_err(|_| "the verify thread panicked")?
}

/// The bare RS256 check of `token` with the custom AS key `jwk`, `count` times each way,
/// on a thread of its own: (key parsed once, key built from n/e per call), per second.
fn floor_round(jwk: &Value, token: &str, count: usize) -> Res<(f64, f64)> {
    let b64 = |field: &str| -> Res<Vec<u8>> {
        let text = jwk[field].as_str().ok_or("the JWK has no n or e")?;
        Ok(URL_SAFE_NO_PAD.decode(text)?)
    };
    let (n, e) = (b64("n")?, b64("e")?);
    let (input, sig) = token.rsplit_once('.').ok_or("not a JWS")?;
    let (input, sig) = (input.to_string(), URL_SAFE_NO_PAD.decode(sig)?);
    let spki = aws_lc_rs::rsa::PublicKeyComponents {
        n: n.clone(),
        e: e.clone(),
    }
    .as_der()
    .map_err(|_| "cannot encode the RSA key")?;
    let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki.as_ref())
        .map_err(|e| format!("aws-lc-rs refused the RSA key: {e}"))?;
    let thread = std::thread::spawn(move || -> Res<(f64, f64)> {
        let timed = |f: &dyn Fn() -> bool| -> Res<f64> {
            let started = Instant::now();
            for _ in 0..count {
                if !f() {
                    return Err("the RS256 floor refused the bench token".into());
                }
            }
            Ok(count as f64 / started.elapsed().as_secs_f64())
        };
        let once = timed(&|| parsed.verify_sig(input.as_bytes(), &sig).is_ok())?;
        let components = RsaPublicKeyComponents { n: &n, e: &e };
        let each = timed(&|| {
            components
                .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &sig)
                .is_ok()
        })?;
        Ok((once, each))
    });
    thread.join().map_err(|_| "the floor thread panicked")?
}

async fn okta_round(judge_dir: &Path, input: &Value, count: usize) -> Res<f64> {
    let mut child = tokio::process::Command::new("node")
        .arg("judge.js")
        .arg("--bench")
        .arg(count.to_string())
        .current_dir(judge_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run node ({e}): node 20+ must be on PATH"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin for node")?;
    stdin.write_all(input.to_string().as_bytes()).await?;
    drop(stdin);
    // Okta's verifier does about 5,000 a second: allow a tenth of that, plus start-up.
    let limit = Duration::from_secs(30 + (count / 500) as u64);
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| "judge.js --bench did not finish in time")??;
    if !out.status.success() {
        return Err(format!(
            "judge.js --bench failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let answer: Value = serde_json::from_slice(&out.stdout)?;
    answer["ops_per_sec"]
        .as_f64()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| "judge.js --bench printed no ops_per_sec".into())
}

async fn node_version() -> String {
    match tokio::process::Command::new("node")
        .arg("--version")
        .output()
        .await
    {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Err(_) => "?".into(),
    }
}

pub async fn run(args: &Args) -> Res<VerifyFigures> {
    let load_before = loadavg();
    progress("verify: devstack, one access token through leg 1 + leg 2");
    let stack = Devstack::start(Config::default()).await?;
    let settings = stack.settings();
    let user = settings.users.first().ok_or("devstack has no user")?;
    let id_token = stack.mint_id_token(&user.login, IdTokenOptions::default());
    let issued = crate::agent::access_token(&settings, &id_token).await?;
    let token = Arc::new(issued.token.as_str().to_string());
    let issuer = stack.custom_as_issuer();
    let scopes: Vec<String> = settings.okta_scope.split(' ').map(str::to_string).collect();

    let transport: Arc<dyn xaa::TokenTransport> =
        Arc::new(xaa::ReqwestTransport::new(Duration::from_secs(5), true)?);
    let clock: Arc<dyn xaa::Clock> = Arc::new(xaa::SystemClock);
    let jwks = Jwks::discover(&issuer, transport, clock.clone()).await?;
    jwks.warm_up().await?;
    let policy = AccessPolicy::new(
        issuer.clone(),
        devstack::ACCESS_TOKEN_AUDIENCE,
        vec![settings.agent_client_id.clone()],
        scopes.clone(),
        Subjects::Xaa,
        DEFAULT_LEEWAY,
    )?;
    let verifier = Arc::new(AccessTokenVerifier::new(policy, Arc::new(jwks), clock));
    let principal = verifier
        .verify(&token)
        .await
        .map_err(|r| format!("our verifier refused the bench token: {}", r.code()))?;
    if principal.person != user.id {
        return Err("our verifier named another person than the token's".into());
    }
    let input = json!({"issuer": issuer, "audience": devstack::ACCESS_TOKEN_AUDIENCE,
                       "clientIds": [settings.agent_client_id], "scopes": scopes,
                       "token": token.as_str()});

    let jwk = stack.custom_as_jwks()["keys"][0].clone();
    let (mut ours, mut okta, mut parsed, mut per_call) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // A short unmeasured round of ours, as judge.js warms up before it measures.
    ours_round(verifier.clone(), token.clone(), 1000.min(args.verify_count))?;
    for round in 1..=args.verify_rounds {
        let v = ours_round(verifier.clone(), token.clone(), args.verify_count)?;
        progress(&format!("verify round {round}: ours {v:.0}/s"));
        ours.push(v);
        let o = okta_round(&args.judge_dir, &input, args.verify_count).await?;
        progress(&format!("verify round {round}: Okta's {o:.0}/s"));
        okta.push(o);
        let (p, c) = floor_round(&jwk, &token, args.verify_count)?;
        parsed.push(p);
        per_call.push(c);
    }
    Ok(VerifyFigures {
        ours,
        okta,
        parsed,
        per_call,
        count: args.verify_count,
        token_bytes: token.len(),
        node: node_version().await,
        load: (load_before, loadavg()),
    })
}

pub fn report(f: &VerifyFigures) -> String {
    let (ours, okta) = (median(&f.ours), median(&f.okta));
    let ratio = ours / okta;
    let met = if ratio >= TARGET_RATIO {
        "yes".to_string()
    } else {
        format!("**no**: {ratio:.1}x")
    };
    let per_round = |v: &[f64]| {
        v.iter()
            .map(|x| thousands(*x as usize))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    format!(
        "## Access-token verification per core, beside Okta's own verifier\n\n\
         | figure | ours (`verify` crate) | `@okta/jwt-verifier` 4.0.2 | ratio | target | met? |\n\
         | --- | ---: | ---: | ---: | --- | --- |\n\
         | verifications per second, one core, warm JWKS cache (median of {rounds} rounds of {count}) | {ours_s} | {okta_s} | {ratio:.1}x | ≥ 10x | {met} |\n\
         | per verification | {ours_us:.1} µs | {okta_us:.1} µs | – | – | – |\n\
         | floor: the RS256 signature check alone (aws-lc-rs), key parsed once | {parsed_s} ({parsed_us:.1} µs) | – | – | – | – |\n\
         | floor: the same, key built from n/e at every call (as jsonwebtoken does) | {per_call_s} ({per_call_us:.1} µs) | – | – | – | – |\n\n\
         The same devstack access token ({bytes} bytes, RS256, 2048-bit key; leg 1 + leg 2 for one user) \
         and the same policy (issuer, audience, client id allow-list, required scope) for both. \
         Ours: `AccessTokenVerifier::verify` on a current_thread tokio runtime in one OS thread, JWKS \
         fetched and the token verified once before timing. Okta's: `node judge.js --bench` (node {node}) \
         against the same loopback issuer, its JWKS cache filled and 1,000 warm-up verifications first, then \
         one after another on node's one JavaScript thread (V8 may run garbage collection on a helper thread). \
         Rounds take turns, ours then Okta's; per round: ours {ours_rounds}, Okta's {okta_rounds}. \
         Load average (1, 5, 15 min) at the start: {l0}; at the end: {l1}; 2 CPUs shared with devstack.\n",
        rounds = f.ours.len(),
        count = thousands(f.count),
        ours_s = thousands(ours as usize),
        okta_s = thousands(okta as usize),
        ours_us = 1e6 / ours,
        parsed_s = thousands(median(&f.parsed) as usize),
        parsed_us = 1e6 / median(&f.parsed),
        per_call_s = thousands(median(&f.per_call) as usize),
        per_call_us = 1e6 / median(&f.per_call),
        okta_us = 1e6 / okta,
        bytes = f.token_bytes,
        node = f.node,
        ours_rounds = per_round(&f.ours),
        okta_rounds = per_round(&f.okta),
        l0 = f.load.0,
        l1 = f.load.1,
    )
}
