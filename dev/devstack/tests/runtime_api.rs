//! The Lambda Runtime API emulator: an invocation that timed out is withdrawn, so a
//! function that starts polling later is never handed an event nobody waits for.

use std::time::Duration;

use devstack::runtime_api::RuntimeApi;

mod common;

#[tokio::test]
async fn a_timed_out_invocation_is_not_delivered_later() {
    let api = RuntimeApi::start().await.unwrap();
    let outcome = api
        .invoke(&serde_json::json!({"n": 1}), Duration::from_millis(10))
        .await;
    assert_eq!(outcome, None, "nobody polled, so there is no answer");
    assert_eq!(
        api.queued(),
        0,
        "the unanswered event was left in the queue"
    );

    // A function that polls now must wait for a new event, not get the stale one.
    let base = format!("http://{}", api.address());
    let poll =
        tokio::spawn(
            async move { common::get(&base, "/2018-06-01/runtime/invocation/next").await },
        );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!poll.is_finished(), "a withdrawn event was handed out");
    poll.abort();
}
