//! The status page's read in memory: [`InMemoryConnectors`] (which can fail, be slow, or
//! change) with a feed type per connector.

use super::InMemoryConnectors;
use crate::domain::{ConnectorId, StatusRow};
use crate::ports::{ConnectorReader, DependencyError, StatusReader};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

#[derive(Debug, Default)]
pub struct InMemoryStatusRows {
    pub connectors: Arc<InMemoryConnectors>,
    feed_types: RwLock<HashMap<ConnectorId, String>>,
}

impl InMemoryStatusRows {
    pub fn new(connectors: Arc<InMemoryConnectors>) -> Self {
        Self {
            connectors,
            feed_types: RwLock::default(),
        }
    }

    /// Sets the feed type of connector `id`.
    pub fn set_feed_type(&self, id: ConnectorId, feed_type: &str) {
        self.feed_types
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, feed_type.to_owned());
    }

    fn with_feed_type(&self, connector: crate::domain::Connector) -> StatusRow {
        let feed_type = self
            .feed_types
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&connector.id)
            .cloned();
        StatusRow {
            connector,
            feed_type,
        }
    }
}

impl StatusReader for InMemoryStatusRows {
    async fn rows(&self) -> Result<Vec<StatusRow>, DependencyError> {
        let rows = self.connectors.list().await?;
        Ok(rows.into_iter().map(|c| self.with_feed_type(c)).collect())
    }

    async fn row(&self, id: ConnectorId) -> Result<Option<StatusRow>, DependencyError> {
        let row = self.connectors.get(id).await?;
        Ok(row.map(|c| self.with_feed_type(c)))
    }
}
