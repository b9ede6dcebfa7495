//! The AgentCore binary as a child process, shared by this folder's tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use devstack::Devstack;
use testkit::Moto;

pub const SECRET_NAME: &str = "xaa/agent-key";
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Server {
    pub child: Child,
    pub base: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn spawn(devstack: &Devstack, moto: &Moto, overrides: &[(&str, &str)]) -> Server {
        let mut env = testkit::local_stack_env(devstack, moto, SECRET_NAME);
        env.insert("BIND_ADDR".into(), "127.0.0.1:0".into());
        env.insert("RUST_LOG".into(), "info".into());
        for (k, v) in overrides {
            env.insert(k.to_string(), v.to_string());
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_xaa-bridge-agentcore"))
            .env_clear()
            .envs(&env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let (logs, addr_tx) = (logs.clone(), addr_tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if line.contains("listening") {
                        if let Some(addr) = line.split("addr=").nth(1) {
                            let addr = addr.split_whitespace().next().unwrap_or("").to_string();
                            let _ = addr_tx.send(addr);
                        }
                    }
                    logs.lock().unwrap().push(line);
                }
            });
        }
        let addr = addr_rx
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|_| panic!("no `listening` line; logs: {:?}", logs.lock().unwrap()));
        Server {
            child,
            base: format!("http://{addr}"),
            logs,
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Okta's guide's runtime, `BedrockAgentCoreApp` (PyPI `bedrock-agentcore`, installed
/// by `make setup`), running `dev/agentcore-parity/app.py` in `mode` on a loopback port.
pub struct PythonRuntime {
    child: Child,
    pub base: String,
}

impl PythonRuntime {
    pub async fn start(mode: &str) -> PythonRuntime {
        let root = testkit::workspace_root();
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} not found: run `make setup` (it installs bedrock-agentcore)",
            python.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let child = Command::new(python)
            .arg(root.join("dev/agentcore-parity/app.py"))
            .env("MODE", mode)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = std::time::Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{base}/ping")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "BedrockAgentCoreApp did not answer /ping"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        PythonRuntime { child, base }
    }
}

impl Drop for PythonRuntime {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
