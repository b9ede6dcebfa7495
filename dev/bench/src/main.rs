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
//!
//! Nothing secret is printed: not the ID tokens, the access token, nor the key. The
//! binaries' own logs go to files in `--log-dir`.
//!
//! One job per module:
//!
//! ```text
//! main      arguments, the run from start to report, moto holding the agent key
//! procs     the functions as child processes: spawn, Lambda environment, RSS
//! phases    the init phase and the main (cold, warm) phase, and their figures
//! agentcore the AgentCore phase: xaa-bridge-agentcore beside the guide's Python runtime
//! http      a tiny keep-alive HTTP/1 client for loopback
//! proxy     the timing TCP proxy in front of moto
//! agent     the bare InvokeAgent baseline (with the driver's own leg 1 + leg 2)
//! stats     samples, percentiles, number formatting
//! report    the markdown tables and their notes
//! ```

mod agent;
mod agentcore;
mod http;
mod phases;
mod procs;
mod proxy;
mod report;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use devstack::{Config, Devstack, IdTokenOptions, User};
use serde_json::{json, Value};
use testkit::Moto;

use crate::phases::Bench;
use crate::procs::{one_bundle, BridgeEnv};
use crate::proxy::TimingProxy;

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const USAGE: &str = "\
usage: lambda-bench --bridge PATH --floor PATH [--baseline PATH] [options]
       lambda-bench --only agentcore [options]

  --bridge PATH         the release xaa-bridge binary (ours: built with
                        AWS_LC_SYS_NO_JITTER_ENTROPY=1)
  --floor PATH          the release hello_floor example binary
  --baseline PATH       today's xaa-bridge: the same source built with CPU jitter entropy
                        (AWS_LC_SYS_NO_JITTER_ENTROPY=0); measured beside ours and the
                        floor for init and the first invocation in fresh processes
  --agentcore PATH      the release xaa-bridge-agentcore binary
                        (default: target/release/xaa-bridge-agentcore in the workspace)
  --python PATH         the Python of the venv with bedrock-agentcore (default: .venv/bin/python)
  --parity-app PATH     the guide's runtime app (default: dev/agentcore-parity/app.py)
  --only PHASE          lambda (xaa-bridge against the floor), init (only the fresh-process
                        figures of lambda: init, first invocation, their sum) or agentcore
                        (the front door against the Python runtime); default: lambda and
                        agentcore
  --agentcore-warm N    warm /invocations requests of each runtime, one user (default 2000)
  --moto PATH           moto_server (default: $MOTO_SERVER_BIN or .venv/bin/moto_server)
  --users N             distinct users (default 1000)
  --invocations N       invocations of xaa-bridge in the main run, and requests of each
                        AgentCore runtime before its RSS is read, >= users (default 10000)
  --init-runs N         fresh processes of each binary for the init and the AgentCore
                        start-up figures (default 20)
  --arm64-bridge PATH   stripped arm64 bootstrap of xaa-bridge (size only)
  --arm64-floor PATH    stripped arm64 bootstrap of hello_floor (size only)
  --arm64-note TEXT     what to show when the arm64 binaries were not built
  --markdown PATH       also write the Lambda figures as a markdown table (with notes) here
  --agentcore-markdown PATH   the same for the AgentCore section
  --log-dir DIR         where the binaries' logs go (default target/lambda-bench)";

pub const PROMPT: &str = "Who am I?";
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Only {
    Both,
    Lambda,
    /// The init phase of `Lambda` alone (fresh processes: init, first invocation).
    Init,
    AgentCore,
}

impl Only {
    /// Whether the Lambda binaries (ours, the floor, the baseline) take part.
    pub fn lambda(self) -> bool {
        self != Only::AgentCore
    }

    pub fn agentcore(self) -> bool {
        matches!(self, Only::Both | Only::AgentCore)
    }
}

pub struct Args {
    pub bridge: PathBuf,
    pub floor: PathBuf,
    /// Today's build (jitter entropy), measured beside ours in the init phase.
    pub baseline: Option<PathBuf>,
    pub moto: PathBuf,
    pub agentcore: PathBuf,
    pub python: PathBuf,
    pub parity_app: PathBuf,
    pub only: Only,
    pub agentcore_warm: usize,
    pub agentcore_markdown: Option<PathBuf>,
    pub users: usize,
    pub invocations: usize,
    pub init_runs: usize,
    pub arm64_bridge: Option<PathBuf>,
    pub arm64_floor: Option<PathBuf>,
    pub arm64_note: String,
    pub markdown: Option<PathBuf>,
    pub log_dir: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut bridge = None;
    let mut floor = None;
    let mut moto = std::env::var_os("MOTO_SERVER_BIN").map(PathBuf::from);
    // The workspace this driver was built from.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = Args {
        bridge: PathBuf::new(),
        floor: PathBuf::new(),
        baseline: None,
        moto: PathBuf::new(),
        agentcore: root.join("target/release/xaa-bridge-agentcore"),
        python: root.join(".venv/bin/python"),
        parity_app: root.join("dev/agentcore-parity/app.py"),
        only: Only::Both,
        agentcore_warm: 2_000,
        agentcore_markdown: None,
        users: 1000,
        invocations: 10_000,
        init_runs: 20,
        arm64_bridge: None,
        arm64_floor: None,
        arm64_note: "not built".into(),
        markdown: None,
        log_dir: PathBuf::from("target/lambda-bench"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{flag} takes a positive number"))
        };
        match flag.as_str() {
            "--bridge" => bridge = Some(PathBuf::from(&value)),
            "--floor" => floor = Some(PathBuf::from(&value)),
            "--baseline" => args.baseline = Some(PathBuf::from(&value)),
            "--moto" => moto = Some(PathBuf::from(&value)),
            "--agentcore" => args.agentcore = PathBuf::from(&value),
            "--python" => args.python = PathBuf::from(&value),
            "--parity-app" => args.parity_app = PathBuf::from(&value),
            "--agentcore-warm" => args.agentcore_warm = number()?,
            "--agentcore-markdown" => args.agentcore_markdown = Some(PathBuf::from(&value)),
            "--only" => {
                args.only = match value.as_str() {
                    "lambda" => Only::Lambda,
                    "init" => Only::Init,
                    "agentcore" => Only::AgentCore,
                    _ => return Err("--only takes lambda, init or agentcore".into()),
                }
            }
            "--users" => args.users = number()?,
            "--invocations" => args.invocations = number()?,
            "--init-runs" => args.init_runs = number()?,
            "--arm64-bridge" => args.arm64_bridge = Some(PathBuf::from(&value)),
            "--arm64-floor" => args.arm64_floor = Some(PathBuf::from(&value)),
            "--arm64-note" => args.arm64_note = value,
            "--markdown" => args.markdown = Some(PathBuf::from(&value)),
            "--log-dir" => args.log_dir = PathBuf::from(&value),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    args.moto = moto.unwrap_or_else(|| PathBuf::from(".venv/bin/moto_server"));
    if args.invocations < args.users {
        return Err("--invocations must be at least --users".into());
    }
    // Every file a phase that runs needs, each missing one named with what provides it.
    if args.only.lambda() {
        args.bridge = bridge.ok_or("--bridge is required (or --only agentcore)")?;
        args.floor = floor.ok_or("--floor is required (or --only agentcore)")?;
    }
    let mut needed = vec![(&args.moto, "moto_server (make setup)")];
    if args.only.lambda() {
        needed.push((&args.bridge, "--bridge: the release xaa-bridge"));
        needed.push((&args.floor, "--floor: the release hello_floor example"));
        if let Some(baseline) = &args.baseline {
            needed.push((
                baseline,
                "--baseline: xaa-bridge built with AWS_LC_SYS_NO_JITTER_ENTROPY=0",
            ));
        }
    }
    if args.only.agentcore() {
        needed.push((
            &args.agentcore,
            "--agentcore: cargo build --release -p xaa-bridge-agentcore",
        ));
        needed.push((
            &args.python,
            "--python: the venv's Python with bedrock-agentcore (make setup)",
        ));
        needed.push((
            &args.parity_app,
            "--parity-app: dev/agentcore-parity/app.py",
        ));
    }
    for (path, what) in needed {
        if !path.is_file() {
            return Err(format!("{} does not exist ({what})", path.display()));
        }
    }
    Ok(args)
}

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
