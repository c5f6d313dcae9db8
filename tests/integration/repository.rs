//! The DynamoDB connector repository against moto and, a second time, against dynalite
//! (whose request validation is closer to real DynamoDB's). Each test body runs once per
//! emulator, each run in its own table.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{TimeZone, Utc};
use shared::adapters::dynamodb::attr;
use shared::adapters::dynamodb::schema::item_from;
use shared::domain::{ConnectorId, Health, MISSING_ERROR_MESSAGE};
use shared::ports::ConnectorReader;
use shared::ports::DependencyError;
use testkit::on_both_emulators;
use testkit::world::{connector, sample_connectors, Item, World};

on_both_emulators!(
    rows_are_written_read_listed_in_id_order_and_deleted,
    malformed_rows_are_skipped_or_shown_as_unknown,
    a_table_larger_than_one_megabyte_is_read_page_by_page,
    a_missing_table_is_a_dependency_error,
);

fn id(v: u32) -> ConnectorId {
    ConnectorId::new(v).expect("positive id")
}

/// A table of its own on the given emulator.
async fn given_table(endpoint: &str) -> World {
    let world = World::named(endpoint).await;
    world.store.create_table().await.expect("create table");
    world
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.to_owned())
}

fn raw(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

async fn rows_are_written_read_listed_in_id_order_and_deleted(endpoint: String) {
    let world = given_table(&endpoint).await;
    // Creating it again leaves it as it is.
    world
        .store
        .create_table()
        .await
        .expect("create an existing table");
    let samples = sample_connectors();
    world.seed(&samples).await;

    for c in &samples {
        assert_eq!(world.store.get(c.id).await.expect("get").as_ref(), Some(c));
    }
    assert_eq!(world.store.get(id(2)).await.expect("get"), None);
    let mut sorted = samples.clone();
    sorted.sort_by_key(|c| c.id);
    assert_eq!(world.store.list().await.expect("list"), sorted);

    // A put replaces the whole row.
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let mut changed = samples[1].clone();
    changed.health = Health::Healthy { last_checked: at };
    changed.diagnostics = Default::default();
    world.store.put(&changed, None).await.expect("put");
    assert_eq!(
        world.store.get(changed.id).await.expect("get"),
        Some(changed.clone())
    );
    let (items, _) = world.store.scan_items().await.expect("scan");
    let stored = items
        .iter()
        .find(|i| i.get(attr::ID) == Some(&n("3")))
        .expect("row 3");
    assert!(!stored.contains_key(attr::ERROR_MESSAGE), "{stored:?}");
    assert!(!stored.contains_key(attr::FEED_TYPE), "{stored:?}");

    world.store.delete(id(3)).await.expect("delete");
    world
        .store
        .delete(id(3))
        .await
        .expect("deleting an absent row");
    assert_eq!(world.store.get(id(3)).await.expect("get"), None);
    let ids: Vec<u32> = world
        .store
        .list()
        .await
        .expect("list")
        .iter()
        .map(|c| c.id.get())
        .collect();
    assert_eq!(ids, [1, 12]);
}

async fn malformed_rows_are_skipped_or_shown_as_unknown(endpoint: String) {
    let world = given_table(&endpoint).await;
    let good = connector(1, Health::Unknown);
    world.seed(std::slice::from_ref(&good)).await;
    let when = "2025-11-05T08:30:15Z";
    for item in [
        // Skipped: no name, blank name, name of the wrong type, no url.
        raw(&[
            ("id", n("5")),
            ("url", s("https://a.example/")),
            ("state", s("healthy")),
            ("lastChecked", s(when)),
        ]),
        raw(&[
            ("id", n("6")),
            ("name", s("  ")),
            ("url", s("https://b.example/")),
        ]),
        raw(&[
            ("id", n("7")),
            ("name", n("7")),
            ("url", s("https://c.example/")),
        ]),
        raw(&[
            ("id", n("8")),
            ("name", s("no-url")),
            ("state", s("healthy")),
            ("lastChecked", s(when)),
        ]),
        // Skipped: ids the API cannot show.
        raw(&[
            ("id", n("0")),
            ("name", s("zero")),
            ("url", s("https://d.example/")),
        ]),
        raw(&[
            ("id", n("-4")),
            ("name", s("negative")),
            ("url", s("https://e.example/")),
        ]),
        raw(&[
            ("id", n("3000000000")),
            ("name", s("too big")),
            ("url", s("https://f.example/")),
        ]),
        raw(&[
            ("id", n("2.5")),
            ("name", s("fraction")),
            ("url", s("https://g.example/")),
        ]),
        // Shown as unknown: an undocumented state, healthy without a valid lastChecked.
        raw(&[
            ("id", n("10")),
            ("name", s("odd state")),
            ("url", s("https://h.example/")),
            ("state", s("degraded")),
            ("lastChecked", s(when)),
        ]),
        raw(&[
            ("id", n("11")),
            ("name", s("no time")),
            ("url", s("https://i.example/")),
            ("state", s("healthy")),
        ]),
        raw(&[
            ("id", n("12")),
            ("name", s("bad time")),
            ("url", s("https://j.example/")),
            ("state", s("error")),
            ("lastChecked", s("yesterday")),
        ]),
        // Shown as an error with the stock message.
        raw(&[
            ("id", n("13")),
            ("name", s("silent error")),
            ("url", s("https://k.example/")),
            ("state", s("error")),
            ("lastChecked", s(when)),
        ]),
    ] {
        world.put_raw(item).await;
    }

    let listed = world
        .store
        .list()
        .await
        .expect("a list despite malformed rows");
    let shown: Vec<(u32, &str)> = listed
        .iter()
        .map(|c| (c.id.get(), c.health.state().as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            (1, "unknown"),
            (10, "unknown"),
            (11, "unknown"),
            (12, "unknown"),
            (13, "error")
        ]
    );
    assert_eq!(
        listed[4].health,
        Health::Error {
            message: MISSING_ERROR_MESSAGE.into(),
            last_checked: Utc.with_ymd_and_hms(2025, 11, 5, 8, 30, 15).unwrap(),
        }
    );
    // A single read judges the row the same way.
    for skipped in [5, 6, 7, 8] {
        assert_eq!(
            world.store.get(id(skipped)).await.expect("get"),
            None,
            "{skipped}"
        );
    }
    let odd = world
        .store
        .get(id(10))
        .await
        .expect("get")
        .expect("row 10 is shown");
    assert_eq!(
        (odd.name.as_str(), odd.health),
        ("odd state", Health::Unknown)
    );
    assert_eq!(world.store.get(id(1)).await.expect("get"), Some(good));
}

async fn a_table_larger_than_one_megabyte_is_read_page_by_page(endpoint: String) {
    const ROWS: u32 = 1_500;
    let world = given_table(&endpoint).await;
    let at = Utc.with_ymd_and_hms(2025, 11, 5, 8, 30, 15).unwrap();
    let padding = "x".repeat(300);
    let items: Vec<Item> = (1..=ROWS)
        .map(|i| {
            let mut c = connector(
                i,
                Health::Error {
                    message: format!("connector {i} failed: {}", "e".repeat(400)),
                    last_checked: at,
                },
            );
            c.name = format!("connector-{i}-{padding}");
            c.url = format!("https://feeds-{i}.example/{padding}");
            item_from(&c, Some("nuget"))
        })
        .collect();
    world.batch_put(items).await;

    let (items, pages) = world.store.scan_items().await.expect("scan");
    assert_eq!(items.len(), ROWS as usize);
    assert!(pages > 1, "a table over 1 MB was read in {pages} page(s)");

    let listed = world.store.list().await.expect("list");
    let ids: Vec<u32> = listed.iter().map(|c| c.id.get()).collect();
    assert_eq!(ids, (1..=ROWS).collect::<Vec<_>>());
    assert!(listed[ROWS as usize - 1].name.ends_with(&padding));
}

async fn a_missing_table_is_a_dependency_error(endpoint: String) {
    let world = World::named(&endpoint).await; // the table is never created
    let err = world
        .store
        .list()
        .await
        .expect_err("listing a missing table");
    assert_eq!(err.service(), "DynamoDB");
    assert!(
        matches!(&err, DependencyError::Missing { resource, .. } if resource == &format!("table {}", world.table)),
        "{err:?}"
    );
    assert!(world.store.get(id(1)).await.is_err());
}

/// The two runs above really go to two different emulators: a table created through the
/// dynalite world exists there and not in moto.
#[tokio::test(flavor = "multi_thread")]
async fn the_dynalite_runs_really_reach_dynalite() {
    let Some(moto) = testkit::endpoint() else {
        return;
    };
    let Some(dynalite) = testkit::dynalite_endpoint() else {
        return;
    };
    assert_ne!(moto, dynalite);
    let world = given_table(&dynalite).await;
    let sdk = testkit::world::sdk_config().await;
    let tables = |endpoint: String| {
        let client = testkit::world::dynamodb_client(&sdk, &endpoint);
        async move {
            client
                .list_tables()
                .limit(100)
                .exclusive_start_table_name(world_prefix())
                .send()
                .await
                .expect("list tables")
                .table_names
                .unwrap_or_default()
        }
    };
    assert!(tables(dynalite).await.contains(&world.table));
    assert!(!tables(moto).await.contains(&world.table));
}

/// Table names sort after this, so a listing starting here is not cut short by tables
/// of other names.
fn world_prefix() -> &'static str {
    "connectors-"
}
