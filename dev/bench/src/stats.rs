//! Samples in milliseconds, nearest-rank percentiles, and how numbers are written in
//! the report.

use std::time::Duration;

/// A megabyte as the report counts it: 10^6 bytes.
pub const MB: f64 = 1_000_000.0;

#[derive(Default, Clone)]
pub struct Samples(Vec<f64>); // milliseconds

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d.as_secs_f64() * 1e3);
    }

    pub fn push_ms(&mut self, ms: f64) {
        self.0.push(ms);
    }

    /// Nearest-rank percentile.
    pub fn pct(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
        sorted[rank.min(sorted.len()) - 1]
    }

    pub fn p50(&self) -> f64 {
        self.pct(50.0)
    }

    pub fn p99(&self) -> f64 {
        self.pct(99.0)
    }

    /// How many samples are above `ms` milliseconds.
    pub fn count_over(&self, ms: f64) -> usize {
        self.0.iter().filter(|v| **v > ms).count()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

pub fn ms(v: f64) -> String {
    if v.abs() < 1.0 {
        format!("{v:.3} ms")
    } else if v.abs() < 100.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.0} ms")
    }
}

pub fn ratio(ours: f64, floor: f64) -> String {
    if floor > 0.0 && ours.is_finite() {
        format!("{:.2}x", ours / floor)
    } else {
        "–".into()
    }
}

/// `10000` -> `10,000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / MB)
}

pub fn met(ok: bool, miss: impl FnOnce() -> String) -> String {
    if ok {
        "yes".into()
    } else {
        format!("**no**: {}", miss())
    }
}
