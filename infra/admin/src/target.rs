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
    /// From `--stack`: the API's base URL and the probe function's name.
    pub stack: Option<(String, crate::stack::StackOutputs)>,
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
    ///
    /// With `--stack`, the table and secret not given explicitly come from the stack's
    /// outputs (one CloudFormation call).
    pub async fn load(args: &TargetArgs) -> Result<Self> {
        let aws = shared::aws::sdk_config().await;
        let mut table = non_empty(&args.table);
        let mut secret = non_empty(&args.secret);
        let stack = match non_empty(&args.stack) {
            None => None,
            Some(name) => {
                let outputs = crate::stack::StackOutputs::load(&aws, &name).await?;
                table = table.or_else(|| outputs.table.clone());
                secret = secret.or_else(|| outputs.secret.clone());
                Some((name, outputs))
            }
        };
        Ok(Self {
            aws,
            table,
            secret,
            stack,
        })
    }

    /// Whether AWS calls go to a local emulator (`AWS_ENDPOINT_URL` on a loopback host).
    pub fn is_local(&self) -> bool {
        std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .is_some_and(|url| is_loopback_url(&url))
    }

    pub fn table_name(&self) -> Result<&str> {
        self.table.as_deref().ok_or_else(|| {
            AdminError::Config(format!(
                "no connector table given: pass --table or --stack, or set {TABLE_VAR}"
            ))
        })
    }

    pub fn secret_id(&self) -> Result<&str> {
        self.secret.as_deref().ok_or_else(|| {
            AdminError::Config(format!(
                "no key secret given: pass --secret or --stack, or set {SECRET_VAR}"
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

/// Whether `url` points at 127.0.0.0/8, `localhost` or `[::1]`.
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url
        .trim()
        .strip_prefix("http://")
        .or_else(|| url.trim().strip_prefix("https://"))
        .unwrap_or("");
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_url;

    #[test]
    fn loopback_urls_are_recognised() {
        for url in [
            "http://127.0.0.1:4566",
            "http://localhost:8000/",
            "http://[::1]:9/",
            "https://127.1.2.3",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://10.0.0.1:4566",
            "127.0.0.1:4566",
            "http://localhost.example.com",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }
}
