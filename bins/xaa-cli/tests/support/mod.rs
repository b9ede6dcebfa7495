//! The real `xaa` binary against an in-process devstack: a clean environment, secret
//! files written by devstack (mode 0600) in a directory of this test, stdin scripted.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use devstack::{Config, Devstack, IdTokenOptions, Settings};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

pub const ALICE: &str = "alice@example.com";

pub struct Stack {
    pub stack: Devstack,
    pub settings: Settings,
    pub dir: PathBuf,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Stack {
    pub async fn start() -> Stack {
        static N: AtomicU32 = AtomicU32::new(0);
        let stack = Devstack::start(Config::default()).await.unwrap();
        let dir = std::env::temp_dir().join(format!(
            "xaa-cli-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        stack.write_secret_files(&dir).unwrap();
        let settings = stack.settings();
        Stack {
            stack,
            settings,
            dir,
        }
    }

    /// The environment of the bridge Lambda for this org, with the key as a file.
    pub fn env(&self) -> Vec<(String, String)> {
        let s = &self.settings;
        [
            ("OKTA_BASE_URL", s.okta_base_url.as_str()),
            ("AGENT_CLIENT_ID", &s.agent_client_id),
            ("AGENT_KEY_ID", &s.agent_key_id),
            ("OKTA_CUSTOM_AS_ID", &s.okta_custom_as_id),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    pub fn key_file(&self) -> String {
        self.settings.credentials.agent_key_file.clone()
    }

    pub fn id_token(&self) -> String {
        self.stack.mint_id_token(ALICE, IdTokenOptions::default())
    }

    /// `name`'s resource among the connections of `kind` (`vaulted_secrets`, ...).
    pub fn resource(&self, kind: &str) -> String {
        let public = serde_json::to_value(&self.settings.credentials).unwrap();
        public[kind][0]["resource"].as_str().unwrap().to_string()
    }

    /// The devstack entry of service app `client_id` (token URL, secret or key file).
    pub fn m2m(&self, client_id: &str) -> Value {
        self.settings
            .credentials
            .m2m_clients
            .iter()
            .find(|c| c["client_id"] == client_id)
            .cloned()
            .unwrap()
    }

    /// Write `text` to a 0600 file in this test's directory.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        path.display().to_string()
    }
}

/// Run `xaa` with only `env` (no inherited AWS or Okta settings) and `stdin`.
pub async fn xaa(args: &[&str], env: &[(String, String)], stdin: &str) -> Output {
    let mut child = command(args, env).spawn().expect("run xaa");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    child.wait_with_output().await.unwrap()
}

pub fn command(args: &[&str], env: &[(String, String)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_xaa"));
    cmd.env_clear()
        .envs(env.iter().cloned())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// The JSON on stdout of a successful run.
pub fn json_of(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        stderr(o)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("not JSON: {}", stdout(o)))
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

/// Neither stdout nor stderr shows any of `secrets`.
pub fn assert_hidden(o: &Output, secrets: &[&str]) {
    let all = format!("{}{}", stdout(o), stderr(o));
    for s in secrets {
        assert!(!s.is_empty());
        assert!(
            !all.contains(s),
            "output shows a secret ({} bytes): {all}",
            s.len()
        );
    }
}

/// The claims of a JWT, unverified (the test reads what devstack put in).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn with(env: &[(String, String)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}
