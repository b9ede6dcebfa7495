//! The time a request may still spend, shared by every stage of it.
//!
//! Front doors make one from what they know (Lambda's deadline header, an HTTP
//! server's configured limit); the core and the Okta client only ask how much is left.

use std::time::{Duration, Instant};

/// A point in time by which the work must be done, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No limit: waits are bounded only by the per-request timeouts.
    pub const NONE: Deadline = Deadline(None);

    pub fn at(instant: Instant) -> Self {
        Deadline(Some(instant))
    }

    /// `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Deadline(Instant::now().checked_add(budget))
    }

    /// From a remaining time that may be unknown.
    pub fn from_remaining(left: Option<Duration>) -> Self {
        match left {
            Some(left) => Self::after(left),
            None => Self::NONE,
        }
    }

    pub fn instant(self) -> Option<Instant> {
        self.0
    }

    /// Time left, `None` when there is no deadline, zero once it has passed.
    pub fn remaining(self) -> Option<Duration> {
        self.0.map(|d| d.saturating_duration_since(Instant::now()))
    }

    pub fn has_passed(self) -> bool {
        self.remaining().is_some_and(|left| left.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_counts_down_and_none_never_passes() {
        assert_eq!(Deadline::NONE.remaining(), None);
        assert!(!Deadline::NONE.has_passed());
        let d = Deadline::after(Duration::from_secs(60));
        let left = d.remaining().unwrap();
        assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(59));
        assert!(Deadline::at(Instant::now()).has_passed());
        assert_eq!(Deadline::from_remaining(None), Deadline::NONE);
        // An absurd budget is no deadline rather than a panic.
        assert_eq!(Deadline::after(Duration::MAX), Deadline::NONE);
    }
}
