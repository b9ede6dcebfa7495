//! What the org holds beyond sign-in and XAA: the AI agent's resource connections
//! (vaulted secrets, service accounts, third-party resource servers) and the service apps
//! that use client credentials at the custom authorization server.
//!
//! [`OrgConfig`] is what an operator writes (the `devstack --org-config FILE` JSON; every
//! key optional, a missing key keeps the built-in default). [`Org`] is the resolved form
//! the servers use: empty secret values replaced by random ones, the default
//! `private_key_jwt` client given a fresh RSA key. [`PublicOrg`] is what
//! [`crate::Settings`] shows: ids, resource indicators and URLs, never a secret value.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys::RsaKey;
use crate::okta::random_token;

/// How a service app authenticates at the token endpoint (Okta's `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// HS256/384/512 client assertion keyed with the client secret.
    ClientSecretJwt,
    /// RS256/ES256 client assertion verified with the registered public keys.
    PrivateKeyJwt,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// A secret vaulted in Okta Privileged Access, connected to the AI agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultedSecret {
    /// A UUID: the resource is `orn:okta:pam:{org_id}:secrets:{id}`.
    pub id: String,
    pub name: String,
    /// What the exchange returns as `vaulted_secret`; an empty value is replaced by a
    /// random one at start.
    pub values: BTreeMap<String, String>,
    /// `false` = the secret exists but has no connection on the agent (`invalid_target`).
    #[serde(default = "yes")]
    pub connected: bool,
}

/// A service account of an app in Universal Directory, vaulted in Privileged Access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccount {
    /// A UUID: the resource is `orn:okta:pam:{org_id}:apps:{app}:{app_id}:service_accounts:{id}`.
    pub id: String,
    /// The app's integration name, e.g. `salesforce`.
    pub app: String,
    /// The app instance id, e.g. `0oa...`.
    pub app_id: String,
    pub username: String,
    /// Empty = a random password at start.
    #[serde(default)]
    pub password: String,
    #[serde(default = "yes")]
    pub connected: bool,
}

/// A third-party resource server whose tokens Okta brokers (`oauth-sts`); each person
/// consents once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceServer {
    /// The resource indicator the agent sends as `resource`.
    pub resource: String,
    pub name: String,
    pub scopes: Vec<String>,
    #[serde(default = "yes")]
    pub connected: bool,
}

/// A service app (client credentials) at the custom authorization server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct M2mClient {
    pub client_id: String,
    pub token_endpoint_auth_method: AuthMethod,
    /// For the secret methods; empty = a random secret at start.
    #[serde(default)]
    pub client_secret: String,
    /// For `private_key_jwt`: public JWKs (RSA or EC P-256, each with a `kid`). Empty =
    /// devstack generates an RSA key (private JWK from [`crate::Devstack::m2m_private_jwk`]).
    #[serde(default)]
    pub public_jwks: Vec<Value>,
    /// Scopes of the custom authorization server its policy allows.
    pub scopes: Vec<String>,
}

/// The org's resources and service apps, as an operator configures them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrgConfig {
    /// The org id in resource ORNs (`00odevstackorg1`).
    pub org_id: String,
    /// Machine access: the `aud` an access token of the custom authorization server must
    /// carry to be a subject token for this agent (default: the custom AS audience).
    pub agent_resource_url: String,
    pub vaulted_secrets: Vec<VaultedSecret>,
    pub service_accounts: Vec<ServiceAccount>,
    pub resource_servers: Vec<ResourceServer>,
    pub m2m_clients: Vec<M2mClient>,
}

fn yes() -> bool {
    true
}

impl Default for OrgConfig {
    fn default() -> Self {
        let values = [("username", "reports-ro"), ("password", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let client = |id: &str, method| M2mClient {
            client_id: id.into(),
            token_endpoint_auth_method: method,
            client_secret: String::new(),
            public_jwks: Vec::new(),
            scopes: vec!["xaa:read".into()],
        };
        OrgConfig {
            org_id: "00odevstackorg1".into(),
            agent_resource_url: crate::ACCESS_TOKEN_AUDIENCE.into(),
            vaulted_secrets: vec![VaultedSecret {
                id: "5b1f4e0c-8a52-4c1e-9f53-2f7e3c0a9d11".into(),
                name: "reports-db".into(),
                values,
                connected: true,
            }],
            service_accounts: vec![ServiceAccount {
                id: "c0a8e1d2-3b4f-4a5e-8c6d-7e8f9a0b1c2d".into(),
                app: "salesforce".into(),
                app_id: "0oadevstacksfdc".into(),
                username: "agent-svc@example.com".into(),
                password: String::new(),
                connected: true,
            }],
            resource_servers: vec![ResourceServer {
                resource: "https://api.tasks.example".into(),
                name: "Tasks".into(),
                scopes: vec!["tasks:read".into()],
                connected: true,
            }],
            m2m_clients: vec![
                client("0oadevstackm2m", AuthMethod::ClientSecretBasic),
                client("0oadevstackagbac", AuthMethod::ClientSecretJwt),
                client("0oadevstackm2mkey", AuthMethod::PrivateKeyJwt),
            ],
        }
    }
}

/// What [`crate::Settings`] shows of the org: no secret values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PublicOrg {
    pub org_id: String,
    pub agent_resource_url: String,
    /// `{name, resource}` per connected-or-not vaulted secret.
    pub vaulted_secrets: Vec<Value>,
    pub service_accounts: Vec<Value>,
    /// `{name, resource, scopes}`.
    pub resource_servers: Vec<Value>,
    /// `{client_id, token_endpoint_auth_method, scopes, token_url}`.
    pub m2m_clients: Vec<Value>,
    /// `POST` here with `token_type_hint=oauth_sts` to revoke a third-party token.
    pub revoke_url: String,
    /// The AI agent's private JWK as a file, once written (`devstack --secrets-dir`).
    #[serde(default)]
    pub agent_key_file: String,
}

/// The resolved org the servers use.
pub(crate) struct Org {
    pub cfg: OrgConfig,
    /// The private key of each `private_key_jwt` client devstack generated a key for.
    pub m2m_keys: BTreeMap<String, RsaKey>,
    /// Where [`crate::Devstack::write_secret_files`] put the secret files, once called.
    pub secrets_dir: Mutex<Option<PathBuf>>,
}

pub(crate) fn invalid(what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("devstack org config: {what}"),
    )
}

fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn uuid_ok(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

/// Check names and ids so every ORN is well formed and every lookup unambiguous.
pub(crate) fn validate(org: &OrgConfig, scopes: &[String]) -> io::Result<()> {
    if !plain(&org.org_id) || org.agent_resource_url.trim().is_empty() {
        return Err(invalid(
            "org_id must be [A-Za-z0-9_.-] and agent_resource_url set".into(),
        ));
    }
    for s in &org.vaulted_secrets {
        if !uuid_ok(&s.id) || s.values.is_empty() {
            return Err(invalid(format!(
                "vaulted secret {:?}: id must be a lower-case UUID and values non-empty",
                s.name
            )));
        }
    }
    for a in &org.service_accounts {
        if !uuid_ok(&a.id) || !plain(&a.app) || !plain(&a.app_id) || a.username.is_empty() {
            return Err(invalid(format!(
                "service account {:?}: id must be a lower-case UUID, app and app_id [A-Za-z0-9_.-], username set",
                a.id
            )));
        }
    }
    for r in &org.resource_servers {
        if r.resource.is_empty() || r.resource.chars().any(char::is_whitespace) {
            return Err(invalid(format!(
                "resource server {:?}: resource must be non-empty without spaces",
                r.name
            )));
        }
    }
    let mut ids = std::collections::BTreeSet::new();
    for c in &org.m2m_clients {
        if !plain(&c.client_id) || !ids.insert(c.client_id.as_str()) {
            return Err(invalid(format!(
                "m2m client {:?}: client_id must be unique [A-Za-z0-9_.-]",
                c.client_id
            )));
        }
        if let Some(unknown) = c.scopes.iter().find(|s| !scopes.contains(s)) {
            return Err(invalid(format!(
                "m2m client {:?}: scope {unknown:?} is not a scope of the custom authorization server",
                c.client_id
            )));
        }
        if c.public_jwks.iter().any(|k| !k["kid"].is_string()) {
            return Err(invalid(format!(
                "m2m client {:?}: every public JWK needs a kid",
                c.client_id
            )));
        }
    }
    Ok(())
}

impl Org {
    /// Fill empty secrets with random values and generate keys; slow part off the runtime.
    pub async fn resolve(mut cfg: OrgConfig) -> io::Result<Org> {
        let fill = |s: &mut String| {
            if s.is_empty() {
                *s = random_token(24);
            }
        };
        for secret in &mut cfg.vaulted_secrets {
            secret.values.values_mut().for_each(fill);
        }
        for account in &mut cfg.service_accounts {
            fill(&mut account.password);
        }
        let mut m2m_keys = BTreeMap::new();
        for client in &mut cfg.m2m_clients {
            match client.token_endpoint_auth_method {
                AuthMethod::PrivateKeyJwt if client.public_jwks.is_empty() => {
                    let kid = format!("{}-key", client.client_id);
                    let key = tokio::task::spawn_blocking(move || RsaKey::generate(&kid))
                        .await
                        .map_err(io::Error::other)??;
                    client.public_jwks.push(key.public_jwk.clone());
                    m2m_keys.insert(client.client_id.clone(), key);
                }
                AuthMethod::PrivateKeyJwt => {}
                _ => fill(&mut client.client_secret),
            }
        }
        Ok(Org {
            cfg,
            m2m_keys,
            secrets_dir: Mutex::new(None),
        })
    }

    pub fn secret_orn(&self, s: &VaultedSecret) -> String {
        format!("orn:okta:pam:{}:secrets:{}", self.cfg.org_id, s.id)
    }

    pub fn account_orn(&self, a: &ServiceAccount) -> String {
        format!(
            "orn:okta:pam:{}:apps:{}:{}:service_accounts:{}",
            self.cfg.org_id, a.app, a.app_id, a.id
        )
    }

    pub fn m2m_client(&self, client_id: &str) -> Option<&M2mClient> {
        self.cfg
            .m2m_clients
            .iter()
            .find(|c| c.client_id == client_id)
    }

    /// The file [`crate::Devstack::write_secret_files`] writes for `client`, and the
    /// settings key naming it (`client_secret_file` or `key_file`).
    pub(crate) fn secret_file(&self, dir: &Path, c: &M2mClient) -> Option<(&'static str, PathBuf)> {
        if c.token_endpoint_auth_method != AuthMethod::PrivateKeyJwt {
            Some((
                "client_secret_file",
                dir.join(format!("{}.secret", c.client_id)),
            ))
        } else if self.m2m_keys.contains_key(&c.client_id) {
            Some(("key_file", dir.join(format!("{}.jwk.json", c.client_id))))
        } else {
            None
        }
    }

    pub fn public(&self, okta_base: &str, custom_issuer: &str) -> PublicOrg {
        let dir = self
            .secrets_dir
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let named =
            |name: &str, resource: String| serde_json::json!({"name": name, "resource": resource});
        PublicOrg {
            org_id: self.cfg.org_id.clone(),
            agent_resource_url: self.cfg.agent_resource_url.clone(),
            vaulted_secrets: self
                .cfg
                .vaulted_secrets
                .iter()
                .filter(|s| s.connected)
                .map(|s| named(&s.name, self.secret_orn(s)))
                .collect(),
            service_accounts: self
                .cfg
                .service_accounts
                .iter()
                .filter(|a| a.connected)
                .map(|a| named(&format!("{} service account", a.app), self.account_orn(a)))
                .collect(),
            resource_servers: self
                .cfg
                .resource_servers
                .iter()
                .filter(|r| r.connected)
                .map(|r| serde_json::json!({"name": r.name, "resource": r.resource, "scopes": r.scopes}))
                .collect(),
            m2m_clients: self
                .cfg
                .m2m_clients
                .iter()
                .map(|c| {
                    let mut entry = serde_json::json!({
                        "client_id": c.client_id,
                        "token_endpoint_auth_method": c.token_endpoint_auth_method.as_str(),
                        "scopes": c.scopes,
                        "token_url": format!("{custom_issuer}/v1/token"),
                    });
                    if let Some((name, file)) = dir.as_ref().and_then(|d| self.secret_file(d, c)) {
                        entry[name] = file.display().to_string().into();
                    }
                    entry
                })
                .collect(),
            revoke_url: format!("{okta_base}/oauth2/v1/revoke"),
            agent_key_file: dir
                .map(|d| d.join("agent.jwk.json").display().to_string())
                .unwrap_or_default(),
        }
    }
}
