//! Where the tool works: the table, the key secret and the AWS account/endpoint, from flags
//! or the same environment variables the functions read. Credentials come from the normal
//! AWS chain (environment, profile, SSO, instance role); this tool never takes them as flags.

use crate::cli::TargetArgs;
use crate::error::{AdminError, Result};
use aws_config::SdkConfig;
use shared::adapters::dynamodb::DynamoConnectorStore;
use shared::config::{SECRET_VAR, TABLE_VAR};

/// The resolved target of a command.
#[derive(Debug, Clone)]
pub struct Target {
    pub aws: SdkConfig,
    table: Option<String>,
    secret: Option<String>,
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl Target {
    /// Loads the AWS configuration (no network call). `--region` and `--endpoint-url` take
    /// effect through the environment: see [`TargetArgs::export_to_env`].
    pub async fn load(args: &TargetArgs) -> Self {
        Self {
            aws: shared::aws::sdk_config().await,
            table: non_empty(&args.table),
            secret: non_empty(&args.secret),
        }
    }

    pub fn table_name(&self) -> Result<&str> {
        self.table.as_deref().ok_or_else(|| {
            AdminError::Config(format!(
                "no connector table given: pass --table or set {TABLE_VAR}"
            ))
        })
    }

    pub fn secret_id(&self) -> Result<&str> {
        self.secret.as_deref().ok_or_else(|| {
            AdminError::Config(format!(
                "no key secret given: pass --secret or set {SECRET_VAR}"
            ))
        })
    }

    pub fn connectors(&self) -> Result<DynamoConnectorStore> {
        Ok(DynamoConnectorStore::new(
            aws_sdk_dynamodb::Client::new(&self.aws),
            self.table_name()?,
        ))
    }

    pub fn key_secret(&self) -> Result<crate::key_secret::KeySecret> {
        Ok(crate::key_secret::KeySecret::new(
            aws_sdk_secretsmanager::Client::new(&self.aws),
            self.secret_id()?,
        ))
    }

    /// The settings the read functions would get from their environment: table and
    /// secret from this target, the key cache settings from the environment.
    pub fn api_config(&self) -> Result<shared::config::ApiConfig> {
        let table = self.table_name()?.to_owned();
        let secret = self.secret_id()?.to_owned();
        shared::config::ApiConfig::from_lookup(|name| match name {
            TABLE_VAR => Some(table.clone()),
            SECRET_VAR => Some(secret.clone()),
            other => std::env::var(other).ok(),
        })
        .map_err(|e| AdminError::Config(e.to_string()))
    }
}
