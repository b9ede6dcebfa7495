//! Run a Lambda function binary once under devstack's Lambda Runtime API emulator.
//!
//! ```text
//! lambda_invoke EVENT_FILE [--timeout SECS] -- PROGRAM [ARGS...]
//! ```
//!
//! Starts the Runtime API on 127.0.0.1, starts PROGRAM with `AWS_LAMBDA_RUNTIME_API`
//! pointing there (its other environment inherited, plus the function variables Lambda
//! sets when absent), hands it the event from EVENT_FILE, prints the outcome as one JSON
//! line (`{"response": ...}` or `{"error": {"errorType", "errorMessage"}}`) and stops the
//! process it started. Exit status 0 for a response, 1 for a function or init error, 2 for
//! a usage or start-up problem. The function's stdout and stderr go to stderr.
//! `make demo-credentials` uses it to drive the real
//! `xaa-tool`. The event file is read, never printed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use devstack::runtime_api::{Outcome, RuntimeApi};
use serde_json::{json, Value};

/// The largest event file read (Lambda's synchronous payload limit).
const MAX_EVENT_BYTES: u64 = 6 * 1024 * 1024;

struct Args {
    event: PathBuf,
    timeout: Duration,
    program: Vec<String>,
}

fn parse() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut event = None;
    let mut timeout = Duration::from_secs(30);
    let mut program = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--" => {
                program.extend(args.by_ref());
                break;
            }
            "--timeout" => {
                let secs: u64 = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|s| (1..=900).contains(s))
                    .ok_or("--timeout takes seconds from 1 to 900")?;
                timeout = Duration::from_secs(secs);
            }
            _ if event.is_none() => event = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let event = event.ok_or("give the event file")?;
    if program.is_empty() {
        return Err("give the program after --".into());
    }
    Ok(Args {
        event,
        timeout,
        program,
    })
}

fn read_event(path: &PathBuf) -> Result<Value, String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_EVENT_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.len() as u64 > MAX_EVENT_BYTES {
        return Err(format!("{} is larger than 6 MiB", path.display()));
    }
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON ({e})", path.display()))
}

fn outcome_json(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Response(value) => json!({ "response": value }),
        Outcome::Error {
            error_type,
            error_message,
        } => json!({"error": {"errorType": error_type, "errorMessage": error_message}}),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("lambda_invoke: {e}\nusage: lambda_invoke EVENT_FILE [--timeout SECS] -- PROGRAM [ARGS...]");
            return ExitCode::from(2);
        }
    };
    let event = match read_event(&args.event) {
        Ok(event) => event,
        Err(e) => {
            eprintln!("lambda_invoke: {e}");
            return ExitCode::from(2);
        }
    };
    let api = match RuntimeApi::start().await {
        Ok(api) => api,
        Err(e) => {
            eprintln!("lambda_invoke: cannot start the Runtime API: {e}");
            return ExitCode::from(2);
        }
    };
    let mut command = std::process::Command::new(&args.program[0]);
    command
        .args(&args.program[1..])
        .env("AWS_LAMBDA_RUNTIME_API", api.address());
    // The function's own output (logs, audit lines) goes to stderr: stdout is the outcome.
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
            command.stdout(std::process::Stdio::from(fd));
        }
    }
    let defaults = [
        ("AWS_LAMBDA_FUNCTION_NAME", "xaa-tool"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2025/01/01/[$LATEST]local"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/local"),
    ];
    for (name, value) in defaults {
        if std::env::var_os(name).is_none() {
            command.env(name, value);
        }
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("lambda_invoke: cannot start {}: {e}", args.program[0]);
            return ExitCode::from(2);
        }
    };
    // Wait for the first poll of /invocation/next, noticing a process that exits first.
    let deadline = std::time::Instant::now() + args.timeout;
    let mut ready = false;
    while std::time::Instant::now() < deadline {
        if api
            .wait_until_ready(Duration::from_millis(100))
            .await
            .is_some()
        {
            ready = true;
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!("lambda_invoke: the function exited during init ({status})");
            break;
        }
    }
    let outcome = if ready {
        api.invoke(&event, args.timeout).await
    } else {
        api.init_error()
    };
    let _ = child.kill();
    let _ = child.wait();
    match outcome {
        Some(outcome) => {
            println!("{}", outcome_json(&outcome));
            if matches!(outcome, Outcome::Response(_)) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        None => {
            eprintln!("lambda_invoke: no answer within {:?}", args.timeout);
            ExitCode::from(2)
        }
    }
}
