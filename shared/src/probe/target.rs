//! What a connector row asks the prober to check.

use crate::domain::{ConnectorId, State};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The project asked for on a PyPI feed unless the row names another: small, stable and
/// present on pypi.org (never the root `/simple/`, which lists every project).
pub const DEFAULT_PYPI_PROJECT: &str = "sampleproject";
/// The gem whose compact-index entry (`/info/{gem}`) is asked for on a RubyGems feed.
pub const DEFAULT_RUBYGEM: &str = "rake";

/// The kind of feed a connector points at; decides which request proves it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedType {
    /// `GET {url}/-/ping` → 2xx.
    Npm,
    /// NuGet v3 service index (JSON) or NuGet v2 OData service document.
    NuGet,
    /// NuGet v2 OData service document.
    Chocolatey,
    /// The PEP 691 simple page of one known project.
    PyPi,
    /// `HEAD` of the repository root, or of a `maven-metadata.xml` the row names.
    Maven,
    /// `GET {url}/v2/` → 200, or 401 with a `WWW-Authenticate` challenge.
    Docker,
    /// The compact-index entry of one known gem.
    RubyGems,
    /// Any 2xx after at most 5 redirects. Also used for feed types without a dedicated check.
    Generic,
}

impl FeedType {
    /// Reads the stored `feedType` (case-insensitive). Absent or unrecognised values get
    /// the generic check.
    pub fn parse(text: Option<&str>) -> Self {
        let Some(text) = text else {
            return FeedType::Generic;
        };
        match text.trim().to_ascii_lowercase().as_str() {
            "npm" => FeedType::Npm,
            "nuget" => FeedType::NuGet,
            "chocolatey" => FeedType::Chocolatey,
            "pypi" | "python" => FeedType::PyPi,
            "maven" => FeedType::Maven,
            "docker" | "oci" | "containers" => FeedType::Docker,
            "rubygems" | "gems" => FeedType::RubyGems,
            _ => FeedType::Generic,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FeedType::Npm => "npm",
            FeedType::NuGet => "nuget",
            FeedType::Chocolatey => "chocolatey",
            FeedType::PyPi => "pypi",
            FeedType::Maven => "maven",
            FeedType::Docker => "docker",
            FeedType::RubyGems => "rubygems",
            FeedType::Generic => "generic",
        }
    }
}

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
    /// As stored; may carry user-info, so never log it as is (see `http_prober::redact`).
    pub url: String,
    pub feed_type: FeedType,
    /// The row's own timeout (`probeTimeoutSeconds`), if it sets one.
    pub timeout: Option<Duration>,
    /// The row's probe detail (`probePackage`): the PyPI project, gem, or Maven
    /// `group:artifact` to ask for instead of the default.
    pub package: Option<String>,
    pub previous: PreviousResult,
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
    fn feed_types_parse_case_insensitively_and_fall_back_to_generic() {
        assert_eq!(FeedType::parse(Some("NuGet")), FeedType::NuGet);
        assert_eq!(FeedType::parse(Some(" docker ")), FeedType::Docker);
        assert_eq!(FeedType::parse(Some("oci")), FeedType::Docker);
        assert_eq!(FeedType::parse(Some("helm")), FeedType::Generic);
        assert_eq!(FeedType::parse(None), FeedType::Generic);
        for t in [
            FeedType::Npm,
            FeedType::NuGet,
            FeedType::Chocolatey,
            FeedType::PyPi,
            FeedType::Maven,
            FeedType::Docker,
            FeedType::RubyGems,
            FeedType::Generic,
        ] {
            assert_eq!(FeedType::parse(Some(t.as_str())), t);
        }
    }

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
