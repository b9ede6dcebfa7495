//! The AgentCore phase: the release `xaa-bridge-agentcore` beside the Python runtime of
//! Okta's guide (`BedrockAgentCoreApp` running `dev/agentcore-parity/app.py` in `guide`
//! mode), both over plain HTTP on loopback, measured in the same run:
//!
//! * **start-up**: from just before the spawn to the first `GET /ping` that answers 200
//!   (polled every millisecond on a fresh connection), over `--init-runs` fresh processes
//!   of each, run alternately after one discarded run each. Ours loads the agent key from
//!   Secrets Manager (moto, behind the timing proxy) before it listens.
//! * **warm latency**: one process of each, one user; after a cold request and a few
//!   discarded ones, `--agentcore-warm` requests of each, alternating, on one keep-alive
//!   connection per server, each beside a bare `InvokeAgent` at the Bedrock stand-in. Ours
//!   answers from its token cache (devstack's Okta counters must not move) and still calls
//!   the Bedrock stand-in; the guide's handler makes no network call at all.
//! * **peak RSS**: fresh processes of each, `--invocations` requests by `--users` users
//!   (1,000 distinct ID tokens minted by devstack, each used `invocations / users` times,
//!   cycling), then `VmHWM` from `/proc/<pid>/status`.
//!
//! Every loop is bounded: a request gets [`REQUEST_TIMEOUT`], a phase [`PHASE_LIMIT`].

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use devstack::Settings;

use crate::agent::BareAgent;
use crate::http::Http;
use crate::phases::Bench;
use crate::procs::{spawn, Proc};
use crate::stats::{thousands, Samples};
use crate::{progress, Res, READY_TIMEOUT};

/// How often `/ping` is tried while a server starts (tokio's timer resolution).
pub const POLL: Duration = Duration::from_millis(1);
const PING_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests of each runtime discarded before the warm samples (after the cold one).
pub const WARM_UP: usize = 50;
/// No phase of this module runs longer than this.
const PHASE_LIMIT: Duration = Duration::from_secs(20 * 60);
const JSON: [(&str, &str); 1] = [("content-type", "application/json")];
/// What both answers start with: devstack's agent names the user, the guide's fixed
/// result names `jane.doe@example.com`.
const ANSWER_PREFIX: &str = "You are signed in as";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Ours,
    Python,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Ours => "xaa-bridge-agentcore",
            Runtime::Python => "the Python runtime (BedrockAgentCoreApp, guide mode)",
        }
    }

    fn log_name(self) -> &'static str {
        match self {
            Runtime::Ours => "xaa-bridge-agentcore",
            Runtime::Python => "agentcore-python-guide",
        }
    }
}

pub struct AgentCoreFigures {
    pub start_ours: Samples,
    pub start_python: Samples,
    /// The Secrets Manager round trip inside each of ours' start-ups.
    pub start_secrets_manager: Samples,
    pub warm_ours: Samples,
    pub warm_python: Samples,
    pub bare_agent: Samples,
    /// Ours minus the bare `InvokeAgent` beside it, request by request.
    pub ours_without_agent: Samples,
    pub warm_okta_calls: u64,
    pub warm_agent_calls: u64,
    /// Every request of the RSS run (the first per user cold for ours).
    pub load_ours: Samples,
    pub load_python: Samples,
    pub load_okta_calls: u64,
    pub load_secs: f64,
    pub hwm_ours_kb: Option<u64>,
    pub hwm_python_kb: Option<u64>,
    pub rss_ours_kb: Option<u64>,
    pub rss_python_kb: Option<u64>,
}

/// A started server on a loopback port; killed on drop (its [`Proc`]).
struct Server {
    runtime: Runtime,
    proc: Proc,
    addr: SocketAddr,
}

impl Server {
    /// Poll `GET /ping` until it answers 200; the instant it did.
    async fn wait_for_ping(&mut self, started: Instant) -> Res<Instant> {
        loop {
            if let Some(status) = self.proc.exited() {
                return Err(self.failed(&format!("exited ({status}) before /ping answered")));
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(self.failed(&format!(
                    "did not answer GET /ping with 200 within {} s",
                    READY_TIMEOUT.as_secs()
                )));
            }
            if let Ok(Ok(200)) = tokio::time::timeout(PING_TIMEOUT, ping(self.addr)).await {
                return Ok(Instant::now());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn client(&self) -> Res<Client> {
        let http = Http::connect(self.addr)
            .await
            .map_err(|e| self.failed(&format!("refused a connection: {e}")))?;
        Ok(Client {
            runtime: self.runtime,
            http,
            log: self.proc.log.clone(),
        })
    }

    fn failed(&self, what: &str) -> Box<dyn std::error::Error + Send + Sync> {
        format!(
            "{} {what}; its log: {}",
            self.runtime.name(),
            self.proc.log.display()
        )
        .into()
    }
}

async fn ping(addr: SocketAddr) -> Res<u16> {
    Ok(Http::connect(addr).await?.get("/ping").await?.0)
}

/// One keep-alive connection to a server.
struct Client {
    runtime: Runtime,
    http: Http,
    log: PathBuf,
}

impl Client {
    /// `POST /invocations` with `body`; the time to the whole answer, which must be a
    /// 200 with an `answer` from the agent.
    async fn invoke(&mut self, body: String) -> Res<Duration> {
        let started = Instant::now();
        let reply =
            tokio::time::timeout(REQUEST_TIMEOUT, self.http.post("/invocations", &JSON, body))
                .await;
        let took = started.elapsed();
        let name = self.runtime.name();
        let log = self.log.display();
        let (status, body) = match reply {
            Err(_) => {
                return Err(format!(
                    "{name} did not answer /invocations within {} s; its log: {log}",
                    REQUEST_TIMEOUT.as_secs()
                )
                .into())
            }
            Ok(Err(e)) => {
                return Err(format!("{name}: /invocations failed: {e}; its log: {log}").into())
            }
            Ok(Ok(reply)) => reply,
        };
        if status == 200 && answered(&body) {
            return Ok(took);
        }
        let excerpt = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        Err(format!("{name} answered HTTP {status} {excerpt}; its log: {log}").into())
    }
}

fn answered(body: &Bytes) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| {
        v["answer"]
            .as_str()
            .is_some_and(|a| a.starts_with(ANSWER_PREFIX))
    })
}

/// A free port on 127.0.0.1, for a server that is told its port (as AgentCore tells a
/// container to listen on 8080): bound, read and released.
fn free_loopback_addr() -> Res<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// `app.py` in guide mode, as its README runs it, with nothing inherited: fake AWS
/// credentials and no metadata lookups (it makes no network call), and the guide's
/// variables set from devstack's settings (they only shape strings there).
fn python_env(s: &Settings, port: u16) -> Vec<(String, String)> {
    let port = port.to_string();
    [
        ("MODE", "guide"),
        ("HOST", "127.0.0.1"),
        ("PORT", port.as_str()),
        ("OKTA_CUSTOM_AS_ID", s.okta_custom_as_id.as_str()),
        ("OKTA_SCOPE", s.okta_scope.as_str()),
        ("AGENT_CLIENT_ID", s.agent_client_id.as_str()),
        ("AGENT_KEY_ID", s.agent_key_id.as_str()),
        ("BEDROCK_AGENT_ID", s.bedrock_agent_id.as_str()),
        ("BEDROCK_AGENT_ALIAS_ID", s.bedrock_agent_alias_id.as_str()),
        ("AWS_REGION", s.aws_region.as_str()),
        ("AWS_DEFAULT_REGION", s.aws_region.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("TZ", ":UTC"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn within_limit(phase: &str, started: Instant) -> Res<()> {
    if started.elapsed() > PHASE_LIMIT {
        return Err(format!(
            "agentcore: the {phase} took longer than {} min; stopped",
            PHASE_LIMIT.as_secs() / 60
        )
        .into());
    }
    Ok(())
}

impl Bench {
    pub async fn agentcore_phase(&self) -> Res<AgentCoreFigures> {
        let mut f = AgentCoreFigures {
            start_ours: Samples::default(),
            start_python: Samples::default(),
            start_secrets_manager: Samples::default(),
            warm_ours: Samples::default(),
            warm_python: Samples::default(),
            bare_agent: Samples::default(),
            ours_without_agent: Samples::default(),
            warm_okta_calls: 0,
            warm_agent_calls: 0,
            load_ours: Samples::default(),
            load_python: Samples::default(),
            load_okta_calls: 0,
            load_secs: 0.0,
            hwm_ours_kb: None,
            hwm_python_kb: None,
            rss_ours_kb: None,
            rss_python_kb: None,
        };
        self.agentcore_start_up(&mut f).await?;
        self.agentcore_warm(&mut f).await?;
        self.agentcore_memory(&mut f).await?;
        Ok(f)
    }

    /// Spawn `runtime` on a free loopback port and wait for its first healthy `/ping`.
    /// Returns the server, the start-up time and the instants it spans.
    async fn start_runtime(
        &self,
        runtime: Runtime,
        tag: &str,
    ) -> Res<(Server, Duration, Instant, Instant)> {
        let addr = free_loopback_addr()?;
        let log = self
            .args
            .log_dir
            .join(format!("{}-{tag}.log", runtime.log_name()));
        let (proc, started) = match runtime {
            Runtime::Ours => spawn(
                &self.args.agentcore,
                &[],
                &self.env.agentcore_env(&addr.to_string()),
                &log,
            )?,
            Runtime::Python => {
                let app = self.args.parity_app.to_string_lossy().into_owned();
                spawn(
                    &self.args.python,
                    &[app.as_str()],
                    &python_env(&self.env.settings, addr.port()),
                    &log,
                )?
            }
        };
        let mut server = Server {
            runtime,
            proc,
            addr,
        };
        let ready = server.wait_for_ping(started).await?;
        if runtime == Runtime::Ours {
            // The contract the README gives: the bound address in a `listening` line.
            let logged = std::fs::read_to_string(&log).unwrap_or_default();
            let line = format!("addr={addr}");
            if !logged
                .lines()
                .any(|l| l.contains("listening") && l.contains(&line))
            {
                return Err(
                    server.failed(&format!("answered /ping but logged no `listening {line}`"))
                );
            }
        }
        Ok((server, ready - started, started, ready))
    }

    async fn agentcore_start_up(&self, f: &mut AgentCoreFigures) -> Res<()> {
        let runs = self.args.init_runs;
        progress(&format!(
            "agentcore start-up: {runs} fresh processes of each runtime to the first /ping 200, \
             alternating (plus one discarded each)"
        ));
        let phase = Instant::now();
        for run in 0..=runs {
            for runtime in [Runtime::Python, Runtime::Ours] {
                within_limit("start-up phase", phase)?;
                let (server, took, started, ready) = self.start_runtime(runtime, "start").await?;
                drop(server);
                if run == 0 {
                    continue; // page cache, bytecode cache, CPU warm-up
                }
                match runtime {
                    Runtime::Ours => {
                        f.start_ours.push(took);
                        f.start_secrets_manager
                            .push(self.proxy.busy_between(started, ready));
                    }
                    Runtime::Python => f.start_python.push(took),
                }
            }
        }
        Ok(())
    }

    async fn agentcore_warm(&self, f: &mut AgentCoreFigures) -> Res<()> {
        let n = self.args.agentcore_warm;
        progress(&format!(
            "agentcore warm: {n} requests of each runtime for one user, alternating, each beside \
             a bare InvokeAgent (after 1 cold and {WARM_UP} discarded)"
        ));
        let phase = Instant::now();
        let (ours, _, _, _) = self.start_runtime(Runtime::Ours, "warm").await?;
        let (python, _, _, _) = self.start_runtime(Runtime::Python, "warm").await?;
        let event = &self.events[0];
        let mut bare = BareAgent::new(
            &self.env.settings,
            event["id_token"].as_str().unwrap_or_default(),
        )
        .await?;
        let (mut ours_c, mut python_c) = (ours.client().await?, python.client().await?);
        let body = event.to_string();
        for _ in 0..=WARM_UP {
            ours_c.invoke(body.clone()).await?;
            python_c.invoke(body.clone()).await?;
            bare.call().await?;
        }
        let before = self.stack.stats();
        for _ in 0..n {
            within_limit("warm phase", phase)?;
            let took = ours_c.invoke(body.clone()).await?;
            f.warm_python.push(python_c.invoke(body.clone()).await?);
            let agent = bare.call().await?;
            f.warm_ours.push(took);
            f.bare_agent.push(agent);
            f.ours_without_agent
                .push_ms((took.as_secs_f64() - agent.as_secs_f64()) * 1e3);
        }
        let after = self.stack.stats();
        f.warm_okta_calls = (after.leg1 + after.leg2) - (before.leg1 + before.leg2);
        f.warm_agent_calls =
            (after.invoke_agent - before.invoke_agent).saturating_sub(f.bare_agent.len() as u64);
        Ok(())
    }

    async fn agentcore_memory(&self, f: &mut AgentCoreFigures) -> Res<()> {
        let (users, total) = (self.args.users, self.args.invocations);
        progress(&format!(
            "agentcore memory: {} requests of each runtime by {} users (fresh processes), \
             alternating; then VmHWM",
            thousands(total),
            thousands(users)
        ));
        let phase = Instant::now();
        let (ours, _, _, _) = self.start_runtime(Runtime::Ours, "rss").await?;
        let (python, _, _, _) = self.start_runtime(Runtime::Python, "rss").await?;
        let (mut ours_c, mut python_c) = (ours.client().await?, python.client().await?);
        let before = self.stack.stats();
        for i in 0..total {
            within_limit("memory phase", phase)?;
            let body = self.events[i % users].to_string();
            f.load_ours.push(ours_c.invoke(body.clone()).await?);
            f.load_python.push(python_c.invoke(body).await?);
            if (i + 1) % 2_000 == 0 && i + 1 < total {
                progress(&format!(
                    "agentcore memory: {} of {}",
                    thousands(i + 1),
                    thousands(total)
                ));
            }
        }
        let after = self.stack.stats();
        f.load_secs = phase.elapsed().as_secs_f64();
        f.load_okta_calls = (after.leg1 + after.leg2) - (before.leg1 + before.leg2);
        f.hwm_ours_kb = ours.proc.status_kb("VmHWM");
        f.rss_ours_kb = ours.proc.status_kb("VmRSS");
        f.hwm_python_kb = python.proc.status_kb("VmHWM");
        f.rss_python_kb = python.proc.status_kb("VmRSS");
        Ok(())
    }
}
