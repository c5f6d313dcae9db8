//! `connectors add`: a new row under a given id or under an id never used before in the
//! table, never over another row and never under a name in use.

use crate::error::Result;
use shared::domain::{Connector, ConnectorId, ConnectorSettings};
use shared::ports::ConnectorCatalog;

/// Adds `connector` (its state and diagnostics as given) with `settings`, under `id` or
/// under an id greater than every id the table ever handed out (a removed connector's id
/// is never given to another). The row's name and URL are the settings'. Refuses a taken
/// id or name (atomically: of concurrent adds with one name, one wins); the settings are
/// stored as given (check them first, e.g. with [`super::settings::checked`]).
pub async fn add<C: ConnectorCatalog>(
    catalog: &C,
    connector: Connector,
    settings: &ConnectorSettings,
    id: Option<ConnectorId>,
) -> Result<ConnectorId> {
    Ok(catalog.insert(&connector, settings, id).await?)
}
