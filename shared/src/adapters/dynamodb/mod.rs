//! The DynamoDB connector table: the one place that knows the row schema.
//!
//! - [`schema`]: attribute names and every item ↔ domain conversion.
//! - [`read`]: what the read functions do (one Scan for the list, one GetItem for one).
//! - [`probe`]: what a probe run does (targets from one Scan, one conditional UpdateItem
//!   per result).
//! - [`admin`]: what the operator's tools do (create the table, add, change and remove
//!   rows, always conditionally, each change one transaction).
//! - [`history`]: the history table (one item per connector per day, one write per
//!   check).
//! - [`claims`]: the probe cycles begun, and each connector's claim by a probe worker.
//! - [`bookkeeping`]: the table's items that are not connectors (the id counter, the name
//!   reservations), which keep ids and names unique, and the transactions that write them.
//!
//! Throttled or failed calls are retried with backoff by the SDK's standard retry mode;
//! what still fails becomes a typed [`DependencyError`](crate::ports::DependencyError).

pub mod admin;
pub mod bookkeeping;
pub mod claims;
pub mod history;
pub mod probe;
pub mod read;
pub mod schema;

use crate::aws::dependency_error;
use crate::ports::DependencyError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

pub use schema::attr;

pub const SERVICE: &str = "DynamoDB";

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// The connector table.
#[derive(Debug, Clone)]
pub struct DynamoConnectorStore {
    client: Client,
    table: String,
}

impl DynamoConnectorStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Its client, for another table's adapter to share (one client per container).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// One item by id (`consistent`: a strongly consistent read), or `None`.
    async fn get_item(
        &self,
        id: crate::domain::ConnectorId,
        consistent: bool,
    ) -> Result<Option<Item>, DependencyError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::ID, schema::key(id))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(out.item)
    }

    /// Every item read into `T` (rows it cannot use are dropped by `read`, which logs
    /// why), ordered by `order`.
    async fn scan_into<T, K: Ord>(
        &self,
        read: impl Fn(&Item) -> Option<T>,
        order: impl Fn(&T) -> K,
        what: &'static str,
    ) -> Result<Vec<T>, DependencyError> {
        let (items, pages) = self.scan_items().await?;
        let mut out: Vec<T> = items.iter().filter_map(read).collect();
        out.sort_by_key(order);
        tracing::debug!(
            pages,
            rows = items.len(),
            kept = out.len(),
            what,
            "scanned the table"
        );
        Ok(out)
    }

    /// What a failed call on this table reports.
    fn error<E>(&self, err: SdkError<E>) -> DependencyError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        dependency_error(SERVICE, &format!("table {}", self.table), err)
    }

    /// The outcome of a conditional write: `Ok(true)` when it was applied, `Ok(false)` when
    /// its condition refused it (`ConditionalCheckFailedException`), any other failure as
    /// a [`DependencyError`].
    fn applied<T, E>(&self, result: Result<T, SdkError<E>>) -> Result<bool, DependencyError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match result {
            Ok(_) => Ok(true),
            Err(e) if bookkeeping::refused(&e) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }
}
