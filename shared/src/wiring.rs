//! Production wiring shared by both read functions and the local server: the DynamoDB
//! store and the cached Secrets Manager key source, built once per container.

use crate::adapters::dynamodb::DynamoConnectorStore;
use crate::adapters::secrets_manager::SecretsManagerKeySource;
use crate::config::ApiConfig;
use crate::key_cache::KeyCache;
use aws_config::SdkConfig;

/// What a read function needs: where connectors are read from, and who judges API keys.
pub struct ReadDependencies {
    pub connectors: DynamoConnectorStore,
    pub keys: KeyCache<SecretsManagerKeySource>,
}

impl ReadDependencies {
    /// What both read functions do at cold start: typed config from the environment
    /// (a bad variable is logged and named in the error), the lean SDK config, the clients.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let config = ApiConfig::from_env().map_err(|e| {
            tracing::error!(error = %e, "invalid configuration");
            lambda_http::Error::from(e.to_string())
        })?;
        let aws = crate::aws::sdk_config().await;
        Ok(Self::new(&config, &aws))
    }

    /// Builds the clients; makes no network call.
    pub fn new(config: &ApiConfig, aws: &SdkConfig) -> Self {
        Self {
            connectors: DynamoConnectorStore::new(
                aws_sdk_dynamodb::Client::new(aws),
                config.table.clone(),
            ),
            keys: KeyCache::new(
                SecretsManagerKeySource::new(
                    aws_sdk_secretsmanager::Client::new(aws),
                    config.key_secret_id.clone(),
                ),
                config.key_cache,
            ),
        }
    }
}
