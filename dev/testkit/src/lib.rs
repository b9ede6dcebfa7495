//! Test helpers shared by every member's tests, instead of a copy per test folder.
//!
//! - `frames`: Bedrock event-stream frames and SDK responses carrying them
//! - `fakes`: a scripted Okta token endpoint, a fixed key source, an echoing agent
//! - `moto`: AWS's Secrets Manager emulator as a child process (from the project venv)
//! - `stack`: devstack + moto together, the function's environment, `events/`
//! - `rie`: AWS's Lambda Runtime Interface Emulator (from the project venv) running a
//!   function binary
//! - `process`: a function binary as a child process with a clean environment
//! - `scan`: log safety, secrets searched plainly, base64-encoded and as JWT shapes

mod fakes;
mod frames;
mod moto;
mod output;
mod process;
mod rie;
pub mod scan;
mod stack;

pub use fakes::*;
pub use frames::*;
pub use moto::*;
pub use output::{Captured, Logs};
pub use process::Process;
pub use rie::*;
pub use stack::*;

/// The workspace root (where `events/`, `.venv/` and the Makefile are).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}
