//! The fuzz runner both crates' `tests/fuzz.rs` use: N inputs from a proptest strategy,
//! a seed to replay (`FUZZ_SEED`), the count from `FUZZ_CASES`, and one summary line;
//! plus the leak checks. A dev crate of its own so that `xaa`'s tests need only
//! proptest, not testkit (which pulls in the AWS SDK).

use std::time::Instant;

pub use proptest;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Planted in generated values: it must never come back in an error message.
pub const CANARY: &str = "S3CR3T";

pub fn cases(default: u32) -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

/// Run `check` on `cases` inputs drawn from `strategy`. A panic inside `check` is caught
/// by proptest, shrunk and reported as a failure; reaching the summary line means none.
/// `check` answers whether the input was accepted: the share shows how deep inputs got.
pub fn fuzz<S>(
    target: &str,
    default_cases: u32,
    strategy: S,
    check: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let cases = cases(default_cases);
    let seed = seed();
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        // Shrinking a 1 MiB frame sequence byte by byte would take hours.
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let accepted = std::sync::atomic::AtomicU64::new(0);
    let start = Instant::now();
    let outcome = runner.run(&strategy, |input| {
        if check(input)? {
            accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("fuzz {target} (FUZZ_SEED={seed}): {failure}");
    }
    let secs = start.elapsed().as_secs_f64();
    // On a line of its own under `--nocapture` (the harness has just printed "test ... ").
    println!(
        "\nfuzz {target}: {cases} inputs in {secs:.1} s ({:.0}/s), 0 panics ({:.1}% accepted, FUZZ_SEED={seed})",
        f64::from(cases) / secs.max(1e-9),
        100.0 * accepted.into_inner() as f64 / f64::from(cases.max(1)),
    );
}

/// `message` must not contain any of `secrets` (nor the canary).
pub fn no_leak(message: &str, secrets: &[String]) -> Result<(), TestCaseError> {
    proptest::prop_assert!(!message.contains(CANARY), "canary leaked: {message:?}");
    for secret in secrets {
        proptest::prop_assert!(
            !message.contains(secret.as_str()),
            "input leaked: {secret:?} in {message:?}"
        );
    }
    Ok(())
}

/// Long enough not to match our own wording by chance, and not a number (messages
/// carry counts and limits).
pub fn worth_checking(s: &str) -> bool {
    s.len() >= 8 && !s.bytes().all(|b| b.is_ascii_digit())
}

/// Arbitrary JSON up to three levels deep: scalars of every type, strings from `text`,
/// arrays, and objects whose member names come from `key()` (each target's own names,
/// so generated objects hit the fields its parser reads).
pub fn json_value<K, T>(key: fn() -> K, text: T) -> impl Strategy<Value = serde_json::Value>
where
    K: Strategy<Value = String> + 'static,
    T: Strategy<Value = String> + 'static,
{
    use proptest::prelude::*;
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text.prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}
