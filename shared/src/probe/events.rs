//! The event published when a probe finds a connector in another state than its row held:
//! healthy → error, error → healthy, or unknown (never probed) → either.
//!
//! On EventBridge it is one entry with source [`SOURCE`], detail-type [`DETAIL_TYPE`] and
//! [`StateChange`] as its detail (camelCase JSON, `errorMessage` null when healthy).

use crate::domain::{redact, ConnectorId, State, UrlView};
use chrono::{DateTime, Utc};

/// The `source` of every state-change event.
pub const SOURCE: &str = "connector-health";
/// The `detail-type` of every state-change event.
pub const DETAIL_TYPE: &str = "Connector Health State Change";

/// The detail of one state-change event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub id: ConnectorId,
    /// The connector's name (empty if the row has none).
    pub name: String,
    /// The connector's URL as the API shows it: no user-info, no value of a query parameter
    /// named like a credential (see [`crate::domain::redact`]).
    pub url: String,
    /// `unknown` when the connector had never been probed.
    pub previous_state: State,
    pub state: State,
    pub error_message: Option<String>,
    pub last_checked: DateTime<Utc>,
}

impl StateChange {
    /// The event for a result written over a row that held `previous` (absent: never
    /// probed), or `None` when the state is the same as before.
    pub fn detect(
        previous: Option<State>,
        record: &super::outcome::ProbeRecord,
        name: Option<&str>,
        url: &str,
    ) -> Option<Self> {
        let previous_state = previous.unwrap_or(State::Unknown);
        if previous_state == record.state {
            return None;
        }
        Some(Self {
            id: record.id,
            name: name.unwrap_or_default().to_owned(),
            url: redact(url, UrlView::Api).into_owned(),
            previous_state,
            state: record.state,
            error_message: record.error_message.clone(),
            last_checked: record.last_checked,
        })
    }

    /// The detail as JSON: `id`, `name`, `url`, `previousState`, `state`, `errorMessage`,
    /// `lastChecked` (RFC 3339 UTC with milliseconds).
    pub fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id.get(),
            "name": self.name,
            "url": self.url,
            "previousState": self.previous_state.as_str(),
            "state": self.state.as_str(),
            "errorMessage": self.error_message,
            "lastChecked": crate::domain::format_timestamp(&self.last_checked),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::outcome::{Failure, FailureKind, Observation, ProbeOutcome, ProbeRecord};
    use crate::probe::target::PreviousResult;
    use chrono::TimeZone;

    fn record(outcome: ProbeOutcome) -> ProbeRecord {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap();
        ProbeRecord::new(
            ConnectorId::new(7).unwrap(),
            &PreviousResult::default(),
            &outcome,
            at,
        )
    }

    #[test]
    fn only_a_different_state_is_a_change() {
        let ok = record(ProbeOutcome::healthy(Observation::default()));
        let bad = record(ProbeOutcome::failed(
            Failure::new(FailureKind::HttpStatus, "HTTP 500 Internal Server Error."),
            Observation::default(),
        ));
        let url = "https://Tok3n@r.test/npm/?token=x&page=2";
        assert!(StateChange::detect(Some(State::Healthy), &ok, Some("n"), url).is_none());
        assert!(StateChange::detect(Some(State::Error), &bad, Some("n"), url).is_none());
        for previous in [None, Some(State::Unknown), Some(State::Error)] {
            let c = StateChange::detect(previous, &ok, Some("n"), url).unwrap();
            assert_eq!(
                (c.previous_state, c.state),
                (previous.unwrap_or(State::Unknown), State::Healthy)
            );
        }
        let c = StateChange::detect(Some(State::Healthy), &bad, Some("npm"), url).unwrap();
        let detail = c.detail();
        assert_eq!(
            detail,
            serde_json::json!({
                "id": 7, "name": "npm", "url": "https://r.test/npm/?token=***&page=2",
                "previousState": "healthy", "state": "error",
                "errorMessage": "HTTP 500 Internal Server Error.",
                "lastChecked": "2026-03-01T12:00:00.000Z"
            })
        );
        let healthy = StateChange::detect(None, &ok, None, url).unwrap().detail();
        assert_eq!(healthy["errorMessage"], serde_json::Value::Null);
        assert_eq!(healthy["previousState"], "unknown");
    }
}
