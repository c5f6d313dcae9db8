//! `chadmin` commands against the emulator: keys are stored only as digests and survive
//! concurrent writers, connectors are added and removed with the documented rules, and
//! errors are one line with a non-zero exit.

use shared::auth::{KeyDigest, KeyDocument};
use testkit::binaries::binary;
use testkit::world::World;

#[tokio::test]
async fn init_creates_an_empty_key_document_and_is_idempotent() {
    let Some(world) = World::init().await else {
        return;
    };
    let doc: KeyDocument = serde_json::from_str(&world.key_secret_text().await).unwrap();
    assert!(doc.keys.is_empty());
    world.create_key("kept", &[]).await;
    world.run(&["init"]).await.ok();
    let doc: KeyDocument = serde_json::from_str(&world.key_secret_text().await).unwrap();
    assert_eq!(doc.keys.len(), 1, "a second init keeps the existing secret");
}

#[tokio::test]
async fn keys_create_stores_only_the_digest_and_keys_list_never_prints_it() {
    let Some(world) = World::init().await else {
        return;
    };
    let key = world.create_key("ci", &["--expires", "2999-12-31"]).await;
    let digest = KeyDigest::of(&key).to_hex();
    let text = world.key_secret_text().await;
    assert!(!text.contains(&key), "the key itself is never stored");
    assert!(text.contains(&digest));
    let doc: KeyDocument = serde_json::from_str(&text).unwrap();
    assert_eq!(doc.keys.len(), 1);
    let entry = &doc.keys[0];
    assert_eq!(entry.name, "ci");
    assert_eq!(entry.key, None);
    assert_eq!(entry.grants, ["connector-health"]);
    assert_eq!(
        entry.expires.map(|e| e.to_rfc3339()),
        Some("2999-12-31T00:00:00+00:00".to_owned())
    );

    let listed = world.run(&["keys", "list"]).await.ok();
    assert!(!listed.stdout.contains(&key) && !listed.stderr.contains(&key));
    assert!(!listed.stdout.contains(&digest) && !listed.stderr.contains(&digest));
    let row = listed.stdout.lines().nth(1).expect("one key row");
    assert!(row.starts_with("ci ") && row.ends_with("active"), "{row}");
    assert!(row.contains("2999-12-31T00:00:00.000Z"), "{row}");
}

#[tokio::test]
async fn a_duplicate_name_is_refused_with_one_line_and_nothing_written() {
    let Some(world) = World::init().await else {
        return;
    };
    world.create_key("ci", &[]).await;
    let before = world.key_secret_text().await;
    let out = world.run(&["keys", "create", "--name", "ci"]).await;
    assert!(!out.success);
    assert!(out.stdout.is_empty(), "no key printed: {:?}", out.stdout);
    assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: an API key named \"ci\" already exists"),
        "{}",
        out.stderr
    );
    assert_eq!(world.key_secret_text().await, before);
    let past = world
        .run(&["keys", "create", "--name", "old", "--expires", "2001-01-01"])
        .await;
    assert!(
        !past.success && past.stderr.contains("in the past"),
        "{}",
        past.stderr
    );
    assert_eq!(world.key_secret_text().await, before);
}

#[tokio::test]
async fn concurrent_key_creation_loses_no_key() {
    let Some(world) = World::init().await else {
        return;
    };
    let names: Vec<String> = (0..5).map(|i| format!("parallel-{i}")).collect();
    let runs = names.iter().map(|name| {
        let world = world.clone();
        let name = name.clone();
        async move { world.create_key(&name, &[]).await }
    });
    let keys = futures_join_all(runs).await;
    let doc: KeyDocument = serde_json::from_str(&world.key_secret_text().await).unwrap();
    let mut stored: Vec<&str> = doc.keys.iter().map(|k| k.name.as_str()).collect();
    stored.sort_unstable();
    assert_eq!(stored, names.iter().map(String::as_str).collect::<Vec<_>>());
    for (key, name) in keys.iter().zip(&names) {
        let entry = doc.keys.iter().find(|k| &k.name == name).unwrap();
        assert_eq!(
            entry.sha256.as_deref(),
            Some(KeyDigest::of(key).to_hex().as_str())
        );
    }
}

/// Runs the futures concurrently on this task (no extra dependency needed).
async fn futures_join_all<F: std::future::Future<Output = String> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<String> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn revoke_removes_a_key_and_an_unknown_name_is_an_error() {
    let Some(world) = World::init().await else {
        return;
    };
    world.create_key("a", &[]).await;
    world.create_key("b", &[]).await;
    world.run(&["keys", "revoke", "a"]).await.ok();
    let doc: KeyDocument = serde_json::from_str(&world.key_secret_text().await).unwrap();
    assert_eq!(
        doc.keys.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    let out = world.run(&["keys", "revoke", "a"]).await;
    assert!(!out.success);
    assert_eq!(out.stderr.trim(), "error: no API key named \"a\"");
}

#[tokio::test]
async fn connectors_get_the_next_free_id_and_taken_ids_or_names_are_refused() {
    let Some(world) = World::init().await else {
        return;
    };
    let add = |args: &'static [&'static str]| {
        let world = world.clone();
        async move {
            let mut all = vec!["connectors", "add"];
            all.extend_from_slice(args);
            world.run(&all).await
        }
    };
    let first = add(&[
        "--name",
        "npmjs.org",
        "--url",
        "https://registry.npmjs.org",
        "--feed-type",
        "npm",
    ])
    .await
    .ok();
    assert_eq!(first.stdout.trim(), "1");
    let tenth = add(&[
        "--id",
        "10",
        "--name",
        "pypi.org",
        "--url",
        "https://pypi.org/simple",
    ])
    .await
    .ok();
    assert_eq!(tenth.stdout.trim(), "10");
    let next = add(&["--name", "rubygems.org", "--url", "https://rubygems.org"])
        .await
        .ok();
    assert_eq!(next.stdout.trim(), "11");

    let taken = add(&[
        "--id",
        "10",
        "--name",
        "other",
        "--url",
        "https://other.example",
    ])
    .await;
    assert!(!taken.success);
    assert_eq!(
        taken.stderr.trim(),
        "error: a connector with id 10 already exists"
    );
    let same_name = add(&["--name", "npmjs.org", "--url", "https://registry.npmjs.org"]).await;
    assert!(!same_name.success);
    assert_eq!(
        same_name.stderr.trim(),
        "error: a connector named \"npmjs.org\" already exists"
    );
    let bad_url = add(&["--name", "x", "--url", "registry.example"]).await;
    assert!(
        !bad_url.success && bad_url.stderr.lines().count() == 1,
        "{}",
        bad_url.stderr
    );

    let listed = world.run(&["connectors", "list", "--json"]).await.ok();
    let rows: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let summary: Vec<(u64, &str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().unwrap(),
                r["state"].as_str().unwrap(),
                r["feedType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "unknown", "npm"),
            (10, "unknown", "generic"),
            (11, "unknown", "generic")
        ]
    );
    let table = world.run(&["connectors", "list"]).await.ok();
    assert_eq!(table.stdout.lines().count(), 4);
    assert!(table
        .stdout
        .lines()
        .nth(2)
        .unwrap()
        .starts_with("10  pypi.org"));

    world.run(&["connectors", "remove", "10"]).await.ok();
    let again = world.run(&["connectors", "remove", "10"]).await;
    assert!(!again.success);
    assert_eq!(again.stderr.trim(), "error: no connector with id 10");
    let listed = world.run(&["connectors", "list", "--json"]).await.ok();
    let rows: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_missing_table_setting_is_one_clear_line_and_a_non_zero_exit() {
    if testkit::endpoint().is_none() {
        return;
    }
    let out = tokio::process::Command::new(binary("chadmin"))
        .args(["connectors", "list"])
        .env_remove("CONNECTORS_TABLE")
        .env_remove("API_KEYS_SECRET_ID")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        "error: no connector table given: pass --table or --stack, or set CONNECTORS_TABLE"
    );
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn the_endpoint_flag_wins_over_the_environment() {
    let Some(world) = World::init().await else {
        return;
    };
    let run = |args: Vec<String>| {
        let world = world.clone();
        async move {
            tokio::process::Command::new(binary("chadmin"))
                .args(&args)
                // Nothing listens on port 1: only the flag can make this work.
                .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
                .env("CONNECTORS_TABLE", &world.table)
                .env("API_KEYS_SECRET_ID", &world.secret_id)
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_REGION", "us-east-1")
                .kill_on_drop(true)
                .output()
                .await
                .unwrap()
        }
    };
    let with_flag = run(vec![
        "--endpoint-url".into(),
        world.endpoint.clone(),
        "connectors".into(),
        "list".into(),
    ])
    .await;
    assert!(
        with_flag.status.success(),
        "{}",
        String::from_utf8_lossy(&with_flag.stderr)
    );
    let without = run(vec!["connectors".into(), "list".into()]).await;
    assert!(!without.status.success());
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: DynamoDB request failed: "),
        "{stderr}"
    );
}
