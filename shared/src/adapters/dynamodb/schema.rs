//! The row schema: attribute names, and every conversion between an item and the domain.
//! No other module names an attribute.
//!
//! One item per connector, partition key `id` (Number). Attributes (all optional except
//! `id`, `name` and `url`): `name`, `url`, `feedType` (S); `state`, `errorMessage`,
//! `lastChecked` (S); probe diagnostics `responseTimeMs`, `httpStatus`,
//! `consecutiveFailures` (N) and `stateChangedAt`, `certificateExpiresAt` (S, RFC 3339);
//! the row's own probe settings `probeTimeoutSeconds` (N) and `probePackage` (S); and its
//! `generation` (N), new with every change of its settings, so a probe result lands only
//! on the connector it probed; and a probe worker's claim on it, `claimCycle` and
//! `claimedUntil` (N; see [`super::claims`]), which are not settings; and, for a connector
//! with credentials of its own, where they are (`credentialsRef`, the secret's name),
//! their kind (`credentialsKind`: `basic`, `bearer` or `header`) and when they expire
//! (`credentialsExpireAt`, S), never the credentials themselves.
//!
//! Connector ids are positive. Items with other ids are the table's own bookkeeping (see
//! [`super::bookkeeping`]): the id counter (id 0, which also holds `lastCycle`, the latest
//! probe cycle begun) and one name reservation per connector
//! name (negative ids). Every Scan keeps only `id > 0`, so no reader ever sees them.

use super::Item;
use crate::domain::{
    format_timestamp, parse_timestamp, Connector, ConnectorId, ConnectorSettings, CredentialsKind,
    CredentialsRef, Diagnostics, FeedType, Health, RawConnector, State,
};
use crate::probe::outcome::ProbeRecord;
use crate::probe::target::{PreviousResult, ProbeTarget, MAX_PROBE_TIMEOUT};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::time::Duration;

/// Attribute names, in one place.
pub mod attr {
    pub const ID: &str = "id";
    pub const NAME: &str = "name";
    pub const URL: &str = "url";
    pub const FEED_TYPE: &str = "feedType";
    pub const STATE: &str = "state";
    pub const ERROR_MESSAGE: &str = "errorMessage";
    pub const LAST_CHECKED: &str = "lastChecked";
    pub const RESPONSE_TIME_MS: &str = "responseTimeMs";
    pub const HTTP_STATUS: &str = "httpStatus";
    pub const CONSECUTIVE_FAILURES: &str = "consecutiveFailures";
    pub const STATE_CHANGED_AT: &str = "stateChangedAt";
    pub const CERTIFICATE_EXPIRES_AT: &str = "certificateExpiresAt";
    /// Probe settings a row may carry: its own timeout (N, whole seconds) and the probe
    /// detail (S: the PyPI project, gem, or Maven `group:artifact` to ask for).
    pub const PROBE_TIMEOUT_SECONDS: &str = "probeTimeoutSeconds";
    pub const PROBE_PACKAGE: &str = "probePackage";
    pub const CREDENTIALS_REF: &str = "credentialsRef";
    pub const CREDENTIALS_KIND: &str = "credentialsKind";
    pub const CREDENTIALS_EXPIRE_AT: &str = "credentialsExpireAt";
    /// N: changes (to a value never used before in the table) with every settings change.
    pub const GENERATION: &str = "generation";
    /// The counter item's: the largest id ever handed out, the last generation given.
    pub const LAST_ID: &str = "lastId";
    pub const LAST_GENERATION: &str = "lastGeneration";
    /// A name reservation's: the id of the connector holding the name (its `name` is the
    /// name itself).
    pub const OWNER: &str = "owner";
    /// The counter item's: the latest probe cycle begun (N, its scheduled time in epoch
    /// seconds).
    pub const LAST_CYCLE: &str = "lastCycle";
    /// A connector's claim by a probe worker (N): the cycle, and until when (epoch ms).
    pub const CLAIM_CYCLE: &str = "claimCycle";
    pub const CLAIMED_UNTIL: &str = "claimedUntil";
}

/// The key of a connector's item.
pub fn key(id: ConnectorId) -> AttributeValue {
    AttributeValue::N(id.to_string())
}

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

fn owned(v: Option<&str>) -> Option<String> {
    v.map(str::to_owned)
}

/// Reads an item into a [`RawConnector`] (no validation yet).
pub fn raw_from_item(item: &Item) -> RawConnector {
    let ts = |name| s(item, name).and_then(parse_timestamp);
    RawConnector {
        id: owned(n(item, attr::ID)),
        name: owned(s(item, attr::NAME)),
        url: owned(s(item, attr::URL)),
        state: owned(s(item, attr::STATE)),
        error_message: owned(s(item, attr::ERROR_MESSAGE)),
        last_checked: owned(s(item, attr::LAST_CHECKED)),
        diagnostics: Diagnostics {
            response_time_ms: n(item, attr::RESPONSE_TIME_MS).and_then(|v| v.parse().ok()),
            http_status: n(item, attr::HTTP_STATUS).and_then(|v| v.parse().ok()),
            consecutive_failures: n(item, attr::CONSECUTIVE_FAILURES).and_then(|v| v.parse().ok()),
            state_changed_at: ts(attr::STATE_CHANGED_AT),
            certificate_expires_at: ts(attr::CERTIFICATE_EXPIRES_AT),
            // Shown only beside credentials the row refers to.
            credentials_expire_at: s(item, attr::CREDENTIALS_REF)
                .and(ts(attr::CREDENTIALS_EXPIRE_AT)),
        },
    }
}

/// Builds the item for a connector (used by the admin tool and tests).
pub fn item_from(connector: &Connector, feed_type: Option<&str>) -> Item {
    let mut item = Item::new();
    let sv = |v: &str| AttributeValue::S(v.to_owned());
    item.insert(attr::ID.into(), AttributeValue::N(connector.id.to_string()));
    item.insert(attr::NAME.into(), sv(&connector.name));
    item.insert(attr::URL.into(), sv(&connector.url));
    if let Some(f) = feed_type {
        item.insert(attr::FEED_TYPE.into(), sv(f));
    }
    item.insert(attr::STATE.into(), sv(connector.health.state().as_str()));
    match &connector.health {
        Health::Unknown => {}
        Health::Healthy { last_checked } => {
            item.insert(
                attr::LAST_CHECKED.into(),
                sv(&format_timestamp(last_checked)),
            );
        }
        Health::Error {
            message,
            last_checked,
        } => {
            item.insert(attr::ERROR_MESSAGE.into(), sv(message));
            item.insert(
                attr::LAST_CHECKED.into(),
                sv(&format_timestamp(last_checked)),
            );
        }
    }
    let d = &connector.diagnostics;
    let num = |v: String| AttributeValue::N(v);
    if let Some(v) = d.response_time_ms {
        item.insert(attr::RESPONSE_TIME_MS.into(), num(v.to_string()));
    }
    if let Some(v) = d.http_status {
        item.insert(attr::HTTP_STATUS.into(), num(v.to_string()));
    }
    if let Some(v) = d.consecutive_failures {
        item.insert(attr::CONSECUTIVE_FAILURES.into(), num(v.to_string()));
    }
    if let Some(v) = &d.state_changed_at {
        item.insert(attr::STATE_CHANGED_AT.into(), sv(&format_timestamp(v)));
    }
    if let Some(v) = &d.certificate_expires_at {
        item.insert(
            attr::CERTIFICATE_EXPIRES_AT.into(),
            sv(&format_timestamp(v)),
        );
    }
    item
}

/// What an operator set on a row: `None` for a row without a valid id, name or url.
pub fn settings_from_item(item: &Item) -> Option<(ConnectorId, ConnectorSettings)> {
    let id = n(item, attr::ID).and_then(ConnectorId::parse)?;
    Some((
        id,
        ConnectorSettings {
            name: owned(s(item, attr::NAME))?,
            url: owned(s(item, attr::URL))?,
            feed_type: owned(s(item, attr::FEED_TYPE)),
            probe_timeout_seconds: n(item, attr::PROBE_TIMEOUT_SECONDS)
                .and_then(|v| v.parse().ok()),
            probe_package: owned(s(item, attr::PROBE_PACKAGE)),
        },
    ))
}

/// Where a row's credentials are, if it has any (a reference without a known kind is
/// ignored, logged).
pub fn credentials_ref_from_item(item: &Item) -> Option<CredentialsRef> {
    let secret_id = owned(s(item, attr::CREDENTIALS_REF))?;
    let Some(kind) = s(item, attr::CREDENTIALS_KIND).and_then(CredentialsKind::parse) else {
        tracing::warn!(
            attribute = attr::CREDENTIALS_KIND,
            "ignoring credentials of unknown kind"
        );
        return None;
    };
    Some(CredentialsRef {
        secret_id,
        kind,
        expire_at: s(item, attr::CREDENTIALS_EXPIRE_AT).and_then(parse_timestamp),
    })
}

/// The update that points a row at its credentials (`Some`) or removes them (`None`),
/// leaving everything else as it is.
pub(super) fn credentials_update(to: Option<&CredentialsRef>) -> Update {
    let sv = |v: &str| Some(AttributeValue::S(v.to_owned()));
    Update::of([
        (attr::CREDENTIALS_REF, to.and_then(|r| sv(&r.secret_id))),
        (attr::CREDENTIALS_KIND, to.and_then(|r| sv(r.kind.as_str()))),
        (
            attr::CREDENTIALS_EXPIRE_AT,
            to.and_then(|r| r.expire_at.as_ref())
                .and_then(|t| sv(&format_timestamp(t))),
        ),
    ])
}

/// The settings' attributes: each `Some` is set, each `None` removed.
fn settings_fields(to: &ConnectorSettings) -> [(&'static str, Option<AttributeValue>); 5] {
    [
        (attr::NAME, Some(AttributeValue::S(to.name.clone()))),
        (attr::URL, Some(AttributeValue::S(to.url.clone()))),
        (attr::FEED_TYPE, to.feed_type.clone().map(AttributeValue::S)),
        (
            attr::PROBE_TIMEOUT_SECONDS,
            to.probe_timeout_seconds
                .map(|t| AttributeValue::N(t.to_string())),
        ),
        (
            attr::PROBE_PACKAGE,
            to.probe_package.clone().map(AttributeValue::S),
        ),
    ]
}

/// A new row: the connector (its id, state and diagnostics) with these settings and this
/// generation.
pub fn new_item(connector: &Connector, settings: &ConnectorSettings, generation: u64) -> Item {
    let mut item = item_from(connector, None);
    for (name, value) in settings_fields(settings) {
        if let Some(v) = value {
            item.insert(name.to_owned(), v);
        }
    }
    item.insert(attr::GENERATION.into(), number(generation));
    item
}

/// A number attribute.
pub fn number(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An `UpdateItem`'s expression, names and values, from the attributes to set (`Some`)
/// and to remove (`None`), in order.
pub(super) struct Update {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: Item,
}

impl Update {
    fn of(fields: impl IntoIterator<Item = (&'static str, Option<AttributeValue>)>) -> Self {
        let mut names = HashMap::new();
        let mut values = Item::new();
        let (mut set, mut remove) = (Vec::new(), Vec::new());
        for (name, value) in fields {
            let placeholder = format!("#{name}");
            names.insert(placeholder.clone(), name.to_owned());
            match value {
                Some(v) => {
                    set.push(format!("{placeholder} = :{name}"));
                    values.insert(format!(":{name}"), v);
                }
                None => remove.push(placeholder),
            }
        }
        let mut clauses = Vec::new();
        if !set.is_empty() {
            clauses.push(format!("SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            clauses.push(format!("REMOVE {}", remove.join(", ")));
        }
        let expression = clauses.join(" ");
        Self {
            expression,
            names,
            values,
        }
    }
}

/// The update that sets a row's settings to `to` and its generation to `generation` (its
/// probe results stay as they are).
pub(super) fn settings_update(to: &ConnectorSettings, generation: u64) -> Update {
    let mut fields = settings_fields(to).to_vec();
    fields.push((attr::GENERATION, Some(number(generation))));
    Update::of(fields)
}

/// A string attribute of an item.
pub(super) fn string<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    s(item, name)
}

/// A number attribute of an item, as a whole number.
pub(super) fn whole(item: &Item, name: &str) -> Option<u64> {
    n(item, name).and_then(|v| v.parse().ok())
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
            .map(|secs| Duration::from_secs_f64(secs.min(MAX_PROBE_TIMEOUT.as_secs_f64())));
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
        generation: generation_of(item, id),
        credentials: credentials_ref_from_item(item),
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

/// A row's generation; `None` when it has none. One that is not a whole number was not
/// written by the admin tool: results are not written onto the row (it is `None`, which the
/// row does not match) until the tool gives it a new one, and the run says so.
fn generation_of(item: &Item, id: ConnectorId) -> Option<u64> {
    let Some(text) = n(item, attr::GENERATION) else {
        if item.contains_key(attr::GENERATION) {
            // Present but not a number (a string written by hand, say): the same case.
            tracing::warn!(
                connector_id = %id,
                "the row's generation is not a number; its results are not written until `chadmin connectors update` changes it"
            );
        }
        return None;
    };
    let parsed = text.parse().ok();
    if parsed.is_none() {
        tracing::warn!(
            connector_id = %id,
            "the row's generation is not a whole number; its results are not written until `chadmin connectors update` changes it"
        );
    }
    parsed
}

/// The update that writes one probe record.
pub(super) fn probe_update(record: &ProbeRecord) -> Update {
    let sv = |v: String| AttributeValue::S(v);
    let nv = |v: String| AttributeValue::N(v);
    Update::of([
        (attr::STATE, Some(sv(record.state.as_str().to_owned()))),
        (attr::ERROR_MESSAGE, record.error_message.clone().map(sv)),
        (
            attr::LAST_CHECKED,
            Some(sv(format_timestamp(&record.last_checked))),
        ),
        (
            attr::RESPONSE_TIME_MS,
            record.response_time_ms.map(|v| nv(v.to_string())),
        ),
        (
            attr::HTTP_STATUS,
            record.http_status.map(|v| nv(v.to_string())),
        ),
        (
            attr::CONSECUTIVE_FAILURES,
            Some(nv(record.consecutive_failures.to_string())),
        ),
        (
            attr::STATE_CHANGED_AT,
            Some(sv(format_timestamp(&record.state_changed_at))),
        ),
        (
            attr::CERTIFICATE_EXPIRES_AT,
            record
                .certificate_expires_at
                .as_ref()
                .map(|v| sv(format_timestamp(v))),
        ),
    ])
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
        assert_eq!(t.generation, None, "a row written before generations");
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
        assert_eq!(t.timeout, Some(MAX_PROBE_TIMEOUT));
    }

    #[test]
    fn targets_carry_the_generation_and_a_settings_change_gives_a_new_one() {
        let base = [("id", nv("1")), ("url", sv("http://x"))];
        let mut with = item(&base);
        with.insert("generation".into(), nv("7"));
        assert_eq!(target_from_item(&with).unwrap().generation, Some(7));
        with.insert("generation".into(), nv("1.5"));
        assert_eq!(target_from_item(&with).unwrap().generation, None);
        let Update {
            expression, values, ..
        } = settings_update(&ConnectorSettings::default(), 8);
        assert!(
            expression.contains("#generation = :generation"),
            "{expression}"
        );
        assert_eq!(values[":generation"], nv("8"));
        let connector = crate::domain::Connector {
            id: ConnectorId::new(1).unwrap(),
            name: "n".into(),
            url: "http://x".into(),
            health: Health::Unknown,
            diagnostics: Diagnostics::default(),
        };
        let row = new_item(&connector, &ConnectorSettings::default(), 9);
        assert_eq!(row["generation"], nv("9"));
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
            generation: Some(3),
        };
        let Update {
            expression: expr,
            values,
            names,
        } = probe_update(&record);
        assert!(expr.starts_with("SET #state = :state, #lastChecked = :lastChecked"));
        assert!(expr.contains(" REMOVE #errorMessage, #httpStatus, #certificateExpiresAt"));
        assert_eq!(values[":responseTimeMs"], nv("5"));
        assert_eq!(values[":lastChecked"], sv("2026-01-01T00:00:00.000Z"));
        assert_eq!(names["#lastChecked"], "lastChecked");
        assert!(!names.contains_key("#id"), "only what the expression uses");
        assert!(!values.contains_key(":errorMessage"));
    }
}
