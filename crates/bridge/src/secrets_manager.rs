//! The bridge's [`KeySource`]: the agent's private JWK as the `SecretString` of an
//! AWS Secrets Manager secret, read through the SDK client built once at init.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use xaa::{safe_code, BoxFuture, KeyError, KeySource, SecretBytes};

/// AWS Secrets Manager, through the SDK client built once at init.
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl SecretsManagerSource {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }
}

impl KeySource for SecretsManagerSource {
    fn fetch(&self) -> BoxFuture<'_, Result<SecretBytes, KeyError>> {
        Box::pin(async move {
            let out = self
                .client
                .get_secret_value()
                .secret_id(&self.secret_id)
                .send()
                .await
                .map_err(|e| {
                    let service = e.as_service_error();
                    if service.is_some_and(|s| s.is_resource_not_found_exception()) {
                        KeyError::SecretNotFound {
                            secret_id: self.secret_id.clone(),
                        }
                    } else {
                        let code = service
                            .and_then(|s| s.code())
                            .map(safe_code)
                            .unwrap_or_else(|| "no answer from Secrets Manager".into());
                        KeyError::SecretUnreadable {
                            secret_id: self.secret_id.clone(),
                            code,
                        }
                    }
                })?;
            let mut out = out;
            match out.secret_string.take() {
                Some(text) => Ok(SecretBytes::from(text)),
                None => Err(KeyError::SecretNotText {
                    secret_id: self.secret_id.clone(),
                }),
            }
        })
    }
}
