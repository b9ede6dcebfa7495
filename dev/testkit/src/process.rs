//! A function binary as a child process, the way the Lambda tests run it: a clean
//! environment (nothing inherited), two threads collecting its stdout and stderr, and the
//! process killed and reaped on drop, so a failing test leaves nothing behind.

use std::collections::HashMap;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::{Captured, Logs};

pub struct Process {
    pub child: Child,
    output: Captured,
}

impl Process {
    /// Start `binary` with exactly `env`.
    pub fn spawn(binary: &str, env: &HashMap<String, String>) -> Process {
        let mut child = Command::new(binary)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let output = Captured::attach(&mut child);
        Process { child, output }
    }

    /// What it wrote so far (for failure messages).
    pub fn output(&self) -> Logs {
        self.output.logs()
    }

    /// Wait for the process to exit by itself (init errors); `None` if it is still
    /// running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Kill it and return everything it wrote: the readers end at EOF once it is gone.
    pub fn stop(&mut self) -> Logs {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.output.finish()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
