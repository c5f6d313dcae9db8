//! A connector as the API shows it: its health (the documented invariants live in the
//! type), the probe diagnostics shown beside it, and the validation of a stored row.

use super::redact::{redact, UrlView};
use super::time::{format_timestamp, parse_timestamp};
use super::ConnectorId;
use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// The health of a connector. The documented invariants live in the type:
/// `errorMessage` exists only for `error`, `lastChecked` exists except for `unknown`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Healthy {
        last_checked: DateTime<Utc>,
    },
    Error {
        message: String,
        last_checked: DateTime<Utc>,
    },
}

impl Health {
    pub fn state(&self) -> State {
        match self {
            Health::Unknown => State::Unknown,
            Health::Healthy { .. } => State::Healthy,
            Health::Error { .. } => State::Error,
        }
    }
}

/// The three documented values of `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Healthy,
    Error,
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Healthy => "healthy",
            State::Error => "error",
            State::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "healthy" => Some(State::Healthy),
            "error" => Some(State::Error),
            "unknown" => Some(State::Unknown),
            _ => None,
        }
    }
}

/// Probe diagnostics recorded beside the documented fields. Each is optional and shown
/// after the documented members only when present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    pub response_time_ms: Option<u64>,
    pub http_status: Option<u16>,
    pub consecutive_failures: Option<u32>,
    pub state_changed_at: Option<DateTime<Utc>>,
    pub certificate_expires_at: Option<DateTime<Utc>>,
    /// When the connector's own credentials expire, if they do (never the credentials).
    pub credentials_expire_at: Option<DateTime<Utc>>,
}

/// One connector as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connector {
    pub id: ConnectorId,
    pub name: String,
    pub url: String,
    pub health: Health,
    pub diagnostics: Diagnostics,
}

impl Health {
    /// When the connector was last checked; `None` for `unknown`.
    pub fn last_checked(&self) -> Option<DateTime<Utc>> {
        match self {
            Health::Unknown => None,
            Health::Healthy { last_checked } | Health::Error { last_checked, .. } => {
                Some(*last_checked)
            }
        }
    }
}

/// When a connector's last check is too old to trust: older than [`Self::INTERVALS`]
/// probe intervals, so at least that many scheduled checks in a row did not land.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Staleness {
    pub probe_interval: std::time::Duration,
}

impl Staleness {
    /// How many probe intervals a check may be old before the connector is stale.
    pub const INTERVALS: u32 = 3;

    /// The age past which a check is stale.
    pub fn max_age(&self) -> std::time::Duration {
        self.probe_interval.saturating_mul(Self::INTERVALS)
    }

    /// Whether `health` was last checked more than [`Self::max_age`] before `now`. A
    /// connector never checked (`unknown`) is not stale: how long it has waited for its
    /// first check is not known.
    pub fn is_stale(&self, health: &Health, now: DateTime<Utc>) -> bool {
        health
            .last_checked()
            .is_some_and(|at| (now - at).to_std().is_ok_and(|age| age > self.max_age()))
    }
}

impl Default for Staleness {
    fn default() -> Self {
        Self {
            probe_interval: std::time::Duration::from_secs(300),
        }
    }
}

/// A connector as shown at one moment: the members of [`Connector`], then `"stale": true`
/// when its last check is too old ([`Staleness`]); the member is absent otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a> {
    pub connector: &'a Connector,
    pub stale: bool,
}

impl<'a> Shown<'a> {
    pub fn at(connector: &'a Connector, staleness: &Staleness, now: DateTime<Utc>) -> Self {
        Self {
            connector,
            stale: staleness.is_stale(&connector.health, now),
        }
    }
}

impl Serialize for Shown<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.connector.serialize_with(serializer, self.stale)
    }
}

impl Serialize for Connector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize_with(serializer, false)
    }
}

impl Connector {
    fn serialize_with<S: Serializer>(&self, serializer: S, stale: bool) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &self.id.get())?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("url", &redact(&self.url, UrlView::Api))?;
        map.serialize_entry("state", self.health.state().as_str())?;
        let (message, last_checked) = match &self.health {
            Health::Unknown => (None, None),
            Health::Healthy { last_checked } => (None, Some(last_checked)),
            Health::Error {
                message,
                last_checked,
            } => (Some(message.as_str()), Some(last_checked)),
        };
        map.serialize_entry("errorMessage", &message)?;
        map.serialize_entry("lastChecked", &last_checked.map(format_timestamp))?;
        let d = &self.diagnostics;
        if let Some(v) = d.response_time_ms {
            map.serialize_entry("responseTimeMs", &v)?;
        }
        if let Some(v) = d.http_status {
            map.serialize_entry("httpStatus", &v)?;
        }
        if let Some(v) = d.consecutive_failures {
            map.serialize_entry("consecutiveFailures", &v)?;
        }
        if let Some(v) = &d.state_changed_at {
            map.serialize_entry("stateChangedAt", &format_timestamp(v))?;
        }
        if let Some(v) = &d.certificate_expires_at {
            map.serialize_entry("certificateExpiresAt", &format_timestamp(v))?;
        }
        if let Some(v) = &d.credentials_expire_at {
            map.serialize_entry("credentialsExpireAt", &format_timestamp(v))?;
        }
        if stale {
            map.serialize_entry("stale", &true)?;
        }
        map.end()
    }
}

/// A stored row before validation: every attribute as found (or not) in the table.
#[derive(Debug, Clone, Default)]
pub struct RawConnector {
    pub id: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub state: Option<String>,
    pub error_message: Option<String>,
    pub last_checked: Option<String>,
    pub diagnostics: Diagnostics,
}

/// Why a stored row cannot be shown at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("the id is missing or not a positive 32-bit integer")]
    BadId,
    #[error("connector {0} has no name")]
    MissingName(ConnectorId),
    #[error("connector {0} has no url")]
    MissingUrl(ConnectorId),
}

/// A row that can be shown, plus a note when part of it had to be read as `unknown`.
#[derive(Debug)]
pub struct Validated {
    pub connector: Connector,
    pub downgraded: Option<&'static str>,
}

/// The message shown for an `error` row whose message was not recorded.
pub const MISSING_ERROR_MESSAGE: &str = "The last check failed; no error message was recorded.";

impl RawConnector {
    /// Validates a stored row.
    ///
    /// Rows without a valid id, a name or a url are rejected (the caller skips them with a
    /// warning). A row whose state is not one of the documented values, or whose `healthy`
    /// / `error` state has no valid `lastChecked`, is shown as `unknown`.
    pub fn validate(self) -> Result<Validated, RowError> {
        let id = self
            .id
            .as_deref()
            .and_then(ConnectorId::parse)
            .ok_or(RowError::BadId)?;
        let name = self
            .name
            .filter(|n| !n.trim().is_empty())
            .ok_or(RowError::MissingName(id))?;
        let url = self
            .url
            .filter(|u| !u.trim().is_empty())
            .ok_or(RowError::MissingUrl(id))?;
        let last_checked = self.last_checked.as_deref().and_then(parse_timestamp);
        let state = self.state.as_deref().map(State::parse);
        let (health, downgraded) = match (state, last_checked) {
            (None, _) | (Some(Some(State::Unknown)), _) => (Health::Unknown, None),
            (Some(None), _) => (Health::Unknown, Some("unrecognised state")),
            (Some(Some(State::Healthy)), Some(last_checked)) => {
                (Health::Healthy { last_checked }, None)
            }
            (Some(Some(State::Error)), Some(last_checked)) => (
                Health::Error {
                    message: self
                        .error_message
                        .filter(|m| !m.trim().is_empty())
                        .unwrap_or_else(|| MISSING_ERROR_MESSAGE.to_owned()),
                    last_checked,
                },
                None,
            ),
            (Some(Some(_)), None) => (Health::Unknown, Some("missing or invalid lastChecked")),
        };
        Ok(Validated {
            connector: Connector {
                id,
                name,
                url,
                health,
                diagnostics: self.diagnostics,
            },
            downgraded,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).single().unwrap()
    }

    #[test]
    fn json_has_exactly_the_documented_members_in_order() {
        let c = Connector {
            id: ConnectorId::new(3).unwrap(),
            name: "nuget.org".into(),
            url: "https://www.nuget.org/api/v2".into(),
            health: Health::Error {
                message: "Connection timed out.".into(),
                last_checked: at(1_553_881_315_050),
            },
            diagnostics: Diagnostics::default(),
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"id":3,"name":"nuget.org","url":"https://www.nuget.org/api/v2","state":"error","errorMessage":"Connection timed out.","lastChecked":"2019-03-29T17:41:55.050Z"}"#
        );
    }

    #[test]
    fn healthy_and_unknown_have_null_members_not_missing_ones() {
        let mut c = Connector {
            id: ConnectorId::new(1).unwrap(),
            name: "npmjs.org".into(),
            url: "https://registry.npmjs.org".into(),
            health: Health::Healthy {
                last_checked: at(0),
            },
            diagnostics: Diagnostics::default(),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["state"], "healthy");
        assert!(v.get("errorMessage").unwrap().is_null());
        assert_eq!(v["lastChecked"], "1970-01-01T00:00:00.000Z");
        c.health = Health::Unknown;
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["state"], "unknown");
        assert!(v.get("errorMessage").unwrap().is_null());
        assert!(v.get("lastChecked").unwrap().is_null());
        assert_eq!(v.as_object().unwrap().len(), 6);
    }

    #[test]
    fn diagnostics_follow_the_documented_members() {
        let c = Connector {
            id: ConnectorId::new(1).unwrap(),
            name: "n".into(),
            url: "u".into(),
            health: Health::Healthy {
                last_checked: at(0),
            },
            diagnostics: Diagnostics {
                response_time_ms: Some(12),
                http_status: Some(200),
                consecutive_failures: Some(0),
                state_changed_at: Some(at(1)),
                certificate_expires_at: Some(at(2)),
                credentials_expire_at: Some(at(3)),
            },
        };
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.starts_with(r#"{"id":1,"name":"n","url":"u","state":"healthy","errorMessage":null,"lastChecked":"1970-01-01T00:00:00.000Z","responseTimeMs":12,"httpStatus":200,"consecutiveFailures":0,"stateChangedAt":"1970-01-01T00:00:00.001Z","certificateExpiresAt":"1970-01-01T00:00:00.002Z","credentialsExpireAt":"1970-01-01T00:00:00.003Z"}"#));
    }

    #[test]
    fn a_check_older_than_three_intervals_is_stale_and_shown_last() {
        let staleness = Staleness {
            probe_interval: std::time::Duration::from_secs(300),
        };
        let checked = at(1_000_000_000_000);
        let mut c = Connector {
            id: ConnectorId::new(1).unwrap(),
            name: "n".into(),
            url: "u".into(),
            health: Health::Healthy {
                last_checked: checked,
            },
            diagnostics: Diagnostics {
                http_status: Some(200),
                ..Diagnostics::default()
            },
        };
        let plus = |ms: i64| checked + chrono::Duration::milliseconds(ms);
        // Exactly three intervals old is not yet stale; a millisecond more is.
        assert!(!staleness.is_stale(&c.health, plus(900_000)));
        assert!(staleness.is_stale(&c.health, plus(900_001)));
        // A check in the future (clock skew) is not stale.
        assert!(!staleness.is_stale(&c.health, plus(-60_000)));
        let fresh = serde_json::to_string(&Shown::at(&c, &staleness, plus(900_000))).unwrap();
        assert_eq!(fresh, serde_json::to_string(&c).unwrap());
        assert!(!fresh.contains("stale"));
        let old = serde_json::to_string(&Shown::at(&c, &staleness, plus(900_001))).unwrap();
        assert_eq!(
            old,
            r#"{"id":1,"name":"n","url":"u","state":"healthy","errorMessage":null,"lastChecked":"2001-09-09T01:46:40.000Z","httpStatus":200,"stale":true}"#
        );
        c.health = Health::Error {
            message: "HTTP 503.".into(),
            last_checked: checked,
        };
        assert!(staleness.is_stale(&c.health, plus(900_001)));
        // Never checked: not stale, however late.
        c.health = Health::Unknown;
        assert!(!staleness.is_stale(&c.health, plus(i64::from(u32::MAX))));
    }

    fn raw(state: Option<&str>, last_checked: Option<&str>) -> RawConnector {
        RawConnector {
            id: Some("7".into()),
            name: Some("pypi".into()),
            url: Some("https://pypi.org/simple".into()),
            state: state.map(Into::into),
            error_message: None,
            last_checked: last_checked.map(Into::into),
            diagnostics: Diagnostics::default(),
        }
    }

    #[test]
    fn rows_without_id_name_or_url_are_rejected() {
        let mut r = raw(None, None);
        r.id = Some("abc".into());
        assert_eq!(r.validate().unwrap_err(), RowError::BadId);
        let mut r = raw(None, None);
        r.name = None;
        assert!(matches!(r.validate(), Err(RowError::MissingName(_))));
        let mut r = raw(None, None);
        r.url = Some("  ".into());
        assert!(matches!(r.validate(), Err(RowError::MissingUrl(_))));
    }

    #[test]
    fn never_probed_or_unrecognised_rows_are_unknown() {
        let v = raw(None, None).validate().unwrap();
        assert_eq!(v.connector.health, Health::Unknown);
        assert!(v.downgraded.is_none());
        let v = raw(Some("unhealthy"), Some("2024-01-01T00:00:00Z"))
            .validate()
            .unwrap();
        assert_eq!(v.connector.health, Health::Unknown);
        assert!(v.downgraded.is_some());
        let v = raw(Some("healthy"), Some("yesterday")).validate().unwrap();
        assert_eq!(v.connector.health, Health::Unknown);
        assert!(v.downgraded.is_some());
    }

    #[test]
    fn error_rows_always_carry_a_message_and_timestamps_become_utc() {
        let v = raw(Some("error"), Some("2024-01-01T02:00:00.5+02:00"))
            .validate()
            .unwrap();
        assert_eq!(
            v.connector.health,
            Health::Error {
                message: MISSING_ERROR_MESSAGE.into(),
                last_checked: at(1_704_067_200_500),
            }
        );
    }
}
