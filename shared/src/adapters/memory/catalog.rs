//! The operator's tools' view of the table, in memory, with the same rules as the DynamoDB
//! adapter: ids never reused, names unique (compared exactly), every change all or nothing.

use crate::domain::{Catalog, CatalogRow, Connector, ConnectorId, ConnectorSettings};
use crate::ports::{check_settings_change, CatalogError, ConnectorCatalog, DependencyError};
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

/// A row as stored: the connector, its settings, its generation.
type Row = (Connector, ConnectorSettings, u64);

#[derive(Debug, Default)]
struct Table {
    rows: BTreeMap<ConnectorId, Row>,
    /// The largest id ever handed out or given.
    last_id: u32,
    last_generation: u64,
}

impl Table {
    fn holder(&self, name: &str) -> Option<ConnectorId> {
        self.rows
            .iter()
            .find(|(_, (_, s, _))| s.name == name)
            .map(|(id, _)| *id)
    }

    fn generation(&mut self) -> u64 {
        self.last_generation += 1;
        self.last_generation
    }
}

/// Connector rows with their settings.
#[derive(Debug, Default)]
pub struct InMemoryCatalog {
    table: Mutex<Table>,
}

impl InMemoryCatalog {
    /// The row with this id, as stored.
    pub fn row(&self, id: ConnectorId) -> Option<(Connector, ConnectorSettings)> {
        self.table()
            .rows
            .get(&id)
            .map(|(c, s, _)| (c.clone(), s.clone()))
    }

    /// The generation of the row with this id.
    pub fn generation(&self, id: ConnectorId) -> Option<u64> {
        self.table().rows.get(&id).map(|(_, _, g)| *g)
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ConnectorCatalog for InMemoryCatalog {
    async fn catalog(&self) -> Result<Catalog, DependencyError> {
        let table = self.table();
        Ok(Catalog {
            rows: table
                .rows
                .values()
                .map(|(connector, settings, _)| CatalogRow {
                    connector: connector.clone(),
                    settings: settings.clone(),
                    credentials: None,
                    downgraded: None,
                })
                .collect(),
            skipped: Vec::new(),
            max_id: table.rows.keys().last().map_or(0, |id| u64::from(id.get())),
        })
    }

    async fn settings(
        &self,
        id: ConnectorId,
    ) -> Result<Option<ConnectorSettings>, DependencyError> {
        Ok(self.table().rows.get(&id).map(|(_, s, _)| s.clone()))
    }

    async fn insert(
        &self,
        connector: &Connector,
        settings: &ConnectorSettings,
        id: Option<ConnectorId>,
    ) -> Result<ConnectorId, CatalogError> {
        let mut table = self.table();
        if table.holder(&settings.name).is_some() {
            return Err(CatalogError::NameTaken(settings.name.clone()));
        }
        let id = match id {
            Some(id) if table.rows.contains_key(&id) => return Err(CatalogError::IdTaken(id)),
            Some(id) => id,
            None => table
                .last_id
                .checked_add(1)
                .and_then(ConnectorId::new)
                .ok_or(CatalogError::IdsExhausted)?,
        };
        table.last_id = table.last_id.max(id.get());
        let mut connector = connector.clone();
        connector.id = id;
        connector.name.clone_from(&settings.name);
        connector.url.clone_from(&settings.url);
        let generation = table.generation();
        table
            .rows
            .insert(id, (connector, settings.clone(), generation));
        Ok(id)
    }

    async fn update_settings(
        &self,
        changes: &[(ConnectorId, ConnectorSettings)],
    ) -> Result<(), CatalogError> {
        check_settings_change(changes)?;
        let mut table = self.table();
        let ids: HashSet<ConnectorId> = changes.iter().map(|(id, _)| *id).collect();
        if let Some((id, _)) = changes.iter().find(|(id, _)| !table.rows.contains_key(id)) {
            return Err(CatalogError::NotFound(*id));
        }
        // A name may be taken from a connector of the change (it gets another), never
        // from one outside it.
        for (_, to) in changes {
            if let Some(holder) = table.holder(&to.name) {
                if !ids.contains(&holder) {
                    return Err(CatalogError::NameTaken(to.name.clone()));
                }
            }
        }
        for (id, to) in changes {
            let generation = table.generation();
            if let Some((connector, settings, g)) = table.rows.get_mut(id) {
                connector.name.clone_from(&to.name);
                connector.url.clone_from(&to.url);
                *settings = to.clone();
                *g = generation;
            }
        }
        Ok(())
    }

    async fn remove(&self, id: ConnectorId) -> Result<bool, CatalogError> {
        Ok(self.table().rows.remove(&id).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Diagnostics, Health};

    fn settings(name: &str) -> ConnectorSettings {
        ConnectorSettings {
            name: name.into(),
            url: format!("https://{name}.example/"),
            ..ConnectorSettings::default()
        }
    }

    fn connector() -> Connector {
        Connector {
            id: ConnectorId::new(1).unwrap(),
            name: String::new(),
            url: String::new(),
            health: Health::Unknown,
            diagnostics: Diagnostics::default(),
        }
    }

    async fn add(c: &InMemoryCatalog, name: &str) -> Result<ConnectorId, CatalogError> {
        c.insert(&connector(), &settings(name), None).await
    }

    #[tokio::test]
    async fn ids_are_never_reused_and_names_never_shared() {
        let c = InMemoryCatalog::default();
        let a = add(&c, "a").await.unwrap();
        let b = add(&c, "b").await.unwrap();
        assert!(c.remove(b).await.unwrap());
        assert_eq!(add(&c, "c").await.unwrap().get(), 3);
        assert_eq!(add(&c, "a").await, Err(CatalogError::NameTaken("a".into())));
        let g = c.generation(a).unwrap();
        c.update_settings(&[(a, settings("a2"))]).await.unwrap();
        assert!(
            c.generation(a).unwrap() > g,
            "a change gives a new generation"
        );
        assert_eq!(
            add(&c, "a").await.unwrap().get(),
            4,
            "a renamed name is free"
        );
    }

    #[tokio::test]
    async fn connectors_exchange_names_in_one_change_or_not_at_all() {
        let c = InMemoryCatalog::default();
        let (a, b) = (add(&c, "a").await.unwrap(), add(&c, "b").await.unwrap());
        let third = add(&c, "c").await.unwrap();
        c.update_settings(&[(a, settings("b")), (b, settings("a"))])
            .await
            .unwrap();
        assert_eq!(c.row(a).unwrap().1.name, "b");
        assert_eq!(
            c.update_settings(&[(a, settings("c")), (b, settings("x"))])
                .await,
            Err(CatalogError::NameTaken("c".into()))
        );
        assert_eq!(c.row(b).unwrap().1.name, "a", "nothing of it written");
        assert_eq!(c.row(third).unwrap().1.name, "c");
    }
}
