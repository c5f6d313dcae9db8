//! The operator's tools' view of the table, in memory, with the same conditional-write
//! rules as the DynamoDB adapter.

use crate::domain::{Catalog, CatalogRow, Connector, ConnectorId, ConnectorSettings};
use crate::ports::{ConnectorCatalog, DependencyError};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Connector rows with their settings.
#[derive(Debug, Default)]
pub struct InMemoryCatalog {
    rows: Mutex<BTreeMap<ConnectorId, (Connector, ConnectorSettings)>>,
}

impl InMemoryCatalog {
    /// The row with this id, as stored.
    pub fn row(&self, id: ConnectorId) -> Option<(Connector, ConnectorSettings)> {
        self.rows().get(&id).cloned()
    }

    fn rows(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<ConnectorId, (Connector, ConnectorSettings)>> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ConnectorCatalog for InMemoryCatalog {
    async fn catalog(&self) -> Result<Catalog, DependencyError> {
        let rows = self.rows();
        Ok(Catalog {
            rows: rows
                .values()
                .map(|(connector, settings)| CatalogRow {
                    connector: connector.clone(),
                    settings: settings.clone(),
                    downgraded: None,
                })
                .collect(),
            skipped: Vec::new(),
            max_id: rows.keys().last().map_or(0, |id| u64::from(id.get())),
        })
    }

    async fn settings(
        &self,
        id: ConnectorId,
    ) -> Result<Option<ConnectorSettings>, DependencyError> {
        Ok(self.rows().get(&id).map(|(_, s)| s.clone()))
    }

    async fn insert(
        &self,
        connector: &Connector,
        settings: &ConnectorSettings,
    ) -> Result<bool, DependencyError> {
        let mut rows = self.rows();
        if rows.contains_key(&connector.id) {
            return Ok(false);
        }
        let mut connector = connector.clone();
        connector.name.clone_from(&settings.name);
        connector.url.clone_from(&settings.url);
        rows.insert(connector.id, (connector, settings.clone()));
        Ok(true)
    }

    async fn update_settings(
        &self,
        id: ConnectorId,
        to: &ConnectorSettings,
    ) -> Result<bool, DependencyError> {
        let mut rows = self.rows();
        let Some((connector, settings)) = rows.get_mut(&id) else {
            return Ok(false);
        };
        connector.name.clone_from(&to.name);
        connector.url.clone_from(&to.url);
        *settings = to.clone();
        Ok(true)
    }

    async fn remove(&self, id: ConnectorId) -> Result<bool, DependencyError> {
        Ok(self.rows().remove(&id).is_some())
    }
}
