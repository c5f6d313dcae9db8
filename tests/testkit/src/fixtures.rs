//! The stored events: API Gateway (`tests/testkit/fixtures/v2` for HTTP API payload 2.0,
//! `tests/testkit/fixtures/v1` for REST API payload 1.0) and the EventBridge schedule
//! (`tests/testkit/fixtures/eventbridge`). Placeholders in the API Gateway events are filled
//! in at run time: `__API_KEY__` (the key, wherever the event carries it),
//! `__BASIC_CREDENTIALS__` (base64 of `api:<key>`) and `__CONNECTOR_ID__`.

use base64::Engine as _;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The payload format of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// HTTP API, payload format 2.0.
    V2,
    /// REST API, payload format 1.0.
    V1,
}

impl Payload {
    pub const ALL: [Payload; 2] = [Payload::V2, Payload::V1];

    fn dir(self) -> &'static str {
        match self {
            Payload::V2 => "v2",
            Payload::V1 => "v1",
        }
    }
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

pub fn fixture_path(payload: Payload, name: &str) -> PathBuf {
    fixtures_dir()
        .join(payload.dir())
        .join(format!("{name}.json"))
}

/// The EventBridge scheduled event the probe function's schedule sends, as stored: every
/// delivery of it is the same tick, so the same cycle.
pub fn stored_scheduled_event() -> Value {
    let path = fixtures_dir().join("eventbridge/scheduled-event.json");
    serde_json::from_str(&read(&path))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The stored scheduled event for a new tick: its `time` now, or a second after the previous
/// call's if that is later, so each call begins a cycle of its own, as each tick of the
/// schedule does.
pub fn scheduled_event() -> Value {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp();
    let at = match LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
        Some(now.max(last + 1))
    }) {
        Ok(last) | Err(last) => now.max(last + 1),
    };
    scheduled_event_at(chrono::DateTime::from_timestamp(at, 0).unwrap_or_default())
}

/// The stored scheduled event of the tick at `at`.
pub fn scheduled_event_at(at: chrono::DateTime<chrono::Utc>) -> Value {
    let mut event = stored_scheduled_event();
    event["time"] = Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    event
}

/// Loads an event, filling in the key and the connector id.
pub fn event(payload: Payload, name: &str, key: &str, connector_id: &str) -> Value {
    let path = fixture_path(payload, name);
    let text = read(&path);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("api:{key}"));
    let text = text
        .replace("__API_KEY__", key)
        .replace("__BASIC_CREDENTIALS__", &basic)
        .replace("__CONNECTOR_ID__", connector_id);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Removes a header (any case) from an event's `headers` and `multiValueHeaders`.
pub fn without_header(mut event: Value, name: &str) -> Value {
    for field in ["headers", "multiValueHeaders"] {
        if let Some(map) = event[field].as_object_mut() {
            map.retain(|k, _| !k.eq_ignore_ascii_case(name));
        }
    }
    event
}

/// Adds a header to an event: in `headers`, and in `multiValueHeaders` when the event
/// has them (payload 1.0).
pub fn with_header(mut event: Value, name: &str, value: &str) -> Value {
    if let Some(map) = event["headers"].as_object_mut() {
        map.insert(name.to_owned(), Value::String(value.to_owned()));
    }
    if let Some(map) = event["multiValueHeaders"].as_object_mut() {
        map.insert(name.to_owned(), serde_json::json!([value]));
    }
    event
}
