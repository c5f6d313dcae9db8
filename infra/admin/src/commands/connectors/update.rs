//! `connectors update ID ...`: change only the settings given; the probe results stay.

use super::settings::{checked, normalized, Spelling};
use crate::cli::UpdateArgs;
use crate::error::{AdminError, Result};
use shared::ports::ConnectorCatalog;

pub async fn update<C: ConnectorCatalog>(catalog: &C, args: &UpdateArgs) -> Result<()> {
    let id = args.id;
    let Some(current) = catalog.settings(id).await? else {
        return Err(AdminError::NotFound(format!("no connector with id {id}")));
    };
    let mut wanted = current.clone();
    if let Some(n) = &args.name {
        wanted.name.clone_from(n);
    }
    if let Some(u) = &args.url {
        wanted.url.clone_from(u);
    }
    if let Some(f) = args.feed_type {
        wanted.feed_type = Some(f.as_str().to_owned());
    }
    if let Some(t) = args.probe.timeout {
        wanted.probe_timeout_seconds = Some(t);
    }
    if args.clear_timeout {
        wanted.probe_timeout_seconds = None;
    }
    if let Some(p) = &args.probe.package {
        wanted.probe_package = Some(p.clone());
    }
    if args.clear_package {
        wanted.probe_package = None;
    }
    let wanted = checked(&wanted, Spelling::File)
        .map_err(|e| AdminError::Invalid(format!("update: {e}")))?;
    if wanted == normalized(&current) {
        eprintln!("connector {id} unchanged");
        return Ok(());
    }
    if wanted.name != current.name {
        let taken = catalog
            .catalog()
            .await?
            .rows
            .iter()
            .any(|r| r.settings.name == wanted.name && r.connector.id != id);
        if taken {
            return Err(AdminError::AlreadyExists(format!(
                "a connector named {:?} already exists",
                wanted.name
            )));
        }
    }
    if !catalog.update_settings(id, &wanted).await? {
        return Err(AdminError::NotFound(format!(
            "connector {id} was removed meanwhile"
        )));
    }
    eprintln!("updated connector {id}");
    Ok(())
}
