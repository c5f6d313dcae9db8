//! Connectors' own credentials in AWS Secrets Manager: one secret per connector that has
//! any, named `<prefix><id>` under a prefix fixed per table
//! ([`credentials_prefix`]: `connector-health/<table>/connector/`), so one IAM statement on
//! the prefix grants exactly these secrets. The table row keeps only a
//! [`CredentialsRef`] (docs/operating.md, "Connector credentials", says why one secret per
//! connector).

use crate::aws::{dependency_error, LazyClient};
use crate::domain::{ConnectorId, Credentials, CredentialsError, CredentialsRef};
use crate::ports::DependencyError;
use aws_config::SdkConfig;
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
    client: LazyClient<Client>,
    prefix: String,
}

impl SecretsManagerCredentials {
    /// For the connectors of `table` (secrets under [`credentials_prefix`]).
    pub fn for_table(client: Client, table: &str) -> Self {
        Self::with_prefix(client, credentials_prefix(table))
    }

    pub fn with_prefix(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client: LazyClient::ready(client),
            prefix: prefix.into(),
        }
    }

    /// For the connectors of `table`, the client built from `aws` on the first call (a
    /// function's cold start builds none).
    pub fn on_first_use(aws: &SdkConfig, table: &str) -> Self {
        Self {
            client: LazyClient::on_first_use(aws, Client::new),
            prefix: credentials_prefix(table),
        }
    }

    fn client(&self) -> &Client {
        self.client.get()
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
            .client()
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
                self.client()
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
            .client()
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
            .client()
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

/// What the prober reads connectors' credentials from (object safe, so the prober can hold
/// any source).
pub trait CredentialsSource: Send + Sync {
    fn read<'a>(&'a self, at: &'a CredentialsRef) -> CredentialsFuture<'a>;
}

pub type CredentialsFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Credentials, CredentialsStoreError>> + Send + 'a>,
>;

impl CredentialsSource for SecretsManagerCredentials {
    fn read<'a>(&'a self, at: &'a CredentialsRef) -> CredentialsFuture<'a> {
        Box::pin(self.get(at))
    }
}

/// Keeps what a source read for `ttl` (per container: a warm function reads each
/// connector's secret at most once per `ttl`, however many runs it serves). Failures are
/// not kept.
pub struct CachedCredentials {
    source: Box<dyn CredentialsSource>,
    ttl: std::time::Duration,
    kept:
        tokio::sync::Mutex<std::collections::HashMap<String, (tokio::time::Instant, Credentials)>>,
}

impl CachedCredentials {
    /// How long credentials are kept by default: one probe interval, so a change made with
    /// `chadmin` is used from the next run but one at the latest.
    pub const DEFAULT_TTL: std::time::Duration = std::time::Duration::from_secs(300);

    pub fn new(source: impl CredentialsSource + 'static, ttl: std::time::Duration) -> Self {
        Self {
            source: Box::new(source),
            ttl,
            kept: Default::default(),
        }
    }
}

impl CredentialsSource for CachedCredentials {
    fn read<'a>(&'a self, at: &'a CredentialsRef) -> CredentialsFuture<'a> {
        Box::pin(async move {
            if let Some((read_at, c)) = self.kept.lock().await.get(&at.secret_id) {
                if read_at.elapsed() < self.ttl {
                    return Ok(c.clone());
                }
            }
            let fresh = self.source.read(at).await?;
            self.kept.lock().await.insert(
                at.secret_id.clone(),
                (tokio::time::Instant::now(), fresh.clone()),
            );
            Ok(fresh)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CredentialsKind, Secret};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct Counting(Arc<AtomicUsize>);

    impl CredentialsSource for Counting {
        fn read<'a>(&'a self, _: &'a CredentialsRef) -> CredentialsFuture<'a> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if n == 0 {
                    return Err(DependencyError::other(SERVICE, "unreachable").into());
                }
                Ok(Credentials {
                    secret: Secret::Bearer {
                        token: "t".to_owned().into(),
                    },
                    expire_at: None,
                })
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn credentials_are_read_once_per_ttl_and_failures_are_not_kept() {
        let reads = Arc::new(AtomicUsize::new(0));
        let cache =
            CachedCredentials::new(Counting(reads.clone()), std::time::Duration::from_secs(300));
        let at = CredentialsRef {
            secret_id: "connector-health/t/connector/1".into(),
            kind: CredentialsKind::Bearer,
            expire_at: None,
        };
        assert!(cache.read(&at).await.is_err());
        for _ in 0..3 {
            cache.read(&at).await.unwrap();
        }
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "one failure, then one read kept"
        );
        tokio::time::advance(std::time::Duration::from_secs(301)).await;
        cache.read(&at).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 3);
    }
}
