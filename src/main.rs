//! The Lambda binary: logging, configuration and clients once, then the runtime loop.

use lambda_runtime::{run, service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use xaa_bridge::{logging, Bridge};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    match Bridge::from_env().await {
        Ok(bridge) => {
            bridge.warm_up().await;
            let bridge = &bridge;
            run(service_fn(move |event| async move {
                bridge.handle(event).await
            }))
            .await
        }
        Err(e) => {
            // Answer every invocation with the typed init error, so `cargo lambda invoke`
            // and CloudWatch both show what to fix instead of a crash loop.
            tracing::error!(error_type = e.error_type(), "init failed: {e}");
            let diagnostic = Diagnostic::from(&e);
            run(service_fn(move |_: LambdaEvent<Value>| {
                let d = diagnostic.clone();
                async move { Err::<(), Diagnostic>(d) }
            }))
            .await
        }
    }
}
