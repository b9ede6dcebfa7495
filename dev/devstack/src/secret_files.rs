//! Files an operator hands devstack or devstack hands a local demo: the
//! `--org-config` JSON ([`OrgConfig::from_json_file`]) and the `--secrets-dir` files
//! ([`crate::Devstack::write_secret_files`]), written owner-only.

use std::io;
use std::path::Path;

use serde_json::Value;

use crate::org::{invalid, OrgConfig};

/// Largest `--org-config` file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

impl OrgConfig {
    /// Read a JSON org config; errors name the file and what is wrong (never its values).
    pub fn from_json_file(path: &Path) -> io::Result<OrgConfig> {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(path)?
            .take(MAX_CONFIG_BYTES + 1)
            .read_to_string(&mut text)?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(invalid(format!("{} is larger than 1 MiB", path.display())));
        }
        serde_json::from_str(&text).map_err(|e| {
            // serde_json quotes a mistyped value ("invalid type: string \"...\""), which
            // could be a secret: only field names and the position are passed on.
            let message = e.to_string();
            let what =
                if message.starts_with("unknown field") || message.starts_with("missing field") {
                    message
                } else if e.is_syntax() || e.is_eof() {
                    format!("not valid JSON at line {} column {}", e.line(), e.column())
                } else {
                    format!(
                        "a value of the wrong type or form at line {} column {}",
                        e.line(),
                        e.column()
                    )
                };
            invalid(format!("{}: {what}", path.display()))
        })
    }
}

/// Write `contents` to `path` with mode 0600 via a temporary file and a rename.
fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = options.open(&tmp).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    result
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

impl crate::Devstack {
    /// Write the secrets a local demo needs as files (mode 0600) in `dir` (created 0700 if
    /// missing): `agent.jwk.json` (the AI agent's private JWK), `CLIENT_ID.secret` per
    /// secret-authenticated service app, `CLIENT_ID.jwk.json` per generated service app
    /// key. [`crate::Devstack::settings`] then names the files (never the values).
    pub fn write_secret_files(&self, dir: &Path) -> io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
        let org = &self.state.org;
        write_private(
            &dir.join("agent.jwk.json"),
            self.agent_private_jwk().to_string().as_bytes(),
        )?;
        for client in &org.cfg.m2m_clients {
            let Some((_, path)) = org.secret_file(dir, client) else {
                continue;
            };
            match org.m2m_keys.get(&client.client_id) {
                Some(key) => write_private(&path, key.private_jwk.to_string().as_bytes())?,
                None => write_private(&path, client.client_secret.as_bytes())?,
            }
        }
        *org.secrets_dir.lock().unwrap_or_else(|p| p.into_inner()) = Some(dir.to_path_buf());
        Ok(())
    }

    /// The org as the servers use it: configured values with the random secrets filled
    /// in. For tests and for `devstack --m2m-secrets-dir`; never printed.
    pub fn resolved_org(&self) -> OrgConfig {
        self.state.org.cfg.clone()
    }

    /// The client secret of a service app (empty for `private_key_jwt` ones).
    pub fn m2m_client_secret(&self, client_id: &str) -> Option<String> {
        self.state
            .org
            .m2m_client(client_id)
            .map(|c| c.client_secret.clone())
    }

    /// The private JWK of a `private_key_jwt` service app whose key devstack generated.
    pub fn m2m_private_jwk(&self, client_id: &str) -> Option<Value> {
        self.state
            .org
            .m2m_keys
            .get(client_id)
            .map(|k| k.private_jwk.clone())
    }

    /// Its signing key, for tests acting as that service app (kid = `{client_id}-key`).
    pub fn m2m_encoding_key(&self, client_id: &str) -> Option<jsonwebtoken::EncodingKey> {
        self.state
            .org
            .m2m_keys
            .get(client_id)
            .map(|k| k.encoding.clone())
    }
}
