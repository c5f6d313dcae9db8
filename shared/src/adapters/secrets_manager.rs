//! The API key document in AWS Secrets Manager.

use crate::aws::{dependency_error, LazyClient};
use crate::ports::{DependencyError, KeySource};
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use secrecy::SecretString;

pub const SERVICE: &str = "Secrets Manager";

/// Reads the key document from one secret (its `SecretString`).
///
/// Built from the SDK configuration, the client itself is made on the first fetch: a
/// function's init then builds no Secrets Manager client at all, and the first request
/// pays only for the client (well under a millisecond), not for any certificate loading.
#[derive(Debug, Clone)]
pub struct SecretsManagerKeySource {
    client: LazyClient<Client>,
    secret_id: String,
}

impl SecretsManagerKeySource {
    /// With a client already built.
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self {
            client: LazyClient::ready(client),
            secret_id: secret_id.into(),
        }
    }

    /// With the client built from `aws` on the first fetch.
    pub fn on_first_use(aws: &SdkConfig, secret_id: impl Into<String>) -> Self {
        Self {
            client: LazyClient::on_first_use(aws, Client::new),
            secret_id: secret_id.into(),
        }
    }

    /// Whether the client has been built yet.
    pub fn client_built(&self) -> bool {
        self.client.built()
    }

    fn client(&self) -> &Client {
        self.client.get()
    }
}

impl KeySource for SecretsManagerKeySource {
    async fn fetch(&self) -> Result<SecretString, DependencyError> {
        let out = self
            .client()
            .get_secret_value()
            .secret_id(&self.secret_id)
            // The default, spelled out: emulators (moto) otherwise keep serving the version
            // that was current before an `UpdateSecretVersionStage` (how `chadmin` writes).
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|e| dependency_error(SERVICE, &format!("secret {}", self.secret_id), e))?;
        out.secret_string
            .map(SecretString::from)
            .ok_or_else(|| DependencyError::other(SERVICE, "the key secret has no SecretString"))
    }
}
