//! AWS's Lambda Runtime Interface Emulator (RIE) running a function binary: the
//! emulator AWS ships (inside the `aws-sam-cli` wheel) as a child process, so a test can
//! check what the service would do, beside devstack's own Runtime API emulator.
//!
//! The RIE listens for invocations on one loopback port, serves the Runtime API on
//! another, and starts the bootstrap itself at the first invocation (with
//! `AWS_LAMBDA_RUNTIME_API` set, and its own environment passed on). It answers a
//! function error with HTTP 200 and the error document as the body, as
//! `aws lambda invoke` shows it; a client context travels base64-encoded in
//! `X-Amz-Client-Context` and reaches the function as `Lambda-Runtime-Client-Context`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use devstack::runtime_api::Outcome;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::moto::free_port;
use crate::output::{Captured, Logs};

/// The invocation path of the RIE (Lambda's Invoke API, function name fixed).
const INVOKE_PATH: &str = "/2015-03-31/functions/function/invocations";
/// Overrides where the RIE binary is looked for (like `MOTO_SERVER_BIN` for moto).
pub const RIE_BIN_VAR: &str = "AWS_LAMBDA_RIE_BIN";

/// The RIE binary for this machine's architecture, from the project venv's `aws-sam-cli`
/// (`.venv/lib/python3.*/site-packages/samcli/local/rapid/aws-lambda-rie-<arch>`), or
/// from `AWS_LAMBDA_RIE_BIN`. A missing emulator fails the test (never a skip): the
/// tests that need it are the only proof the function works under AWS's own emulator.
pub fn rie_binary() -> PathBuf {
    let bin = match std::env::var(RIE_BIN_VAR) {
        Ok(bin) => PathBuf::from(bin),
        Err(_) => {
            let venv = crate::workspace_root().join(".venv");
            find_in_venv(&venv, rie_name()).unwrap_or_else(|| {
                panic!(
                    "AWS's Lambda Runtime Interface Emulator ({}) was not found under {}/lib*/python3*/site-packages/samcli/local/rapid/: run `make setup` (aws-sam-cli ships it), or set {RIE_BIN_VAR}",
                    rie_name(),
                    venv.display()
                )
            })
        }
    };
    use std::os::unix::fs::PermissionsExt;
    let executable =
        std::fs::metadata(&bin).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    assert!(
        executable,
        "{} is not an executable file: run `make setup` (or fix {RIE_BIN_VAR})",
        bin.display()
    );
    bin
}

/// The file name the wheel uses for this architecture (`arm64` for aarch64).
fn rie_name() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "aws-lambda-rie-arm64",
        "x86_64" => "aws-lambda-rie-x86_64",
        other => panic!("aws-sam-cli ships no Runtime Interface Emulator for {other}"),
    }
}

/// `lib` or `lib64`, any `python3.*`: the venv's layout depends on the interpreter.
fn find_in_venv(venv: &Path, name: &str) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    for lib in ["lib", "lib64"] {
        let Ok(pythons) = std::fs::read_dir(venv.join(lib)) else {
            continue;
        };
        for python in pythons.flatten() {
            if python.file_name().to_string_lossy().starts_with("python3") {
                candidates.push(
                    python
                        .path()
                        .join("site-packages/samcli/local/rapid")
                        .join(name),
                );
            }
        }
    }
    candidates.sort();
    candidates.into_iter().find(|path| path.is_file())
}

/// What the emulator answered one invocation: its HTTP status and body.
#[derive(Debug, Clone)]
pub struct RieReply {
    pub status: u16,
    pub body: Bytes,
}

impl RieReply {
    /// The body as the function's answer, or as the error document the RIE returns when
    /// the function reported an error (status 200) or the runtime died (502).
    pub fn outcome(&self) -> Outcome {
        let value: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&self.body).into_owned())
        });
        match value.get("errorType").and_then(|t| t.as_str()) {
            Some(error_type) => Outcome::Error {
                error_type: error_type.to_string(),
                error_message: value
                    .get("errorMessage")
                    .and_then(|m| m.as_str())
                    .unwrap_or_default()
                    .to_string(),
            },
            None => Outcome::Response(value),
        }
    }
}

/// The RIE running `bootstrap`, on two free loopback ports. Killed and reaped on drop
/// (it takes the function process down with it), so a failing test leaves nothing.
pub struct Rie {
    child: Child,
    invoke_addr: std::net::SocketAddr,
    /// What the RIE and the function wrote (the RIE passes the function's stdout and
    /// stderr through as its own).
    output: Captured,
}

impl Rie {
    /// Start the RIE for `bootstrap` with exactly `env` (nothing inherited; the RIE hands
    /// it to the function and adds the Lambda variables it owns, the Runtime API address
    /// first of all, so `env` must not set `AWS_LAMBDA_RUNTIME_API`). Returns once the
    /// invoke port accepts connections; the function itself starts at the first invoke.
    pub fn start(bootstrap: &Path, env: &HashMap<String, String>) -> Rie {
        assert!(
            !env.contains_key("AWS_LAMBDA_RUNTIME_API"),
            "the RIE sets AWS_LAMBDA_RUNTIME_API itself"
        );
        let rie = rie_binary();
        let invoke_port = free_port();
        let api_port = std::iter::repeat_with(free_port)
            .find(|port| *port != invoke_port)
            .expect("a second free port");
        let mut child = Command::new(&rie)
            .arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{invoke_port}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{api_port}"))
            .arg(bootstrap)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", rie.display()));
        let output = Captured::attach(&mut child);
        let mut rie = Rie {
            child,
            invoke_addr: ([127, 0, 0, 1], invoke_port).into(),
            output,
        };
        rie.wait_until_listening(Duration::from_secs(30));
        rie
    }

    fn wait_until_listening(&mut self, timeout: Duration) {
        let started = Instant::now();
        while std::net::TcpStream::connect(self.invoke_addr).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the RIE exited ({status})\n{}", self.stop());
            }
            if started.elapsed() > timeout {
                let addr = self.invoke_addr;
                panic!(
                    "the RIE did not listen on {addr} within {} s\n{}",
                    timeout.as_secs(),
                    self.stop()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// POST `body` as an invocation (as `aws lambda invoke` would), with `client_context`
    /// base64-encoded in `X-Amz-Client-Context` when given. Panics, with everything the
    /// RIE and the function wrote, when there is no answer within `timeout`.
    pub async fn invoke_raw(
        &self,
        body: impl Into<Bytes>,
        client_context: Option<&serde_json::Value>,
        timeout: Duration,
    ) -> RieReply {
        match tokio::time::timeout(timeout, self.post(body.into(), client_context)).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => panic!("invoking through the RIE failed: {e}\n{}", self.output()),
            Err(_) => panic!(
                "no answer from the RIE within {} s\n{}",
                timeout.as_secs(),
                self.output()
            ),
        }
    }

    /// [`Rie::invoke_raw`] with a JSON event, read as an answer or an error document.
    /// A function error comes with status 200; a runtime that died (`Runtime.ExitError`)
    /// with 502: both are errors here, any other non-200 reply fails the test.
    pub async fn invoke(
        &self,
        event: &serde_json::Value,
        client_context: Option<&serde_json::Value>,
        timeout: Duration,
    ) -> Outcome {
        let reply = self
            .invoke_raw(event.to_string(), client_context, timeout)
            .await;
        let outcome = reply.outcome();
        assert!(
            reply.status == 200 || matches!(outcome, Outcome::Error { .. }),
            "the RIE answered {} without an error document: {reply:?}\n{}",
            reply.status,
            self.output()
        );
        outcome
    }

    async fn post(
        &self,
        body: Bytes,
        client_context: Option<&serde_json::Value>,
    ) -> Result<RieReply, String> {
        let stream = tokio::net::TcpStream::connect(self.invoke_addr)
            .await
            .map_err(|e| format!("connect {}: {e}", self.invoke_addr))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(connection);
        let mut request = hyper::Request::post(INVOKE_PATH)
            .header("host", self.invoke_addr.to_string())
            .header("content-type", "application/json");
        if let Some(context) = client_context {
            let encoded = base64::engine::general_purpose::STANDARD.encode(context.to_string());
            request = request.header("x-amz-client-context", encoded);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("send: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("read the answer: {e}"))?
            .to_bytes();
        Ok(RieReply { status, body })
    }

    /// What the RIE and the function wrote so far (for failure messages).
    pub fn output(&self) -> Logs {
        self.output.logs()
    }

    /// Stop the RIE (and with it the function) and return everything they wrote.
    pub fn stop(&mut self) -> Logs {
        self.kill();
        self.output.finish()
    }

    fn kill(&mut self) {
        // Reaped already (stopped before): its pid may belong to someone else by now.
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SIGTERM first: the RIE then stops the function it started. SIGKILL if it lingers.
        // Until we reap it, the pid stays the RIE's (at worst a zombie), never another's.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args(["-TERM", &pid])
            .stderr(Stdio::null())
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Rie {
    fn drop(&mut self) {
        self.kill();
    }
}
