//! The operator commands against the emulator: connectors update / export / import,
//! `probe --local` against registries on 127.0.0.1, `health` exit statuses against
//! `chadmin serve`, and the one-line errors.

use shared::adapters::dynamodb::history::DynamoHistoryStore;
use shared::domain::{Connector, ConnectorId, Diagnostics, Health, State};
use shared::ports::HistoryReader;
use std::path::PathBuf;
use testkit::registry::FakeRegistry;
use testkit::world::World;

/// Exit status, stdout and stderr of `chadmin ARGS` against `world`, with `vars` set.
async fn chadmin(world: &World, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let out = world.run_with(args, vars).await;
    (out.code, out.stdout, out.stderr)
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chadmin-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

async fn export(world: &World) -> serde_json::Value {
    let (code, out, err) = chadmin(world, &["connectors", "export"], &[]).await;
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("export prints JSON")
}

const YAML: &str = "\
connectors:
  - name: npmjs.org
    url: https://registry.npmjs.org
    feedType: npm
  - name: PyPI
    url: https://pypi.org/simple/
    feedType: PyPI
    probeTimeoutSeconds: 5
    probePackage: six
  - id: 40
    name: nuget.org
    url: https://api.nuget.org/v3/index.json
    feedType: nuget
";

#[tokio::test]
async fn import_is_idempotent_and_reports_what_it_did() {
    let Some(world) = World::init().await else {
        return;
    };
    let file = temp_file("connectors.yaml", YAML);
    let path = file.to_str().unwrap();

    let (code, out, err) = chadmin(&world, &["connectors", "import", path], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "added=3 updated=0 unchanged=0");
    let first = export(&world).await;
    let list = first["connectors"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    let named = |n: &str| {
        list.iter()
            .find(|c| c["name"] == n)
            .expect("imported")
            .clone()
    };
    assert_eq!(named("nuget.org")["id"], 40, "an id in the file is kept");
    assert_eq!(
        named("npmjs.org")["id"],
        41,
        "the others get the next free ids"
    );
    let pypi = named("PyPI");
    assert_eq!(
        pypi["feedType"], "pypi",
        "stored spelt as the CLI spells it"
    );
    assert_eq!(pypi["probeTimeoutSeconds"], 5);
    assert_eq!(pypi["probePackage"], "six");

    let (code, out, err) = chadmin(&world, &["connectors", "import", path], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "added=0 updated=0 unchanged=3");
    assert_eq!(export(&world).await, first, "the table is unchanged");

    // One changed entry is one update.
    let changed = temp_file(
        "c.yaml",
        &YAML.replace("probeTimeoutSeconds: 5", "probeTimeoutSeconds: 9"),
    );
    let (code, out, _) = chadmin(
        &world,
        &["connectors", "import", changed.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "added=0 updated=1 unchanged=2");
    let after = export(&world).await;
    let list = after["connectors"].as_array().unwrap();
    let pypi = list.iter().find(|c| c["name"] == "PyPI").unwrap();
    assert_eq!(pypi["probeTimeoutSeconds"], 9);
}

#[tokio::test]
async fn a_bad_file_is_one_error_line_and_writes_nothing() {
    let Some(world) = World::init().await else {
        return;
    };
    let bad_entry = temp_file(
        "c.yaml",
        &format!("{YAML}  - name: broken\n    url: ftp://example.org\n"),
    );
    let wrong_shape = temp_file("c.json", r#"[{"name": "x", "url": "https://x"}]"#);
    let unknown_field = temp_file(
        "c.json",
        r#"{"connectors": [{"name": "x", "url": "https://x", "state": "healthy"}]}"#,
    );
    for (file, says) in [
        (&bad_entry, "connector #4 (\"broken\")"),
        (&wrong_shape, "is not a connector file"),
        (&unknown_field, "unknown field `state`"),
    ] {
        let (code, out, err) = chadmin(
            &world,
            &["connectors", "import", file.to_str().unwrap()],
            &[],
        )
        .await;
        assert_eq!(code, 1, "{err}");
        assert!(out.is_empty(), "{out}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: ") && err.contains(says), "{err}");
    }
    assert_eq!(export(&world).await["connectors"], serde_json::json!([]));
}

#[tokio::test]
async fn export_then_import_elsewhere_gives_the_same_configuration() {
    let Some(a) = World::init().await else {
        return;
    };
    let b = World::init().await.expect("the emulators are there");
    let file = temp_file("connectors.yaml", YAML);
    chadmin(&a, &["connectors", "import", file.to_str().unwrap()], &[]).await;
    let (code, exported, _) = chadmin(&a, &["connectors", "export"], &[]).await;
    assert_eq!(code, 0);
    assert!(
        !exported.contains("\"state\""),
        "configuration only: {exported}"
    );
    let json = temp_file("export.json", &exported);
    let (code, out, err) =
        chadmin(&b, &["connectors", "import", json.to_str().unwrap()], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "added=3 updated=0 unchanged=0");
    assert_eq!(export(&b).await, export(&a).await);
}

#[tokio::test]
async fn update_changes_only_what_is_given_and_needs_an_existing_connector() {
    let Some(world) = World::init().await else {
        return;
    };
    let (code, out, err) = chadmin(
        &world,
        &[
            "connectors",
            "add",
            "--name",
            "pypi",
            "--url",
            "https://pypi.org/simple/",
            "--feed-type",
            "pypi",
            "--timeout",
            "4",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let id = out.trim().to_owned();
    let (code, _, err) = chadmin(
        &world,
        &[
            "connectors",
            "update",
            &id,
            "--url",
            "https://mirror.example/simple/",
            "--package",
            "requests",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let c = &export(&world).await["connectors"][0];
    assert_eq!(c["name"], "pypi");
    assert_eq!(c["url"], "https://mirror.example/simple/");
    assert_eq!(c["probeTimeoutSeconds"], 4);
    assert_eq!(c["probePackage"], "requests");

    let (code, _, _) = chadmin(
        &world,
        &["connectors", "update", &id, "--clear-timeout"],
        &[],
    )
    .await;
    assert_eq!(code, 0);
    assert!(export(&world).await["connectors"][0]
        .get("probeTimeoutSeconds")
        .is_none());

    let (code, _, err) =
        chadmin(&world, &["connectors", "update", "999", "--name", "x"], &[]).await;
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "error: no connector with id 999");
    let (code, _, err) =
        chadmin(&world, &["connectors", "update", &id, "--url", "nope"], &[]).await;
    assert_eq!(code, 1);
    assert!(err.contains("url must start with http"), "{err}");
    let rows = export(&world).await["connectors"].as_array().unwrap().len();
    assert_eq!(rows, 1, "update never adds a row");
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_local_runs_the_prober_and_prints_the_results() {
    let Some(world) = World::init().await else {
        return;
    };
    let (up, down) = (
        FakeRegistry::answering("200 OK").await,
        FakeRegistry::answering("500 Internal Server Error").await,
    );
    for (name, registry) in [("up", &up), ("down", &down)] {
        let url = registry.url("/");
        let (code, _, err) = chadmin(
            &world,
            &["connectors", "add", "--name", name, "--url", &url],
            &[],
        )
        .await;
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, err) = chadmin(&world, &["probe", "--local"], &[("PROBE_RETRIES", "0")]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("probed 2 connectors: 1 healthy, 1 error"),
        "{err}"
    );
    let up_row = out
        .lines()
        .find(|l| l.contains(" up "))
        .expect("row for up");
    let down_row = out
        .lines()
        .find(|l| l.contains(" down "))
        .expect("row for down");
    assert!(up_row.contains("healthy"), "{out}");
    assert!(
        down_row.contains("error") && down_row.contains("HTTP 500"),
        "{out}"
    );
    // Each result went into its connector's history too.
    let history =
        DynamoHistoryStore::new(world.dynamodb().clone(), format!("{}-history", world.table));
    let today = chrono::Utc::now().date_naive();
    for (id, state) in [(1, State::Healthy), (2, State::Error)] {
        let id = ConnectorId::new(id).unwrap();
        let days = history
            .days(id, today - chrono::Duration::days(1), today)
            .await
            .expect("the history table is read");
        let summary = shared::history::summarize(&days, chrono::Utc::now());
        assert_eq!(summary.recent.len(), 1, "{id}: {summary:?}");
        assert_eq!(summary.recent[0].state, state, "{id}");
    }

    // One connector: the event names it and only it is printed.
    let (code, out, err) = chadmin(&world, &["probe", "--id", "1", "--json"], &[]).await;
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["total"], 1);
    let (code, _, err) = chadmin(&world, &["probe", "--local", "--id", "77"], &[]).await;
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "error: no connector with id 77");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_exit_status_says_whether_every_connector_is_healthy() {
    let Some(world) = World::init().await else {
        return;
    };
    let key = world.create_key("monitor", &[]).await;
    let server = world.serve().await;
    let store = &world.store;
    let at = chrono::Utc::now();
    let connector = |id: u32, health: Health| Connector {
        id: ConnectorId::new(id).unwrap(),
        name: format!("c{id}"),
        url: format!("https://c{id}.example/"),
        health,
        diagnostics: Diagnostics::default(),
    };
    store
        .put(
            &connector(1, Health::Healthy { last_checked: at }),
            Some("npm"),
        )
        .await
        .unwrap();
    store
        .put(
            &connector(
                2,
                Health::Error {
                    message: "HTTP 500.".into(),
                    last_checked: at,
                },
            ),
            Some("npm"),
        )
        .await
        .unwrap();
    let base_owned = server.base.clone();
    let base = base_owned.as_str();
    let health = |args: &'static [&'static str], key: String| {
        let world = world.clone();
        let base = base.to_owned();
        async move {
            let mut all = vec!["health", "--url", base.as_str()];
            all.extend_from_slice(args);
            chadmin(&world, &all, &[("CONNECTOR_HEALTH_API_KEY", key.as_str())]).await
        }
    };

    let (code, out, _) = health(&[], key.clone()).await;
    assert_eq!(code, 1, "one connector is in error: {out}");
    assert!(
        out.starts_with("ID  NAME") && !out.contains('\x1b'),
        "plain when piped: {out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("2 ") && l.contains("error")),
        "{out}"
    );

    let (code, out, _) = health(&["--id", "1"], key.clone()).await;
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = health(&["--id", "2", "--json"], key.clone()).await;
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["state"], "error");
    assert_eq!(json["errorMessage"], "HTTP 500.");

    let (code, _, err) = health(&["--id", "9"], key.clone()).await;
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = health(&[], "wrong-key".to_owned()).await;
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("refused the key (403)"), "{err}");
    let (code, _, err) = chadmin(&world, &["health", "--url", base], &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains("no API key given"), "{err}");
    drop(server);
    let (code, _, err) = health(&[], key).await;
    assert_eq!(code, 2, "the API is down: {err}");
}

#[tokio::test]
async fn an_unknown_table_is_named_in_one_line() {
    let Some(world) = World::init().await else {
        return;
    };
    let (code, out, err) = chadmin(
        &world,
        &["--table", "no-such-table", "connectors", "list"],
        &[],
    )
    .await;
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(
        err.trim(),
        "error: table no-such-table does not exist in region us-east-1"
    );
}

#[tokio::test]
async fn stack_outputs_name_the_table_and_the_secret() {
    // Given a CloudFormation stack whose outputs name this world's table and secret
    let Some(world) = World::init().await else {
        return;
    };
    let aws = testkit::world::sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(&aws)
            .endpoint_url(&world.endpoint)
            .build(),
    );
    let stack = format!("chadmin-stack-{}", uuid::Uuid::new_v4().simple());
    let template = serde_json::json!({
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": &stack}}},
        "Outputs": {
            "TableName": {"Value": &world.table},
            "KeySecretArn": {"Value": &world.secret_id},
            "ApiUrl": {"Value": "http://127.0.0.1:9"},
            "ProbeFunctionName": {"Value": "probe"},
        }
    });
    cfn.create_stack()
        .stack_name(&stack)
        .template_body(template.to_string())
        .send()
        .await
        .expect("create stack");

    // When chadmin is given only --stack (no table or secret in the environment)
    let only_stack = |args: &'static [&'static str]| {
        let world = world.clone();
        let stack = stack.clone();
        async move {
            let mut full = vec!["--stack", stack.as_str()];
            full.extend_from_slice(args);
            chadmin(
                &world,
                &full,
                &[("CONNECTORS_TABLE", ""), ("API_KEYS_SECRET_ID", "")],
            )
            .await
        }
    };
    let (code, out, err) = only_stack(&[
        "connectors",
        "add",
        "--name",
        "npmjs.org",
        "--url",
        "https://registry.npmjs.org",
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "1");
    let (code, out, err) = only_stack(&["keys", "create", "--name", "from-stack"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim().len(), 64);

    // Then both landed in the stack's table and secret
    let (code, listed, err) = chadmin(&world, &["connectors", "list", "--json"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(listed.contains("npmjs.org"), "{listed}");
    let (code, keys, err) = chadmin(&world, &["keys", "list"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(keys.contains("from-stack"), "{keys}");

    // And an unknown stack is one clear line
    let (code, _, err) = chadmin(
        &world,
        &["--stack", "no-such-stack", "connectors", "list"],
        &[],
    )
    .await;
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no-such-stack"), "{err}");
}
