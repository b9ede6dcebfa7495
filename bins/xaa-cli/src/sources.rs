//! Where the CLI's secrets come from: the agent's private JWK (a file, or the Secrets
//! Manager secret of the Lambda), the client secret (a file, or Secrets Manager), the
//! subject token and a token to revoke (a file, or one line of stdin). Never argv.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use xaa::{safe_code, BoxFuture, KeyError, KeySource, SecretBytes};
use zeroize::Zeroizing;

/// The most bytes read from a key, secret or token file (or stdin line).
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Read a whole file, refusing more than [`MAX_SECRET_FILE_BYTES`]; warn when others
/// may read it.
pub fn read_file(path: &Path, what: &str) -> Result<Zeroizing<String>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot open the {what} file {}: {e}", path.display()))?;
    warn_if_shared(&file, path, what);
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| {
            format!(
                "cannot read the {what} file {} as text: {e}",
                path.display()
            )
        })?;
    if text.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(format!(
            "the {what} file {} is larger than 64 KiB",
            path.display()
        ));
    }
    Ok(text)
}

#[cfg(unix)]
fn warn_if_shared(file: &std::fs::File, path: &Path, what: &str) {
    use std::os::unix::fs::PermissionsExt;
    if file
        .metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    {
        eprintln!(
            "xaa: warning: the {what} file {} is readable by other users; chmod 600 it",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_: &std::fs::File, _: &Path, _: &str) {}

/// One line of stdin (without its line end), at most 64 KiB; `None` at end of input.
pub fn stdin_line() -> Result<Option<Zeroizing<String>>, String> {
    let mut line = Zeroizing::new(String::new());
    let read = std::io::stdin()
        .lock()
        .take(MAX_SECRET_FILE_BYTES + 1)
        .read_line(&mut line)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    if read == 0 {
        return Ok(None);
    }
    if line.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err("the line on stdin is longer than 64 KiB".into());
    }
    let trimmed = Zeroizing::new(line.trim().to_string());
    Ok(Some(trimmed))
}

/// A token from `path` (`-` or none: the first line of stdin), trimmed.
pub fn token(path: Option<&PathBuf>, what: &str) -> Result<Zeroizing<String>, String> {
    let text = match path {
        Some(p) if p.as_os_str() != "-" => read_file(p, what)?,
        _ => stdin_line()?
            .ok_or_else(|| format!("no {what} on stdin: pipe it in (one line) or pass its file"))?,
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    Ok(Zeroizing::new(trimmed.to_string()))
}

/// The Secrets Manager client, built the standard way (region, credentials and
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER` from the environment), with timeouts.
pub async fn secrets_manager() -> aws_sdk_secretsmanager::Client {
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        )
        .load()
        .await;
    aws_sdk_secretsmanager::Client::new(&aws)
}

/// The `SecretString` of `secret_id`; `var` names the variable that set it.
pub async fn secret_string(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    var: &str,
) -> Result<SecretBytes, KeyError> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            let service = e.as_service_error();
            if service.is_some_and(|s| s.is_resource_not_found_exception()) {
                KeyError::Invalid(format!("secret `{secret_id}` was not found: fix {var}"))
            } else {
                let code = service
                    .and_then(|s| s.code())
                    .map(safe_code)
                    .unwrap_or_else(|| "no answer from Secrets Manager".into());
                KeyError::SecretUnreadable {
                    secret_id: secret_id.to_string(),
                    code,
                }
            }
        })?;
    let mut out = out;
    out.secret_string
        .take()
        .map(SecretBytes::from)
        .ok_or_else(|| KeyError::SecretNotText {
            secret_id: secret_id.to_string(),
        })
}

/// Where the agent's private JWK is.
pub enum KeyFrom {
    File(PathBuf),
    SecretsManager(String),
    /// Nothing configured: a request that needs the key fails saying what to set.
    Missing,
}

impl KeySource for KeyFrom {
    fn fetch(&self) -> BoxFuture<'_, Result<SecretBytes, KeyError>> {
        Box::pin(async move {
            match self {
                KeyFrom::File(path) => read_file(path, "private key")
                    .map(|text| SecretBytes::from(text.to_string()))
                    .map_err(KeyError::Invalid),
                KeyFrom::SecretsManager(id) => {
                    let client = secrets_manager().await;
                    secret_string(&client, id, "AGENT_PRIVATE_KEY_SECRET_ID").await
                }
                KeyFrom::Missing => Err(KeyError::Invalid(
                    "no signing key: set AGENT_PRIVATE_KEY_SECRET_ID or pass --key-file".into(),
                )),
            }
        })
    }
}
