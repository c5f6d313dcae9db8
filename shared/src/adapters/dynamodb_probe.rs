//! The connector table as the probe function sees it: probe targets from one Scan, and
//! each result written with one conditional `UpdateItem`.
//!
//! The write's condition is `attribute_exists(id) AND (attribute_not_exists(lastChecked)
//! OR lastChecked < :lastChecked)`: a connector deleted during a run is not brought back,
//! and of two overlapping runs the older result never overwrites the newer one. Timestamps
//! are stored as RFC 3339 UTC with milliseconds and `Z`, so string order is time order.
//! Throttled or failed calls are retried with backoff by the SDK's standard retry mode.

use super::dynamodb::{applied, attr, dependency_error, DynamoConnectorStore, SERVICE};
use crate::domain::{format_timestamp, parse_timestamp, ConnectorId, State};
use crate::ports::DependencyError;
use crate::probe::outcome::ProbeRecord;
use crate::probe::ports::{ProbeResultWriter, ProbeTargetReader, WriteOutcome};
use crate::probe::target::{FeedType, PreviousResult, ProbeTarget};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

/// The longest per-row timeout honoured; a longer one is capped (the function's own
/// timeout is 15 minutes at most).
pub const MAX_ROW_TIMEOUT: Duration = Duration::from_secs(600);

fn s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    }
}

fn n<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => Some(v.as_str()),
        _ => None,
    }
}

/// Reads a probe target from an item; `None` (logged) when the row has no valid id or url.
pub fn target_from_item(item: &Item) -> Option<ProbeTarget> {
    let Some(id) = n(item, attr::ID).and_then(ConnectorId::parse) else {
        tracing::warn!("skipping connector row without a valid id");
        return None;
    };
    let Some(url) = s(item, attr::URL).filter(|u| !u.trim().is_empty()) else {
        tracing::warn!(connector_id = %id, "skipping connector row without a url");
        return None;
    };
    let timeout = n(item, attr::PROBE_TIMEOUT_SECONDS).and_then(|v| {
        let parsed = v
            .parse::<f64>()
            .ok()
            .filter(|secs| secs.is_finite() && *secs > 0.0)
            .map(|secs| Duration::from_secs_f64(secs.min(MAX_ROW_TIMEOUT.as_secs_f64())));
        if parsed.is_none() {
            tracing::warn!(connector_id = %id, "ignoring invalid probeTimeoutSeconds");
        }
        parsed
    });
    Some(ProbeTarget {
        id,
        name: s(item, attr::NAME).map(str::to_owned),
        url: url.trim().to_owned(),
        feed_type: FeedType::parse(s(item, attr::FEED_TYPE)),
        timeout,
        package: s(item, attr::PROBE_PACKAGE)
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
        previous: PreviousResult {
            state: s(item, attr::STATE).and_then(State::parse),
            last_checked: s(item, attr::LAST_CHECKED).and_then(parse_timestamp),
            consecutive_failures: n(item, attr::CONSECUTIVE_FAILURES)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            state_changed_at: s(item, attr::STATE_CHANGED_AT).and_then(parse_timestamp),
        },
    })
}

/// The update and condition expressions, names and values for one record.
fn update_for(record: &ProbeRecord) -> (String, Item, HashMap<String, String>) {
    let mut names = HashMap::new();
    let mut values = Item::new();
    let mut set = Vec::new();
    let mut remove = Vec::new();
    let mut field = |name: &str, value: Option<AttributeValue>| {
        let placeholder = format!("#{name}");
        names.insert(placeholder.clone(), name.to_owned());
        match value {
            Some(v) => {
                set.push(format!("{placeholder} = :{name}"));
                values.insert(format!(":{name}"), v);
            }
            None => remove.push(placeholder),
        }
    };
    let sv = |v: String| AttributeValue::S(v);
    let nv = |v: String| AttributeValue::N(v);
    field(attr::STATE, Some(sv(record.state.as_str().to_owned())));
    field(attr::ERROR_MESSAGE, record.error_message.clone().map(sv));
    field(
        attr::LAST_CHECKED,
        Some(sv(format_timestamp(&record.last_checked))),
    );
    field(
        attr::RESPONSE_TIME_MS,
        record.response_time_ms.map(|v| nv(v.to_string())),
    );
    field(
        attr::HTTP_STATUS,
        record.http_status.map(|v| nv(v.to_string())),
    );
    field(
        attr::CONSECUTIVE_FAILURES,
        Some(nv(record.consecutive_failures.to_string())),
    );
    field(
        attr::STATE_CHANGED_AT,
        Some(sv(format_timestamp(&record.state_changed_at))),
    );
    field(
        attr::CERTIFICATE_EXPIRES_AT,
        record
            .certificate_expires_at
            .as_ref()
            .map(|v| sv(format_timestamp(v))),
    );
    names.insert("#id".to_owned(), attr::ID.to_owned());
    let mut expression = format!("SET {}", set.join(", "));
    if !remove.is_empty() {
        expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    (expression, values, names)
}

impl ProbeTargetReader for DynamoConnectorStore {
    async fn targets(&self) -> Result<Vec<ProbeTarget>, DependencyError> {
        let (items, pages) = self.scan_items().await?;
        let mut targets: Vec<ProbeTarget> = items.iter().filter_map(target_from_item).collect();
        targets.sort_by_key(|t| t.id);
        tracing::debug!(
            pages,
            rows = items.len(),
            targets = targets.len(),
            "read probe targets"
        );
        Ok(targets)
    }

    async fn target(&self, id: ConnectorId) -> Result<Option<ProbeTarget>, DependencyError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key(attr::ID, AttributeValue::N(id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dependency_error(SERVICE, e))?;
        Ok(out.item.as_ref().and_then(target_from_item))
    }
}

/// The length of a timestamp as the prober writes it (`2026-01-01T00:00:00.000Z`).
const CANONICAL_TIMESTAMP_LENGTH: usize = 24;
const CANONICAL_LENGTH_VALUE: &str = ":canonicalTimestampLength";

impl ProbeResultWriter for DynamoConnectorStore {
    async fn write(&self, record: &ProbeRecord) -> Result<WriteOutcome, DependencyError> {
        let (expression, mut values, names) = update_for(record);
        let lc_placeholder = format!("#{}", attr::LAST_CHECKED);
        let lc_value = format!(":{}", attr::LAST_CHECKED);
        // Stored times are compared as strings, which orders the canonical form
        // (`2026-01-01T00:00:00.000Z`, always 24 characters) correctly. A value of any
        // other length was not written by the prober (edited by hand, another format):
        // it must not block every later write, so it is overwritten.
        values.insert(
            CANONICAL_LENGTH_VALUE.to_owned(),
            AttributeValue::N(CANONICAL_TIMESTAMP_LENGTH.to_string()),
        );
        let condition = format!(
            "attribute_exists(#id) AND (attribute_not_exists({lc_placeholder}) OR {lc_placeholder} < {lc_value} OR size({lc_placeholder}) <> {CANONICAL_LENGTH_VALUE})"
        );
        let written = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(attr::ID, AttributeValue::N(record.id.to_string()))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        Ok(if applied(written)? {
            WriteOutcome::Written
        } else {
            WriteOutcome::Superseded
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn sv(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }
    fn nv(v: &str) -> AttributeValue {
        AttributeValue::N(v.into())
    }

    #[test]
    fn targets_carry_probe_settings_and_the_previous_result() {
        let t = target_from_item(&item(&[
            ("id", nv("5")),
            ("url", sv(" https://pypi.example/ ")),
            ("feedType", sv("PyPI")),
            ("probeTimeoutSeconds", nv("3")),
            ("probePackage", sv("six")),
            ("state", sv("error")),
            ("consecutiveFailures", nv("2")),
            ("stateChangedAt", sv("2026-01-01T00:00:00.000Z")),
            ("lastChecked", sv("2026-01-02T00:00:00.000Z")),
        ]))
        .unwrap();
        assert_eq!(t.id.get(), 5);
        assert_eq!(t.url, "https://pypi.example/");
        assert_eq!(t.feed_type, FeedType::PyPi);
        assert_eq!(t.timeout, Some(Duration::from_secs(3)));
        assert_eq!(t.package.as_deref(), Some("six"));
        assert_eq!(t.previous.state, Some(State::Error));
        assert_eq!(t.previous.consecutive_failures, 2);
        assert_eq!(
            t.previous.state_changed_at,
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single()
        );
    }

    #[test]
    fn rows_without_id_or_url_are_not_targets_and_bad_timeouts_are_ignored() {
        assert!(target_from_item(&item(&[("url", sv("http://x"))])).is_none());
        assert!(target_from_item(&item(&[("id", nv("1"))])).is_none());
        let t = target_from_item(&item(&[
            ("id", nv("1")),
            ("url", sv("http://x")),
            ("probeTimeoutSeconds", nv("-1")),
        ]))
        .unwrap();
        assert_eq!(t.timeout, None);
        assert_eq!(t.feed_type, FeedType::Generic);
        let t = target_from_item(&item(&[
            ("id", nv("1")),
            ("url", sv("http://x")),
            ("probeTimeoutSeconds", nv("100000")),
        ]))
        .unwrap();
        assert_eq!(t.timeout, Some(MAX_ROW_TIMEOUT));
    }

    #[test]
    fn absent_diagnostics_are_removed_not_left_stale() {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap();
        let record = ProbeRecord {
            id: ConnectorId::new(1).unwrap(),
            state: State::Healthy,
            error_message: None,
            last_checked: at,
            response_time_ms: Some(5),
            http_status: None,
            consecutive_failures: 0,
            state_changed_at: at,
            certificate_expires_at: None,
        };
        let (expr, values, names) = update_for(&record);
        assert!(expr.starts_with("SET #state = :state, #lastChecked = :lastChecked"));
        assert!(expr.contains(" REMOVE #errorMessage, #httpStatus, #certificateExpiresAt"));
        assert_eq!(values[":responseTimeMs"], nv("5"));
        assert_eq!(values[":lastChecked"], sv("2026-01-01T00:00:00.000Z"));
        assert_eq!(names["#id"], "id");
        assert!(!values.contains_key(":errorMessage"));
    }
}
