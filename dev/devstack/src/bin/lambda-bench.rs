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
//!
//! Nothing secret is printed: not the ID tokens, the access token, nor the key. The
//! binaries' own logs go to files in `--log-dir`.

use std::fmt::Write as _;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use devstack::runtime_api::{Outcome, RuntimeApi};
use devstack::{Config, Devstack, IdTokenOptions, Settings, User};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const USAGE: &str = "\
usage: lambda-bench --bridge PATH --floor PATH [options]

  --bridge PATH         the release xaa-bridge binary
  --floor PATH          the release hello_floor example binary
  --moto PATH           moto_server (default: $MOTO_SERVER_BIN or .venv/bin/moto_server)
  --users N             distinct users (default 1000)
  --invocations N       invocations of xaa-bridge in the main run, >= users (default 10000)
  --init-runs N         fresh processes of each binary for the init figure (default 20)
  --arm64-bridge PATH   stripped arm64 bootstrap of xaa-bridge (size only)
  --arm64-floor PATH    stripped arm64 bootstrap of hello_floor (size only)
  --arm64-note TEXT     what to show when the arm64 binaries were not built
  --markdown PATH       also write the figures as a markdown table (with notes) here
  --log-dir DIR         where the binaries' logs go (default target/lambda-bench)";

const PROMPT: &str = "Who am I?";
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const MEMORY_MB: &str = "256";
const MB: f64 = 1_000_000.0;

// ---------------------------------------------------------------- arguments

struct Args {
    bridge: PathBuf,
    floor: PathBuf,
    moto: PathBuf,
    users: usize,
    invocations: usize,
    init_runs: usize,
    arm64_bridge: Option<PathBuf>,
    arm64_floor: Option<PathBuf>,
    arm64_note: String,
    markdown: Option<PathBuf>,
    log_dir: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut bridge = None;
    let mut floor = None;
    let mut moto = std::env::var_os("MOTO_SERVER_BIN").map(PathBuf::from);
    let mut args = Args {
        bridge: PathBuf::new(),
        floor: PathBuf::new(),
        moto: PathBuf::new(),
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
            "--moto" => moto = Some(PathBuf::from(&value)),
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
    args.bridge = bridge.ok_or("--bridge is required")?;
    args.floor = floor.ok_or("--floor is required")?;
    args.moto = moto.unwrap_or_else(|| PathBuf::from(".venv/bin/moto_server"));
    if args.invocations < args.users {
        return Err("--invocations must be at least --users".into());
    }
    for path in [&args.bridge, &args.floor, &args.moto] {
        if !path.is_file() {
            return Err(format!("{} does not exist", path.display()));
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

// ---------------------------------------------------------------- child processes

/// A started binary; killed (by its own pid) and reaped on drop.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// `/proc/<pid>/status` field in kB (`VmHWM`, `VmRSS`).
    fn status_kb(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawn `bin args` with exactly `env` (nothing inherited), output to `log`. Returns the
/// instant taken just before the spawn.
fn spawn(bin: &Path, args: &[&str], env: &[(String, String)], log: &Path) -> Res<(Proc, Instant)> {
    let out = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    let started = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    Ok((
        Proc {
            child,
            log: log.to_path_buf(),
        },
        started,
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bridge,
    /// xaa-bridge with the trust store reduced to one bundle file (`SSL_CERT_FILE`, and
    /// `SSL_CERT_DIR` empty), as on `provided.al2023`: shows what reading this host's
    /// certificate directory costs at init.
    BridgeOneBundle,
    Floor,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Bridge => "xaa-bridge",
            Kind::BridgeOneBundle => "xaa-bridge-one-bundle",
            Kind::Floor => "hello_floor",
        }
    }

    fn function_name(self) -> &'static str {
        match self {
            Kind::Floor => "hello_floor",
            _ => "xaa-bridge",
        }
    }
}

/// What every Lambda process gets (and what `lambda_runtime` 1.x requires).
fn lambda_env(kind: Kind, runtime_api: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", kind.function_name()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", MEMORY_MB),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("TZ", ":UTC"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The bridge's configuration, as `template.yaml` sets it, pointed at the local stack.
struct BridgeEnv {
    settings: Settings,
    secrets_manager_url: String,
    secret_arn: String,
    /// `(SSL_CERT_FILE, SSL_CERT_DIR)` for [`Kind::BridgeOneBundle`].
    one_bundle: Option<(String, String)>,
}

impl BridgeEnv {
    fn env(&self, kind: Kind, runtime_api: &str) -> Vec<(String, String)> {
        let mut env = lambda_env(kind, runtime_api);
        if kind == Kind::Floor {
            return env;
        }
        let s = &self.settings;
        for (k, v) in [
            ("OKTA_BASE_URL", s.okta_base_url.as_str()),
            ("OKTA_CUSTOM_AS_ID", &s.okta_custom_as_id),
            ("OKTA_SCOPE", &s.okta_scope),
            ("OKTA_OIDC_CLIENT_ID", &s.oidc_client_id),
            ("AGENT_CLIENT_ID", &s.agent_client_id),
            ("AGENT_KEY_ID", &s.agent_key_id),
            ("AGENT_PRIVATE_KEY_SECRET_ID", &self.secret_arn),
            ("BEDROCK_AGENT_ID", &s.bedrock_agent_id),
            ("BEDROCK_AGENT_ALIAS_ID", &s.bedrock_agent_alias_id),
            (
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                &self.secrets_manager_url,
            ),
            (
                "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME",
                &s.bedrock_endpoint_url,
            ),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ] {
            env.push((k.to_string(), v.to_string()));
        }
        if let (Kind::BridgeOneBundle, Some((file, dir))) = (kind, &self.one_bundle) {
            env.push(("SSL_CERT_FILE".into(), file.clone()));
            env.push(("SSL_CERT_DIR".into(), dir.clone()));
        }
        env
    }
}

// ---------------------------------------------------------------- plain HTTP/1 client

/// One keep-alive HTTP/1 connection (no TLS: everything here is loopback).
struct Http {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Http {
    async fn connect(addr: SocketAddr) -> Res<Http> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Http {
            sender,
            host: addr.to_string(),
        })
    }

    async fn post(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Res<(u16, Bytes)> {
        self.sender.ready().await?;
        let mut req = hyper::Request::post(path).header(hyper::header::HOST, &self.host);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let response = self
            .sender
            .send_request(req.body(Full::new(Bytes::from(body)))?)
            .await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn addr_of(url: &str) -> Res<SocketAddr> {
    let hostport = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not a plain http URL: {url}"))?;
    Ok(hostport.trim_end_matches('/').parse()?)
}

// ---------------------------------------------------------------- moto

/// moto_server on a free loopback port; killed on drop.
struct Moto {
    _proc: Proc,
    addr: SocketAddr,
}

impl Moto {
    async fn start(bin: &Path, log: &Path) -> Res<Moto> {
        let port = TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k == "PATH" || k == "HOME" || k.starts_with("LC_") || k == "LANG")
            .collect();
        let port_arg = port.to_string();
        let (mut proc, _) = spawn(bin, &["-H", "127.0.0.1", "-p", &port_arg], &env, log)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        while TcpStream::connect(addr).await.is_err() {
            if let Some(status) = proc.exited() {
                return Err(format!("moto_server exited ({status}); see {}", log.display()).into());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err("moto_server did not listen within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Moto { _proc: proc, addr })
    }

    /// `CreateSecret` over the Secrets Manager JSON protocol; returns the ARN. moto
    /// takes the region from the credential scope and does not check the signature.
    async fn create_secret(&self, name: &str, value: &str) -> Res<String> {
        let mut http = Http::connect(self.addr).await?;
        let body = json!({"Name": name, "SecretString": value}).to_string();
        let (status, body) = http
            .post(
                "/",
                &[
                    ("content-type", "application/x-amz-json-1.1"),
                    ("x-amz-target", "secretsmanager.CreateSecret"),
                    (
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00",
                    ),
                ],
                body,
            )
            .await?;
        let reply: Value = serde_json::from_slice(&body).unwrap_or_default();
        match reply["ARN"].as_str() {
            Some(arn) if status == 200 => Ok(arn.to_string()),
            _ => Err(format!("moto CreateSecret answered HTTP {status}").into()),
        }
    }
}

// ---------------------------------------------------------------- timing proxy

/// One request/response exchange seen on a proxied connection.
#[derive(Clone, Copy)]
struct Exchange {
    start: Instant,
    end: Option<Instant>,
}

/// A TCP proxy in front of moto that timestamps each exchange: from the TCP accept (first
/// exchange of a connection) or the first request byte (later ones) to the last response
/// byte written back. That is the Secrets Manager round trip as the client sees it.
struct TimingProxy {
    addr: SocketAddr,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TimingProxy {
    async fn start(upstream: SocketAddr) -> Res<TimingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let exchanges: Arc<Mutex<Vec<Exchange>>> = Arc::default();
        let shared = exchanges.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let accepted = Instant::now();
                let exchanges = shared.clone();
                tokio::spawn(async move {
                    let _ = proxy_connection(client, upstream, accepted, exchanges).await;
                });
            }
        });
        Ok(TimingProxy {
            addr,
            exchanges,
            task,
        })
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Total time of the exchanges that started within `[from, to]`, cut at `to`.
    fn busy_between(&self, from: Instant, to: Instant) -> Duration {
        self.exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|x| x.start >= from && x.start <= to)
            .map(|x| x.end.unwrap_or(to).min(to) - x.start)
            .sum()
    }
}

impl Drop for TimingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn proxy_connection(
    client: TcpStream,
    upstream: SocketAddr,
    accepted: Instant,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    let server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    let (mut client_rd, mut client_wr) = client.into_split();
    let (mut server_rd, mut server_wr) = server.into_split();
    // Index of this connection's open exchange; a request byte after a response byte
    // opens the next one.
    let open: Arc<Mutex<Option<(usize, bool)>>> = Arc::default();
    let (ex_up, open_up) = (exchanges.clone(), open.clone());
    let upstream_dir = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut first = true;
        loop {
            let n = client_rd.read(&mut buf).await?;
            if n == 0 {
                return server_wr.shutdown().await;
            }
            {
                let mut open = open_up.lock().unwrap_or_else(|p| p.into_inner());
                let answered = open.is_none_or(|(_, answered)| answered);
                if answered {
                    let mut all = ex_up.lock().unwrap_or_else(|p| p.into_inner());
                    let start = if first { accepted } else { Instant::now() };
                    all.push(Exchange { start, end: None });
                    *open = Some((all.len() - 1, false));
                }
                first = false;
            }
            server_wr.write_all(&buf[..n]).await?;
        }
    };
    let (ex_down, open_down) = (exchanges, open);
    let downstream_dir = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = server_rd.read(&mut buf).await?;
            if n == 0 {
                return client_wr.shutdown().await;
            }
            client_wr.write_all(&buf[..n]).await?;
            let now = Instant::now();
            let mut open = open_down.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((index, answered)) = open.as_mut() {
                *answered = true;
                if let Some(x) = ex_down
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_mut(*index)
                {
                    x.end = Some(now);
                }
            }
        }
    };
    let _ = tokio::join!(upstream_dir, downstream_dir);
    Ok(())
}

// ---------------------------------------------------------------- bare agent call

/// `InvokeAgent` straight at the Bedrock stand-in: what the agent call costs without
/// any Lambda, SDK or bridge around it.
struct BareAgent {
    http: Http,
    path: String,
    body: String,
}

impl BareAgent {
    /// Gets an access token the way the bridge does (leg 1, leg 2), with the AI agent's
    /// key from the settings, then keeps one connection open.
    async fn new(settings: &Settings, id_token: &str) -> Res<BareAgent> {
        let signer = AssertionSigner::new(settings)?;
        let mut okta = Http::connect(addr_of(&settings.okta_base_url)?).await?;
        let org_token_url = format!("{}/oauth2/v1/token", settings.okta_base_url);
        let custom_issuer = format!(
            "{}/oauth2/{}",
            settings.okta_base_url, settings.okta_custom_as_id
        );
        let custom_token_url = format!("{custom_issuer}/v1/token");
        let form_headers = [("content-type", "application/x-www-form-urlencoded")];
        let assertion_type = devstack::token::CLIENT_ASSERTION_TYPE;

        let leg1 = form(&[
            ("grant_type", devstack::token::TOKEN_EXCHANGE),
            ("requested_token_type", devstack::token::ID_JAG),
            ("subject_token", id_token),
            ("subject_token_type", devstack::token::ID_TOKEN_TYPE),
            ("audience", &custom_issuer),
            ("scope", &settings.okta_scope),
            ("client_assertion_type", assertion_type),
            ("client_assertion", &signer.mint(&org_token_url)?),
        ]);
        let (status, body) = okta.post("/oauth2/v1/token", &form_headers, leg1).await?;
        let id_jag = token_from(status, &body, "leg 1")?;
        let leg2 = form(&[
            ("grant_type", devstack::token::JWT_BEARER),
            ("assertion", &id_jag),
            ("client_assertion_type", assertion_type),
            ("client_assertion", &signer.mint(&custom_token_url)?),
        ]);
        let path = format!("/oauth2/{}/v1/token", settings.okta_custom_as_id);
        let (status, body) = okta.post(&path, &form_headers, leg2).await?;
        let access_token = token_from(status, &body, "leg 2")?;

        Ok(BareAgent {
            http: Http::connect(addr_of(&settings.bedrock_endpoint_url)?).await?,
            path: format!(
                "/agents/{}/agentAliases/{}/sessions/bench-bare-agent/text",
                settings.bedrock_agent_id, settings.bedrock_agent_alias_id
            ),
            body: json!({
                "inputText": PROMPT,
                "sessionState": {"sessionAttributes": {"oktaAccessToken": access_token}},
            })
            .to_string(),
        })
    }

    async fn call(&mut self) -> Res<Duration> {
        let started = Instant::now();
        let (status, _) = self
            .http
            .post(
                &self.path,
                &[
                    ("content-type", "application/json"),
                    (
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00",
                    ),
                ],
                self.body.clone(),
            )
            .await?;
        let took = started.elapsed();
        if status != 200 {
            return Err(format!("bare InvokeAgent answered HTTP {status}").into());
        }
        Ok(took)
    }
}

fn token_from(status: u16, body: &[u8], leg: &str) -> Res<String> {
    let reply: Value = serde_json::from_slice(body).unwrap_or_default();
    match reply["access_token"].as_str() {
        Some(token) if status == 200 => Ok(token.to_string()),
        _ => Err(format!(
            "{leg} of the driver's own exchange failed: HTTP {status} {}",
            reply["error"].as_str().unwrap_or("(no error code)")
        )
        .into()),
    }
}

/// RS256 client assertions with the AI agent's private JWK.
struct AssertionSigner {
    key: jsonwebtoken::EncodingKey,
    kid: String,
    client_id: String,
}

impl AssertionSigner {
    fn new(settings: &Settings) -> Res<AssertionSigner> {
        use pkcs1::der::Encode;
        let jwk = &settings.agent_private_jwk;
        let field = |name: &str| -> Res<Vec<u8>> {
            let text = jwk[name]
                .as_str()
                .ok_or_else(|| format!("agent JWK lacks {name}"))?;
            Ok(URL_SAFE_NO_PAD.decode(text)?)
        };
        let (n, e, d, p, q, dp, dq, qi) = (
            field("n")?,
            field("e")?,
            field("d")?,
            field("p")?,
            field("q")?,
            field("dp")?,
            field("dq")?,
            field("qi")?,
        );
        fn uint(b: &[u8]) -> Result<pkcs1::UintRef<'_>, &'static str> {
            pkcs1::UintRef::new(b).map_err(|_| "bad JWK integer")
        }
        let der = pkcs1::RsaPrivateKey {
            modulus: uint(&n)?,
            public_exponent: uint(&e)?,
            private_exponent: uint(&d)?,
            prime1: uint(&p)?,
            prime2: uint(&q)?,
            exponent1: uint(&dp)?,
            exponent2: uint(&dq)?,
            coefficient: uint(&qi)?,
            other_prime_infos: None,
        }
        .to_der()
        .map_err(|_| "cannot encode the agent key")?;
        Ok(AssertionSigner {
            key: jsonwebtoken::EncodingKey::from_rsa_der(&der),
            kid: settings.agent_key_id.clone(),
            client_id: settings.agent_client_id.clone(),
        })
    }

    fn mint(&self, audience: &str) -> Res<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        let claims = json!({
            "iss": self.client_id, "sub": self.client_id, "aud": audience,
            "iat": now, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string(),
        });
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }
}

// ---------------------------------------------------------------- statistics

#[derive(Default, Clone)]
struct Samples(Vec<f64>); // milliseconds

impl Samples {
    fn push(&mut self, d: Duration) {
        self.0.push(d.as_secs_f64() * 1e3);
    }

    fn push_ms(&mut self, ms: f64) {
        self.0.push(ms);
    }

    /// Nearest-rank percentile.
    fn pct(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
        sorted[rank.min(sorted.len()) - 1]
    }

    fn p50(&self) -> f64 {
        self.pct(50.0)
    }

    fn p99(&self) -> f64 {
        self.pct(99.0)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

fn ms(v: f64) -> String {
    if v.abs() < 1.0 {
        format!("{v:.3} ms")
    } else if v.abs() < 100.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.0} ms")
    }
}

fn ratio(ours: f64, floor: f64) -> String {
    if floor > 0.0 && ours.is_finite() {
        format!("{:.2}x", ours / floor)
    } else {
        "–".into()
    }
}

// ---------------------------------------------------------------- phases

struct InitFigures {
    bridge: Samples,
    floor: Samples,
    secrets_manager: Samples,
    bridge_without_sm: Samples,
    bridge_first_invoke: Samples,
    floor_first_invoke: Samples,
    one_bundle_without_sm: Samples,
}

struct MainFigures {
    cold: Samples,
    warm: Samples,
    floor: Samples,
    bare_agent: Samples,
    overhead: Samples,
    cold_okta_calls: u64,
    warm_okta_calls: u64,
    warm_agent_calls: u64,
    bridge_hwm_kb: Option<u64>,
    bridge_rss_kb: Option<u64>,
    floor_hwm_kb: Option<u64>,
}

struct Bench {
    args: Args,
    stack: Devstack,
    env: BridgeEnv,
    proxy: TimingProxy,
    events: Vec<Value>,
}

impl Bench {
    fn binary(&self, kind: Kind) -> &Path {
        match kind {
            Kind::Bridge | Kind::BridgeOneBundle => &self.args.bridge,
            Kind::Floor => &self.args.floor,
        }
    }

    /// Start one process of `kind` on a fresh Runtime API and wait for its first poll.
    async fn start(
        &self,
        kind: Kind,
        tag: &str,
    ) -> Res<(RuntimeApi, Proc, Duration, Instant, Instant)> {
        let api = RuntimeApi::start().await?;
        let log = self.args.log_dir.join(format!("{}-{tag}.log", kind.name()));
        let (mut proc, started) = spawn(
            self.binary(kind),
            &[],
            &self.env.env(kind, &api.address()),
            &log,
        )?;
        let ready = api.wait_until_ready(READY_TIMEOUT).await;
        let Some(ready) = ready else {
            let why = match proc.exited() {
                Some(status) => format!("exited ({status})"),
                None => "did not poll /invocation/next within 60 s".into(),
            };
            return Err(format!("{} {why}; its log: {}", kind.name(), proc.log.display()).into());
        };
        if let Some(Outcome::Error { error_type, .. }) = api.init_error() {
            return Err(format!("{} reported an init error {error_type}", kind.name()).into());
        }
        Ok((api, proc, ready - started, started, ready))
    }

    async fn invoke(
        &self,
        api: &RuntimeApi,
        proc: &Proc,
        kind: Kind,
        user: usize,
    ) -> Res<Duration> {
        let started = Instant::now();
        let outcome = api.invoke(&self.events[user], INVOKE_TIMEOUT).await;
        let took = started.elapsed();
        let ok = match (&outcome, kind) {
            (Some(Outcome::Response(v)), Kind::Bridge | Kind::BridgeOneBundle) => v["answer"]
                .as_str()
                .is_some_and(|a| a.starts_with("You are signed in as")),
            (Some(Outcome::Response(v)), Kind::Floor) => v["answer"] == "ok",
            _ => false,
        };
        if ok {
            return Ok(took);
        }
        let what = match outcome {
            Some(Outcome::Error { error_type, .. }) => format!("the error {error_type}"),
            Some(Outcome::Response(_)) => "an unexpected answer".into(),
            None => "no answer in time".into(),
        };
        Err(format!(
            "{} gave {what} for user {user}; its log: {}",
            kind.name(),
            proc.log.display()
        )
        .into())
    }

    async fn init_phase(&self) -> Res<InitFigures> {
        let runs = self.args.init_runs;
        progress(&format!(
            "init: {runs} fresh processes of each binary, alternating (plus one discarded each)"
        ));
        let mut f = InitFigures {
            bridge: Samples::default(),
            floor: Samples::default(),
            secrets_manager: Samples::default(),
            bridge_without_sm: Samples::default(),
            bridge_first_invoke: Samples::default(),
            floor_first_invoke: Samples::default(),
            one_bundle_without_sm: Samples::default(),
        };
        for run in 0..=runs {
            let one_bundle = self
                .env
                .one_bundle
                .is_some()
                .then_some(Kind::BridgeOneBundle);
            for kind in [Some(Kind::Floor), Some(Kind::Bridge), one_bundle]
                .into_iter()
                .flatten()
            {
                let (api, proc, init, started, ready) = self.start(kind, "init").await?;
                let first = self
                    .invoke(&api, &proc, kind, run % self.events.len())
                    .await?;
                drop(proc);
                if run == 0 {
                    continue; // page cache and CPU warm-up
                }
                match kind {
                    Kind::Floor => {
                        f.floor.push(init);
                        f.floor_first_invoke.push(first);
                    }
                    Kind::BridgeOneBundle => {
                        let sm = self.proxy.busy_between(started, ready);
                        f.one_bundle_without_sm.push(init.saturating_sub(sm));
                    }
                    Kind::Bridge => {
                        let sm = self.proxy.busy_between(started, ready);
                        f.bridge.push(init);
                        f.secrets_manager.push(sm);
                        f.bridge_without_sm.push(init.saturating_sub(sm));
                        f.bridge_first_invoke.push(first);
                    }
                }
            }
        }
        Ok(f)
    }

    async fn main_phase(&self) -> Res<MainFigures> {
        let users = self.args.users;
        let total = self.args.invocations;
        progress(&format!(
            "main: {total} invocations of xaa-bridge by {users} users (the first per user cold), \
             each followed by one of the floor and, when warm, one bare InvokeAgent"
        ));
        let (bridge_api, bridge, _, _, _) = self.start(Kind::Bridge, "main").await?;
        let (floor_api, floor, _, _, _) = self.start(Kind::Floor, "main").await?;
        let mut bare = BareAgent::new(
            &self.env.settings,
            self.events[users / 2]["id_token"]
                .as_str()
                .unwrap_or_default(),
        )
        .await?;
        let mut f = MainFigures {
            cold: Samples::default(),
            warm: Samples::default(),
            floor: Samples::default(),
            bare_agent: Samples::default(),
            overhead: Samples::default(),
            cold_okta_calls: 0,
            warm_okta_calls: 0,
            warm_agent_calls: 0,
            bridge_hwm_kb: None,
            bridge_rss_kb: None,
            floor_hwm_kb: None,
        };
        let before = self.stack.stats();
        for user in 0..users {
            f.cold.push(
                self.invoke(&bridge_api, &bridge, Kind::Bridge, user)
                    .await?,
            );
            f.floor
                .push(self.invoke(&floor_api, &floor, Kind::Floor, user).await?);
        }
        let after_cold = self.stack.stats();
        f.cold_okta_calls = (after_cold.leg1 + after_cold.leg2) - (before.leg1 + before.leg2);
        progress(&format!(
            "main: {users} cold invocations done; warm ones next"
        ));
        for i in 0..(total - users) {
            let user = i % users;
            let ours = self
                .invoke(&bridge_api, &bridge, Kind::Bridge, user)
                .await?;
            let base = self.invoke(&floor_api, &floor, Kind::Floor, user).await?;
            let agent = bare.call().await?;
            f.warm.push(ours);
            f.floor.push(base);
            f.bare_agent.push(agent);
            let overhead = ours.as_secs_f64() - base.as_secs_f64() - agent.as_secs_f64();
            f.overhead.push_ms(overhead * 1e3);
        }
        let after = self.stack.stats();
        f.warm_okta_calls = (after.leg1 + after.leg2) - (after_cold.leg1 + after_cold.leg2);
        f.warm_agent_calls = (after.invoke_agent - after_cold.invoke_agent)
            .saturating_sub(f.bare_agent.len() as u64);
        f.bridge_hwm_kb = bridge.status_kb("VmHWM");
        f.bridge_rss_kb = bridge.status_kb("VmRSS");
        f.floor_hwm_kb = floor.status_kb("VmHWM");
        drop((bridge_api, floor_api));
        Ok(f)
    }
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
    let moto = Moto::start(&args.moto, &args.log_dir.join("moto.log")).await?;
    let secret_arn = moto
        .create_secret(
            "xaa-bridge/bench/agent-private-jwk",
            &settings.agent_private_jwk.to_string(),
        )
        .await?;
    let proxy = TimingProxy::start(moto.addr).await?;
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
    let load_before = loadavg();
    let init = bench.init_phase().await?;
    let main = bench.main_phase().await?;
    let load = (load_before, loadavg());
    let report = report(&bench.args, &init, &main, &load);
    println!("{report}");
    if let Some(path) = &bench.args.markdown {
        std::fs::write(path, &report)?;
        progress(&format!("figures written to {}", path.display()));
    }
    drop(moto);
    Ok(())
}

/// The host's CA bundle file and an empty directory, for [`Kind::BridgeOneBundle`].
fn one_bundle(log_dir: &Path) -> Option<(String, String)> {
    let file = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ]
    .into_iter()
    .find(|f| Path::new(f).is_file())?;
    let dir = log_dir.join("empty-cert-dir");
    std::fs::create_dir_all(&dir).ok()?;
    let dir = std::fs::canonicalize(dir).ok()?;
    Some((file.to_string(), dir.to_string_lossy().into_owned()))
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

// ---------------------------------------------------------------- report

fn size_of(path: Option<&PathBuf>) -> Option<u64> {
    std::fs::metadata(path?).ok().map(|m| m.len())
}

/// `10000` -> `10,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / MB)
}

fn met(ok: bool, miss: impl FnOnce() -> String) -> String {
    if ok {
        "yes".into()
    } else {
        format!("**no**: {}", miss())
    }
}

fn report(args: &Args, init: &InitFigures, m: &MainFigures, load: &(String, String)) -> String {
    let mut t = String::new();
    let mut row = |cells: [&str; 6]| {
        let _ = writeln!(t, "| {} |", cells.join(" | "));
    };
    row(["figure", "xaa-bridge", "floor", "ratio", "target", "met?"]);
    row(["---", "---:", "---:", "---:", "---", "---"]);

    // Init.
    let (b, fl) = (init.bridge.p50(), init.floor.p50());
    row([
        &format!(
            "init, spawn to first `/next`, incl. Secrets Manager (p50 of {} runs)",
            init.bridge.len()
        ),
        &ms(b),
        &ms(fl),
        &ratio(b, fl),
        "–",
        "–",
    ]);
    let sm = init.secrets_manager.p50();
    row([
        "Secrets Manager round trip during init (moto on loopback, p50)",
        &ms(sm),
        "–",
        "–",
        "reported separately",
        "–",
    ]);
    let without = init.bridge_without_sm.p50();
    let over = without - fl;
    row([
        "init without the Secrets Manager round trip (p50)",
        &ms(without),
        &ms(fl),
        &ratio(without, fl),
        "≤ floor + 15 ms",
        &met(over <= 15.0, || format!("{} over the floor", ms(over))),
    ]);
    let bundle = init.one_bundle_without_sm.p50();
    if init.one_bundle_without_sm.len() > 0 {
        row([
            "… the same with a one-file trust store (`SSL_CERT_FILE` only, as on AL2023)",
            &ms(bundle),
            &ms(fl),
            &ratio(bundle, fl),
            "≤ floor + 15 ms",
            &met(bundle - fl <= 15.0, || {
                format!("{} over the floor", ms(bundle - fl))
            }),
        ]);
    }
    let (bf, ff) = (
        init.bridge_first_invoke.p50(),
        init.floor_first_invoke.p50(),
    );
    row([
        "first invocation of a fresh process (p50)",
        &ms(bf),
        &ms(ff),
        &ratio(bf, ff),
        "–",
        "–",
    ]);

    // Latency.
    let cold_per = m.cold_okta_calls as f64 / m.cold.len().max(1) as f64;
    row([
        &format!(
            "cold path p50 ({} users: leg 1 + leg 2 + agent)",
            thousands(m.cold.len())
        ),
        &ms(m.cold.p50()),
        &ms(m.floor.p50()),
        &ratio(m.cold.p50(), m.floor.p50()),
        "–",
        "–",
    ]);
    row([
        "cold path p99",
        &ms(m.cold.p99()),
        &ms(m.floor.p99()),
        &ratio(m.cold.p99(), m.floor.p99()),
        "–",
        "–",
    ]);
    row([
        "Okta token calls per cold invocation",
        &format!("{cold_per:.3}"),
        "–",
        "–",
        "2 (leg 1 + leg 2)",
        "–",
    ]);
    row([
        &format!(
            "warm path p50 ({} invocations, cached token)",
            thousands(m.warm.len())
        ),
        &ms(m.warm.p50()),
        &ms(m.floor.p50()),
        &ratio(m.warm.p50(), m.floor.p50()),
        "–",
        "–",
    ]);
    row([
        "warm path p99",
        &ms(m.warm.p99()),
        &ms(m.floor.p99()),
        &ratio(m.warm.p99(), m.floor.p99()),
        "–",
        "–",
    ]);
    row([
        "bare InvokeAgent on the Bedrock stand-in, p50 / p99",
        &format!("{} / {}", ms(m.bare_agent.p50()), ms(m.bare_agent.p99())),
        "–",
        "–",
        "–",
        "–",
    ]);
    row([
        "warm-path overhead p50 (ours − floor − bare agent, per invocation)",
        &ms(m.overhead.p50()),
        "–",
        "–",
        "–",
        "–",
    ]);
    let p99 = m.overhead.p99();
    row([
        "warm-path overhead p99",
        &ms(p99),
        "–",
        "–",
        "< 1 ms",
        &met(p99 < 1.0, || format!("{} over", ms(p99 - 1.0))),
    ]);
    let warm_calls = m.warm_okta_calls as f64 / m.warm.len().max(1) as f64;
    row([
        "Okta token calls per warm invocation",
        &format!(
            "{warm_calls:.3} ({} in {})",
            m.warm_okta_calls,
            thousands(m.warm.len())
        ),
        "–",
        "–",
        "0",
        &met(m.warm_okta_calls == 0, || {
            format!("{} calls", m.warm_okta_calls)
        }),
    ]);

    // Memory.
    let kb = |v: Option<u64>| v.map(|kb| kb * 1024);
    let (bh, fh) = (kb(m.bridge_hwm_kb), kb(m.floor_hwm_kb));
    row([
        &format!(
            "peak RSS (VmHWM) after {} invocations by {} users",
            thousands(args.invocations),
            thousands(args.users)
        ),
        &bh.map_or("?".into(), mb),
        &fh.map_or("?".into(), mb),
        &match (bh, fh) {
            (Some(b), Some(f)) => ratio(b as f64, f as f64),
            _ => "–".into(),
        },
        "< 32 MB",
        &bh.map_or("?".into(), |b| {
            met((b as f64) < 32.0 * MB, || {
                format!("{} over", mb(b - 32_000_000))
            })
        }),
    ]);

    // Sizes.
    let arm = (
        size_of(args.arm64_bridge.as_ref()),
        size_of(args.arm64_floor.as_ref()),
    );
    match arm {
        (Some(b), floor) => row([
            "stripped arm64 binary (cargo lambda build --release --arm64)",
            &mb(b),
            &floor.map_or("?".into(), mb),
            &floor.map_or("–".into(), |f| ratio(b as f64, f as f64)),
            "< 12 MB",
            &met((b as f64) < 12.0 * MB, || {
                format!("{} over", mb(b - 12_000_000))
            }),
        ]),
        (None, _) => row([
            "stripped arm64 binary",
            &args.arm64_note,
            "–",
            "–",
            "< 12 MB",
            "not measured",
        ]),
    }
    let host = (size_of(Some(&args.bridge)), size_of(Some(&args.floor)));
    if let (Some(b), Some(f)) = host {
        row([
            "host release binary (x86_64, stripped by the release profile)",
            &mb(b),
            &mb(f),
            &ratio(b as f64, f as f64),
            "–",
            "–",
        ]);
    }

    let _ = writeln!(
        t,
        "\nMB = 10^6 bytes. Latencies are from the driver queueing the event on the Runtime API \
         emulator to the function posting its answer. Samples: init {} + {} runs, cold {}, warm {}, \
         floor {}, bare agent {}. Bedrock calls made by xaa-bridge in the warm phase: {} for {} \
         invocations. xaa-bridge RSS at the end: {}.",
        init.bridge.len(),
        init.floor.len(),
        m.cold.len(),
        m.warm.len(),
        m.floor.len(),
        m.bare_agent.len(),
        m.warm_agent_calls,
        m.warm.len(),
        kb(m.bridge_rss_kb).map_or("?".into(), mb),
    );
    let _ = writeln!(
        t,
        "Init spread (min / p50 / max): xaa-bridge {} / {} / {}, floor {} / {} / {}, \
         Secrets Manager {} / {} / {}. Overhead as p99(ours) − p99(floor) − p99(bare agent): {}.",
        ms(init.bridge.pct(0.0)),
        ms(init.bridge.p50()),
        ms(init.bridge.pct(100.0)),
        ms(init.floor.pct(0.0)),
        ms(init.floor.p50()),
        ms(init.floor.pct(100.0)),
        ms(init.secrets_manager.pct(0.0)),
        ms(init.secrets_manager.p50()),
        ms(init.secrets_manager.pct(100.0)),
        ms(m.warm.p99() - m.floor.p99() - m.bare_agent.p99()),
    );
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        t,
        "Load average (1, 5, 15 min) when the driver started: {}; when it finished: {}; {cpus} CPUs \
         shared by the driver, devstack, moto and both functions.",
        load.0, load.1
    );

    let mut why = Vec::new();
    if over > 15.0 {
        let bundle_note = if init.one_bundle_without_sm.len() > 0 {
            format!(
                " With the trust store cut to one bundle file it is {} over the floor, so reading \
                 this host's certificate directory accounts for about {}.",
                ms(bundle - fl),
                ms(without - bundle)
            )
        } else {
            String::new()
        };
        why.push(format!(
            "**Init** is {} over the floor without the Secrets Manager round trip (target 15 ms).{bundle_note} \
             Known contributors (profiled with perf and strace): the system trust store is read and \
             parsed twice at start-up, once by reqwest's rustls-platform-verifier and once by the AWS \
             SDK's hyper-rustls (both through rustls-native-certs); building the AWS config and two SDK \
             clients; parsing and checking the RSA key.",
            ms(over)
        ));
    }
    if p99 >= 1.0 {
        why.push(format!(
            "**Warm-path overhead p99** is {} (target < 1 ms); its p50 is {}. The tail is scheduling: \
             {cpus} CPUs run the driver, devstack, both functions and whatever else runs on the machine \
             (load average {} at the start, {} at the end), and each invocation hops between tokio \
             threads of several processes.",
            ms(p99),
            ms(m.overhead.p50()),
            load.0,
            load.1
        ));
    }
    if m.warm_okta_calls > 0 {
        why.push(format!(
            "**Okta calls on the warm path**: {} token calls in {} warm invocations; the token cache missed.",
            m.warm_okta_calls,
            m.warm.len()
        ));
    }
    if let Some(b) = bh.filter(|b| (*b as f64) >= 32.0 * MB) {
        why.push(format!(
            "**Peak RSS** is {} (target < 32 MB); the floor's is {}.",
            mb(b),
            fh.map_or("?".into(), mb)
        ));
    }
    if let Some(b) = arm.0.filter(|b| (*b as f64) >= 12.0 * MB) {
        why.push(format!(
            "**arm64 binary** is {} (target < 12 MB); the floor's is {}.",
            mb(b),
            arm.1.map_or("?".into(), mb)
        ));
    }
    if !why.is_empty() {
        let _ = writeln!(t, "\n### Where a target is missed\n");
        for w in why {
            let _ = writeln!(t, "- {w}");
        }
    }
    let extra = bf - m.cold.p50();
    let _ = writeln!(
        t,
        "\n### One-time cost in a new process\n\n\
         The first invocation of a fresh process takes {} (p50), {} more than a cold invocation in a \
         process that has served one. perf attributes most of it to aws-lc's one-time CPU jitter \
         entropy collection (`jent_*`), paid at the first use of randomness (here most likely the \
         RSA blinding of the first client assertion signature). On loopback everything is plain HTTP, so that lands in \
         the first invocation; in AWS the Secrets Manager call is HTTPS, so its TLS handshake pays it \
         during init instead. aws-lc-sys can be built without it (`AWS_LC_SYS_NO_JITTER_ENTROPY=1`), \
         at the price of relying on the OS entropy source alone.",
        ms(bf),
        ms(extra)
    );
    t
}
