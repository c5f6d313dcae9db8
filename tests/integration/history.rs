//! End to end: each probe result is recorded in the history table, and the connector's
//! history and badges are read back. The real `probe-connectors` binary, driven through the
//! Lambda Runtime API with scheduled events, probes registries on 127.0.0.1 and writes to a
//! connector table and a history table on moto; the real `get-connector` binary answers API
//! Gateway events for `/history`, `/badge.svg` and `/badge.json` from them.

use chrono::Timelike;
use serde_json::{json, Value};
use shared::adapters::dynamodb::history::DynamoHistoryStore;
use shared::adapters::dynamodb::schema::item_from;
use shared::domain::{format_timestamp, ConnectorId, Health};
use shared::ports::ConnectorReader;
use testkit::binaries::binary;
use testkit::fixtures::{event, scheduled_event, without_header, Payload};
use testkit::registry::{FakeRegistry, UNAVAILABLE};
use testkit::runtime_api::{Function, ProxyResponse};
use testkit::world::{connector, fresh_key, key_document, unique_name, World};

/// A password in the connectors' URLs: it must never reach a log line.
const URL_PASSWORD: &str = "hist-0r1c-p4ss";
const SVG: &str = "image/svg+xml; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

fn id(v: u32) -> ConnectorId {
    ConnectorId::new(v).expect("positive id")
}

/// A world with one key and two connectors on a local registry: 1 healthy (npm), 2
/// answering 503; `None` without the emulators.
async fn given_connectors() -> Option<(World, String, FakeRegistry)> {
    let endpoint = testkit::endpoint()?;
    let key = fresh_key();
    let world = World::create(&endpoint, &key_document(&[("history", &key)])).await;
    let registry = FakeRegistry::feeds().await;
    let with_password = |path: &str| {
        registry
            .url(path)
            .replacen("http://", &format!("http://probe:{URL_PASSWORD}@"), 1)
    };
    for (i, url, feed) in [
        (1, with_password("/npm"), "npm"),
        (2, with_password(UNAVAILABLE), "generic"),
    ] {
        let mut c = connector(i, Health::Unknown);
        c.url = url;
        world.put_raw(item_from(&c, Some(feed))).await;
    }
    Some((world, key, registry))
}

/// The probe function against `world`, recording history in `history_table`.
async fn probe_function(world: &World, history_table: &str) -> Function {
    Function::start(
        &binary("probe-connectors"),
        &[
            ("AWS_ENDPOINT_URL", &world.endpoint),
            ("CONNECTORS_TABLE", &world.table),
            ("HISTORY_TABLE", history_table),
            ("PROBE_ALLOW_PRIVATE_NETWORKS", "true"),
            ("PROBE_TIMEOUT_SECONDS", "2"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ],
    )
    .await
}

/// The run's EMF line in `output`.
fn emf_line(output: &str) -> Value {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("_aws").is_some() && v.get("Total").is_some())
        .unwrap_or_else(|| panic!("no run EMF line in:\n{output}"))
}

/// The API Gateway event (payload `payload`) of `GET /api/connector-health/{id}/{view}`
/// with the query `query` (`name=value` pairs), from the stored single-connector event.
fn view_event(
    payload: Payload,
    key: &str,
    connector_id: u32,
    view: &str,
    query: &[(&str, &str)],
) -> Value {
    let text = event(payload, "get", key, &connector_id.to_string()).to_string();
    let item = format!("/api/connector-health/{connector_id}\"");
    let text = text
        .replace(
            "/api/connector-health/{id}",
            &format!("/api/connector-health/{{id}}/{view}"),
        )
        .replace(
            &item,
            &format!("/api/connector-health/{connector_id}/{view}\""),
        );
    let mut e: Value = serde_json::from_str(&text).expect("JSON");
    if !query.is_empty() {
        let single: serde_json::Map<String, Value> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        match payload {
            Payload::V2 => {
                let raw: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                e["rawQueryString"] = json!(raw.join("&"));
                e["queryStringParameters"] = Value::Object(single);
            }
            Payload::V1 => {
                let multi: serde_json::Map<String, Value> = query
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), json!([v])))
                    .collect();
                e["queryStringParameters"] = Value::Object(single);
                e["multiValueQueryStringParameters"] = Value::Object(multi);
            }
        }
    }
    e
}

async fn call(function: &Function, event: &Value) -> ProxyResponse {
    ProxyResponse::parse(function.invoke(event).await.response())
}

/// The visible texts of an SVG badge (the `<text>` elements not hidden from readers).
fn badge_texts(svg: &str) -> Vec<String> {
    assert!(
        svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg""#),
        "{svg}"
    );
    svg.split("<text ")
        .skip(1)
        .filter(|t| !t.starts_with("aria-hidden"))
        .filter_map(|t| {
            let start = t.find('>')? + 1;
            let end = t.find("</text>")?;
            Some(t[start..end].to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_runs_record_history_that_the_read_function_serves_with_its_badges() {
    // Given a healthy and a failing connector, and a history table beside their table
    let Some((world, key, _registry)) = given_connectors().await else {
        return;
    };
    let history_table = unique_name("history");
    DynamoHistoryStore::new(world.dynamodb().clone(), &history_table)
        .create_table()
        .await
        .expect("create the history table");
    let probe = probe_function(&world, &history_table).await;

    // When the schedule fires twice
    for tick in 0..2 {
        let summary = probe.invoke(&scheduled_event()).await.response();
        assert_eq!(
            (
                summary["total"].as_u64(),
                summary["healthy"].as_u64(),
                summary["error"].as_u64(),
                summary["written"].as_u64()
            ),
            (Some(2), Some(1), Some(1), Some(2)),
            "tick {tick}: {summary}"
        );
    }
    let output = probe.output();
    assert_eq!(emf_line(&output)["HistoryWriteFailures"], 0, "{output}");
    let last_checked = |c: Option<shared::domain::Connector>| match c.map(|c| c.health) {
        Some(Health::Healthy { last_checked } | Health::Error { last_checked, .. }) => last_checked,
        other => panic!("not checked: {other:?}"),
    };
    let checked_1 = last_checked(world.store.get(id(1)).await.expect("get 1"));
    let checked_2 = last_checked(world.store.get(id(2)).await.expect("get 2"));

    // Then the read function serves each connector's history from those checks
    let get = Function::start(
        &binary("get-connector"),
        &[
            ("AWS_ENDPOINT_URL", &world.endpoint),
            ("CONNECTORS_TABLE", &world.table),
            ("API_KEYS_SECRET_ID", &world.secret_id),
            ("HISTORY_TABLE", &history_table),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ],
    )
    .await;
    for (connector_id, checked, state, uptime) in [
        (1, checked_1, "healthy", 100.0),
        (2, checked_2, "error", 0.0),
    ] {
        let r = call(
            &get,
            &view_event(Payload::V2, &key, connector_id, "history", &[]),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.raw);
        assert_eq!(r.header("content-type"), Some(JSON));
        let h = r.json();
        assert_eq!(h["id"], connector_id);
        assert!(h.get("demo").is_none(), "{h}");
        // Both checks are counted, in the last 24 hours and in the days (whichever hour
        // and day each fell in), and the uptime says healthy or failing.
        let sum = |series: &str, field: &str| -> u64 {
            h[series]
                .as_array()
                .expect("a series")
                .iter()
                .map(|b| b[field].as_u64().expect("a count"))
                .sum()
        };
        assert_eq!(
            (sum("hourly", "checks"), sum("daily", "checks")),
            (2, 2),
            "{h}"
        );
        assert_eq!(sum("hourly", "up"), if state == "healthy" { 2 } else { 0 });
        for window in ["24h", "7d", "30d", "90d"] {
            assert_eq!(h["uptime"][window].as_f64(), Some(uptime), "{window}: {h}");
        }
        // The last checks end with the one the row holds (history keeps each check to the
        // second, and one check per minute of the day: two checks in the same minute are
        // one entry, the later one).
        let recent = h["recentChecks"].as_array().expect("recentChecks");
        assert!((1..=2).contains(&recent.len()), "{h}");
        let newest = &recent[0];
        let to_second = format_timestamp(&checked.with_nanosecond(0).expect("a time"));
        assert_eq!(newest["checkedAt"], to_second.as_str(), "{h}");
        assert_eq!(newest["state"], state, "{h}");
        if state == "error" {
            assert_eq!(newest["message"], "HTTP 503 Service Unavailable.", "{h}");
        } else {
            assert_eq!(newest["message"], Value::Null, "{h}");
            assert!(newest["responseTimeMs"].is_u64(), "{h}");
        }
    }

    // And the badges: the state, and the uptime of the window asked for
    for payload in Payload::ALL {
        let r = call(&get, &view_event(payload, &key, 1, "badge.svg", &[])).await;
        assert_eq!(r.status, 200, "{payload:?}: {}", r.raw);
        assert_eq!(r.header("content-type"), Some(SVG));
        assert_eq!(r.header("cache-control"), Some("max-age=300"));
        let svg = r.body.clone().expect("a body");
        assert_eq!(badge_texts(&svg), ["connector-1", "healthy"], "{svg}");
        // The key in the query, as an image URL carries it.
        let e = without_header(
            view_event(
                payload,
                &key,
                2,
                "badge.svg",
                &[("key", &key), ("uptime", "24h")],
            ),
            "x-apikey",
        );
        let r = call(&get, &e).await;
        assert_eq!(r.status, 200, "{payload:?}: {}", r.raw);
        let svg = r.body.clone().expect("a body");
        assert_eq!(badge_texts(&svg), ["uptime 24h", "0%"], "{svg}");
    }
    for (connector_id, query, expected) in [
        (
            2,
            vec![],
            json!({"label": "connector-2", "message": "error", "color": "red"}),
        ),
        (
            1,
            vec![("uptime", "7d")],
            json!({"label": "uptime 7d", "message": "100%", "color": "brightgreen"}),
        ),
        (
            2,
            vec![("uptime", "90d")],
            json!({"label": "uptime 90d", "message": "0%", "color": "red"}),
        ),
    ] {
        let r = call(
            &get,
            &view_event(Payload::V2, &key, connector_id, "badge.json", &query),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.raw);
        assert_eq!(r.header("content-type"), Some(JSON));
        assert_eq!(r.header("cache-control"), Some("max-age=300"));
        let mut expected = expected;
        expected["schemaVersion"] = json!(1);
        expected["cacheSeconds"] = json!(300);
        assert_eq!(r.json(), expected, "{connector_id} {query:?}");
    }
    let r = call(
        &get,
        &view_event(Payload::V2, &key, 1, "badge.json", &[("uptime", "1h")]),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.raw);
    let r = call(&get, &view_event(Payload::V2, &key, 3, "history", &[])).await;
    assert_eq!(r.status, 404, "{}", r.raw);
    let r = call(
        &get,
        &without_header(view_event(Payload::V2, &key, 1, "history", &[]), "x-apikey"),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.raw);
    for output in [probe.output(), get.output()] {
        assert!(!output.contains(URL_PASSWORD), "{output}");
        assert!(!output.contains(&key), "{output}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_history_write_that_fails_never_fails_the_result_and_is_logged_and_counted() {
    // Given connectors whose history table does not exist
    let Some((world, _key, _registry)) = given_connectors().await else {
        return;
    };
    let missing = unique_name("no-such-history");
    let probe = probe_function(&world, &missing).await;

    // When the schedule fires (twice: each run reports its own failures)
    let summary = probe.invoke(&scheduled_event()).await.response();
    probe.invoke(&scheduled_event()).await.response();

    // Then both results are written all the same
    assert_eq!(
        (summary["total"].as_u64(), summary["written"].as_u64()),
        (Some(2), Some(2)),
        "{summary}"
    );
    assert_eq!(summary["writeFailures"], 0, "{summary}");
    assert!(matches!(
        world.store.get(id(1)).await.expect("get").map(|c| c.health),
        Some(Health::Healthy { .. })
    ));
    match world.store.get(id(2)).await.expect("get").map(|c| c.health) {
        Some(Health::Error { message, .. }) => {
            assert_eq!(message, "HTTP 503 Service Unavailable.")
        }
        other => panic!("connector 2: {other:?}"),
    }
    // And each failed history write is logged once, naming the connector and not its
    // URL's password, and counted in the run's metrics
    let output = probe.output();
    let failures: Vec<Value> = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            let message = v["fields"]["message"].as_str().or(v["message"].as_str());
            message
                == Some(
                    "could not record the check in the connector's history; its result is written",
                )
        })
        .collect();
    assert_eq!(failures.len(), 4, "{output}");
    for line in &failures {
        let fields = if line["fields"].is_object() {
            &line["fields"]
        } else {
            line
        };
        assert!(fields["connector_id"].is_u64(), "{line}");
        assert_eq!(fields["service"], "DynamoDB", "{line}");
        assert_eq!(line["level"], "ERROR", "{line}");
    }
    let counted: Vec<Value> = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some() && v.get("Total").is_some())
        .map(|v| v["HistoryWriteFailures"].clone())
        .collect();
    assert_eq!(counted, [json!(2), json!(2)], "{output}");
    assert!(!output.contains(URL_PASSWORD), "{output}");
}
