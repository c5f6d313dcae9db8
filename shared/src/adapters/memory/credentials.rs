//! Connectors' credentials held in memory, by secret name, as Secrets Manager holds them.

use crate::adapters::connector_credentials::{
    CredentialsFuture, CredentialsSource, CredentialsStoreError, SERVICE,
};
use crate::domain::{Credentials, CredentialsRef};
use crate::ports::DependencyError;
use std::collections::HashMap;
use std::sync::Mutex;

/// Credentials by secret name; a name it does not hold reads as a missing secret.
#[derive(Debug, Default)]
pub struct InMemoryCredentials {
    held: Mutex<HashMap<String, Credentials>>,
}

impl InMemoryCredentials {
    /// Holds `credentials` under `at`'s secret name.
    pub fn with(self, at: &CredentialsRef, credentials: Credentials) -> Self {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(at.secret_id.clone(), credentials);
        self
    }
}

impl CredentialsSource for InMemoryCredentials {
    fn read<'a>(&'a self, at: &'a CredentialsRef) -> CredentialsFuture<'a> {
        let found = self
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&at.secret_id)
            .cloned();
        Box::pin(async move {
            found.ok_or_else(|| {
                CredentialsStoreError::Dependency(DependencyError::Missing {
                    service: SERVICE,
                    resource: format!("secret {}", at.secret_id),
                })
            })
        })
    }
}
