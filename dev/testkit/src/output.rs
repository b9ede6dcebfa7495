//! A child process's stdout and stderr, collected in full by two reader threads, for the
//! harnesses that run our binaries (the Lambda under devstack's emulator or AWS's RIE).

use std::io::Read;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// What a process wrote, all of it.
pub struct Logs {
    pub stdout: String,
    pub stderr: String,
}

impl Logs {
    /// Both streams, one after the other (for searching).
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Display for Logs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }
}

/// The collectors of one child's piped stdout and stderr.
pub struct Captured {
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Captured {
    /// Start collecting; the child must have been spawned with both streams piped.
    pub fn attach(child: &mut Child) -> Captured {
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let readers = vec![
            collect(
                child.stdout.take().expect("piped stdout"),
                Arc::clone(&stdout),
            ),
            collect(
                child.stderr.take().expect("piped stderr"),
                Arc::clone(&stderr),
            ),
        ];
        Captured {
            stdout,
            stderr,
            readers,
        }
    }

    /// What was written so far.
    pub fn logs(&self) -> Logs {
        let text =
            |buf: &Mutex<Vec<u8>>| String::from_utf8_lossy(&buf.lock().unwrap()).into_owned();
        Logs {
            stdout: text(&self.stdout),
            stderr: text(&self.stderr),
        }
    }

    /// Everything written, once the process is gone (the readers end at EOF).
    pub fn finish(&mut self) -> Logs {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.logs()
    }
}

fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
    })
}
