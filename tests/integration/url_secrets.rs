//! A token in a connector URL (as its user name, with a password, or in the query string)
//! never leaves the table: not through the real API binaries (list and single), not in the
//! log of a real probe run, which still logs in with it, and not through `chadmin`.

use base64::Engine as _;
use chrono::{TimeZone, Utc};
use serde_json::Value;
use shared::adapters::dynamodb::schema::item_from;
use shared::domain::Health;
use shared::ports::ConnectorReader;
use testkit::binaries::binary;
use testkit::fixtures::{event, scheduled_event, Payload};
use testkit::registry::{reply, status, FakeRegistry, Request};
use testkit::runtime_api::{Function, ProxyResponse};
use testkit::world::{connector, fresh_key, key_document, World};

/// Secrets long and odd enough that nothing else in an answer or a log contains them.
const USER_TOKEN: &str = "uT0kenQx7Zr2Wp9Lm4";
const PASSWORD: &str = "pW0rdKv3Nq8Ys1Hd6";
const QUERY_TOKEN: &str = "qT0kenBn5Jc7Xe2Gf3";

/// Every secret a test URL carries, as written and percent-decoded alike.
const SECRETS: [&str; 3] = [USER_TOKEN, PASSWORD, QUERY_TOKEN];

fn assert_shows_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

/// The URLs of the tests, on `base` (`http://127.0.0.1:PORT`): a token as the user name, a
/// user name and password, and a token in the query string.
fn urls(base: &str) -> [String; 3] {
    let (scheme, authority) = base.split_once("://").expect("an absolute URL");
    [
        format!("{scheme}://{USER_TOKEN}@{authority}/npm/"),
        format!("{scheme}://ci:{PASSWORD}@{authority}/npm/"),
        format!("{base}/npm/?access_token={QUERY_TOKEN}&page=2"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_binaries_never_show_a_token_in_a_url() {
    // Given three connectors whose URLs carry a token, each its own way ...
    let Some(endpoint) = testkit::endpoint() else {
        return;
    };
    let key = fresh_key();
    let world = World::create(&endpoint, &key_document(&[("e2e", &key)])).await;
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let urls = urls("https://feed.example");
    for (i, url) in urls.iter().enumerate() {
        let mut c = connector(
            u32::try_from(i + 1).unwrap(),
            Health::Healthy { last_checked: at },
        );
        c.url.clone_from(url);
        world.seed(&[c]).await;
    }
    let shown = [
        "https://feed.example/npm/",
        "https://feed.example/npm/",
        "https://feed.example/npm/?access_token=***&page=2",
    ];
    let vars = [
        ("AWS_ENDPOINT_URL", world.endpoint.as_str()),
        ("CONNECTORS_TABLE", world.table.as_str()),
        ("API_KEYS_SECRET_ID", world.secret_id.as_str()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
    ];

    // When the list is read through the real binary ...
    let list = Function::start(&binary("list-connectors"), &vars).await;
    let r = ProxyResponse::parse(
        list.invoke(&event(Payload::V2, "list", &key, ""))
            .await
            .response(),
    );
    // ... then every URL is shown without its secret, and the rest of it is kept.
    assert_eq!(r.status, 200, "{}", r.raw);
    let body = r.body.clone().unwrap_or_default();
    assert_shows_no_secret("the list", &body);
    let got: Vec<Value> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["url"].clone())
        .collect();
    assert_eq!(got, shown.map(Value::from));
    assert_shows_no_secret("list-connectors' log", &list.output());

    // And so does one connector through the real binary.
    let get = Function::start(&binary("get-connector"), &vars).await;
    for (i, expected) in shown.iter().enumerate() {
        let r = ProxyResponse::parse(
            get.invoke(&event(Payload::V2, "get", &key, &(i + 1).to_string()))
                .await
                .response(),
        );
        assert_eq!(r.status, 200, "{}", r.raw);
        assert_shows_no_secret("a connector", r.body.as_deref().unwrap_or(""));
        assert_eq!(r.json()["url"], *expected);
    }
    assert_shows_no_secret("get-connector's log", &get.output());
}

/// Answers `/npm/-/ping` (npm) and `/npm/` (generic) only to the credentials the
/// connectors' URLs carry (Basic from their user-info, or their query string), 401 otherwise.
fn private_npm(request: &Request) -> testkit::registry::Action {
    let basic = |user: &str, password: &str| {
        format!(
            "authorization: basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
        .to_ascii_lowercase()
    };
    let head = request.head.to_ascii_lowercase();
    let logged_in = head.contains(&basic(USER_TOKEN, ""))
        || head.contains(&basic("ci", PASSWORD))
        || request
            .path()
            .contains(&format!("access_token={QUERY_TOKEN}&"));
    match request.path().split('?').next() {
        Some("/npm/-/ping" | "/npm/") if logged_in => {
            reply("200 OK", &[("Content-Type", "application/json")], "{}")
        }
        Some("/npm/-/ping" | "/npm/") => status("401 Unauthorized"),
        _ => status("404 Not Found"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_probe_run_logs_in_with_a_token_in_the_url_and_never_logs_it() {
    // Given a private npm registry, three connectors that log in to it with a token in their
    // URL, and one whose token is wrong ...
    let Some(endpoint) = testkit::endpoint() else {
        return;
    };
    let world = World::named(&endpoint).await;
    world.store.create_table().await.expect("create table");
    let registry = FakeRegistry::start(private_npm).await;
    let base = registry.url("");
    let mut all: Vec<String> = urls(&base).into();
    all.push(format!(
        "http://{}@{}/npm/?token={QUERY_TOKEN}x",
        &USER_TOKEN[1..],
        base.trim_start_matches("http://")
    ));
    for (i, url) in all.iter().enumerate() {
        let mut c = connector(u32::try_from(i + 1).unwrap(), Health::Unknown);
        c.url.clone_from(url);
        // The npm probe asks for a package document (the URL has credentials); a generic
        // one for the URL.
        let feed = if url.contains('?') { "generic" } else { "npm" };
        world.put_raw(item_from(&c, Some(feed))).await;
    }
    let function = Function::start(
        &binary("probe-connectors"),
        &[
            ("AWS_ENDPOINT_URL", &world.endpoint),
            ("CONNECTORS_TABLE", &world.table),
            ("PROBE_ALLOW_PRIVATE_NETWORKS", "true"),
            ("PROBE_TIMEOUT_SECONDS", "2"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
        ],
    )
    .await;

    // When the schedule fires
    let summary = function.invoke(&scheduled_event()).await.response();

    // Then the three logged in, the fourth was refused, and neither the log, the summary
    // nor a stored message shows a token.
    assert_eq!(
        (summary["healthy"].as_u64(), summary["error"].as_u64()),
        (Some(3), Some(1)),
        "{summary}"
    );
    let id = |i: u32| shared::domain::ConnectorId::new(i).unwrap();
    match world.store.get(id(4)).await.expect("get").map(|c| c.health) {
        Some(Health::Error { message, .. }) => {
            assert_eq!(
                message,
                "Credentials were rejected by 127.0.0.1 (HTTP 401): the connector's user name, password or token is wrong or expired."
            );
        }
        other => panic!("connector 4: {other:?}"),
    }
    assert_eq!(registry.request_count(), 4);
    let output = function.output();
    assert!(output.contains("probe run finished"), "{output}");
    assert_shows_no_secret("the probe run's log", &output);
    assert_shows_no_secret("the run's summary", &summary.to_string());
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER_TOKEN}:"));
    assert!(
        !output.contains(&basic),
        "the Basic credentials are logged:\n{output}"
    );
}

#[tokio::test]
async fn chadmin_lists_and_exports_no_token_and_refuses_a_new_url_with_user_info() {
    // Given a table holding connectors whose URLs carry tokens (stored before such URLs were
    // refused) and one without ...
    let Some(world) = World::init().await else {
        return;
    };
    let urls = urls("https://feed.example");
    for (i, url) in urls.iter().enumerate() {
        let mut c = connector(u32::try_from(i + 1).unwrap(), Health::Unknown);
        c.url.clone_from(url);
        world.store.put(&c, Some("npm")).await.expect("put");
    }
    world
        .store
        .put(&connector(4, Health::Unknown), Some("nuget"))
        .await
        .expect("put");

    // When they are listed and exported, no token is shown ...
    for args in [
        &["connectors", "list"][..],
        &["connectors", "list", "--json"],
    ] {
        let out = world.run_with(args, &[]).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_shows_no_secret("connectors list", &out.stdout);
        assert_shows_no_secret("connectors list's stderr", &out.stderr);
        assert!(out
            .stdout
            .contains("https://feed.example/npm/?access_token=***&page=2"));
    }
    let export = world.run_with(&["connectors", "export"], &[]).await;
    assert_eq!(export.code, 0, "{}", export.stderr);
    assert_shows_no_secret("the export", &export.stdout);
    assert_shows_no_secret("the export's stderr", &export.stderr);
    let file: Value = serde_json::from_str(&export.stdout).expect("JSON");
    let exported: Vec<&str> = file["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        exported,
        [
            "https://feed.example/npm/",
            "https://feed.example/npm/",
            "https://feed.example/npm/?access_token=***&page=2",
            "https://feeds-4.example/v3/index.json",
        ]
    );
    // ... and stderr says so once, naming the connectors.
    assert_eq!(
        export.stderr.matches("left out of the export").count(),
        1,
        "{}",
        export.stderr
    );
    assert!(
        export.stderr.contains("connectors 1, 2, 3 "),
        "{}",
        export.stderr
    );

    // When the export is imported back, the stored URLs keep their credentials.
    let path = std::env::temp_dir().join(format!(
        "chadmin-export-{}.json",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, &export.stdout).expect("write the export");
    let import = world
        .run_with(&["connectors", "import", path.to_str().unwrap()], &[])
        .await;
    let _ = std::fs::remove_file(&path);
    assert_eq!(import.code, 0, "{}", import.stderr);
    assert_eq!(import.stdout.trim(), "added=0 updated=0 unchanged=4");
    for (i, url) in urls.iter().enumerate() {
        let id = shared::domain::ConnectorId::new(u32::try_from(i + 1).unwrap()).unwrap();
        let stored = world.store.get(id).await.expect("get").expect("row");
        assert_eq!(&stored.url, url);
    }

    // And a new URL with user-info is refused by add and update, the table unchanged.
    let refused = "a URL must not carry credentials (user-info); give the URL without them and the credentials with --username and --password-stdin, or --token-stdin";
    let add = world
        .run_with(
            &[
                "connectors",
                "add",
                "--name",
                "fury",
                "--url",
                &format!("https://{USER_TOKEN}@npm.fury.io/acme/"),
                "--feed-type",
                "npm",
            ],
            &[],
        )
        .await;
    assert_eq!(add.code, 1, "{}", add.stderr);
    assert_eq!(add.stderr.trim(), format!("error: --url: {refused}"));
    let update = world
        .run_with(
            &[
                "connectors",
                "update",
                "4",
                "--url",
                &format!("https://ci:{PASSWORD}@feed.example/nuget/"),
            ],
            &[],
        )
        .await;
    assert_eq!(update.code, 1, "{}", update.stderr);
    assert_eq!(update.stderr.trim(), format!("error: --url: {refused}"));
    let after = world.run_with(&["connectors", "export"], &[]).await;
    assert_eq!(after.stdout, export.stdout, "nothing was written");
}
