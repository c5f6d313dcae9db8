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
