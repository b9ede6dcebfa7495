//! `lambda-bench`: run the release `xaa-bridge` binary and a hello-world `lambda_runtime`
//! binary (the floor) exactly as Lambda does, through the Runtime API emulator, against
//! devstack (Okta, Bedrock) and moto (Secrets Manager), and print the figures of issue 4
//! side by side with the floor. `scripts/bench.sh` (`make bench`) builds everything and
//! calls it; it prints figures and never asserts timings. It exits non-zero only when a
//! run is broken (a binary fails to start, an invocation errors), since its figures would
//! then mean nothing.
//!
//! What is measured, and how:
//! * **init**: from just before spawning the process to its first `GET
//!   /invocation/next` (the end of Lambda's init phase), median over `--init-runs` fresh
//!   processes of each binary, run alternately. Ours loads the agent key from Secrets
//!   Manager during init; moto sits behind a small TCP proxy here that timestamps each
//!   exchange, so that round trip (TCP accept to the last response byte) is reported on
//!   its own and subtracted per run for "init without the Secrets Manager round trip".
//! * **init + first invocation** (the cold start a user waits for): each of those fresh
//!   processes then serves one invocation; init plus that first invocation, summed per
//!   process, median over the runs. With `--baseline` a third binary runs in the same
//!   rotation and is measured the same way: today's build of the same source (aws-lc
//!   with CPU jitter entropy, `AWS_LC_SYS_NO_JITTER_ENTROPY=0`), so ours (`=1`) is set
//!   against it and against the floor in one run, with the issue's target (ours at most
//!   half of today's). `--only init` runs just these fresh-process figures.
//! * **cold path**: the first invocation of each of `--users` users in one process (leg 1,
//!   leg 2, InvokeAgent), as the driver sees it (event queued to answer posted).
//! * **warm path**: the remaining invocations, cycling over the users (the access token
//!   comes from the cache). Right after each one the floor is invoked with the same event
//!   and the Bedrock stand-in is called directly (plain HTTP/1, keep-alive, with an access
//!   token the driver obtained through the two legs itself); the per-invocation overhead
//!   is `ours - floor - bare agent call`, and its p50/p99 are reported.
//! * **Okta calls per warm invocation**: devstack's leg 1 + leg 2 counters over the warm
//!   phase, divided by the number of warm invocations.
//! * **peak RSS**: `VmHWM` of `/proc/<pid>/status` after all invocations, for both.
//! * **binary sizes**: of the files given (`--arm64-bridge`, `--arm64-floor`, and the
//!   host release binaries themselves).
//! * **the AgentCore front door** (`agentcore`): the release `xaa-bridge-agentcore` beside
//!   the Python runtime of Okta's guide (`BedrockAgentCoreApp`, `dev/agentcore-parity/app.py`
//!   in guide mode) in the same run: start-up to the first `/ping` 200, warm
//!   `/invocations` p50/p99 for one user, peak RSS after `--invocations` requests by
//!   `--users` users. `--only agentcore` runs this phase alone, `--only lambda` the rest,
//!   `--only init` the fresh-process (cold start) figures of the Lambda phase alone.
//! * **token verification per core** (`--only verify`): the `verify` crate's
//!   `AccessTokenVerifier` on one thread with a warm JWKS cache beside Okta's own Node
//!   verifier (`@okta/jwt-verifier`, `dev/okta-verifier/judge.js --bench`) on the same
//!   devstack token, rounds taking turns, and the bare RS256 check as the floor.
//! * **the tool Lambda** (`--only tool`): the release `xaa-tool` through the Runtime API
//!   emulator against devstack's Okta-protected API, warm invocations beside the floor and
//!   a bare call to the API; overhead `tool - floor - bare API call`, p50/p99.
//!
//! Nothing secret is printed: not the ID tokens, the access token, nor the key. The
//! binaries' own logs go to files in `--log-dir`.
//!
//! One job per module:
//!
//! ```text
//! main      the run from start to report, moto holding the agent key
//! args      the command line: usage, --only, paths and counts
//! procs     the functions as child processes: spawn, Lambda environment, RSS
//! phases    the init phase and the main (cold, warm) phase, and their figures
//! agentcore the AgentCore phase: xaa-bridge-agentcore beside the guide's Python runtime
//! http      a tiny keep-alive HTTP/1 client for loopback
//! proxy     the timing TCP proxy in front of moto
//! agent     the bare InvokeAgent baseline (with the driver's own leg 1 + leg 2)
//! verify    the verify job: ours beside Okta's Node verifier, and the RS256 floor
//! tool      the tool job: xaa-tool's warm overhead over the loopback API
//! stats     samples, percentiles, number formatting
//! report    the markdown tables and their notes
//! ```

mod agent;
mod agentcore;
mod args;
mod http;
mod phases;
mod procs;
mod proxy;
mod report;
mod stats;
mod tool;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use devstack::{Config, Devstack, IdTokenOptions, User};
use serde_json::{json, Value};
use testkit::Moto;

use crate::args::{parse_args, Args, Only, USAGE};
use crate::phases::Bench;
use crate::procs::{one_bundle, BridgeEnv};
use crate::proxy::TimingProxy;

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub const PROMPT: &str = "Who am I?";
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("lambda-bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Dropping `run` (on a signal) drops the guards of every process it started.
    let result = tokio::select! {
        result = run(args) => result,
        _ = stop_signal() => Err("interrupted".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lambda-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn progress(msg: &str) {
    eprintln!("[lambda-bench] {msg}");
}

async fn run(args: Args) -> Res<()> {
    std::fs::create_dir_all(&args.log_dir)?;
    if args.only == Only::Verify {
        let report = verify::report(&verify::run(&args).await?);
        return emit(&report, args.verify_markdown.as_deref());
    }
    if args.only == Only::Tool {
        let report = tool::report(&tool::run(&args).await?);
        return emit(&report, args.tool_markdown.as_deref());
    }
    let users: Vec<User> = (0..args.users)
        .map(|i| {
            User::new(
                &format!("00ubench{i:09}"),
                &format!("user{i:04}@bench.example"),
                &format!("Bench User {i}"),
            )
        })
        .collect();
    progress(&format!("devstack with {} users; moto", users.len()));
    let stack = Devstack::start(Config {
        users,
        ..Config::default()
    })
    .await?;
    let settings = stack.settings();
    let moto = start_moto(args.moto.clone(), args.log_dir.join("moto.log")).await?;
    let secret_arn = create_secret(
        &moto,
        "xaa-bridge/bench/agent-private-jwk",
        &settings.agent_private_jwk.to_string(),
    )
    .await?;
    let proxy = TimingProxy::start(moto.addr()).await?;
    let events: Vec<Value> = settings
        .users
        .iter()
        .map(|u| json!({"prompt": PROMPT, "id_token": stack.mint_id_token(&u.login, IdTokenOptions::default())}))
        .collect();
    let env = BridgeEnv {
        settings,
        secrets_manager_url: proxy.url(),
        secret_arn,
        one_bundle: one_bundle(&args.log_dir),
    };
    let bench = Bench {
        args,
        stack,
        env,
        proxy,
        events,
    };
    if bench.args.only.lambda() {
        let load_before = loadavg();
        let init = bench.init_phase().await?;
        let report = if bench.args.only == Only::Init {
            let load = (load_before, loadavg());
            report::coldstart(&bench.args, &init, &load)
        } else {
            let main = bench.main_phase().await?;
            let load = (load_before, loadavg());
            report::report(&bench.args, &init, &main, &load)
        };
        println!("{report}");
        if let Some(path) = &bench.args.markdown {
            std::fs::write(path, &report)?;
            progress(&format!("figures written to {}", path.display()));
        }
    }
    if bench.args.only.agentcore() {
        let load_before = loadavg();
        let figures = bench.agentcore_phase().await?;
        let load = (load_before, loadavg());
        let report = report::agentcore(&bench.args, &figures, &load);
        println!("{report}");
        if let Some(path) = &bench.args.agentcore_markdown {
            std::fs::write(path, &report)?;
            progress(&format!("AgentCore figures written to {}", path.display()));
        }
    }
    drop(moto);
    Ok(())
}

/// Print a job's markdown, and write it to `path` when given.
fn emit(report: &str, path: Option<&std::path::Path>) -> Res<()> {
    println!("{report}");
    if let Some(path) = path {
        std::fs::write(path, report)?;
        progress(&format!("figures written to {}", path.display()));
    }
    Ok(())
}

/// moto_server from `--moto` on a free loopback port, its output in `log`. testkit's
/// start waits with `std::thread::sleep`, so it runs off the async workers.
async fn start_moto(bin: PathBuf, log: PathBuf) -> Res<Moto> {
    let started =
        tokio::task::spawn_blocking(move || Moto::start_logged(&bin, &log, READY_TIMEOUT)).await?;
    Ok(started?)
}

/// `CreateSecret` in moto; returns the ARN. An error rather than testkit's panicking
/// `put_secret`: the release profile aborts on panic, which would skip the guards that
/// stop moto and the functions.
async fn create_secret(moto: &Moto, name: &str, value: &str) -> Res<String> {
    let created = moto
        .client()
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .map_err(|e| {
            format!(
                "moto CreateSecret failed: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            )
        })?;
    created
        .arn
        .ok_or_else(|| "moto CreateSecret answered without an ARN".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            let v: Vec<&str> = l.split_whitespace().take(3).collect();
            (v.len() == 3).then(|| v.join(" "))
        })
        .unwrap_or_else(|| "?".into())
}
