//! The probe function's table adapter against moto and dynalite: probe targets read from
//! the table, and the conditional result write (a deleted connector is not brought back;
//! of two overlapping runs the older result never overwrites the newer one; a result lands
//! only on the generation of the row it probed).

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, TimeZone, Utc};
use shared::adapters::dynamodb::attr;
use shared::adapters::dynamodb::schema::item_from;
use shared::domain::{ConnectorId, FeedType, Health, State};
use shared::ports::{ConnectorReader, ProbeResultWriter, ProbeTargetReader, WriteOutcome};
use shared::probe::outcome::ProbeRecord;
use testkit::on_both_emulators;
use testkit::world::{connector, World};

on_both_emulators!(
    targets_carry_probe_settings_and_the_previous_result,
    an_older_result_never_overwrites_a_newer_one,
    a_connector_deleted_during_a_run_is_not_brought_back,
    a_healthy_result_clears_the_previous_error_details,
    a_hand_written_last_checked_does_not_block_the_prober,
    a_result_is_written_only_onto_the_generation_it_probed,
    bookkeeping_items_are_neither_targets_nor_listed,
);

fn id(v: u32) -> ConnectorId {
    ConnectorId::new(v).expect("positive id")
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .expect("valid time")
}

async fn given_rows(endpoint: &str, ids: &[u32]) -> World {
    let world = World::named(endpoint).await;
    world.store.create_table().await.expect("create table");
    for i in ids {
        world
            .store
            .put(&connector(*i, Health::Unknown), Some("npm"))
            .await
            .expect("put");
    }
    world
}

fn error_record(i: u32, at: DateTime<Utc>, message: &str) -> ProbeRecord {
    ProbeRecord {
        id: id(i),
        state: State::Error,
        error_message: Some(message.to_owned()),
        last_checked: at,
        response_time_ms: Some(10_000),
        http_status: Some(503),
        consecutive_failures: 3,
        state_changed_at: at - Duration::minutes(10),
        certificate_expires_at: Some(at + Duration::days(5)),
        generation: None,
    }
}

fn healthy_record(i: u32, at: DateTime<Utc>) -> ProbeRecord {
    ProbeRecord {
        id: id(i),
        state: State::Healthy,
        error_message: None,
        last_checked: at,
        response_time_ms: Some(42),
        http_status: None,
        consecutive_failures: 0,
        state_changed_at: at,
        certificate_expires_at: None,
        generation: None,
    }
}

async fn targets_carry_probe_settings_and_the_previous_result(endpoint: String) {
    let world = World::named(&endpoint).await;
    world.store.create_table().await.expect("create table");
    let mut item = item_from(
        &connector(
            4,
            Health::Error {
                message: "HTTP 503 Service Unavailable.".into(),
                last_checked: t0(),
            },
        ),
        Some("pypi"),
    );
    item.insert(
        attr::PROBE_TIMEOUT_SECONDS.into(),
        AttributeValue::N("3".into()),
    );
    item.insert(attr::PROBE_PACKAGE.into(), AttributeValue::S("six".into()));
    item.insert(
        attr::CONSECUTIVE_FAILURES.into(),
        AttributeValue::N("2".into()),
    );
    world.put_raw(item).await;
    world
        .store
        .put(&connector(9, Health::Unknown), None)
        .await
        .expect("put");

    let targets = world.store.targets().await.expect("targets");
    assert_eq!(
        targets.iter().map(|t| t.id.get()).collect::<Vec<_>>(),
        [4, 9]
    );
    let t = &targets[0];
    assert_eq!(t.feed_type, FeedType::PyPi);
    assert_eq!(t.timeout, Some(std::time::Duration::from_secs(3)));
    assert_eq!(t.package.as_deref(), Some("six"));
    assert_eq!(t.previous.state, Some(State::Error));
    assert_eq!(t.previous.last_checked, Some(t0()));
    assert_eq!(t.previous.consecutive_failures, 2);
    assert_eq!(targets[1].feed_type, FeedType::Generic);
    assert_eq!(
        world
            .store
            .target(id(9))
            .await
            .expect("target")
            .map(|t| t.id),
        Some(id(9))
    );
    assert_eq!(world.store.target(id(5)).await.expect("target"), None);
}

async fn an_older_result_never_overwrites_a_newer_one(endpoint: String) {
    let world = given_rows(&endpoint, &[1]).await;
    // Run B (started later) finishes first; run A's older result arrives afterwards.
    let newer = healthy_record(1, t0() + Duration::seconds(30));
    let older = error_record(1, t0(), "Connection timed out after 10 s.");
    assert_eq!(
        world.store.write(&newer).await.expect("write"),
        WriteOutcome::Written
    );
    assert_eq!(
        world.store.write(&older).await.expect("write"),
        WriteOutcome::Superseded
    );
    // The same result twice is not rewritten either.
    assert_eq!(
        world.store.write(&newer).await.expect("write"),
        WriteOutcome::Superseded
    );
    let shown = world.store.get(id(1)).await.expect("get").expect("row");
    assert_eq!(
        shown.health,
        Health::Healthy {
            last_checked: newer.last_checked
        }
    );
    // A later result still goes in.
    let latest = error_record(
        1,
        t0() + Duration::seconds(60),
        "HTTP 503 Service Unavailable.",
    );
    assert_eq!(
        world.store.write(&latest).await.expect("write"),
        WriteOutcome::Written
    );
    let shown = world.store.get(id(1)).await.expect("get").expect("row");
    assert_eq!(
        shown.health,
        Health::Error {
            message: "HTTP 503 Service Unavailable.".into(),
            last_checked: latest.last_checked
        }
    );
    assert_eq!(shown.diagnostics.http_status, Some(503));
    assert_eq!(shown.diagnostics.consecutive_failures, Some(3));
    assert_eq!(
        shown.diagnostics.state_changed_at,
        Some(latest.state_changed_at)
    );
    assert_eq!(
        shown.diagnostics.certificate_expires_at,
        latest.certificate_expires_at
    );
    assert_eq!(
        shown.name, "connector-1",
        "the write touched only probe attributes"
    );
}

async fn a_connector_deleted_during_a_run_is_not_brought_back(endpoint: String) {
    let world = given_rows(&endpoint, &[1, 2]).await;
    let targets = world.store.targets().await.expect("targets");
    assert_eq!(targets.len(), 2);
    world.store.delete(id(2)).await.expect("delete");
    assert_eq!(
        world
            .store
            .write(&healthy_record(1, t0()))
            .await
            .expect("write"),
        WriteOutcome::Written
    );
    assert_eq!(
        world
            .store
            .write(&healthy_record(2, t0()))
            .await
            .expect("write"),
        WriteOutcome::Superseded
    );
    assert_eq!(world.store.get(id(2)).await.expect("get"), None);
    let raw = world
        .dynamodb()
        .get_item()
        .table_name(&world.table)
        .key(attr::ID, AttributeValue::N("2".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get item");
    assert!(raw.item.is_none(), "no partial row was created");
}

async fn a_healthy_result_clears_the_previous_error_details(endpoint: String) {
    let world = given_rows(&endpoint, &[3]).await;
    world
        .store
        .write(&error_record(3, t0(), "HTTP 503 Service Unavailable."))
        .await
        .expect("write");
    world
        .store
        .write(&healthy_record(3, t0() + Duration::seconds(30)))
        .await
        .expect("write");
    let raw = world
        .dynamodb()
        .get_item()
        .table_name(&world.table)
        .key(attr::ID, AttributeValue::N("3".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
        .expect("row");
    for gone in [
        attr::ERROR_MESSAGE,
        attr::HTTP_STATUS,
        attr::CERTIFICATE_EXPIRES_AT,
    ] {
        assert!(!raw.contains_key(gone), "{gone} was removed");
    }
    assert_eq!(raw[attr::STATE], AttributeValue::S("healthy".into()));
    assert_eq!(
        raw[attr::CONSECUTIVE_FAILURES],
        AttributeValue::N("0".into())
    );
    assert_eq!(raw[attr::RESPONSE_TIME_MS], AttributeValue::N("42".into()));
    assert_eq!(raw[attr::FEED_TYPE], AttributeValue::S("npm".into()));
    assert!(raw.contains_key(attr::NAME) && raw.contains_key(attr::URL));
}

async fn a_hand_written_last_checked_does_not_block_the_prober(endpoint: String) {
    // Given rows whose lastChecked the prober did not write: another format that sorts
    // after any real time, and plain text.
    let world = given_rows(&endpoint, &[]).await;
    for (i, stored) in [(1, "2026-03-01T13:00:00+01:00"), (2, "yesterday")] {
        let mut item = item_from(&connector(i, Health::Unknown), Some("npm"));
        item.insert(attr::STATE.into(), AttributeValue::S("healthy".into()));
        item.insert(attr::LAST_CHECKED.into(), AttributeValue::S(stored.into()));
        world.put_raw(item).await;
    }
    // When the prober writes a result for each
    for i in [1, 2] {
        let outcome = world
            .store
            .write(&error_record(i, t0(), "HTTP 503 Service Unavailable."))
            .await
            .expect("write");
        // Then it is written, not refused as superseded
        assert_eq!(outcome, WriteOutcome::Written, "row {i}");
    }
    let shown = world.store.list().await.expect("list");
    assert!(shown.iter().all(|c| c.health.state() == State::Error));
}

async fn a_result_is_written_only_onto_the_generation_it_probed(endpoint: String) {
    let world = given_rows(&endpoint, &[1]).await;
    let mut item = item_from(&connector(2, Health::Unknown), Some("npm"));
    item.insert(attr::GENERATION.into(), AttributeValue::N("5".into()));
    world.put_raw(item).await;
    let targets = world.store.targets().await.expect("targets");
    let generations: Vec<Option<u64>> = targets.iter().map(|t| t.generation).collect();
    assert_eq!(generations, [None, Some(5)]);

    // A row without a generation takes a result read without one, not one read with one.
    let mut record = healthy_record(1, t0());
    record.generation = Some(5);
    assert_eq!(
        world.store.write(&record).await.expect("write"),
        WriteOutcome::Superseded
    );
    record.generation = None;
    assert_eq!(
        world.store.write(&record).await.expect("write"),
        WriteOutcome::Written
    );
    // A row with one takes only a result read at that generation.
    let mut record = healthy_record(2, t0());
    for (generation, outcome) in [
        (None, WriteOutcome::Superseded),
        (Some(4), WriteOutcome::Superseded),
        (Some(5), WriteOutcome::Written),
    ] {
        record.generation = generation;
        assert_eq!(
            world.store.write(&record).await.expect("write"),
            outcome,
            "{generation:?}"
        );
    }
}

async fn bookkeeping_items_are_neither_targets_nor_listed(endpoint: String) {
    let world = given_rows(&endpoint, &[1]).await;
    let n = |v: &str| AttributeValue::N(v.into());
    let s = |v: &str| AttributeValue::S(v.into());
    // The counter and a name reservation, as the admin tool writes them.
    world
        .put_raw(
            [
                (attr::ID.to_owned(), n("0")),
                (attr::LAST_ID.to_owned(), n("1")),
                (attr::LAST_GENERATION.to_owned(), n("1")),
            ]
            .into(),
        )
        .await;
    world
        .put_raw(
            [
                (attr::ID.to_owned(), n("-12345")),
                (attr::NAME.to_owned(), s("connector-1")),
                (attr::OWNER.to_owned(), n("1")),
            ]
            .into(),
        )
        .await;
    let targets: Vec<u32> = world
        .store
        .targets()
        .await
        .expect("targets")
        .iter()
        .map(|t| t.id.get())
        .collect();
    assert_eq!(targets, [1]);
    assert_eq!(world.store.list().await.expect("list").len(), 1);
    let (items, _) = world.store.scan_items().await.expect("scan");
    assert_eq!(items.len(), 1, "the scan keeps only connector rows");
}
