//! What a connector row asks the prober to check.

use crate::domain::{ConnectorId, CredentialsRef, FeedType, State};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The project asked for on a PyPI feed unless the row names another: small, stable and
/// present on pypi.org (never the root `/simple/`, which lists every project).
pub const DEFAULT_PYPI_PROJECT: &str = "sampleproject";
/// The package whose document is asked for on an npm feed that has credentials but no
/// probe package: a package fetch exercises the credentials (a registry may answer
/// `/-/ping` to anyone and still refuse every package). Small and long-lived on npmjs.com;
/// a private registry without it answers 404, which still shows it up and accepting us.
pub const DEFAULT_NPM_PACKAGE: &str = "left-pad";
/// The gem whose compact-index entry (`/info/{gem}`) is asked for on a RubyGems feed.
pub const DEFAULT_RUBYGEM: &str = "rake";

/// The longest a row's `probeTimeoutSeconds` is read as (a longer one, written by hand, is
/// read as this). What a run may give a probe is shorter
/// ([`crate::probe::limits::max_probe_timeout`]): the run clamps a longer row timeout to
/// that, and logs it.
pub const MAX_PROBE_TIMEOUT: Duration = Duration::from_secs(600);

/// What the row recorded from the previous check; needed to count consecutive failures
/// and to keep `stateChangedAt` while the state stays the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreviousResult {
    pub state: Option<State>,
    pub last_checked: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub state_changed_at: Option<DateTime<Utc>>,
}

/// One connector to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    pub id: ConnectorId,
    /// The connector's name, for the state-change event.
    pub name: Option<String>,
    /// As stored; may carry user-info, so never log it as is (see `domain::redact`).
    pub url: String,
    pub feed_type: FeedType,
    /// The row's own timeout (`probeTimeoutSeconds`), if it sets one.
    pub timeout: Option<Duration>,
    /// The row's probe detail (`probePackage`): the PyPI project, gem, or Maven
    /// `group:artifact` to ask for instead of the default.
    pub package: Option<String>,
    pub previous: PreviousResult,
    /// The row's generation when it was read: every change of the connector's settings
    /// gives the row a new one, so a result is written only onto the connector it probed.
    /// `None` for a row that has never been given one (written before generations existed).
    pub generation: Option<u64>,
    /// Where the connector's own credentials are (never the credentials), if it has any.
    pub credentials: Option<CredentialsRef>,
}

impl ProbeTarget {
    /// A target with no per-row settings and no previous result.
    pub fn new(id: ConnectorId, url: impl Into<String>, feed_type: FeedType) -> Self {
        Self {
            id,
            name: None,
            url: url.into(),
            feed_type,
            timeout: None,
            package: None,
            previous: PreviousResult::default(),
            generation: None,
            credentials: None,
        }
    }

    /// The timeout for this connector: its own, or the run's default.
    pub fn timeout_or(&self, default: Duration) -> Duration {
        self.timeout.unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_timeout_overrides_the_default() {
        let mut t = ProbeTarget::new(ConnectorId::new(1).unwrap(), "http://x", FeedType::Npm);
        assert_eq!(
            t.timeout_or(Duration::from_secs(10)),
            Duration::from_secs(10)
        );
        t.timeout = Some(Duration::from_secs(3));
        assert_eq!(
            t.timeout_or(Duration::from_secs(10)),
            Duration::from_secs(3)
        );
    }
}
