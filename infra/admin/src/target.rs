//! Where the tool works: the table, the key secret and the AWS account/endpoint, from flags
//! or the same environment variables the functions read. Credentials come from the normal
//! AWS chain (environment, profile, SSO, instance role); this tool never takes them as flags.
//!
//! The AWS SDK configuration is built on first use, so a command that makes no AWS call
//! (`health --url ...`) neither builds it nor logs anything about it.

use crate::cli::TargetArgs;
use crate::error::{AdminError, Result};
use crate::key_secret::KeySecret;
use crate::stack::StackOutputs;
use aws_config::SdkConfig;
use shared::adapters::dynamodb::history::DynamoHistoryStore;
use shared::adapters::dynamodb::DynamoConnectorStore;
use shared::config::api::SECRET_VAR;
use shared::config::{ApiConfig, TABLE_VAR};
use tokio::sync::OnceCell;

/// The resolved target of a command.
#[derive(Debug, Clone)]
pub struct Target {
    aws: OnceCell<SdkConfig>,
    table: Option<String>,
    secret: Option<String>,
    /// From `--stack`: its name and outputs (the API's base URL, the probe function's name).
    pub stack: Option<(String, StackOutputs)>,
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl Target {
    /// The target the arguments name. `--region` and `--endpoint-url` take effect through
    /// the environment: see [`TargetArgs::export_to_env`].
    ///
    /// With `--stack`, the table and secret not given explicitly come from the stack's
    /// outputs (one CloudFormation call); otherwise this makes no AWS call and does not
    /// build the AWS configuration.
    pub async fn load(args: &TargetArgs) -> Result<Self> {
        let mut target = Self {
            aws: OnceCell::new(),
            table: non_empty(&args.table),
            secret: non_empty(&args.secret),
            stack: None,
        };
        if let Some(name) = non_empty(&args.stack) {
            let outputs = StackOutputs::load(target.aws().await, &name).await?;
            target.table = target.table.or_else(|| outputs.table.clone());
            target.secret = target.secret.or_else(|| outputs.secret.clone());
            target.stack = Some((name, outputs));
        }
        Ok(target)
    }

    /// The AWS SDK configuration (`shared::aws::sdk_config`), built on the first call (no
    /// network call, but it may log when it finds no region).
    pub async fn aws(&self) -> &SdkConfig {
        self.aws.get_or_init(shared::aws::sdk_config).await
    }

    /// The region AWS calls went to, once the configuration has been built.
    pub fn region(&self) -> Option<String> {
        self.aws
            .get()
            .and_then(SdkConfig::region)
            .map(ToString::to_string)
    }

    /// Whether AWS calls go to a local emulator (`AWS_ENDPOINT_URL` on this machine).
    pub fn is_local(&self) -> bool {
        std::env::var(crate::cli::ENDPOINT_URL_VAR)
            .ok()
            .is_some_and(|url| shared::aws::is_local_endpoint(&url))
    }

    /// Refuses `what` unless AWS calls go to a local emulator: see [`require_local_endpoint`].
    pub fn require_local(&self, what: &str) -> Result<()> {
        require_local_endpoint(
            std::env::var(crate::cli::ENDPOINT_URL_VAR).ok().as_deref(),
            what,
        )
    }

    /// The connector table's name, or the error naming how to give one.
    pub fn table_name(&self) -> Result<&str> {
        self.table.as_deref().ok_or_else(|| {
            AdminError::Config(format!(
                "no connector table given: pass --table or --stack, or set {TABLE_VAR}"
            ))
        })
    }

    /// The history table's name: `HISTORY_TABLE` as the functions read it, else the
    /// stack's output, else the connector table's name with `-history` (what `init` creates
    /// for a table of its own).
    pub fn history_table_name(&self) -> Result<String> {
        if let Some(name) = shared::config::history::history_table_from_env() {
            return Ok(name);
        }
        if let Some(name) = self
            .stack
            .as_ref()
            .and_then(|(_, outputs)| outputs.history_table.clone())
        {
            return Ok(name);
        }
        Ok(format!("{}-history", self.table_name()?))
    }

    /// The history table (checks that a connector table is given before building anything).
    pub async fn history(&self) -> Result<DynamoHistoryStore> {
        let table = self.history_table_name()?;
        Ok(DynamoHistoryStore::from_config(self.aws().await, table))
    }

    /// The key secret's name or ARN, or the error naming how to give one.
    pub fn secret_id(&self) -> Result<&str> {
        self.secret.as_deref().ok_or_else(|| {
            AdminError::Config(format!(
                "no key secret given: pass --secret or --stack, or set {SECRET_VAR}"
            ))
        })
    }

    /// The connector table (checks that one is given before building anything).
    pub async fn connectors(&self) -> Result<DynamoConnectorStore> {
        let table = self.table_name()?;
        Ok(DynamoConnectorStore::new(
            aws_sdk_dynamodb::Client::new(self.aws().await),
            table,
        ))
    }

    /// The key secret (checks that one is given before building anything).
    pub async fn key_secret(&self) -> Result<KeySecret> {
        let id = self.secret_id()?;
        Ok(KeySecret::new(
            aws_sdk_secretsmanager::Client::new(self.aws().await),
            id,
        ))
    }

    /// The settings the read functions would get from their environment: table and
    /// secret from this target, the key cache settings from the environment.
    pub fn api_config(&self) -> Result<ApiConfig> {
        let table = self.table_name()?.to_owned();
        let secret = self.secret_id()?.to_owned();
        ApiConfig::from_lookup(|name| match name {
            TABLE_VAR => Some(table.clone()),
            SECRET_VAR => Some(secret.clone()),
            other => std::env::var(other).ok(),
        })
        .map_err(|e| AdminError::Config(e.to_string()))
    }
}

/// Refuses `what` (a local probe run, the dev stack, demo rows) unless `endpoint` (the value of
/// `AWS_ENDPOINT_URL`) is an emulator on this machine: such commands probe private addresses,
/// write results with this machine's clock, replace the key named `demo` or add demo rows,
/// none of which may reach a deployment.
pub fn require_local_endpoint(endpoint: Option<&str>, what: &str) -> Result<()> {
    if endpoint.is_some_and(shared::aws::is_local_endpoint) {
        return Ok(());
    }
    let got = match endpoint {
        None => "no endpoint, so real AWS".to_owned(),
        Some(url) => shared::domain::redact(url, shared::domain::UrlView::Location).into_owned(),
    };
    Err(AdminError::Invalid(format!(
        "{what} only runs against a local AWS emulator ({var} on 127.0.0.1, localhost or [::1]), \
         never a deployment; got {got}",
        var = crate::cli::ENDPOINT_URL_VAR
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_stack_loading_makes_no_aws_configuration() {
        let target = Target::load(&TargetArgs {
            table: Some(" t ".into()),
            secret: Some(String::new()),
            ..TargetArgs::default()
        })
        .await
        .unwrap();
        assert!(target.aws.get().is_none());
        assert_eq!(target.region(), None);
        assert_eq!(target.table_name().unwrap(), "t");
        let e = target.secret_id().unwrap_err().to_string();
        assert_eq!(
            e,
            "no key secret given: pass --secret or --stack, or set API_KEYS_SECRET_ID"
        );
        assert!(target.key_secret().await.is_err());
        assert!(
            target.aws.get().is_none(),
            "a missing setting builds nothing"
        );
    }

    #[test]
    fn local_only_commands_refuse_anything_but_a_local_emulator() {
        assert!(require_local_endpoint(Some("http://127.0.0.1:4566"), "x").is_ok());
        assert!(require_local_endpoint(Some("http://localhost:8000/"), "x").is_ok());
        for endpoint in [
            None,
            Some("https://dynamodb.us-east-1.amazonaws.com"),
            Some("http://10.0.0.1:4566"),
            Some("http://user:s3cret@127.0.0.1.example.com/"),
        ] {
            let e = require_local_endpoint(endpoint, "chadmin dev")
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(
                    "chadmin dev only runs against a local AWS emulator (AWS_ENDPOINT_URL"
                ),
                "{e}"
            );
            assert!(!e.contains('\n') && !e.contains("s3cret"), "{e}");
        }
    }
}
