//! `devstack`: run the Okta and Bedrock stand-ins (and the protected API, and the tool's
//! Lambda Runtime API) until SIGTERM/SIGINT.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use devstack::{Config, Devstack, User};

/// Local stand-ins for Okta (org + custom authorization server), the Bedrock agent
/// runtime and AgentCore Runtime, on 127.0.0.1.
///
/// Prints the settings JSON (endpoints, client ids, the AI agent's private JWK) as one
/// line on stdout; with --settings-file it writes them there instead (mode 0600,
/// atomically) and prints them without the private key. Logs one line per request on
/// stderr (no tokens, codes, keys or emails).
///
/// A prompt starting with devstack-fault:throttle, devstack-fault:midstream[=exceptionType]
/// or devstack-fault:slow[=secs] makes the Bedrock stand-in fail that call.
#[derive(Parser)]
#[command(name = "devstack", version)]
struct Cli {
    /// Port of the Okta stand-in (0 = any free port)
    #[arg(long, value_name = "N", default_value_t = 0)]
    okta_port: u16,
    /// Port of the Bedrock stand-in (0 = any free port)
    #[arg(long, value_name = "N", default_value_t = 0)]
    bedrock_port: u16,
    /// Port of the AgentCore Runtime stand-in (0 = any free port)
    #[arg(long, value_name = "N", default_value_t = 0)]
    agentcore_port: u16,
    /// The runtime container the AgentCore stand-in forwards to, http://127.0.0.1:PORT
    #[arg(long, value_name = "URL", value_parser = loopback_url)]
    agentcore_upstream: Option<String>,
    /// Also write the settings JSON here (with the private key; mode 0600)
    #[arg(long, value_name = "PATH")]
    settings_file: Option<PathBuf>,
    /// Users who can sign in (replace alice and bob; the first is the default sign-in;
    /// ids are 00u + a hash of the login)
    #[arg(long = "user", value_name = "LOGIN", num_args = 1.., value_parser = login)]
    users: Vec<String>,
    /// No request log
    #[arg(long)]
    quiet: bool,
    /// Port of the Okta-protected API (/me, /tickets, /tickets/{id}) (0 = any free port)
    #[arg(long, value_name = "N", default_value_t = 0)]
    api_port: u16,
    /// Serve a Lambda Runtime API for the action-group tool (xaa-tool) and let the
    /// Bedrock agent call it for prompts about tickets or "who am I"
    #[arg(long)]
    tool_runtime: bool,
    /// Port of that Runtime API (0 = any free port; implies --tool-runtime)
    #[arg(long, value_name = "N")]
    tool_runtime_port: Option<u16>,
    /// Seconds the agent waits for the tool's answer before failing the turn
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=900))]
    tool_timeout: u64,
    /// The org's resource connections and service apps: a JSON file with any of org_id,
    /// agent_resource_url, vaulted_secrets, service_accounts, resource_servers,
    /// m2m_clients (a missing key keeps the built-in default; empty secrets are random)
    #[arg(long, value_name = "FILE")]
    org_config: Option<PathBuf>,
    /// Write the demo's secrets as files here (mode 0600): agent.jwk.json and each service
    /// app's CLIENT_ID.secret or CLIENT_ID.jwk.json; the settings name the files
    #[arg(long, value_name = "DIR")]
    secrets_dir: Option<PathBuf>,
}

fn loopback_url(url: &str) -> Result<String, String> {
    let host = url.strip_prefix("http://").unwrap_or("");
    if host.starts_with("127.0.0.1:") || host.starts_with("localhost:") {
        Ok(url.to_string())
    } else {
        Err("takes http://127.0.0.1:PORT".into())
    }
}

fn login(value: &str) -> Result<String, String> {
    if value.is_empty() || value.chars().any(char::is_whitespace) {
        Err("takes logins without spaces, such as carol@example.com".into())
    } else {
        Ok(value.to_string())
    }
}

struct Args {
    cfg: Config,
    settings_file: Option<PathBuf>,
    secrets_dir: Option<PathBuf>,
}

/// A stable Okta-style id for a login: `00u` + 17 hex characters of its SHA-256.
fn user_for(login: &str) -> User {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, login.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let local = login.split('@').next().unwrap_or(login);
    let mut name: Vec<char> = local.chars().collect();
    if let Some(first) = name.first_mut() {
        *first = first.to_ascii_uppercase();
    }
    User::new(
        &format!("00u{}", &hex[..17]),
        login,
        &name.into_iter().collect::<String>(),
    )
}

fn parse_args() -> Args {
    let cli = Cli::parse();
    let mut cfg = Config {
        okta_port: cli.okta_port,
        bedrock_port: cli.bedrock_port,
        agentcore_port: cli.agentcore_port,
        agentcore_upstream: cli.agentcore_upstream,
        log_requests: !cli.quiet,
        api_port: cli.api_port,
        tool_runtime: cli.tool_runtime || cli.tool_runtime_port.is_some(),
        tool_runtime_port: cli.tool_runtime_port.unwrap_or(0),
        tool_timeout: std::time::Duration::from_secs(cli.tool_timeout),
        ..Config::default()
    };
    if !cli.users.is_empty() {
        cfg.users = cli.users.iter().map(|login| user_for(login)).collect();
    }
    if let Some(path) = &cli.org_config {
        match devstack::OrgConfig::from_json_file(path) {
            Ok(org) => cfg.org = org,
            Err(e) => {
                eprintln!("devstack: --org-config: {e}");
                std::process::exit(2);
            }
        }
    }
    Args {
        cfg,
        settings_file: cli.settings_file,
        secrets_dir: cli.secrets_dir,
    }
}

/// Write via a temporary file in the same directory and rename, so readers never see
/// half a file. The file holds a private key: owner-only.
fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("settings");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = options.open(&tmp).and_then(|mut file| {
        file.write_all(contents.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()
    });
    result
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = parse_args();
    let stack = match Devstack::start(args.cfg).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("devstack: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(dir) = &args.secrets_dir {
        if let Err(e) = stack.write_secret_files(dir) {
            eprintln!(
                "devstack: cannot write secret files to {}: {e}",
                dir.display()
            );
            return ExitCode::FAILURE;
        }
    }
    let settings = serde_json::to_string(&stack.settings()).expect("settings serialize");
    match &args.settings_file {
        // The file (mode 0600) is where the private key goes; stdout, often a CI log or a
        // terminal scrollback, gets the settings without it.
        Some(path) => {
            if let Err(e) = write_atomically(path, &settings) {
                eprintln!("devstack: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            let mut shown = serde_json::to_value(stack.settings()).expect("settings serialize");
            shown["agent_private_jwk"] = format!("<in {}>", path.display()).into();
            println!("{shown}");
        }
        None => println!("{settings}"),
    }
    eprintln!(
        "devstack: okta on {} (custom AS {}), bedrock on {}, agentcore on {}, api on {}, tool runtime API {}; users: {}. Ctrl-C to stop.",
        stack.okta_base_url(),
        stack.config().custom_as_id,
        stack.bedrock_endpoint_url(),
        stack.agentcore_url(),
        stack.api_url(),
        stack.tool_runtime_api_address().as_deref().unwrap_or("off"),
        stack
            .config()
            .users
            .iter()
            .map(|u| u.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    stop_signal().await;
    eprintln!("devstack: stopping");
    stack.shutdown().await;
    ExitCode::SUCCESS
}
