//! The DynamoDB connector table.
//!
//! One item per connector, partition key `id` (Number). Attributes (all optional except
//! `id`, `name` and `url`; see the README for the full layout):
//! `name`, `url`, `feedType` (S); `state`, `errorMessage`, `lastChecked` (S);
//! probe diagnostics `responseTimeMs`, `httpStatus`, `consecutiveFailures` (N) and
//! `stateChangedAt`, `certificateExpiresAt` (S, RFC 3339).

use crate::domain::{format_timestamp, Connector, ConnectorId, Diagnostics, Health, RawConnector};
use crate::ports::{ConnectorReader, DependencyError};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

pub const SERVICE: &str = "DynamoDB";

/// Attribute names, in one place.
pub mod attr {
    pub const ID: &str = "id";
    pub const NAME: &str = "name";
    pub const URL: &str = "url";
    pub const FEED_TYPE: &str = "feedType";
    pub const STATE: &str = "state";
    pub const ERROR_MESSAGE: &str = "errorMessage";
    pub const LAST_CHECKED: &str = "lastChecked";
    pub const RESPONSE_TIME_MS: &str = "responseTimeMs";
    pub const HTTP_STATUS: &str = "httpStatus";
    pub const CONSECUTIVE_FAILURES: &str = "consecutiveFailures";
    pub const STATE_CHANGED_AT: &str = "stateChangedAt";
    pub const CERTIFICATE_EXPIRES_AT: &str = "certificateExpiresAt";
    /// Probe settings a row may carry: its own timeout (N, whole seconds) and the probe
    /// detail (S: the PyPI project, gem, or Maven `group:artifact` to ask for).
    pub const PROBE_TIMEOUT_SECONDS: &str = "probeTimeoutSeconds";
    pub const PROBE_PACKAGE: &str = "probePackage";
}

pub(crate) fn dependency_error<E>(service: &'static str, err: SdkError<E>) -> DependencyError
where
    E: std::error::Error + Send + Sync + 'static,
{
    DependencyError {
        service,
        detail: DisplayErrorContext(&err).to_string(),
    }
}

/// The outcome of a conditional write: `Ok(true)` when it was applied, `Ok(false)` when its
/// condition refused it (`ConditionalCheckFailedException`), any other failure as a
/// [`DependencyError`].
pub fn applied<T, E>(result: Result<T, SdkError<E>>) -> Result<bool, DependencyError>
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
        Err(e) => Err(dependency_error(SERVICE, e)),
    }
}

/// The connector table.
#[derive(Debug, Clone)]
pub struct DynamoConnectorStore {
    client: Client,
    table: String,
}

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

fn s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn n<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// Reads an item into a [`RawConnector`] (no validation yet).
pub fn raw_from_item(item: &Item) -> RawConnector {
    let ts = |name| {
        s(item, name)
            .as_deref()
            .and_then(crate::domain::parse_timestamp)
    };
    RawConnector {
        id: match item.get(attr::ID) {
            Some(AttributeValue::N(v)) => Some(v.clone()),
            _ => None,
        },
        name: s(item, attr::NAME),
        url: s(item, attr::URL),
        state: s(item, attr::STATE),
        error_message: s(item, attr::ERROR_MESSAGE),
        last_checked: s(item, attr::LAST_CHECKED),
        diagnostics: Diagnostics {
            response_time_ms: n(item, attr::RESPONSE_TIME_MS),
            http_status: n(item, attr::HTTP_STATUS),
            consecutive_failures: n(item, attr::CONSECUTIVE_FAILURES),
            state_changed_at: ts(attr::STATE_CHANGED_AT),
            certificate_expires_at: ts(attr::CERTIFICATE_EXPIRES_AT),
        },
    }
}

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

/// Builds the item for a connector (used by the admin tool and tests).
pub fn item_from(connector: &Connector, feed_type: Option<&str>) -> Item {
    let mut item = Item::new();
    let sv = |v: &str| AttributeValue::S(v.to_owned());
    item.insert(attr::ID.into(), AttributeValue::N(connector.id.to_string()));
    item.insert(attr::NAME.into(), sv(&connector.name));
    item.insert(attr::URL.into(), sv(&connector.url));
    if let Some(f) = feed_type {
        item.insert(attr::FEED_TYPE.into(), sv(f));
    }
    item.insert(attr::STATE.into(), sv(connector.health.state().as_str()));
    match &connector.health {
        Health::Unknown => {}
        Health::Healthy { last_checked } => {
            item.insert(
                attr::LAST_CHECKED.into(),
                sv(&format_timestamp(last_checked)),
            );
        }
        Health::Error {
            message,
            last_checked,
        } => {
            item.insert(attr::ERROR_MESSAGE.into(), sv(message));
            item.insert(
                attr::LAST_CHECKED.into(),
                sv(&format_timestamp(last_checked)),
            );
        }
    }
    let d = &connector.diagnostics;
    let num = |v: String| AttributeValue::N(v);
    if let Some(v) = d.response_time_ms {
        item.insert(attr::RESPONSE_TIME_MS.into(), num(v.to_string()));
    }
    if let Some(v) = d.http_status {
        item.insert(attr::HTTP_STATUS.into(), num(v.to_string()));
    }
    if let Some(v) = d.consecutive_failures {
        item.insert(attr::CONSECUTIVE_FAILURES.into(), num(v.to_string()));
    }
    if let Some(v) = &d.state_changed_at {
        item.insert(attr::STATE_CHANGED_AT.into(), sv(&format_timestamp(v)));
    }
    if let Some(v) = &d.certificate_expires_at {
        item.insert(
            attr::CERTIFICATE_EXPIRES_AT.into(),
            sv(&format_timestamp(v)),
        );
    }
    item
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

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the table (on-demand billing, partition key `id` Number) and waits until it
    /// is active. An existing table is left as it is.
    pub async fn create_table(&self) -> Result<(), DependencyError> {
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr::ID)
                    .attribute_type(ScalarAttributeType::N)
                    .build()
                    .map_err(|e| DependencyError {
                        service: SERVICE,
                        detail: e.to_string(),
                    })?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attr::ID)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(|e| DependencyError {
                        service: SERVICE,
                        detail: e.to_string(),
                    })?,
            )
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) => {}
            Err(e) => return Err(dependency_error(SERVICE, e)),
        }
        for _ in 0..120 {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| dependency_error(SERVICE, e))?;
            let active = described
                .table()
                .and_then(|t| t.table_status())
                .is_some_and(|s| s.as_str() == "ACTIVE");
            if active {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        Err(DependencyError {
            service: SERVICE,
            detail: format!("table {} did not become active", self.table),
        })
    }

    /// Writes a whole connector row (replacing any row with the same id).
    pub async fn put(
        &self,
        connector: &Connector,
        feed_type: Option<&str>,
    ) -> Result<(), DependencyError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_from(connector, feed_type)))
            .send()
            .await
            .map_err(|e| dependency_error(SERVICE, e))?;
        Ok(())
    }

    /// Writes a new connector row only if no row has its id yet (`attribute_not_exists(id)`).
    /// Returns `false`, writing nothing, when the id is taken.
    pub async fn insert(
        &self,
        connector: &Connector,
        feed_type: Option<&str>,
    ) -> Result<bool, DependencyError> {
        self.insert_item(item_from(connector, feed_type)).await
    }

    /// [`Self::insert`] for an item built by the caller (for example with probe settings).
    pub async fn insert_item(&self, item: Item) -> Result<bool, DependencyError> {
        applied(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#id)")
                .expression_attribute_names("#id", attr::ID)
                .send()
                .await,
        )
    }

    /// Removes a connector row only if it exists (`attribute_exists(id)`). Returns `false`
    /// when there was no such row.
    pub async fn delete_existing(&self, id: ConnectorId) -> Result<bool, DependencyError> {
        applied(
            self.client
                .delete_item()
                .table_name(&self.table)
                .key(attr::ID, AttributeValue::N(id.to_string()))
                .condition_expression("attribute_exists(#id)")
                .expression_attribute_names("#id", attr::ID)
                .send()
                .await,
        )
    }

    /// Removes a connector row; removing an absent row is not an error.
    pub async fn delete(&self, id: ConnectorId) -> Result<(), DependencyError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(attr::ID, AttributeValue::N(id.to_string()))
            .send()
            .await
            .map_err(|e| dependency_error(SERVICE, e))?;
        Ok(())
    }

    /// Every item in the table, following `LastEvaluatedKey` page by page.
    pub async fn scan_items(&self) -> Result<(Vec<Item>, usize), DependencyError> {
        let mut items = Vec::new();
        let mut pages = 0;
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| dependency_error(SERVICE, e))?;
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
        let (items, pages) = self.scan_items().await?;
        let mut connectors: Vec<Connector> = items.iter().filter_map(showable).collect();
        connectors.sort_by_key(|c| c.id);
        tracing::debug!(
            pages,
            rows = items.len(),
            shown = connectors.len(),
            "listed connectors"
        );
        Ok(connectors)
    }

    async fn get(&self, id: ConnectorId) -> Result<Option<Connector>, DependencyError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::ID, AttributeValue::N(id.to_string()))
            .send()
            .await
            .map_err(|e| dependency_error(SERVICE, e))?;
        Ok(out.item.as_ref().and_then(showable))
    }
}
