//! `connectors update ID ...`: change only the settings given; the probe results stay. A
//! new name is taken atomically (refused if another connector holds it, even one added
//! a moment ago).

use super::settings::{check_new_url, checked, checked_keeping_timeout, normalized, Spelling};
use crate::cli::UpdateArgs;
use crate::error::{AdminError, Result};
use shared::domain::{ConnectorId, ConnectorSettings};
use shared::ports::{CatalogError, ConnectorCatalog};

/// Whether `args` ask for a change of settings (not only of credentials).
pub fn changes_settings(args: &UpdateArgs) -> bool {
    args.name.is_some()
        || args.url.is_some()
        || args.feed_type.is_some()
        || args.probe.timeout.is_some()
        || args.probe.package.is_some()
        || args.clear_timeout
        || args.clear_package
}

/// Writes the settings `args` ask for. Returns the settings as they were when it wrote
/// something (for [`restore`]), `None` when nothing changed.
pub async fn update<C: ConnectorCatalog>(
    catalog: &C,
    args: &UpdateArgs,
) -> Result<Option<ConnectorSettings>> {
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
    // A timeout set before the limit was lower may stay while other settings change.
    let check = if wanted.probe_timeout_seconds == current.probe_timeout_seconds {
        checked_keeping_timeout
    } else {
        checked
    };
    let wanted =
        check(&wanted, Spelling::File).map_err(|e| AdminError::Invalid(format!("update: {e}")))?;
    // A URL stored with credentials may stay; a new one may not carry any.
    if wanted.url != current.url {
        check_new_url(&wanted.url, Spelling::Flags)?;
    }
    if wanted == normalized(&current) {
        eprintln!("connector {id} unchanged");
        return Ok(None);
    }
    match catalog.update_settings(&[(id, wanted)]).await {
        Ok(()) => {}
        Err(CatalogError::NotFound(_)) => {
            return Err(AdminError::NotFound(format!(
                "connector {id} was removed meanwhile"
            )))
        }
        Err(e) => return Err(e.into()),
    }
    eprintln!("updated connector {id}");
    Ok(Some(current))
}

/// Puts back the settings [`update`] replaced (the rest of the command failed), saying so
/// in one line either way.
pub async fn restore<C: ConnectorCatalog>(catalog: &C, id: ConnectorId, before: ConnectorSettings) {
    match catalog.update_settings(&[(id, before)]).await {
        Ok(()) => eprintln!("put the settings of connector {id} back as they were"),
        Err(e) => eprintln!(
            "warning: connector {id} keeps its new settings: putting them back failed ({})",
            AdminError::from(e)
        ),
    }
}
