//! Where the private JWK comes from ([`KeySource`], one small I/O trait so tests and
//! front doors can swap it), and the per-process [`KeyStore`] that keeps it parsed.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::key::{KeyError, SigningKey};
use crate::sensitive::SecretBytes;

/// A boxed future, so the I/O traits stay object safe without an extra crate.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait KeySource: Send + Sync {
    fn fetch(&self) -> BoxFuture<'_, Result<SecretBytes, KeyError>>;
}

/// The signing key, loaded once per container and kept parsed. It is reloaded when
/// older than `max_age` (rotation) or when Okta says the key is wrong.
pub struct KeyStore {
    source: Arc<dyn KeySource>,
    kid: String,
    max_age: Duration,
    current: Mutex<Option<(Arc<SigningKey>, Instant)>>,
    load: tokio::sync::Mutex<()>,
}

impl KeyStore {
    pub fn new(source: Arc<dyn KeySource>, kid: impl Into<String>, max_age: Duration) -> Self {
        Self {
            source,
            kid: kid.into(),
            max_age,
            current: Mutex::new(None),
            load: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self) -> Option<Arc<SigningKey>> {
        let guard = self.current.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .filter(|(_, at)| at.elapsed() < self.max_age)
            .map(|(k, _)| k.clone())
    }

    /// The current key, loading it if absent or too old.
    pub async fn get(&self) -> Result<Arc<SigningKey>, KeyError> {
        if let Some(key) = self.cached() {
            return Ok(key);
        }
        // One load at a time; whoever waited finds the fresh key.
        let _loading = self.load.lock().await;
        if let Some(key) = self.cached() {
            return Ok(key);
        }
        self.load_now().await
    }

    /// Drop the current key and fetch the secret again (after Okta refused our key).
    /// Callers pass the key they used, so concurrent callers reload only once.
    pub async fn reload(&self, used: &Arc<SigningKey>) -> Result<Arc<SigningKey>, KeyError> {
        let _loading = self.load.lock().await;
        let newer = {
            let guard = self.current.lock().unwrap_or_else(|p| p.into_inner());
            guard
                .as_ref()
                .filter(|(k, _)| !Arc::ptr_eq(k, used))
                .map(|(k, _)| k.clone())
        };
        match newer {
            Some(key) => Ok(key),
            None => self.load_now().await,
        }
    }

    async fn load_now(&self) -> Result<Arc<SigningKey>, KeyError> {
        let secret = self.source.fetch().await?;
        let key = Arc::new(SigningKey::from_jwk_json(secret.expose(), &self.kid)?);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((key.clone(), Instant::now()));
        tracing::info!(kid = %self.kid, alg = ?key.algorithm(), "signing key loaded");
        Ok(key)
    }
}
