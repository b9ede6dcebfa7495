//! Where the private JWK comes from ([`KeySource`], one small I/O trait so tests and
//! front doors can swap it), and the per-process [`KeyStore`] that keeps it parsed.
//!
//! Rotation has a grace period: once the key is older than `max_age` it is fetched
//! again, but while that fetch fails the old key keeps signing, for at most another
//! `max_age`, and the fetch is retried with a doubling back-off (5 s up to 5 min)
//! instead of on every call. A Secrets Manager hiccup therefore costs one warning,
//! not every invocation. Time is `tokio::time::Instant`, so tests can pause it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::key::{KeyError, SigningKey};
use crate::sensitive::SecretBytes;

/// A boxed future, so the I/O traits stay object safe without an extra crate.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait KeySource: Send + Sync {
    fn fetch(&self) -> BoxFuture<'_, Result<SecretBytes, KeyError>>;
}

/// First wait after a failed refresh of an aging key; doubles up to [`REFRESH_BACKOFF_MAX`].
pub const REFRESH_BACKOFF_START: Duration = Duration::from_secs(5);
pub const REFRESH_BACKOFF_MAX: Duration = Duration::from_secs(300);

#[derive(Default)]
struct Current {
    key: Option<(Arc<SigningKey>, Instant)>,
    /// The last failed refresh: when, how long to wait before the next, and why.
    failed: Option<(Instant, Duration, KeyError)>,
}

/// The signing key, loaded once per container and kept parsed. It is reloaded when
/// older than `max_age` (rotation) or when Okta says the key is wrong.
pub struct KeyStore {
    source: Arc<dyn KeySource>,
    kid: String,
    max_age: Duration,
    current: Mutex<Current>,
    load: tokio::sync::Mutex<()>,
}

impl KeyStore {
    pub fn new(source: Arc<dyn KeySource>, kid: impl Into<String>, max_age: Duration) -> Self {
        Self {
            source,
            kid: kid.into(),
            max_age,
            current: Mutex::new(Current::default()),
            load: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self) -> Option<Arc<SigningKey>> {
        let state = self.state();
        let (key, at) = state.key.as_ref()?;
        (at.elapsed() < self.max_age).then(|| key.clone())
    }

    /// The old key while it is inside its grace period (at most twice `max_age` old).
    fn in_grace(&self, state: &Current) -> Option<Arc<SigningKey>> {
        let (key, at) = state.key.as_ref()?;
        (at.elapsed() < self.max_age.saturating_mul(2)).then(|| key.clone())
    }

    /// The current key, loading it if absent or too old.
    pub async fn get(&self) -> Result<Arc<SigningKey>, KeyError> {
        if let Some(key) = self.fresh() {
            return Ok(key);
        }
        // One load at a time; whoever waited finds the fresh key.
        let _loading = self.load.lock().await;
        if let Some(key) = self.fresh() {
            return Ok(key);
        }
        {
            let state = self.state();
            let backing_off = state
                .failed
                .as_ref()
                .is_some_and(|(at, wait, _)| at.elapsed() < *wait);
            if let (true, Some(old)) = (backing_off, self.in_grace(&state)) {
                return Ok(old);
            }
        }
        match self.load_now().await {
            Ok(key) => Ok(key),
            Err(error) => {
                let mut state = self.state();
                let wait = state
                    .failed
                    .as_ref()
                    .map_or(REFRESH_BACKOFF_START, |(_, wait, _)| {
                        wait.saturating_mul(2).min(REFRESH_BACKOFF_MAX)
                    });
                state.failed = Some((Instant::now(), wait, error.clone()));
                match self.in_grace(&state) {
                    Some(old) => {
                        tracing::warn!(
                            kid = %self.kid,
                            retry_in_s = wait.as_secs(),
                            "refreshing the signing key failed; the current key keeps signing: {error}"
                        );
                        Ok(old)
                    }
                    None => Err(error),
                }
            }
        }
    }

    /// Drop the current key and fetch the secret again (after Okta refused our key).
    /// Callers pass the key they used, so concurrent callers reload only once.
    pub async fn reload(&self, used: &Arc<SigningKey>) -> Result<Arc<SigningKey>, KeyError> {
        let _loading = self.load.lock().await;
        let newer = self
            .state()
            .key
            .as_ref()
            .filter(|(k, _)| !Arc::ptr_eq(k, used))
            .map(|(k, _)| k.clone());
        match newer {
            Some(key) => Ok(key),
            None => self.load_now().await,
        }
    }

    async fn load_now(&self) -> Result<Arc<SigningKey>, KeyError> {
        let secret = self.source.fetch().await?;
        let key = Arc::new(SigningKey::from_jwk_json(secret.expose(), &self.kid)?);
        let mut state = self.state();
        state.key = Some((key.clone(), Instant::now()));
        state.failed = None;
        tracing::info!(kid = %self.kid, alg = ?key.algorithm(), "signing key loaded");
        Ok(key)
    }
}
