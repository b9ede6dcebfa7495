//! moto, AWS's Secrets Manager emulator, as a child process on loopback.

use std::time::Duration;

/// A real moto server (Secrets Manager emulator) on a free loopback port, killed on
/// drop. moto comes from the project venv (`make setup`); a missing moto is a failure,
/// never a skip.
pub struct Moto {
    child: std::process::Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let bin = std::env::var("MOTO_SERVER_BIN").unwrap_or_else(|_| {
            format!(
                "{}/.venv/bin/moto_server",
                crate::workspace_root().display()
            )
        });
        assert!(
            std::path::Path::new(&bin).exists(),
            "moto_server not found at {bin}: run `make setup` (or set MOTO_SERVER_BIN)"
        );
        // Port 0: moto binds a free port itself and says which, so no port is picked
        // here and released for another process to take in between.
        let mut child = std::process::Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start moto_server");
        let stderr = child.stderr.take().expect("piped stderr");
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            // Keep reading after the port so moto never blocks on a full pipe.
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(port) = announced_port(&line) {
                    let _ = port_tx.send(port);
                }
            }
        });
        let port = match port_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                panic!("moto_server did not say where it listens within 30 s");
            }
        };
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn client(&self) -> aws_sdk_secretsmanager::Client {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }

    pub async fn put_secret(&self, name: &str, value: &str) -> String {
        self.client()
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .expect("create secret in moto")
            .arn
            .expect("arn")
    }
}

/// For a driver rather than a test (`lambda-bench`): errors instead of panics, moto's
/// output kept in a file, and the address for a proxy in front of it.
impl Moto {
    /// moto from `bin` on a free loopback port, its stdout and stderr in `log`, with only
    /// `PATH`, `HOME` and the locale variables of this environment (so a caller's `AWS_*`
    /// or `MOTO_*` settings cannot change what moto does). Fails when moto exits or does
    /// not listen within `timeout`.
    pub fn start_logged(
        bin: &std::path::Path,
        log: &std::path::Path,
        timeout: Duration,
    ) -> Result<Moto, String> {
        let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let env = std::env::vars()
            .filter(|(k, _)| k == "PATH" || k == "HOME" || k.starts_with("LC_") || k == "LANG");
        let child = std::process::Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .env_clear()
            .envs(env)
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        // From here on, dropping `moto` stops the child.
        let mut moto = Moto {
            child,
            endpoint: String::new(),
        };
        let started = std::time::Instant::now();
        loop {
            let said = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(port) = said.lines().find_map(announced_port) {
                moto.endpoint = format!("http://127.0.0.1:{port}");
                break;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                return Err(format!(
                    "moto_server exited ({status}); see {}",
                    log.display()
                ));
            }
            if started.elapsed() > timeout {
                return Err(format!(
                    "moto_server did not listen within {} s",
                    timeout.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(moto)
    }

    /// The loopback address moto listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.endpoint
            .trim_start_matches("http://")
            .parse()
            .expect("the endpoint is http://127.0.0.1:port")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in moto's (werkzeug's) start-up line `* Running on http://127.0.0.1:PORT`.
fn announced_port(line: &str) -> Option<u16> {
    let rest = line.split("Running on http://127.0.0.1:").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|port| *port != 0)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_read_from_the_start_up_line_only() {
        assert_eq!(
            announced_port(" * Running on http://127.0.0.1:35669"),
            Some(35669)
        );
        assert_eq!(
            announced_port("\u{1b}[33m * Running on http://127.0.0.1:80\u{1b}[0m"),
            Some(80)
        );
        assert_eq!(announced_port("Press CTRL+C to quit"), None);
        assert_eq!(announced_port(" * Running on http://127.0.0.1:0"), None);
    }
}
