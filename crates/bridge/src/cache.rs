//! Expiring, bounded, single-flight token cache.
//!
//! Entries are keyed on a SHA-256 of the *exact* subject token (plus audience, scope and
//! client), never on claims read from it such as `sub`. A caller presenting a forged or
//! different ID token that names another user's `sub` produces a different hash, so it
//! can only ever find entries created by a successful exchange of that same token string:
//! Okta validated that token once, and nothing cached can be reached without it.
//!
//! An entry counts as expired `margin` before its real expiry, so a token handed out is
//! still valid when the downstream call uses it. The LRU is an intrusive doubly linked
//! list over a slab, so a hit is one short critical section with O(1) pointer moves and
//! no allocation; a `BTreeSet` ordered by expiry lets eviction drop dead entries first.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use aws_lc_rs::digest;

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

/// A prefix is enough to correlate log lines; the full hash of a token stays out of logs.
impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "CacheKey({a:02x}{b:02x}{c:02x}{d:02x}…)")
    }
}

const NIL: usize = usize::MAX;

struct Slot<V> {
    key: CacheKey,
    value: V,
    fresh_until: SystemTime,
    prev: usize,
    next: usize,
}

/// Slab + intrusive list: `head` is the most recently used entry, `tail` the least.
struct Lru<V> {
    index: HashMap<CacheKey, usize>,
    slots: Vec<Option<Slot<V>>>,
    free: Vec<usize>,
    head: usize,
    tail: usize,
    max: usize,
    by_expiry: BTreeSet<(SystemTime, CacheKey)>,
}

impl<V> Lru<V> {
    fn slot(&mut self, i: usize) -> &mut Slot<V> {
        self.slots[i].as_mut().expect("linked slot is occupied")
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = {
            let s = self.slot(i);
            (s.prev, s.next)
        };
        match prev {
            NIL => self.head = next,
            p => self.slot(p).next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.slot(n).prev = prev,
        }
    }

    fn push_front(&mut self, i: usize) {
        let old = self.head;
        let s = self.slot(i);
        s.prev = NIL;
        s.next = old;
        match old {
            NIL => self.tail = i,
            o => self.slot(o).prev = i,
        }
        self.head = i;
    }

    fn remove(&mut self, key: &CacheKey) {
        if let Some(i) = self.index.remove(key) {
            self.unlink(i);
            // Dropping the slot drops the value here, so secrets are wiped promptly.
            let s = self.slots[i].take().expect("indexed slot is occupied");
            self.by_expiry.remove(&(s.fresh_until, s.key));
            self.free.push(i);
        }
    }

    fn insert(&mut self, key: CacheKey, value: V, fresh_until: SystemTime, now: SystemTime) {
        self.remove(&key);
        // Dead entries go first: each is removed once, so this is amortised O(log n).
        while let Some(&(_, k)) = self.by_expiry.first().filter(|(t, _)| *t <= now) {
            self.remove(&k);
        }
        while self.index.len() >= self.max && self.tail != NIL {
            let lru = self.slot(self.tail).key;
            self.remove(&lru);
        }
        let i = self.free.pop().unwrap_or(self.slots.len());
        if i == self.slots.len() {
            self.slots.push(None);
        }
        self.slots[i] = Some(Slot {
            key,
            value,
            fresh_until,
            prev: NIL,
            next: NIL,
        });
        self.index.insert(key, i);
        self.by_expiry.insert((fresh_until, key));
        self.push_front(i);
    }
}

/// One per key being fetched; its async mutex is the "turn" to run the fetch.
type Flight = Arc<tokio::sync::Mutex<()>>;

pub struct TokenCache<V> {
    entries: Mutex<Lru<V>>,
    flights: Mutex<HashMap<CacheKey, Flight>>,
    margin: Duration,
    clock: Arc<dyn Clock>,
}

/// A panic elsewhere must not turn every later invocation into a panic; the cache's
/// invariants hold between statements, so the data behind a poisoned lock is usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<V: Clone + Send + Sync + 'static> TokenCache<V> {
    /// `max_entries` is clamped to at least 1; `margin`: an entry counts as expired at
    /// `expires_at - margin`.
    pub fn new(max_entries: usize, margin: Duration, clock: Arc<dyn Clock>) -> Self {
        TokenCache {
            entries: Mutex::new(Lru {
                index: HashMap::new(),
                slots: Vec::new(),
                free: Vec::new(),
                head: NIL,
                tail: NIL,
                max: max_entries.max(1),
                by_expiry: BTreeSet::new(),
            }),
            flights: Mutex::new(HashMap::new()),
            margin,
            clock,
        }
    }

    /// A fresh entry, marked most recently used; an expired one is removed.
    pub fn get(&self, key: &CacheKey) -> Option<V> {
        let now = self.clock.now();
        let mut lru = lock(&self.entries);
        let i = *lru.index.get(key)?;
        if lru.slot(i).fresh_until <= now {
            lru.remove(key);
            return None;
        }
        if lru.head != i {
            lru.unlink(i);
            lru.push_front(i);
        }
        Some(lru.slot(i).value.clone())
    }

    /// Not inserted at all if `expires_at` is already within the margin: nobody could use it.
    pub fn insert(&self, key: CacheKey, value: V, expires_at: SystemTime) {
        let now = self.clock.now();
        match expires_at.checked_sub(self.margin) {
            Some(fresh_until) if fresh_until > now => {
                lock(&self.entries).insert(key, value, fresh_until, now)
            }
            _ => {}
        }
    }

    pub fn remove(&self, key: &CacheKey) {
        lock(&self.entries).remove(key);
    }

    pub fn len(&self) -> usize {
        lock(&self.entries).index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Single flight: concurrent callers for one key take turns on that key's async
    /// mutex. The first runs `fetch`; the rest find the cached value when their turn
    /// comes. A failed (or cancelled) leader just releases its turn, so exactly one
    /// waiter, in FIFO order, tries next: the error stays with the leader, `E` need not
    /// be `Clone`, and nothing is wedged. A value that fetch returns already inside the
    /// margin is returned to its own caller but not cached, so the next waiter fetches.
    pub async fn get_or_try_fetch<F, Fut, E>(&self, key: CacheKey, fetch: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(V, SystemTime), E>>,
    {
        if let Some(v) = self.get(&key) {
            return Ok(v);
        }
        let ticket = self.join_flight(key);
        // Declared after `ticket`, so the turn is released before the ticket cleans up.
        let _turn = ticket.flight.lock().await;
        if let Some(v) = self.get(&key) {
            return Ok(v);
        }
        let (value, expires_at) = fetch().await?;
        self.insert(key, value.clone(), expires_at);
        Ok(value)
    }

    fn join_flight(&self, key: CacheKey) -> Ticket<'_> {
        let flight = lock(&self.flights).entry(key).or_default().clone();
        Ticket {
            flights: &self.flights,
            key,
            flight,
        }
    }
}

/// A caller's membership in a key's flight. Dropping it (on return or cancellation)
/// removes the flight once nobody else holds it, so the map cannot grow without bound.
struct Ticket<'a> {
    flights: &'a Mutex<HashMap<CacheKey, Flight>>,
    key: CacheKey,
    flight: Flight,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut flights = lock(self.flights);
        // Clones are only handed out under this lock, so the count is exact: ours + the map's.
        let ours = flights
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight));
        if ours && Arc::strong_count(&self.flight) == 2 {
            flights.remove(&self.key);
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
    /// Waits until `n` callers hold or queue for `k`'s turn.
    async fn until_in_flight(c: &Cache, k: &str, n: usize) {
        let count = || lock(&c.flights).get(&key(k)).map_or(0, Arc::strong_count);
        while count() != n + 1 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
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
    fn least_recently_used_is_evicted_and_bound_is_never_exceeded() {
        let (c, _) = cache(3);
        for k in ["a", "b", "c"] {
            c.insert(key(k), k.into(), at(T0 + 3600));
        }
        assert!(c.get(&key("a")).is_some());
        c.insert(key("d"), "d".into(), at(T0 + 3600));
        assert_eq!(c.get(&key("b")), None);
        for k in ["c", "a", "d"] {
            assert!(c.get(&key(k)).is_some(), "{k} evicted");
        }
        c.insert(key("e"), "e".into(), at(T0 + 3600)); // `c` is now the oldest use
        assert_eq!(c.get(&key("c")), None);
        for i in 0..100 {
            c.insert(key(&i.to_string()), "v".into(), at(T0 + 3600));
            assert!(c.len() <= 3);
        }
        assert_eq!(c.len(), 3);
        assert!(["97", "98", "99"].iter().all(|k| c.get(&key(k)).is_some()));
    }

    #[test]
    fn expired_entries_are_evicted_before_live_ones() {
        let (c, clock) = cache(2);
        c.insert(key("short"), "s".into(), at(T0 + 100));
        c.insert(key("long"), "l".into(), at(T0 + 3600));
        assert!(c.get(&key("short")).is_some()); // `long` is now the LRU entry
        clock.advance(Duration::from_secs(50));
        c.insert(key("new"), "n".into(), at(T0 + 3600));
        assert_eq!(c.len(), 2);
        assert!(c.get(&key("long")).is_some() && c.get(&key("new")).is_some());
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
        assert!(lock(&c.flights).is_empty(), "flight not cleaned up");
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
        until_in_flight(&c, "k", 1).await;
        let waiters: Vec<_> = (0..10).map(|_| spawn_fetch(&c, "k", fetch())).collect();
        until_in_flight(&c, "k", 11).await;
        release.notify_one();
        assert_eq!(leader.await.unwrap(), Err("leader failed"));
        for w in waiters {
            assert_eq!(w.await.unwrap().unwrap(), "token");
        }
        assert_eq!(calls.load(SeqCst), 2);
        assert!(lock(&c.flights).is_empty(), "flight not cleaned up");
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
        assert!(lock(&c.flights).is_empty(), "flight not cleaned up");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unrelated_keys_proceed_while_one_fetch_is_stalled() {
        let (c, _) = cache(10);
        let release = Arc::new(Notify::new());
        let r = release.clone();
        let stalled = spawn_fetch(&c, "slow", async move {
            r.notified().await;
            ok("slow")
        });
        until_in_flight(&c, "slow", 1).await;
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
