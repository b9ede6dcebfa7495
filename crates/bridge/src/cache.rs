//! Expiring, bounded, single-flight token cache over `quick_cache`.
//!
//! Entries are keyed on a SHA-256 of the *exact* subject token (plus audience, scope and
//! client), never on claims read from it such as `sub`. A caller presenting a forged or
//! different ID token that names another user's `sub` produces a different hash, so it
//! can only ever find entries created by a successful exchange of that same token string:
//! Okta validated that token once, and nothing cached can be reached without it.
//!
//! An entry counts as expired `margin` before its real expiry, so a token handed out is
//! still valid when the downstream call uses it. `quick_cache` bounds the entry count
//! (its eviction policy keeps frequently used entries) and gives single flight through
//! its placeholder guards: concurrent callers for one key wait for the first, a failed
//! or cancelled first caller hands the turn to exactly one waiter, and unrelated keys
//! never wait for each other. We measured no reason to keep the hand-made LRU it replaces.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_lc_rs::digest;
use quick_cache::sync::Cache;

use xaa::Clock;

/// 32-byte SHA-256 over length-prefixed parts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// Each part is prefixed with its length so that part boundaries are part of the
    /// hash: `["ab", "c"]` and `["a", "bc"]` must not share a cache entry.
    pub fn derive(parts: &[&[u8]]) -> CacheKey {
        let mut ctx = digest::Context::new(&digest::SHA256);
        for part in parts {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        CacheKey(out)
    }
}

impl CacheKey {
    /// All 64 hex digits, for ids derived from a key (never for logs).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A prefix is enough to correlate log lines; the full hash of a token stays out of logs.
impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "CacheKey({a:02x}{b:02x}{c:02x}{d:02x}…)")
    }
}

pub struct TokenCache<V> {
    /// The value and the time it stops being handed out (`expires_at - margin`).
    entries: Cache<CacheKey, (V, SystemTime)>,
    margin: Duration,
    clock: Arc<dyn Clock>,
}

impl<V: Clone + Send + Sync + 'static> TokenCache<V> {
    /// `max_entries` is clamped to at least 1; `margin`: an entry counts as expired at
    /// `expires_at - margin`.
    pub fn new(max_entries: usize, margin: Duration, clock: Arc<dyn Clock>) -> Self {
        TokenCache {
            entries: Cache::new(max_entries.max(1)),
            margin,
            clock,
        }
    }

    /// A fresh entry; an expired one is removed (dropping, and so wiping, its value).
    pub fn get(&self, key: &CacheKey) -> Option<V> {
        let (value, fresh_until) = self.entries.get(key)?;
        if fresh_until <= self.clock.now() {
            self.entries.remove(key);
            return None;
        }
        Some(value)
    }

    /// When an entry fetched now stops being handed out, or `None` when it is already
    /// inside the margin (nobody could use it).
    fn fresh_until(&self, expires_at: SystemTime) -> Option<SystemTime> {
        expires_at
            .checked_sub(self.margin)
            .filter(|fresh_until| *fresh_until > self.clock.now())
    }

    /// Not inserted at all if `expires_at` is already within the margin.
    pub fn insert(&self, key: CacheKey, value: V, expires_at: SystemTime) {
        if let Some(fresh_until) = self.fresh_until(expires_at) {
            self.entries.insert(key, (value, fresh_until));
        }
    }

    pub fn remove(&self, key: &CacheKey) {
        self.entries.remove(key);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Single flight: the first caller for a missing key runs `fetch`; concurrent
    /// callers wait and get its value. A failed (or cancelled) first caller keeps its
    /// error and hands the turn to exactly one waiter, so `E` need not be `Clone` and
    /// nothing is wedged. A value that `fetch` returns already inside the margin goes to
    /// its own caller but is not cached, so the next waiter fetches.
    pub async fn get_or_try_fetch<F, Fut, E>(&self, key: CacheKey, fetch: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(V, SystemTime), E>>,
    {
        loop {
            match self.entries.get_value_or_guard_async(&key).await {
                Ok((value, fresh_until)) if fresh_until > self.clock.now() => return Ok(value),
                // Stale: drop it and take a turn like any missing key.
                Ok(_) => {
                    self.entries.remove(&key);
                }
                Err(guard) => {
                    // The guard is dropped on error or cancellation: the next waiter's turn.
                    let (value, expires_at) = fetch().await?;
                    if let Some(fresh_until) = self.fresh_until(expires_at) {
                        let _ = guard.insert((value.clone(), fresh_until));
                    }
                    return Ok(value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::time::UNIX_EPOCH;
    use tokio::{sync::Notify, task::JoinHandle, time::timeout};
    use xaa::ManualClock;

    const T0: u64 = 1_000_000;
    type Cache = TokenCache<String>;
    type Fetched = Result<(String, SystemTime), &'static str>;

    fn key(name: &str) -> CacheKey {
        CacheKey::derive(&[b"test", name.as_bytes()])
    }
    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }
    fn ok(v: &str) -> Fetched {
        Ok((v.to_string(), at(T0 + 3600)))
    }
    fn cache(max: usize) -> (Arc<Cache>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::at(T0));
        let margin = Duration::from_secs(60);
        (Arc::new(TokenCache::new(max, margin, clock.clone())), clock)
    }
    fn spawn_fetch(
        c: &Arc<Cache>,
        k: &'static str,
        fetch: impl Future<Output = Fetched> + Send + 'static,
    ) -> JoinHandle<Result<String, &'static str>> {
        let c = c.clone();
        tokio::spawn(async move { c.get_or_try_fetch(key(k), || fetch).await })
    }

    #[test]
    fn get_hits_inserted_value_and_misses_unknown_key() {
        let (c, _) = cache(10);
        assert!(c.is_empty());
        c.insert(key("a"), "A".into(), at(T0 + 3600));
        assert_eq!(c.get(&key("a")).as_deref(), Some("A"));
        assert_eq!(c.get(&key("b")), None);
        c.remove(&key("a"));
        assert_eq!(c.get(&key("a")), None);
    }

    #[test]
    fn entry_expires_exactly_margin_before_expiry_and_is_removed() {
        let (c, clock) = cache(10);
        c.insert(key("a"), "A".into(), at(T0 + 120));
        clock.set(T0 + 59);
        assert_eq!(c.get(&key("a")).as_deref(), Some("A"));
        clock.set(T0 + 60);
        assert_eq!(c.get(&key("a")), None);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn insert_is_refused_when_already_inside_the_margin() {
        let (c, _) = cache(10);
        for (k, exp) in [
            ("edge", T0 + 60),
            ("in", T0 + 30),
            ("past", T0 - 9),
            ("0", 9),
        ] {
            c.insert(key(k), "x".into(), at(exp));
        }
        assert!(c.is_empty());
    }

    #[test]
    fn the_bound_is_never_exceeded_and_a_hot_entry_survives_a_scan() {
        let (c, _) = cache(100);
        c.insert(key("hot"), "h".into(), at(T0 + 3600));
        for i in 0..10_000 {
            c.insert(key(&i.to_string()), "v".into(), at(T0 + 3600));
            assert!(
                c.get(&key("hot")).is_some(),
                "the hot entry was evicted at {i}"
            );
            assert!(c.len() <= 100, "{} entries", c.len());
        }
        assert!(c.len() >= 50, "the cache keeps using its room: {}", c.len());
    }

    #[test]
    fn a_stale_entry_is_fetched_again_not_served() {
        let (c, clock) = cache(10);
        c.insert(key("k"), "old".into(), at(T0 + 120));
        clock.set(T0 + 60);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let got = rt.block_on(c.get_or_try_fetch(key("k"), || async { ok("new") }));
        assert_eq!(got.unwrap(), "new");
        assert_eq!(c.get(&key("k")).as_deref(), Some("new"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_callers_on_one_key_fetch_exactly_once() {
        let (c, _) = cache(10);
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let calls = calls.clone();
                spawn_fetch(&c, "k", async move {
                    calls.fetch_add(1, SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    ok("token")
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), "token");
        }
        assert_eq!(calls.load(SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn failing_leader_passes_leadership_to_exactly_one_waiter() {
        let (c, _) = cache(10);
        let (calls, release) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()));
        let fetch = || {
            let (calls, release) = (calls.clone(), release.clone());
            async move {
                if calls.fetch_add(1, SeqCst) == 0 {
                    release.notified().await;
                    return Err("leader failed");
                }
                ok("token")
            }
        };
        let leader = spawn_fetch(&c, "k", fetch());
        // The leader is inside its fetch once the first call is counted.
        while calls.load(SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let waiters: Vec<_> = (0..10).map(|_| spawn_fetch(&c, "k", fetch())).collect();
        release.notify_one();
        assert_eq!(leader.await.unwrap(), Err("leader failed"));
        for w in waiters {
            assert_eq!(w.await.unwrap().unwrap(), "token");
        }
        assert_eq!(
            calls.load(SeqCst),
            2,
            "one failed fetch, then exactly one more"
        );
    }

    #[tokio::test]
    async fn cancelled_leader_does_not_wedge_waiters() {
        let (c, _) = cache(10);
        let started = Notify::new();
        let stalled = c.get_or_try_fetch(key("k"), || async {
            started.notify_one();
            std::future::pending::<Fetched>().await
        });
        let waiter = async {
            started.notified().await;
            c.get_or_try_fetch(key("k"), || async { ok("token") }).await
        };
        // join! drops the leader's future as soon as its timeout fires.
        let (leader, got) = tokio::join!(
            timeout(Duration::from_millis(100), stalled),
            timeout(Duration::from_secs(5), waiter)
        );
        assert!(leader.is_err(), "leader should have timed out");
        assert_eq!(got.expect("waiter wedged").unwrap(), "token");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unrelated_keys_proceed_while_one_fetch_is_stalled() {
        let (c, _) = cache(10);
        let release = Arc::new(Notify::new());
        let (r, entered) = (release.clone(), Arc::new(Notify::new()));
        let e = entered.clone();
        let stalled = spawn_fetch(&c, "slow", async move {
            e.notify_one();
            r.notified().await;
            ok("slow")
        });
        entered.notified().await;
        let other = c.get_or_try_fetch(key("fast"), || async { ok("fast") });
        let got = timeout(Duration::from_secs(5), other).await;
        assert_eq!(got.expect("blocked by another key").unwrap(), "fast");
        release.notify_one();
        assert_eq!(stalled.await.unwrap().unwrap(), "slow");
    }

    #[test]
    fn distinct_parts_give_distinct_keys_and_boundaries_count() {
        assert_eq!(key("a"), key("a"));
        assert_ne!(key("a"), key("b"));
        let d = CacheKey::derive;
        assert_ne!(d(&[b"ab", b"c"]), d(&[b"a", b"bc"]));
        assert_ne!(d(&[]), d(&[b""]));
        assert_ne!(d(&[b"access", b"t"]), d(&[b"id-jag", b"t"]));
    }

    #[test]
    fn debug_of_cache_key_shows_only_a_short_prefix() {
        let k = key("a");
        let full: String = k.0.iter().map(|b| format!("{b:02x}")).collect();
        let shown = format!("{k:?}");
        assert_eq!(shown, format!("CacheKey({}…)", &full[..8]));
    }
}
