//! The operator's tools' side: create the table, and add, change and remove rows. Each
//! change is one transaction of the rows and the name reservations it touches, each item on
//! the condition that it is as it was read (see [`super::bookkeeping`]); a change whose
//! condition fails is read again and retried, a few times.

use super::bookkeeping::{
    delete, put, reservation_item, reservation_key, update, Condition, Slot, Transacted,
};
use super::schema::{
    attr, credentials_ref_from_item, credentials_update, item_from, key, new_item, raw_from_item,
    settings_from_item, settings_update, string, whole,
};
use super::DynamoConnectorStore;
use crate::domain::{
    Catalog, CatalogRow, Connector, ConnectorId, ConnectorSettings, CredentialsRef,
};
use crate::ports::{check_settings_change, CatalogError, ConnectorCatalog, DependencyError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TransactWriteItem,
};
use std::collections::{HashMap, HashSet};

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

    /// Points connector `id`'s row at its credentials (`Some`) or removes the reference
    /// (`None`); nothing else in the row changes. `Ok(false)` when there is no such row.
    pub async fn set_credentials(
        &self,
        id: ConnectorId,
        to: Option<&CredentialsRef>,
    ) -> Result<bool, DependencyError> {
        let change = credentials_update(to);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::ID, key(id))
            .update_expression(change.expression)
            .set_expression_attribute_names(Some(change.names))
            .set_expression_attribute_values((!change.values.is_empty()).then_some(change.values))
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#id", attr::ID)
            .send()
            .await;
        self.applied(result)
    }

    /// Where connector `id`'s credentials are; `None` when it has none or does not exist.
    pub async fn credentials(
        &self,
        id: ConnectorId,
    ) -> Result<Option<CredentialsRef>, DependencyError> {
        Ok(self
            .get_item(id, true)
            .await?
            .as_ref()
            .and_then(credentials_ref_from_item))
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

/// How often a change whose conditions failed is read again and retried.
const ATTEMPTS: usize = 8;

/// A row about to change, as read.
struct Current {
    id: ConnectorId,
    name: Option<String>,
    to: ConnectorSettings,
}

impl Current {
    fn renamed(&self) -> bool {
        self.name.as_deref() != Some(self.to.name.as_str())
    }
}

/// Why `name` cannot be taken, when a connector holds its reservation.
fn held(slot: &Slot, name: &str) -> Option<CatalogError> {
    match slot {
        Slot::Held(_, held) if held == name => Some(CatalogError::NameTaken(held.clone())),
        Slot::Held(_, holder) => Some(CatalogError::NameUnavailable {
            name: name.to_owned(),
            holder: holder.clone(),
        }),
        Slot::Free | Slot::Replace(_) => None,
    }
}

/// The transaction item that gives `name` to `owner`, on the condition that its
/// reservation is still as `slot` found it.
fn take_name(
    table: &str,
    slot: Slot,
    name: &str,
    owner: ConnectorId,
) -> Result<TransactWriteItem, CatalogError> {
    if let Some(refusal) = held(&slot, name) {
        return Err(refusal);
    }
    let condition = match slot {
        Slot::Replace(was) => was.unchanged(),
        Slot::Free | Slot::Held(..) => Condition::default().absent(attr::ID),
    };
    Ok(put(table, reservation_item(name, owner), condition)?)
}

impl DynamoConnectorStore {
    /// One attempt at an insert: `Ok(None)` when a condition failed and it may be tried again.
    async fn try_insert(
        &self,
        connector: &Connector,
        settings: &ConnectorSettings,
        id: Option<ConnectorId>,
    ) -> Result<Option<ConnectorId>, CatalogError> {
        let name = settings.name.as_str();
        // The generation first: it starts the counter of a table that has none, which
        // reserves the names its rows hold before this name is looked at.
        let generation = self.take(0, 1).await?.last_generation;
        let slot = self.slot(name, &HashMap::new()).await?;
        // Refused before an id is taken for nothing.
        if let Some(refusal) = held(&slot, name) {
            return Err(refusal);
        }
        let given = id;
        let id = match given {
            Some(id) => {
                self.raise_counter(id).await?;
                id
            }
            None => u32::try_from(self.take(1, 0).await?.last_id)
                .ok()
                .and_then(ConnectorId::new)
                .ok_or(CatalogError::IdsExhausted)?,
        };
        let mut row = connector.clone();
        row.id = id;
        row.name.clone_from(&settings.name);
        row.url.clone_from(&settings.url);
        let items = vec![
            put(
                &self.table,
                new_item(&row, settings, generation),
                Condition::default().absent(attr::ID),
            )?,
            take_name(&self.table, slot, name, id)?,
        ];
        match self.transact(items).await? {
            Transacted::Done => Ok(Some(id)),
            // Written after all: an earlier attempt whose answer was lost (the row holds
            // this write's generation, which no other write has).
            Transacted::Refused(_) if self.generations(&[id]).await? == [Some(generation)] => {
                Ok(Some(id))
            }
            // The row's condition: its id is taken. One given by hand is an answer; one
            // from the counter was taken by a row written around the tools, so try the next.
            Transacted::Refused(failed) if failed.first() == Some(&true) && given.is_some() => {
                Err(CatalogError::IdTaken(id))
            }
            _ => Ok(None),
        }
    }

    /// The generation of each row, `None` for a row that has none or is gone.
    async fn generations(&self, ids: &[ConnectorId]) -> Result<Vec<Option<u64>>, DependencyError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = self.get_item(*id, true).await?;
            out.push(row.as_ref().and_then(|r| whole(r, attr::GENERATION)));
        }
        Ok(out)
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
                    credentials: credentials_ref_from_item(item),
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
        id: Option<ConnectorId>,
    ) -> Result<ConnectorId, CatalogError> {
        for _ in 0..ATTEMPTS {
            if let Some(id) = self.try_insert(connector, settings, id).await? {
                return Ok(id);
            }
        }
        Err(CatalogError::Contended)
    }

    async fn update_settings(
        &self,
        changes: &[(ConnectorId, ConnectorSettings)],
    ) -> Result<(), CatalogError> {
        check_settings_change(changes)?;
        for _ in 0..ATTEMPTS {
            if self.try_update(changes).await? {
                return Ok(());
            }
        }
        Err(CatalogError::Contended)
    }

    async fn remove(&self, id: ConnectorId) -> Result<bool, CatalogError> {
        // A table without a counter gets one before a row goes, so the counter starts
        // above this row's id, not below it.
        self.take(0, 0).await?;
        for _ in 0..ATTEMPTS {
            let Some(row) = self.get_item(id, true).await? else {
                return Ok(false);
            };
            let name = string(&row, attr::NAME).map(str::to_owned);
            let mut items = vec![delete(
                &self.table,
                key(id),
                Condition::default()
                    .exists(attr::ID)
                    .matches(attr::NAME, name.clone().map(AttributeValue::S)),
            )?];
            if let Some(name) = &name {
                if let Some(reservation) = self.reservation(name).await? {
                    if reservation.held_by(id, name) {
                        items.push(delete(
                            &self.table,
                            reservation_key(name),
                            reservation.unchanged(),
                        )?);
                    }
                }
            }
            if self.transact(items).await? == Transacted::Done {
                return Ok(true);
            }
        }
        Err(CatalogError::Contended)
    }
}

impl DynamoConnectorStore {
    /// One attempt at a change of settings: `Ok(false)` when a condition failed and it may
    /// be tried again.
    async fn try_update(
        &self,
        changes: &[(ConnectorId, ConnectorSettings)],
    ) -> Result<bool, CatalogError> {
        let mut rows = Vec::with_capacity(changes.len());
        for (id, to) in changes {
            let Some(row) = self.get_item(*id, true).await? else {
                return Err(CatalogError::NotFound(*id));
            };
            rows.push(Current {
                id: *id,
                name: string(&row, attr::NAME).map(str::to_owned),
                to: to.clone(),
            });
        }
        // The generations first: that starts the counter of a table that has none, which
        // reserves the names its rows hold before any name is looked at.
        let count = rows.len() as u64;
        let first = self.take(0, count).await?.last_generation + 1 - count;
        let leaving: HashMap<u64, &str> = rows
            .iter()
            .filter(|r| r.renamed())
            .filter_map(|r| Some((u64::from(r.id.get()), r.name.as_deref()?)))
            .collect();
        let taking: HashSet<&str> = rows
            .iter()
            .filter(|r| r.renamed())
            .map(|r| r.to.name.as_str())
            .collect();
        let mut names = Vec::new();
        for r in rows.iter().filter(|r| r.renamed()) {
            let slot = self.slot(&r.to.name, &leaving).await?;
            names.push(take_name(&self.table, slot, &r.to.name, r.id)?);
            // The old name is freed, unless another connector of the change takes it (then
            // its reservation is replaced above).
            if let Some(old) = r.name.as_deref().filter(|old| !taking.contains(old)) {
                if let Some(reservation) = self.reservation(old).await? {
                    if reservation.held_by(r.id, old) {
                        names.push(delete(
                            &self.table,
                            reservation_key(old),
                            reservation.unchanged(),
                        )?);
                    }
                }
            }
        }
        let mut items = Vec::with_capacity(rows.len() + names.len());
        for (r, generation) in rows.iter().zip(first..) {
            items.push(update(
                &self.table,
                key(r.id),
                settings_update(&r.to, generation),
                Condition::default()
                    .exists(attr::ID)
                    .matches(attr::NAME, r.name.clone().map(AttributeValue::S)),
            )?);
        }
        items.extend(names);
        match self.transact(items).await? {
            Transacted::Done => Ok(true),
            Transacted::Refused(failed) => {
                // Written after all: an earlier attempt whose answer was lost.
                let ids: Vec<ConnectorId> = rows.iter().map(|r| r.id).collect();
                let ours: Vec<Option<u64>> = (first..first + count).map(Some).collect();
                if self.generations(&ids).await? == ours {
                    return Ok(true);
                }
                // A row that is gone now is an answer; anything else changed meanwhile.
                for (r, _) in rows.iter().zip(failed).filter(|(_, f)| *f) {
                    if self.get_item(r.id, true).await?.is_none() {
                        return Err(CatalogError::NotFound(r.id));
                    }
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }
}
