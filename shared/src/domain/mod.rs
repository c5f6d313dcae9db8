//! The connector health domain: ids, states, the connector as the API shows it, feed
//! types and URL redaction. No AWS, no HTTP.

mod connector;
mod credentials;
mod feed_type;
mod id;
mod presented;
pub mod redact;
mod settings;
mod status_row;
mod time;

pub use connector::{
    Connector, Diagnostics, Health, RawConnector, RowError, Shown, Staleness, State, Validated,
    MISSING_ERROR_MESSAGE,
};
pub use credentials::{Credentials, CredentialsError, CredentialsKind, CredentialsRef, Secret};
pub use feed_type::FeedType;
pub use id::ConnectorId;
pub use presented::Presented;
pub use redact::{redact, UrlView};
pub use settings::{Catalog, CatalogRow, ConnectorSettings};
pub use status_row::StatusRow;
pub use time::{format_timestamp, parse_timestamp};
