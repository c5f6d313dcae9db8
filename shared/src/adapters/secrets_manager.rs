//! The API key document in AWS Secrets Manager.

use crate::aws::dependency_error;
use crate::ports::{DependencyError, KeySource};
use aws_sdk_secretsmanager::Client;
use secrecy::SecretString;

pub const SERVICE: &str = "Secrets Manager";

/// Reads the key document from one secret (its `SecretString`).
#[derive(Debug, Clone)]
pub struct SecretsManagerKeySource {
    client: Client,
    secret_id: String,
}

impl SecretsManagerKeySource {
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }
}

impl KeySource for SecretsManagerKeySource {
    async fn fetch(&self) -> Result<SecretString, DependencyError> {
        let out = self
            .client
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
