//! Connectors' own credentials in AWS Secrets Manager: one secret per connector that has
//! any, named `<prefix><id>` under a prefix fixed per table
//! ([`credentials_prefix`]: `connector-health/<table>/connector/`), so one IAM statement on
//! the prefix grants exactly these secrets. The table row keeps only a
//! [`CredentialsRef`] (docs/operating.md, "Connector credentials", says why one secret per
//! connector).

use crate::aws::dependency_error;
use crate::domain::{ConnectorId, Credentials, CredentialsError, CredentialsRef};
use crate::ports::DependencyError;
use aws_sdk_secretsmanager::Client;
use secrecy::ExposeSecret;

pub use super::secrets_manager::SERVICE;

/// The name prefix of the credential secrets of the connectors in `table`.
pub fn credentials_prefix(table: &str) -> String {
    format!("connector-health/{table}/connector/")
}

/// Why credentials could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsStoreError {
    /// Secrets Manager failed or refused (retryable unless it is a denial or a missing
    /// secret: see the [`DependencyError`] kind).
    #[error(transparent)]
    Dependency(#[from] DependencyError),
    /// The secret exists but does not hold credentials this version can use.
    #[error("secret {secret_id}: {source}")]
    Unusable {
        secret_id: String,
        source: CredentialsError,
    },
}

/// Reads, writes and deletes connectors' credential secrets.
#[derive(Debug, Clone)]
pub struct SecretsManagerCredentials {
    client: Client,
    prefix: String,
}

impl SecretsManagerCredentials {
    /// For the connectors of `table` (secrets under [`credentials_prefix`]).
    pub fn for_table(client: Client, table: &str) -> Self {
        Self::with_prefix(client, credentials_prefix(table))
    }

    pub fn with_prefix(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
        }
    }

    /// The name of the secret that holds `id`'s credentials.
    pub fn secret_id(&self, id: ConnectorId) -> String {
        format!("{}{}", self.prefix, id)
    }

    /// Stores `credentials` as `id`'s (creating its secret, or a new current version of
    /// it) and returns what the row should keep. Checks them first.
    pub async fn put(
        &self,
        id: ConnectorId,
        credentials: &Credentials,
    ) -> Result<CredentialsRef, CredentialsStoreError> {
        let secret_id = self.secret_id(id);
        credentials
            .check()
            .map_err(|source| CredentialsStoreError::Unusable {
                secret_id: secret_id.clone(),
                source,
            })?;
        let document = credentials.to_document();
        let created = self
            .client
            .create_secret()
            .name(&secret_id)
            .description(format!("connector-health: credentials of connector {id}"))
            .secret_string(document.expose_secret())
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_exists_exception()) =>
            {
                self.client
                    .put_secret_value()
                    .secret_id(&secret_id)
                    .secret_string(document.expose_secret())
                    .send()
                    .await
                    .map_err(|e| dependency_error(SERVICE, &format!("secret {secret_id}"), e))?;
            }
            Err(e) => {
                return Err(dependency_error(SERVICE, &format!("secret {secret_id}"), e).into())
            }
        }
        Ok(CredentialsRef {
            secret_id,
            kind: credentials.secret.kind(),
            expire_at: credentials.expire_at,
        })
    }

    /// The credentials a row's reference points at.
    pub async fn get(&self, at: &CredentialsRef) -> Result<Credentials, CredentialsStoreError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&at.secret_id)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|e| dependency_error(SERVICE, &format!("secret {}", at.secret_id), e))?;
        let unusable = |source| CredentialsStoreError::Unusable {
            secret_id: at.secret_id.clone(),
            source,
        };
        let text = out
            .secret_string
            .map(secrecy::SecretString::from)
            .ok_or_else(|| unusable(CredentialsError::Malformed))?;
        Credentials::from_document(&text).map_err(unusable)
    }

    /// Deletes `id`'s credentials at once (no recovery window, so the connector can be
    /// given new ones straight away). Deleting credentials a connector does not have is
    /// not an error (Secrets Manager itself answers a forced delete of an absent secret
    /// with success).
    pub async fn delete(&self, id: ConnectorId) -> Result<(), CredentialsStoreError> {
        let secret_id = self.secret_id(id);
        let deleted = self
            .client
            .delete_secret()
            .secret_id(&secret_id)
            .force_delete_without_recovery(true)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(dependency_error(SERVICE, &format!("secret {secret_id}"), e).into()),
        }
    }
}
