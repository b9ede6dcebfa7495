//! Injected time and randomness, so token lifetimes, cache expiry and `jti`s are
//! deterministic in tests and real in production.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock time, as seconds since the Unix epoch (what JWT `iat`/`exp` use).
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> SystemTime;

    fn unix_now(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; for tests and benchmarks.
#[derive(Debug)]
pub struct ManualClock {
    unix_secs: AtomicU64,
}

impl ManualClock {
    pub fn at(unix_secs: u64) -> Self {
        Self {
            unix_secs: AtomicU64::new(unix_secs),
        }
    }

    pub fn advance(&self, by: Duration) {
        self.unix_secs.fetch_add(by.as_secs(), Ordering::SeqCst);
    }

    pub fn set(&self, unix_secs: u64) {
        self.unix_secs.store(unix_secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.unix_secs.load(Ordering::SeqCst))
    }
}

/// Source of `jti` values for client assertions. Okta treats any assertion with a
/// `jti` as single use, so production draws a random UUID every time.
pub trait JtiSource: Send + Sync + 'static {
    fn next_jti(&self) -> String;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct RandomJti;

impl JtiSource for RandomJti {
    fn next_jti(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// Predictable `jti`s (`jti-1`, `jti-2`, ...) for tests that compare exact claims.
#[derive(Debug, Default)]
pub struct SequentialJti {
    next: AtomicU64,
}

impl JtiSource for SequentialJti {
    fn next_jti(&self) -> String {
        format!("jti-{}", self.next.fetch_add(1, Ordering::SeqCst) + 1)
    }
}
