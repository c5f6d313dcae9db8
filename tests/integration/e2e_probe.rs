//! End to end: the real `probe-connectors` binary driven through the Lambda Runtime API
//! with a stored EventBridge scheduled event and with `{"connectorId": N}` events, probing
//! registries on 127.0.0.1 and writing to moto.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use shared::adapters::dynamodb::attr;
use shared::adapters::dynamodb::schema::item_from;
use shared::domain::{ConnectorId, Health};
use shared::ports::ConnectorReader;
use std::time::Duration;
use testkit::binaries::binary;
use testkit::fixtures::scheduled_event;
use testkit::registry::{refused_port, FakeRegistry, UNAVAILABLE};
use testkit::runtime_api::{Function, InvocationResult};
use testkit::world::{connector, World};

/// A table of its own on moto; `None` without the emulators.
async fn given_table() -> Option<World> {
    let world = World::named(&testkit::endpoint()?).await;
    world.store.create_table().await.expect("create table");
    Some(world)
}

fn id(v: u32) -> ConnectorId {
    ConnectorId::new(v).expect("positive id")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduled_run_and_a_check_now_record_what_they_find() {
    // Given a table whose connectors point at local registries, one of which asks for a
    // timeout (600 s, written by hand) longer than any run allows ...
    let Some(world) = given_table().await else {
        return;
    };
    let registry = FakeRegistry::feeds().await;
    let closed = refused_port().await.expect("a refused port");
    let rows = [
        (1, registry.url("/npm"), "npm"),
        (2, registry.url(UNAVAILABLE), "generic"),
        (3, registry.url("/npm"), "npm"),
        (4, format!("http://127.0.0.1:{closed}"), "npm"),
    ];
    for (i, url, feed) in &rows {
        let mut c = connector(*i, Health::Unknown);
        c.url = url.clone();
        let mut item = item_from(&c, Some(feed));
        if *i == 3 {
            item.insert(
                attr::PROBE_TIMEOUT_SECONDS.into(),
                AttributeValue::N("600".into()),
            );
        }
        world.put_raw(item).await;
    }
    let function = Function::start(
        &binary("probe-connectors"),
        &[
            ("AWS_ENDPOINT_URL", &world.endpoint),
            ("CONNECTORS_TABLE", &world.table),
            ("PROBE_ALLOW_PRIVATE_NETWORKS", "true"),
            ("PROBE_TIMEOUT_SECONDS", "2"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ],
    )
    .await;

    // When the schedule fires
    let summary = function.invoke(&scheduled_event()).await.response();

    // Then every connector was probed and recorded (the one asking for too long a timeout
    // with the longest a run allows, never skipped), and the run reported its figures.
    assert_eq!(summary["total"], 4, "{summary}");
    assert_eq!(summary["healthy"], 2, "{summary}");
    assert_eq!(summary["error"], 2, "{summary}");
    assert_eq!(summary["skipped"], 0, "{summary}");
    assert_eq!(summary["written"], 4, "{summary}");
    let shown = |c: Option<shared::domain::Connector>| c.expect("row").health;
    assert!(matches!(
        shown(world.store.get(id(1)).await.expect("get")),
        Health::Healthy { .. }
    ));
    match shown(world.store.get(id(2)).await.expect("get")) {
        Health::Error { message, .. } => assert_eq!(message, "HTTP 503 Service Unavailable."),
        other => panic!("connector 2: {other:?}"),
    }
    assert!(matches!(
        shown(world.store.get(id(3)).await.expect("get")),
        Health::Healthy { .. }
    ));
    match shown(world.store.get(id(4)).await.expect("get")) {
        Health::Error { message, .. } => {
            assert_eq!(
                message,
                format!("Connection refused by 127.0.0.1:{closed}.")
            )
        }
        other => panic!("connector 4: {other:?}"),
    }
    let output = function.output();
    let emf = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("_aws").is_some())
        .unwrap_or_else(|| panic!("no EMF line in:\n{output}"));
    assert_eq!(emf["Skipped"], 0);
    assert_eq!(emf["Healthy"], 2);
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "ConnectorHealth"
    );
    assert!(output.contains("probe run finished"), "{output}");
    assert!(
        output.contains("the connector's probeTimeoutSeconds cannot fit in a run"),
        "the clamp is logged: {output}"
    );
    // The cycle's own line: four connectors due, none checked before.
    let cycle = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("_aws").is_some() && v.get("Due").is_some())
        .unwrap_or_else(|| panic!("no cycle EMF line in:\n{output}"));
    assert_eq!(
        (cycle["Due"].as_u64(), cycle["NeverChecked"].as_u64()),
        (Some(4), Some(4))
    );

    // And a check-now of one connector probes only that one
    let before = world.store.get(id(1)).await.expect("get");
    let one = function.invoke(&json!({"connectorId": 1})).await.response();
    assert_eq!(
        (one["total"].as_u64(), one["healthy"].as_u64()),
        (Some(1), Some(1))
    );
    let after = world.store.get(id(1)).await.expect("get");
    match (before.map(|c| c.health), after.map(|c| c.health)) {
        (Some(Health::Healthy { last_checked: a }), Some(Health::Healthy { last_checked: b })) => {
            assert!(b > a, "lastChecked moved on")
        }
        other => panic!("{other:?}"),
    }

    // And an unknown connector is a typed error, not a crash
    match function.invoke(&json!({"connectorId": 99})).await {
        InvocationResult::Error { payload, .. } => {
            assert_eq!(payload["errorType"], "ConnectorNotFound", "{payload}");
            assert_eq!(
                payload["errorMessage"], "connector 99 does not exist",
                "{payload}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// The JSON line of `output` whose message is `message` (the function logs JSON).
fn log_line(output: &str, message: &str) -> Value {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["message"] == message || v["message"] == message)
        .unwrap_or_else(|| panic!("no {message:?} line in:\n{output}"))
}

/// A field of a JSON log line, wherever the formatter put it.
fn field<'a>(line: &'a Value, name: &str) -> &'a Value {
    if line["fields"].get(name).is_some() {
        &line["fields"][name]
    } else {
        &line[name]
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deadline_too_short_for_every_probe_leaves_the_rest_untouched_and_counts_them() {
    // Given four connectors on a registry that never answers, probed two at a time with a
    // 1 s timeout, and an invocation whose deadline is 2.5 s away: the first two probes end
    // after 1 s, and a probe started then (1 s + 1 s kept for its write) cannot finish.
    let Some(world) = given_table().await else {
        return;
    };
    let hanging = FakeRegistry::hanging().await;
    let port = hanging.port();
    for i in 1..=4 {
        let mut c = connector(i, Health::Unknown);
        c.url = hanging.url("/hang");
        world.put_raw(item_from(&c, Some("generic"))).await;
    }
    let function = Function::start(
        &binary("probe-connectors"),
        &[
            ("AWS_ENDPOINT_URL", &world.endpoint),
            ("CONNECTORS_TABLE", &world.table),
            ("PROBE_ALLOW_PRIVATE_NETWORKS", "true"),
            ("PROBE_TIMEOUT_SECONDS", "1"),
            ("PROBE_RETRIES", "0"),
            ("PROBE_CONCURRENCY", "2"),
            ("PROBE_WRITE_RESERVE_MS", "1000"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ],
    )
    .await;

    // When the schedule fires with a 2.5 s deadline (two 1 s probes and their 1 s write
    // reserve fit; the next two, starting after them, do not)
    let summary = function
        .invoke_with_deadline(&scheduled_event(), std::time::Duration::from_millis(2500))
        .await
        .response();

    // Then two were probed and recorded, two were skipped and left untouched
    assert_eq!(summary["total"], 4, "{summary}");
    assert_eq!(summary["error"], 2, "{summary}");
    assert_eq!(summary["skipped"], 2, "{summary}");
    assert_eq!(summary["written"], 2, "{summary}");
    let mut untouched = 0;
    for i in 1..=4 {
        match world
            .store
            .get(id(i))
            .await
            .expect("get")
            .expect("row")
            .health
        {
            Health::Unknown => untouched += 1,
            Health::Error { message, .. } => assert_eq!(
                message,
                format!("No response from 127.0.0.1:{port} within 1 s.")
            ),
            other => panic!("connector {i}: {other:?}"),
        }
    }
    assert_eq!(untouched, 2);

    // And the final log line and the EMF line count them skipped
    let output = function.output();
    let finished = log_line(&output, "probe run finished");
    assert_eq!(field(&finished, "skipped"), 2, "{finished}");
    assert_eq!(field(&finished, "total"), 4, "{finished}");
    let warning = log_line(
        &output,
        "some connectors were not probed: they could not finish before the deadline",
    );
    assert_eq!(field(&warning, "skipped"), 2, "{warning}");
    let emf = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("_aws").is_some())
        .unwrap_or_else(|| panic!("no EMF line in:\n{output}"));
    assert_eq!(emf["Skipped"], 2, "{emf}");
    assert_eq!(emf["Error"], 2, "{emf}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_of_a_thousand_connectors_is_probed_and_written_once_each() {
    // Given 1,000 connectors (more than one Scan page's worth of work), all on one registry
    let Some(world) = given_table().await else {
        return;
    };
    let registry = FakeRegistry::feeds().await;
    let items = (1..=1000)
        .map(|i| {
            let mut c = connector(i, Health::Unknown);
            c.url = registry.url("/npm");
            item_from(&c, Some("npm"))
        })
        .collect();
    world.batch_put(items).await;
    let function = Function::start(
        &binary("probe-connectors"),
        &[
            ("AWS_ENDPOINT_URL", &world.endpoint),
            ("CONNECTORS_TABLE", &world.table),
            ("PROBE_ALLOW_PRIVATE_NETWORKS", "true"),
            // One registry stands in for many upstreams here: no per-host limit.
            ("PROBE_PER_HOST_CONCURRENCY", "1024"),
        ],
    )
    .await;

    // When the schedule fires, with a deadline no busy machine runs into (the emulator
    // takes every write and event of the run; the deadline rules have their own test)
    let summary = function
        .invoke_with_deadline(&scheduled_event(), Duration::from_secs(55))
        .await
        .response();

    // Then each is probed and written exactly once, and every row shows its result
    assert_eq!(summary["total"], 1000, "{summary}");
    assert_eq!(summary["healthy"], 1000, "{summary}");
    assert_eq!(summary["written"], 1000, "{summary}");
    assert_eq!(summary["writeFailures"], 0, "{summary}");
    let listed = world.store.list().await.expect("list");
    assert_eq!(listed.len(), 1000);
    assert!(listed
        .iter()
        .all(|c| matches!(c.health, Health::Healthy { .. })));
}
