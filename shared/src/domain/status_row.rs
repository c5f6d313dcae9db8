//! A connector as the status page shows it: the row as the API shows it, and the feed type
//! its operator set.

use super::Connector;

/// One showable row with its feed type as stored (`None`: not set, the generic check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub connector: Connector,
    pub feed_type: Option<String>,
}
