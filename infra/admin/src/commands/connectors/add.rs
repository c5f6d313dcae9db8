//! `connectors add`: a new row under a given id or the next free one, never over another
//! row and never under a name in use.

use crate::error::{AdminError, Result};
use shared::domain::{Connector, ConnectorId, ConnectorSettings};
use shared::ports::ConnectorCatalog;

/// How often `add` without an id tries the next free id when another writer takes it first.
const NEXT_ID_ATTEMPTS: u32 = 5;

/// Adds `connector` (its state and diagnostics as given) with `settings`, under `id` or
/// under one more than the largest id in use. The row's name and URL are the settings'.
/// Refuses a taken id or name; the settings are stored as given (check them first, e.g.
/// with [`super::settings::checked`]).
pub async fn add<C: ConnectorCatalog>(
    catalog: &C,
    mut connector: Connector,
    settings: &ConnectorSettings,
    id: Option<ConnectorId>,
) -> Result<ConnectorId> {
    connector.name.clone_from(&settings.name);
    connector.url.clone_from(&settings.url);
    for _ in 0..NEXT_ID_ATTEMPTS {
        let snapshot = catalog.catalog().await?;
        if snapshot
            .rows
            .iter()
            .any(|r| r.connector.name == settings.name)
        {
            return Err(AdminError::AlreadyExists(format!(
                "a connector named {:?} already exists",
                settings.name
            )));
        }
        connector.id = match id {
            Some(id) => id,
            None => u32::try_from(snapshot.max_id + 1)
                .ok()
                .and_then(ConnectorId::new)
                .ok_or_else(|| {
                    AdminError::Invalid("no free connector id left; pass --id".into())
                })?,
        };
        if catalog.insert(&connector, settings).await? {
            return Ok(connector.id);
        }
        if id.is_some() {
            return Err(AdminError::AlreadyExists(format!(
                "a connector with id {} already exists",
                connector.id
            )));
        }
    }
    Err(AdminError::Conflict(
        "other writers kept taking the next free id; try again or pass --id".into(),
    ))
}
