//! The DynamoDB connector table: the one place that knows the row schema.
//!
//! - [`schema`]: attribute names and every item ↔ domain conversion.
//! - [`read`]: what the read functions do (one Scan for the list, one GetItem for one).
//! - [`probe`]: what a probe run does (targets from one Scan, one conditional UpdateItem
//!   per result).
//! - [`admin`]: what the operator's tools do (create the table, add, change and remove
//!   rows, always conditionally).
//!
//! Throttled or failed calls are retried with backoff by the SDK's standard retry mode;
//! what still fails becomes a typed [`DependencyError`](crate::ports::DependencyError).

pub mod admin;
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
            Err(e)
                if e.as_service_error().and_then(ProvideErrorMetadata::code)
                    == Some("ConditionalCheckFailedException") =>
            {
                Ok(false)
            }
            Err(e) => Err(self.error(e)),
        }
    }
}
