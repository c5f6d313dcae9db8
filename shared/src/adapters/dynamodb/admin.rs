//! The operator's tools' side: create the table, and add, change and remove rows, each
//! write conditional (see [`ConnectorCatalog`]).

use super::schema::{
    attr, item_from, key, new_item, raw_from_item, settings_from_item, settings_update, Update,
};
use super::{DynamoConnectorStore, Item};
use crate::domain::{Catalog, CatalogRow, Connector, ConnectorId, ConnectorSettings};
use crate::ports::{ConnectorCatalog, DependencyError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

use super::SERVICE;

impl DynamoConnectorStore {
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
                    .map_err(|e| DependencyError::other(SERVICE, e.to_string()))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attr::ID)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(|e| DependencyError::other(SERVICE, e.to_string()))?,
            )
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) => {}
            Err(e) => return Err(self.error(e)),
        }
        for _ in 0..120 {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| self.error(e))?;
            let active = described
                .table()
                .and_then(|t| t.table_status())
                .is_some_and(|s| s.as_str() == "ACTIVE");
            if active {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        Err(DependencyError::TimedOut {
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
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Writes a new connector row only if no row has its id yet (`attribute_not_exists(id)`).
    /// Returns `false`, writing nothing, when the id is taken.
    pub async fn insert_connector(
        &self,
        connector: &Connector,
        feed_type: Option<&str>,
    ) -> Result<bool, DependencyError> {
        self.insert_item(item_from(connector, feed_type)).await
    }

    async fn insert_item(&self, item: Item) -> Result<bool, DependencyError> {
        self.applied(
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
        self.applied(
            self.client
                .delete_item()
                .table_name(&self.table)
                .key(attr::ID, key(id))
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
            .key(attr::ID, key(id))
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }
}

impl ConnectorCatalog for DynamoConnectorStore {
    async fn catalog(&self) -> Result<Catalog, DependencyError> {
        let (items, _) = self.scan_items().await?;
        let mut catalog = Catalog::default();
        for item in &items {
            if let Some(AttributeValue::N(n)) = item.get(attr::ID) {
                catalog.max_id = catalog.max_id.max(n.parse::<u64>().unwrap_or(0));
            }
            match (raw_from_item(item).validate(), settings_from_item(item)) {
                (Ok(v), Some((_, settings))) => catalog.rows.push(CatalogRow {
                    connector: v.connector,
                    settings,
                    downgraded: v.downgraded,
                }),
                (Err(e), _) => catalog.skipped.push(e),
                // A valid row always has its settings; kept total for the compiler.
                (Ok(v), None) => catalog
                    .skipped
                    .push(crate::domain::RowError::MissingName(v.connector.id)),
            }
        }
        catalog.rows.sort_by_key(|r| r.connector.id);
        Ok(catalog)
    }

    async fn settings(
        &self,
        id: ConnectorId,
    ) -> Result<Option<ConnectorSettings>, DependencyError> {
        Ok(self
            .get_item(id, true)
            .await?
            .as_ref()
            .and_then(settings_from_item)
            .map(|(_, s)| s))
    }

    async fn insert(
        &self,
        connector: &Connector,
        settings: &ConnectorSettings,
    ) -> Result<bool, DependencyError> {
        self.insert_item(new_item(connector, settings)).await
    }

    async fn update_settings(
        &self,
        id: ConnectorId,
        to: &ConnectorSettings,
    ) -> Result<bool, DependencyError> {
        let Update {
            expression,
            names,
            values,
        } = settings_update(to);
        self.applied(
            self.client
                .update_item()
                .table_name(&self.table)
                .key(attr::ID, key(id))
                .update_expression(expression)
                .condition_expression("attribute_exists(#id)")
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .send()
                .await,
        )
    }

    async fn remove(&self, id: ConnectorId) -> Result<bool, DependencyError> {
        self.delete_existing(id).await
    }
}
