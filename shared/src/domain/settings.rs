//! What an operator sets on a connector (never its probe results), and the whole table as
//! the operator's tools see it.

use super::{Connector, CredentialsRef, RowError};

/// A connector's settings: name, URL, feed type as stored, and its own probe settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectorSettings {
    pub name: String,
    pub url: String,
    /// As stored (absent: the generic check).
    pub feed_type: Option<String>,
    /// The row's own probe timeout, whole seconds.
    pub probe_timeout_seconds: Option<u32>,
    /// The npm package, PyPI project, gem or Maven `group:artifact` the probe asks for.
    pub probe_package: Option<String>,
}

/// One showable row: the connector as the API shows it, plus its settings.
#[derive(Debug, Clone)]
pub struct CatalogRow {
    pub connector: Connector,
    pub settings: ConnectorSettings,
    /// Where its own credentials are (never the credentials), if it has any.
    pub credentials: Option<CredentialsRef>,
    /// Why the row is shown as `unknown`, when part of it could not be read.
    pub downgraded: Option<&'static str>,
}

/// Every row of the table, as one read saw it.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The showable rows, ordered by id.
    pub rows: Vec<CatalogRow>,
    /// Why each row that cannot be shown was skipped.
    pub skipped: Vec<RowError>,
    /// The largest id of any row, malformed ones included (0 for an empty table).
    pub max_id: u64,
}
