//! The functions and servers as child processes: spawned with exactly the environment
//! given (a Lambda one, or a container's for the AgentCore front door), output to a log
//! file, killed on drop; their `/proc` status (RSS).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use devstack::Settings;

use crate::Res;

const MEMORY_MB: &str = "256";

/// A started binary; killed (by its own pid) and reaped on drop.
pub struct Proc {
    child: Child,
    pub log: PathBuf,
}

impl Proc {
    /// `/proc/<pid>/status` field in kB (`VmHWM`, `VmRSS`).
    pub fn status_kb(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
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
pub fn spawn(
    bin: &Path,
    args: &[&str],
    env: &[(String, String)],
    log: &Path,
) -> Res<(Proc, Instant)> {
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
pub enum Kind {
    Bridge,
    /// Today's build of the same source (`--baseline`: aws-lc with CPU jitter entropy),
    /// with exactly the environment of [`Kind::Bridge`].
    Baseline,
    /// xaa-bridge with the trust store reduced to one bundle file (`SSL_CERT_FILE`, and
    /// `SSL_CERT_DIR` empty), as on `provided.al2023`: shows what reading this host's
    /// certificate directory costs at init.
    BridgeOneBundle,
    Floor,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bridge => "xaa-bridge",
            Kind::Baseline => "xaa-bridge-jitter",
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
    lambda_env_named(kind.function_name(), runtime_api)
}

/// [`lambda_env`] for a function of any name (the tool job's `xaa-tool`).
pub fn lambda_env_named(function_name: &str, runtime_api: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", function_name),
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
pub struct BridgeEnv {
    pub settings: Settings,
    pub secrets_manager_url: String,
    pub secret_arn: String,
    /// `(SSL_CERT_FILE, SSL_CERT_DIR)` for [`Kind::BridgeOneBundle`].
    pub one_bundle: Option<(String, String)>,
}

impl BridgeEnv {
    pub fn env(&self, kind: Kind, runtime_api: &str) -> Vec<(String, String)> {
        let mut env = lambda_env(kind, runtime_api);
        if kind == Kind::Floor {
            return env;
        }
        // `AWS_REGION` repeats lambda_env's value.
        env.extend(self.bridge_vars());
        if let (Kind::BridgeOneBundle, Some((file, dir))) = (kind, &self.one_bundle) {
            env.push(("SSL_CERT_FILE".into(), file.clone()));
            env.push(("SSL_CERT_DIR".into(), dir.clone()));
        }
        env
    }

    /// `xaa-bridge-agentcore` as a container runs it: no Lambda variables, the bridge's
    /// own, `BIND_ADDR`, and text logs at INFO (one line per invocation, and the
    /// `listening addr=...` line).
    pub fn agentcore_env(&self, bind: &str) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("BIND_ADDR", bind),
            ("RUST_LOG", "info"),
            ("AWS_DEFAULT_REGION", self.settings.aws_region.as_str()),
            ("TZ", ":UTC"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.extend(self.bridge_vars());
        env
    }

    /// The variables template.yaml sets (one list, shared with the tests), then what
    /// points the SDK at the local stack.
    fn bridge_vars(&self) -> Vec<(String, String)> {
        let s = &self.settings;
        let template = testkit::function_env(s, &self.secret_arn);
        let local = [
            ("OKTA_OIDC_CLIENT_ID", s.oidc_client_id.as_str()),
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
        ];
        let mut vars: Vec<(String, String)> = template
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        vars.extend(local.map(|(k, v)| (k.to_string(), v.to_string())));
        vars
    }
}

/// The host's CA bundle file and an empty directory, for [`Kind::BridgeOneBundle`].
pub fn one_bundle(log_dir: &Path) -> Option<(String, String)> {
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
