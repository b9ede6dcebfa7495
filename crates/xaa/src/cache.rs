//! [`CredentialCache`]: issued credentials kept until shortly before they expire, keyed
//! as strictly as the bridge's token cache.
//!
//! A key is a SHA-256 over length-prefixed parts: for a token exchange the org token
//! endpoint, the agent's client id, the subject token type and the *exact* subject
//! token, the requested type and every resource parameter; for client credentials the
//! token endpoint, the client id, the method, the scope and the `act` claim. Nothing is
//! keyed on claims read from a token, so an entry is reachable only with the very token
//! string Okta accepted. A credential without a known expiry is never cached, and none
//! is handed out after `expires_at - margin`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_lc_rs::digest;

use crate::client::{Error, OktaClient};
use crate::client_credentials::ClientCredentialsRequest;
use crate::clock::Clock;
use crate::credentials::{Credential, Resource, Secret, Subject};
use crate::deadline::Deadline;
use crate::sensitive::AccessToken;

/// A cache key: SHA-256 over length-prefixed parts.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CredentialKey([u8; 32]);

impl fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "CredentialKey({a:02x}{b:02x}{c:02x}{d:02x}…)")
    }
}

impl CredentialKey {
    fn derive(parts: &[&[u8]]) -> Self {
        let mut ctx = digest::Context::new(&digest::SHA256);
        for part in parts {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        CredentialKey(out)
    }

    /// The key of a token exchange by `client` for `resource` with `subject`.
    pub fn for_exchange(client: &OktaClient, subject: &Subject, resource: &Resource) -> Self {
        let cfg = client.config();
        let mut parts: Vec<&[u8]> = vec![
            b"token-exchange",
            cfg.org_token_url.as_bytes(),
            cfg.agent_client_id.as_bytes(),
            subject.kind.urn().as_bytes(),
            subject.token.expose().as_bytes(),
            resource.requested_token_type().as_bytes(),
        ];
        for (name, value) in resource.params() {
            parts.push(name.as_bytes());
            parts.push(value.as_bytes());
        }
        Self::derive(&parts)
    }

    /// The key of a client credentials request.
    pub fn for_client_credentials(request: &ClientCredentialsRequest) -> Self {
        let act = request
            .act
            .as_ref()
            .and_then(|a| serde_json::to_vec(a.claims()).ok())
            .unwrap_or_default();
        Self::derive(&[
            b"client-credentials",
            request.token_url.as_bytes(),
            request.client_id.as_bytes(),
            request.auth.method().name().as_bytes(),
            request.scope.as_deref().unwrap_or("").as_bytes(),
            &act,
        ])
    }
}

/// Bounded, expiring credentials by [`CredentialKey`].
pub struct CredentialCache {
    entries: Mutex<HashMap<CredentialKey, (Credential, u64)>>,
    max_entries: usize,
    margin: Duration,
    clock: Arc<dyn Clock>,
}

impl CredentialCache {
    /// At most `max_entries` (at least 1); an entry is handed out until
    /// `expires_at - margin`.
    pub fn new(max_entries: usize, margin: Duration, clock: Arc<dyn Clock>) -> Self {
        CredentialCache {
            entries: Mutex::new(HashMap::new()),
            max_entries: max_entries.max(1),
            margin,
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CredentialKey, (Credential, u64)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh entry; a stale one is dropped (and so wiped).
    pub fn get(&self, key: &CredentialKey) -> Option<Credential> {
        let now = self.clock.unix_now();
        let mut entries = self.lock();
        match entries.get(key) {
            Some((credential, fresh_until)) if now < *fresh_until => Some(credential.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keep `credential` if it has an expiry beyond the margin; says whether it did.
    pub fn insert(&self, key: CredentialKey, credential: &Credential) -> bool {
        let now = self.clock.unix_now();
        let fresh_until = credential
            .expires_at
            .and_then(|at| at.checked_sub(self.margin.as_secs()))
            .filter(|until| *until > now);
        let Some(fresh_until) = fresh_until else {
            return false;
        };
        let mut entries = self.lock();
        entries.retain(|_, (_, until)| *until > now);
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            let soonest = entries.iter().min_by_key(|(_, (_, until))| *until);
            if let Some(oldest) = soonest.map(|(k, _)| *k) {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (credential.clone(), fresh_until));
        true
    }

    pub fn remove(&self, key: &CredentialKey) {
        self.lock().remove(key);
    }

    /// Drop every entry holding `token`; returns how many.
    pub fn forget_token(&self, token: &AccessToken) -> usize {
        let mut entries = self.lock();
        let before = entries.len();
        entries.retain(|_, (c, _)| !matches!(&c.secret, Secret::AccessToken(t) if t == token));
        before - entries.len()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`OktaClient::exchange_credential`] through the cache.
    pub async fn exchange(
        &self,
        client: &OktaClient,
        subject: &Subject,
        resource: &Resource,
        deadline: Deadline,
    ) -> Result<Credential, Error> {
        let key = CredentialKey::for_exchange(client, subject, resource);
        if let Some(hit) = self.get(&key) {
            return Ok(hit);
        }
        let credential = client
            .exchange_credential(subject, resource, deadline)
            .await?;
        self.insert(key, &credential);
        Ok(credential)
    }

    /// [`OktaClient::client_credentials`] through the cache.
    pub async fn client_credentials(
        &self,
        client: &OktaClient,
        request: &ClientCredentialsRequest,
        deadline: Deadline,
    ) -> Result<Credential, Error> {
        let key = CredentialKey::for_client_credentials(request);
        if let Some(hit) = self.get(&key) {
            return Ok(hit);
        }
        let credential = client.client_credentials(request, deadline).await?;
        self.insert(key, &credential);
        Ok(credential)
    }

    /// Forget `token`, then revoke it ([`OktaClient::revoke_oauth_sts`]).
    pub async fn revoke_oauth_sts(
        &self,
        client: &OktaClient,
        token: &AccessToken,
        deadline: Deadline,
    ) -> Result<(), Error> {
        self.forget_token(token);
        client.revoke_oauth_sts(token, deadline).await
    }
}
