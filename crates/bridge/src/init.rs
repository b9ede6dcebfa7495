//! Building the real clients from the environment, once per container.

use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};

use xaa::{ConfigError, RandomJti, ReqwestTransport, SystemClock};

use crate::bedrock::SdkAgentInvoker;
use crate::bridge::{Bridge, Parts};
use crate::config::Config;
use crate::error::Error;
use crate::secrets_manager::SecretsManagerSource;

impl Bridge {
    /// Parse the configuration and build every client. AWS settings load the standard
    /// way, so `AWS_ENDPOINT_URL_SECRETS_MANAGER` and
    /// `AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME` keep working for local stacks.
    pub async fn from_env() -> Result<Self, Error> {
        let config = Config::from_env()?;
        let aws = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(config.http_connect_timeout)
                    .operation_attempt_timeout(config.http_timeout)
                    .build(),
            )
            .load()
            .await;
        let secrets = aws_sdk_secretsmanager::Client::new(&aws);
        // Agent answers take as long as the model needs; the request deadline bounds them.
        let bedrock_config = aws_sdk_bedrockagentruntime::config::Builder::from(&aws)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(config.http_connect_timeout)
                    .operation_attempt_timeout(Duration::from_secs(900))
                    .build(),
            )
            .build();
        let bedrock = aws_sdk_bedrockagentruntime::Client::from_conf(bedrock_config);
        Self::from_clients(config, secrets, bedrock)
    }

    /// Build the bridge around AWS clients made elsewhere (the integration tests point
    /// them at moto and devstack); the Okta transport is built here from the config.
    pub fn from_clients(
        config: Config,
        secrets: aws_sdk_secretsmanager::Client,
        bedrock: aws_sdk_bedrockagentruntime::Client,
    ) -> Result<Self, Error> {
        let transport =
            ReqwestTransport::new(config.http_connect_timeout, config.okta.uses_plain_http())
                .map_err(|_| ConfigError {
                    var: "OKTA_BASE_URL",
                    reason: "the HTTP client could not be built".into(),
                })?;
        Ok(Bridge::new(Parts {
            key_source: Arc::new(SecretsManagerSource::new(secrets, config.secret_id.clone())),
            agent: Arc::new(SdkAgentInvoker::new(
                bedrock,
                config.agent_id.clone(),
                config.agent_alias_id.clone(),
            )),
            transport: Arc::new(transport),
            clock: Arc::new(SystemClock),
            jti: Arc::new(RandomJti),
            config,
        }))
    }
}
