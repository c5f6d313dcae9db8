//! The read functions' side: every showable connector (one Scan, page by page) and one
//! connector (one GetItem). Rows that cannot be shown are logged and skipped, or shown as
//! `unknown` (see [`RawConnector::validate`](crate::domain::RawConnector::validate)).
//! The status page reads the same way, each row with its feed type.

use super::schema::{attr, raw_from_item};
use super::{DynamoConnectorStore, Item};
use crate::domain::{Connector, ConnectorId, StatusRow};
use crate::ports::{ConnectorReader, DependencyError, StatusReader};
use aws_sdk_dynamodb::types::AttributeValue;

/// Validates an item; logs and drops rows that cannot be shown.
fn showable(item: &Item) -> Option<Connector> {
    match raw_from_item(item).validate() {
        Ok(v) => {
            if let Some(why) = v.downgraded {
                tracing::warn!(connector_id = %v.connector.id, reason = why, "connector row shown as unknown");
            }
            Some(v.connector)
        }
        Err(e) => {
            tracing::warn!(reason = %e, "skipping malformed connector row");
            None
        }
    }
}

/// A showable row with its feed type as stored (blank counts as not set).
fn status_row(item: &Item) -> Option<StatusRow> {
    let connector = showable(item)?;
    let feed_type = match item.get(attr::FEED_TYPE) {
        Some(AttributeValue::S(f)) if !f.trim().is_empty() => Some(f.clone()),
        _ => None,
    };
    Some(StatusRow {
        connector,
        feed_type,
    })
}

impl DynamoConnectorStore {
    /// Every connector item in the table (`id > 0`: never the table's bookkeeping items),
    /// following `LastEvaluatedKey` page by page.
    pub async fn scan_items(&self) -> Result<(Vec<Item>, usize), DependencyError> {
        let mut items = Vec::new();
        let mut pages = 0;
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#id > :zero")
                .expression_attribute_names("#id", attr::ID)
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.error(e))?;
            pages += 1;
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok((items, pages))
    }
}

impl ConnectorReader for DynamoConnectorStore {
    async fn list(&self) -> Result<Vec<Connector>, DependencyError> {
        self.scan_into(showable, |c| c.id, "connectors").await
    }

    async fn get(&self, id: ConnectorId) -> Result<Option<Connector>, DependencyError> {
        Ok(self.get_item(id, false).await?.as_ref().and_then(showable))
    }
}

impl StatusReader for DynamoConnectorStore {
    async fn rows(&self) -> Result<Vec<StatusRow>, DependencyError> {
        self.scan_into(status_row, |r| r.connector.id, "status rows")
            .await
    }

    async fn row(&self, id: ConnectorId) -> Result<Option<StatusRow>, DependencyError> {
        Ok(self
            .get_item(id, false)
            .await?
            .as_ref()
            .and_then(status_row))
    }
}
