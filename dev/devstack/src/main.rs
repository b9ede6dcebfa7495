//! `devstack`: run the Okta and Bedrock stand-ins until SIGTERM/SIGINT.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use devstack::{Config, Devstack, User};

const USAGE: &str = "\
usage: devstack [--okta-port N] [--bedrock-port N] [--agentcore-port N] [--agentcore-upstream URL]
                [--settings-file PATH] [--user LOGIN ...] [--quiet]

Local stand-ins for Okta (org + custom authorization server) and the Bedrock agent
runtime, on 127.0.0.1. Prints the settings JSON (endpoints, client ids, the AI agent's
private JWK) as one line on stdout; with --settings-file it writes them there instead
(mode 0600, atomically) and prints them without the private key. Logs one line per request on stderr (no tokens, codes, keys or emails).

  --okta-port N        port of the Okta stand-in (default 0 = any free port)
  --bedrock-port N     port of the Bedrock stand-in (default 0 = any free port)
  --agentcore-port N   port of the AgentCore Runtime stand-in (default 0 = any free port)
  --agentcore-upstream URL
                       the runtime container it forwards to, http://127.0.0.1:PORT
  --settings-file PATH also write the settings JSON here
  --user LOGIN ...     users who can sign in (replace alice and bob; the first is
                       the default sign-in; ids are 00u + a hash of the login)
  --quiet              no request log
  -h, --help           this text

A prompt starting with devstack-fault:throttle, devstack-fault:midstream[=exceptionType]
or devstack-fault:slow[=secs] makes the Bedrock stand-in fail that call.";

struct Args {
    cfg: Config,
    settings_file: Option<PathBuf>,
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

fn parse_args() -> Result<Option<Args>, String> {
    let mut cfg = Config {
        log_requests: true,
        ..Config::default()
    };
    let mut users = Vec::new();
    let mut settings_file = None;
    let mut args = std::env::args().skip(1).peekable();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--okta-port" => {
                cfg.okta_port = value(&arg)?
                    .parse()
                    .map_err(|_| "--okta-port takes a port number (0-65535)")?
            }
            "--bedrock-port" => {
                cfg.bedrock_port = value(&arg)?
                    .parse()
                    .map_err(|_| "--bedrock-port takes a port number (0-65535)")?
            }
            "--agentcore-port" => {
                cfg.agentcore_port = value(&arg)?
                    .parse()
                    .map_err(|_| "--agentcore-port takes a port number (0-65535)")?
            }
            "--agentcore-upstream" => {
                let url = value(&arg)?;
                let host = url.strip_prefix("http://").unwrap_or("");
                if !(host.starts_with("127.0.0.1:") || host.starts_with("localhost:")) {
                    return Err("--agentcore-upstream takes http://127.0.0.1:PORT".into());
                }
                cfg.agentcore_upstream = Some(url);
            }
            "--settings-file" => settings_file = Some(PathBuf::from(value(&arg)?)),
            "--user" => {
                // `--user a@x b@x` and `--user a@x --user b@x` both work.
                let mut logins = vec![value(&arg)?];
                while let Some(login) = args.next_if(|next| !next.starts_with('-')) {
                    logins.push(login);
                }
                for login in logins {
                    if login.is_empty() || login.chars().any(char::is_whitespace) {
                        return Err(
                            "--user takes logins without spaces, such as carol@example.com".into(),
                        );
                    }
                    users.push(user_for(&login));
                }
            }
            "--quiet" => cfg.log_requests = false,
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    if !users.is_empty() {
        cfg.users = users;
    }
    Ok(Some(Args { cfg, settings_file }))
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
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("devstack: {message}");
            return ExitCode::from(2);
        }
    };
    let stack = match Devstack::start(args.cfg).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("devstack: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
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
        "devstack: okta on {} (custom AS {}), bedrock on {}, agentcore on {}; users: {}. Ctrl-C to stop.",
        stack.okta_base_url(),
        stack.config().custom_as_id,
        stack.bedrock_endpoint_url(),
        stack.agentcore_url(),
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
