//! The command line: usage, which jobs run (`--only`), and every path and count, each
//! missing file named with what provides it.

use std::path::PathBuf;

pub const USAGE: &str = "\
usage: lambda-bench --bridge PATH --floor PATH [--baseline PATH] [options]
       lambda-bench --only agentcore [options]
       lambda-bench --only verify [options]
       lambda-bench --only tool --floor PATH [--tool PATH] [options]

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
                        (the front door against the Python runtime), verify (token
                        verification per core: ours beside Okta's Node verifier) or tool
                        (xaa-tool's warm invocation overhead over the loopback API);
                        default: lambda and agentcore
  --judge-dir DIR       Okta's Node verifier with judge.js (default: dev/okta-verifier,
                        installed by make okta-verifier)
  --verify-count N      verifications per round of each verifier (default 20000)
  --verify-rounds N     rounds, ours and Okta's taking turns (default 3)
  --verify-markdown PATH      the verify figures as markdown
  --tool PATH           the release xaa-tool binary (default: target/release/xaa-tool)
  --tool-invocations N  warm invocations of xaa-tool and of the floor (default 2000)
  --tool-markdown PATH  the tool figures as markdown
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

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Only {
    Both,
    Lambda,
    /// The init phase of `Lambda` alone (fresh processes: init, first invocation).
    Init,
    AgentCore,
    /// Token verification throughput: ours beside Okta's Node verifier.
    Verify,
    /// The tool Lambda's warm invocation overhead.
    Tool,
}

impl Only {
    /// Whether the Lambda binaries (ours, the floor, the baseline) take part.
    pub fn lambda(self) -> bool {
        matches!(self, Only::Both | Only::Lambda | Only::Init)
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
    pub judge_dir: PathBuf,
    pub verify_count: usize,
    pub verify_rounds: usize,
    pub verify_markdown: Option<PathBuf>,
    pub tool: PathBuf,
    pub tool_invocations: usize,
    pub tool_markdown: Option<PathBuf>,
}

pub fn parse_args() -> Result<Args, String> {
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
        judge_dir: root.join("dev/okta-verifier"),
        verify_count: 20_000,
        verify_rounds: 3,
        verify_markdown: None,
        tool: root.join("target/release/xaa-tool"),
        tool_invocations: 2_000,
        tool_markdown: None,
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
                    "verify" => Only::Verify,
                    "tool" => Only::Tool,
                    _ => return Err("--only takes lambda, init, agentcore, verify or tool".into()),
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
            "--judge-dir" => args.judge_dir = PathBuf::from(&value),
            "--verify-count" => args.verify_count = number()?,
            "--verify-rounds" => args.verify_rounds = number()?,
            "--verify-markdown" => args.verify_markdown = Some(PathBuf::from(&value)),
            "--tool" => args.tool = PathBuf::from(&value),
            "--tool-invocations" => args.tool_invocations = number()?,
            "--tool-markdown" => args.tool_markdown = Some(PathBuf::from(&value)),
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
    } else if args.only == Only::Tool {
        args.floor = floor.ok_or("--floor is required for --only tool")?;
    }
    let mut needed = Vec::new();
    if args.only.lambda() || args.only.agentcore() {
        needed.push((&args.moto, "moto_server (make setup)"));
    }
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
    let judge = args
        .judge_dir
        .join("node_modules/@okta/jwt-verifier/package.json");
    if args.only == Only::Verify {
        needed.push((&judge, "Okta's Node verifier: make okta-verifier"));
    }
    if args.only == Only::Tool {
        needed.push((&args.tool, "--tool: cargo build --release -p xaa-tool"));
        needed.push((&args.floor, "--floor: the release hello_floor example"));
    }
    for (path, what) in needed {
        if !path.is_file() {
            return Err(format!("{} does not exist ({what})", path.display()));
        }
    }
    Ok(args)
}
