//! The operator's catalog of connectors against moto (the catalog's writes are DynamoDB
//! transactions, which dynalite does not implement): ids are never reused, names stay
//! unique under concurrent writers, the table's bookkeeping items are never seen by a
//! reader, tables written before all this keep working, and a probe result only lands on
//! the connector it probed.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{TimeZone, Utc};
use shared::adapters::dynamodb::attr;
use shared::adapters::dynamodb::bookkeeping::reservation_key;
use shared::domain::{Connector, ConnectorId, ConnectorSettings, Diagnostics, Health};
use shared::ports::{
    CatalogError, ConnectorCatalog, ConnectorReader, ProbeResultWriter, ProbeTargetReader,
    WriteOutcome,
};
use shared::probe::outcome::{Observation, ProbeOutcome, ProbeRecord};
use testkit::world::{connector, World};

fn id(v: u32) -> ConnectorId {
    ConnectorId::new(v).expect("positive id")
}

fn settings(name: &str) -> ConnectorSettings {
    ConnectorSettings {
        name: name.to_owned(),
        url: format!("https://{name}.example/"),
        feed_type: Some("npm".to_owned()),
        ..ConnectorSettings::default()
    }
}

fn unknown(s: &ConnectorSettings) -> Connector {
    Connector {
        id: id(1),
        name: s.name.clone(),
        url: s.url.clone(),
        health: Health::Unknown,
        diagnostics: Diagnostics::default(),
    }
}

/// A table of its own on moto, created the way `chadmin init` creates it.
async fn given_table() -> Option<World> {
    let world = World::named(&testkit::endpoint()?).await;
    world.store.create_table().await.expect("create table");
    Some(world)
}

async fn insert(world: &World, name: &str, at: Option<u32>) -> Result<ConnectorId, CatalogError> {
    let s = settings(name);
    world.store.insert(&unknown(&s), &s, at.map(id)).await
}

async fn add(world: &World, name: &str) -> String {
    let url = format!("https://{name}.example/");
    let out = world
        .run(&["connectors", "add", "--name", name, "--url", &url])
        .await
        .ok();
    out.stdout.trim().to_owned()
}

/// Every item of the table, bookkeeping included (a plain Scan, no filter).
async fn raw_ids(world: &World) -> Vec<i64> {
    let out = world
        .dynamodb()
        .scan()
        .table_name(&world.table)
        .consistent_read(true)
        .send()
        .await
        .expect("scan");
    let mut ids: Vec<i64> = out
        .items()
        .iter()
        .filter_map(|i| match i.get(attr::ID) {
            Some(AttributeValue::N(n)) => n.parse().ok(),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    ids
}

fn names(catalog: &shared::domain::Catalog) -> Vec<(u32, String)> {
    catalog
        .rows
        .iter()
        .map(|r| (r.connector.id.get(), r.settings.name.clone()))
        .collect()
}

#[tokio::test]
async fn a_removed_connectors_id_is_never_given_to_a_new_one() {
    let Some(world) = World::init().await else {
        return;
    };
    assert_eq!(add(&world, "a").await, "1");
    assert_eq!(add(&world, "b").await, "2");
    world.run(&["connectors", "remove", "2"]).await.ok();
    assert_eq!(add(&world, "c").await, "3", "id 2 was used before");
    world.run(&["connectors", "remove", "3"]).await.ok();
    world.run(&["connectors", "remove", "1"]).await.ok();
    assert_eq!(add(&world, "d").await, "4", "even in an emptied table");
    // A name a removed connector had is free again.
    assert_eq!(add(&world, "b").await, "5");
}

#[tokio::test(flavor = "multi_thread")]
async fn of_many_concurrent_inserts_with_one_name_exactly_one_succeeds() {
    let Some(world) = given_table().await else {
        return;
    };
    // The counter is at 1000: the ids given below it are never handed out meanwhile.
    insert(&world, "first", Some(1000)).await.expect("insert");
    // Half take the next id, half name one of their own.
    let tasks: Vec<_> = (0..16u32)
        .map(|i| {
            let world = world.clone();
            tokio::spawn(async move {
                let at = (i % 2 == 1).then_some(100 + i);
                insert(&world, "same", at).await
            })
        })
        .collect();
    let mut won = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            Ok(id) => won.push(id),
            Err(CatalogError::NameTaken(name)) => assert_eq!(name, "same"),
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one insert takes the name: {won:?}");
    let catalog = world.store.catalog().await.expect("catalog");
    let mut expected = vec![
        (1000, "first".to_owned()),
        (won[0].get(), "same".to_owned()),
    ];
    expected.sort();
    assert_eq!(names(&catalog), expected);
    assert!(catalog.skipped.is_empty(), "{:?}", catalog.skipped);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rename_racing_an_insert_for_one_name_leaves_one_holder() {
    let Some(world) = given_table().await else {
        return;
    };
    for round in 0..6 {
        let name = format!("wanted-{round}");
        let old = insert(&world, &format!("old-{round}"), None).await.unwrap();
        let rename = [(old, settings(&name))];
        let (renamed, inserted) = tokio::join!(
            world.store.update_settings(&rename),
            insert(&world, &name, None),
        );
        assert!(
            renamed.is_ok() != inserted.is_ok(),
            "exactly one may take {name}: {renamed:?} {inserted:?}"
        );
        let holders = world
            .store
            .catalog()
            .await
            .unwrap()
            .rows
            .iter()
            .filter(|r| r.settings.name == name)
            .count();
        assert_eq!(holders, 1);
    }
}

#[tokio::test]
async fn after_a_remove_a_new_id_is_greater_than_every_id_ever_used() {
    let Some(world) = given_table().await else {
        return;
    };
    let a = insert(&world, "a", None).await.unwrap();
    let high = insert(&world, "high", Some(40)).await.unwrap();
    assert_eq!((a.get(), high.get()), (1, 40));
    assert_eq!(
        insert(&world, "other", Some(40)).await,
        Err(CatalogError::IdTaken(high))
    );
    assert!(world.store.remove(high).await.unwrap());
    assert!(!world.store.remove(high).await.unwrap(), "removed already");
    let next = insert(&world, "next", None).await.unwrap();
    assert_eq!(next.get(), 41, "greater than the removed 40");
    // The name the removed connector had is free; its id is not handed out again.
    assert_eq!(insert(&world, "high", None).await.unwrap().get(), 42);
}

#[tokio::test]
async fn bookkeeping_items_are_never_listed_probed_or_reported_as_malformed() {
    let Some(world) = given_table().await else {
        return;
    };
    for name in ["a", "b", "c"] {
        insert(&world, name, None).await.unwrap();
    }
    world
        .store
        .update_settings(&[(id(2), settings("b2"))])
        .await
        .unwrap();
    let raw = raw_ids(&world).await;
    assert!(raw.contains(&0), "the counter is in the table: {raw:?}");
    assert_eq!(raw.iter().filter(|i| **i < 0).count(), 3, "one per name");
    let listed: Vec<u32> = world
        .store
        .list()
        .await
        .unwrap()
        .iter()
        .map(|c| c.id.get())
        .collect();
    assert_eq!(listed, [1, 2, 3]);
    assert_eq!(world.store.targets().await.unwrap().len(), 3);
    let catalog = world.store.catalog().await.unwrap();
    assert_eq!(catalog.rows.len(), 3);
    assert!(catalog.skipped.is_empty(), "{:?}", catalog.skipped);
}

#[tokio::test]
async fn connectors_exchange_names_in_one_change_and_a_failed_change_writes_nothing() {
    let Some(world) = given_table().await else {
        return;
    };
    for name in ["a", "b", "c"] {
        insert(&world, name, None).await.unwrap();
    }
    world
        .store
        .update_settings(&[(id(1), settings("b")), (id(2), settings("a"))])
        .await
        .expect("a swap");
    let refused = world
        .store
        .update_settings(&[(id(1), settings("x")), (id(2), settings("c"))])
        .await;
    assert_eq!(refused, Err(CatalogError::NameTaken("c".into())));
    let missing = world
        .store
        .update_settings(&[(id(1), settings("y")), (id(9), settings("z"))])
        .await;
    assert_eq!(missing, Err(CatalogError::NotFound(id(9))));
    let catalog = world.store.catalog().await.unwrap();
    assert_eq!(
        names(&catalog),
        [
            (1, "b".to_owned()),
            (2, "a".to_owned()),
            (3, "c".to_owned())
        ]
    );
    // The names given up by the swap and the refused change are where they belong.
    assert!(matches!(
        insert(&world, "a", None).await,
        Err(CatalogError::NameTaken(_))
    ));
    assert!(insert(&world, "x", None).await.is_ok());
}

#[tokio::test]
async fn a_table_written_before_counters_and_reservations_keeps_working() {
    let Some(world) = given_table().await else {
        return;
    };
    // Rows as an earlier version wrote them: no counter, no reservations, no generation.
    world
        .seed(&[connector(3, Health::Unknown), connector(7, Health::Unknown)])
        .await;
    let before = world.store.target(id(7)).await.unwrap().expect("row 7");
    assert_eq!(before.generation, None);
    // The names the rows hold are taken; the next id is above the largest.
    assert_eq!(
        insert(&world, "connector-7", None).await,
        Err(CatalogError::NameTaken("connector-7".into()))
    );
    assert_eq!(insert(&world, "new", None).await.unwrap().get(), 8);
    // A result for an old row is written as before...
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let ok = ProbeOutcome::healthy(Observation::default());
    let record = ProbeRecord::for_target(&before, &ok, at);
    assert_eq!(
        world.store.write(&record).await.unwrap(),
        WriteOutcome::Written
    );
    // ...until the row is changed: then the old target's results are not.
    world
        .store
        .update_settings(&[(id(7), settings("connector-7"))])
        .await
        .unwrap();
    let later = ProbeRecord::for_target(&before, &ok, at + chrono::Duration::minutes(1));
    assert_eq!(
        world.store.write(&later).await.unwrap(),
        WriteOutcome::Superseded
    );
    // A rename gives up the old row's name.
    world
        .store
        .update_settings(&[(id(3), settings("renamed"))])
        .await
        .unwrap();
    assert!(insert(&world, "connector-3", None).await.is_ok());
}

#[tokio::test]
async fn removing_the_largest_id_first_in_an_old_table_does_not_free_it() {
    let Some(world) = given_table().await else {
        return;
    };
    world
        .seed(&[connector(1, Health::Unknown), connector(2, Health::Unknown)])
        .await;
    assert!(world.store.remove(id(2)).await.unwrap());
    assert_eq!(insert(&world, "new", None).await.unwrap().get(), 3);
}

#[tokio::test]
async fn a_reservation_left_by_a_row_removed_by_hand_does_not_block_its_name() {
    let Some(world) = given_table().await else {
        return;
    };
    let gone = insert(&world, "gone", None).await.unwrap();
    // Removed around the tools (e.g. in the console): its reservation stays behind.
    world.store.delete(gone).await.unwrap();
    let again = insert(&world, "gone", None)
        .await
        .expect("the name is free");
    assert!(again > gone);
    assert_eq!(
        insert(&world, "gone", None).await,
        Err(CatalogError::NameTaken("gone".into()))
    );
}

#[tokio::test]
async fn a_name_whose_reservation_another_name_holds_is_refused_as_such() {
    let Some(world) = given_table().await else {
        return;
    };
    let holder = insert(&world, "holder", None).await.unwrap();
    // What two names with the same hash would look like: "wanted"'s slot holds "holder".
    let mut item = std::collections::HashMap::new();
    item.insert(attr::ID.to_owned(), reservation_key("wanted"));
    item.insert(attr::NAME.to_owned(), AttributeValue::S("holder".into()));
    item.insert(
        attr::OWNER.to_owned(),
        AttributeValue::N(holder.to_string()),
    );
    world.put_raw(item).await;
    let refused = insert(&world, "wanted", None).await.unwrap_err();
    assert_eq!(
        refused,
        CatalogError::NameUnavailable {
            name: "wanted".into(),
            holder: "holder".into()
        }
    );
    assert!(
        refused.to_string().contains("choose another name"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_probe_result_for_a_connector_changed_meanwhile_is_superseded() {
    let Some(world) = given_table().await else {
        return;
    };
    let s = settings("npm");
    let c = insert(&world, "npm", None).await.expect("insert");
    // A probe run reads its target...
    let target = world.store.target(c).await.expect("read").expect("row");
    assert!(target.generation.is_some());
    // ...the operator points the connector elsewhere...
    let moved = ConnectorSettings {
        url: "https://mirror.example/".to_owned(),
        ..s.clone()
    };
    world
        .store
        .update_settings(&[(c, moved)])
        .await
        .expect("update");
    // ...and the result for the old URL arrives.
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let ok = ProbeOutcome::healthy(Observation::default());
    let record = ProbeRecord::for_target(&target, &ok, at);
    assert_eq!(
        world.store.write(&record).await.expect("write"),
        WriteOutcome::Superseded
    );
    let row = world.store.get(c).await.expect("get").expect("row");
    assert_eq!(row.health, Health::Unknown, "nothing written");
    // A probe of the connector as it is now is written.
    let now = world.store.target(c).await.expect("read").expect("row");
    let record = ProbeRecord::for_target(&now, &ok, at);
    assert_eq!(
        world.store.write(&record).await.expect("write"),
        WriteOutcome::Written
    );
}

#[tokio::test]
async fn import_swaps_names_and_adds_under_new_ids() {
    let Some(world) = World::init().await else {
        return;
    };
    for name in ["a", "b", "gone"] {
        add(&world, name).await;
    }
    world.run(&["connectors", "remove", "3"]).await.ok();
    let file = std::env::temp_dir().join(format!("{}.json", testkit::world::unique_name("swap")));
    std::fs::write(
        &file,
        r#"{"connectors": [
            {"id": 1, "name": "b", "url": "https://b.example/"},
            {"id": 2, "name": "a", "url": "https://a.example/"},
            {"name": "c", "url": "https://c.example/"}
        ]}"#,
    )
    .unwrap();
    let out = world
        .run(&["connectors", "import", file.to_str().unwrap()])
        .await
        .ok();
    assert_eq!(out.stdout.trim(), "added=1 updated=2 unchanged=0");
    let catalog = world.store.catalog().await.unwrap();
    assert_eq!(
        names(&catalog),
        [
            (1, "b".to_owned()),
            (2, "a".to_owned()),
            (4, "c".to_owned())
        ],
        "the new connector gets an id never used (3 was)"
    );
    let _ = std::fs::remove_file(file);
}
