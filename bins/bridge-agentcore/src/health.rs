//! `GET /ping`: `Healthy` when idle, `HealthyBusy` while invocations are in flight (so
//! AgentCore does not reclaim the session mid-answer), with the unix time the status
//! last changed, as `BedrockAgentCoreApp` reports it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

#[derive(Default)]
pub struct Health {
    in_flight: AtomicUsize,
    last_update: AtomicU64,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Ping {
    pub status: &'static str,
    pub time_of_last_update: u64,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Health {
    pub fn new() -> Arc<Self> {
        let health = Health::default();
        health.last_update.store(unix_now(), Ordering::Relaxed);
        Arc::new(health)
    }

    /// Count an invocation in flight until the guard drops (also on a panic or a
    /// client that went away).
    pub fn busy(self: &Arc<Self>) -> BusyGuard {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
            self.last_update.store(unix_now(), Ordering::Relaxed);
        }
        BusyGuard(self.clone())
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    pub fn ping(&self) -> Ping {
        Ping {
            status: if self.in_flight() > 0 {
                "HealthyBusy"
            } else {
                "Healthy"
            },
            time_of_last_update: self.last_update.load(Ordering::Relaxed),
        }
    }
}

pub struct BusyGuard(Arc<Health>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.last_update.store(unix_now(), Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_while_any_invocation_runs_and_healthy_after_the_last() {
        let health = Health::new();
        assert_eq!(health.ping().status, "Healthy");
        let a = health.busy();
        let b = health.busy();
        assert_eq!(health.ping().status, "HealthyBusy");
        drop(a);
        assert_eq!(health.ping().status, "HealthyBusy");
        drop(b);
        assert_eq!(health.ping().status, "Healthy");
        let now = unix_now();
        assert!(health.ping().time_of_last_update.abs_diff(now) <= 1);
    }
}
