//! The floor for `make bench`: the smallest useful `lambda_runtime` function. It answers
//! every event with `{"answer": "ok"}` and does nothing else (no logging, no clients, no
//! configuration), so its init time, invoke latency, memory and binary size are what the
//! runtime itself costs. `scripts/bench.sh` builds it in the same run as `xaa-bridge`
//! (same toolchain, same release profile) and reports our figures as ratios to it.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<Value, Error>(json!({"answer": "ok"}))
    }))
    .await
}
