//! `chadmin` commands against the emulator: keys are stored only as digests and survive
//! concurrent writers and lost answers, connectors are added and removed with the documented rules, and
//! errors are one line with a non-zero exit.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use shared::auth::{KeyDigest, KeyDocument};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use testkit::binaries::binary;
use testkit::world::World;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

#[tokio::test]
async fn init_creates_an_empty_key_document_and_is_idempotent() {
    let Some(world) = World::init().await else {
        return;
    };
    let doc: KeyDocument = serde_json::from_str(&world.key_secret_text().await).unwrap();
    assert!(doc.keys.is_empty());
    world.create_key("kept", &[]).await;
    let again = world.run(&["init"]).await.ok();
    let doc: KeyDocument = serde_json::from_str(&world.key_secret_text().await).unwrap();
    assert_eq!(doc.keys.len(), 1, "a second init keeps the existing secret");
    // The history table too, named after the connector table.
    let history = format!("{}-history", world.table);
    assert!(
        again
            .stderr
            .contains(&format!("history table {history} is ready")),
        "{}",
        again.stderr
    );
    let described = world
        .dynamodb()
        .describe_table()
        .table_name(&history)
        .send()
        .await
        .expect("the history table exists");
    let keys: Vec<&str> = described
        .table()
        .unwrap()
        .key_schema()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
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

// ---------------------------------------------------------------------------------------
// A key-secret change whose answer is lost on the way back: the stage move that makes the
// new version current reaches Secrets Manager and is carried out, but its answer never
// arrives (a dropped connection). The SDK retries or gives up; either way chadmin must
// recognise its own change, report it once and leave exactly that change in the secret.

const UPDATE_STAGE: &str = "secretsmanager.UpdateSecretVersionStage";

/// The key names in the current key document, in order.
async fn key_names(world: &World) -> Vec<String> {
    let doc: KeyDocument = serde_json::from_str(&world.key_secret_text().await).unwrap();
    doc.keys.into_iter().map(|k| k.name).collect()
}

/// The staging labels on every version of the key secret.
async fn labels(world: &World) -> Vec<String> {
    let described = world
        .secrets
        .describe_secret()
        .secret_id(&world.secret_id)
        .send()
        .await
        .expect("describe the key secret");
    let mut labels: Vec<String> = described
        .version_ids_to_stages()
        .map(|m| m.values().flatten().cloned().collect())
        .unwrap_or_default();
    labels.sort();
    labels
}

/// Another writer adding the key `name`, the way chadmin does (a new version, then a stage
/// move from the version it read), directly on the emulator.
async fn another_writer_adds(world: &World, name: &str) {
    let current = world
        .secrets
        .get_secret_value()
        .secret_id(&world.secret_id)
        .version_stage("AWSCURRENT")
        .send()
        .await
        .expect("read the key secret");
    let mut doc: serde_json::Value =
        serde_json::from_str(current.secret_string().expect("a string secret")).unwrap();
    doc["keys"].as_array_mut().unwrap().push(serde_json::json!({
        "name": name,
        "sha256": KeyDigest::of(&testkit::world::fresh_key()).to_hex(),
        "grants": ["connector-health"],
    }));
    let version = uuid::Uuid::new_v4().simple().to_string();
    world
        .secrets
        .put_secret_value()
        .secret_id(&world.secret_id)
        .secret_string(doc.to_string())
        .client_request_token(&version)
        .version_stages("OTHER_WRITER_PENDING")
        .send()
        .await
        .expect("put the other writer's version");
    world
        .secrets
        .update_secret_version_stage()
        .secret_id(&world.secret_id)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&version)
        .remove_from_version_id(current.version_id().expect("a version id"))
        .send()
        .await
        .expect("make the other writer's version current");
}

/// `keys create` through a proxy that loses the answers to the first `lose` stage moves:
/// the key is printed once, on stdout, and stored once.
async fn create_losing(lose: usize) {
    let Some(world) = World::init().await else {
        return;
    };
    // Given the answers to the stage moves lost ...
    let proxy = LosingProxy::start(&world.endpoint, UPDATE_STAGE, lose).await;

    // ... when a key is created through the proxy,
    let out = world
        .chadmin(&["keys", "create", "--name", "ci"])
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .output()
        .await;

    // then the key is printed once, and stored once.
    assert!(proxy.lost() >= 1, "no answer was lost");
    assert!(out.success, "exit {}: {}", out.code, out.stderr);
    assert_eq!(out.stdout.lines().count(), 1, "{:?}", out.stdout);
    let key = out.stdout.trim();
    assert_eq!(key.len(), 64, "{key:?}");
    assert_eq!(
        out.stderr.matches("created API key").count(),
        1,
        "{}",
        out.stderr
    );
    let doc: KeyDocument = serde_json::from_str(&world.key_secret_text().await).unwrap();
    assert_eq!(doc.keys.len(), 1, "{:?}", key_names(&world).await);
    assert_eq!(doc.keys[0].name, "ci");
    assert_eq!(
        doc.keys[0].sha256.as_deref(),
        Some(KeyDigest::of(key).to_hex().as_str())
    );
    assert!(!labels(&world).await.contains(&"CHADMIN_PENDING".to_owned()));
}

/// `keys revoke` through a proxy that loses the answers to the first `lose` stage moves:
/// the revocation is reported done, and only that key is gone.
async fn revoke_losing(lose: usize) {
    let Some(world) = World::init().await else {
        return;
    };
    world.create_key("a", &[]).await;
    world.create_key("b", &[]).await;
    // Given the answers to the stage moves lost ...
    let proxy = LosingProxy::start(&world.endpoint, UPDATE_STAGE, lose).await;

    // ... when a key is revoked through the proxy,
    let out = world
        .chadmin(&["keys", "revoke", "a"])
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .output()
        .await;

    // then the revocation is reported done, and only that key is gone.
    assert!(proxy.lost() >= 1, "no answer was lost");
    assert!(out.success, "exit {}: {}", out.code, out.stderr);
    assert_eq!(
        out.stderr.matches("revoked API key \"a\"").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{:?}", out.stdout);
    assert_eq!(key_names(&world).await, ["b"]);
    assert!(!labels(&world).await.contains(&"CHADMIN_PENDING".to_owned()));
}

// One answer lost: the SDK retries the move, and the retry is refused (AWSCURRENT already
// left the version read). Every answer lost: the SDK gives up without one.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_created_whose_answer_is_lost_is_printed_once_and_stored_once() {
    create_losing(1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_created_whose_every_answer_is_lost_is_printed_once_and_stored_once() {
    create_losing(usize::MAX).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoke_whose_answer_is_lost_is_reported_done() {
    revoke_losing(1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoke_whose_every_answer_is_lost_is_reported_done() {
    revoke_losing(usize::MAX).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_created_whose_answer_is_lost_while_another_writer_follows_keeps_both() {
    let Some(world) = World::init().await else {
        return;
    };
    // Given the answer to the first stage move lost, and another writer's change made on
    // top of it before the SDK retries ...
    let proxy = LosingProxy::start(&world.endpoint, UPDATE_STAGE, 1).await;
    let other = world.clone();
    proxy.meanwhile(async move { another_writer_adds(&other, "other").await });

    // ... when a key is created through it,
    let out = world
        .chadmin(&["keys", "create", "--name", "ci"])
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .output()
        .await;

    // then it is printed once and both changes are kept, each once.
    assert_eq!(proxy.lost(), 1, "the answer was lost");
    assert!(out.success, "exit {}: {}", out.code, out.stderr);
    assert_eq!(out.stdout.lines().count(), 1, "{:?}", out.stdout);
    let doc: KeyDocument = serde_json::from_str(&world.key_secret_text().await).unwrap();
    let names: Vec<&str> = doc.keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["ci", "other"]);
    assert_eq!(
        doc.keys[0].sha256.as_deref(),
        Some(KeyDigest::of(out.stdout.trim()).to_hex().as_str())
    );
}

type Meanwhile = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An HTTP proxy on 127.0.0.1:0 in front of the emulator. It forwards every request; for
/// the first `lose` requests of one operation (`X-Amz-Target`) it waits for the emulator
/// to carry the request out, then closes the client's connection instead of passing the
/// answer on.
struct LosingProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    server: JoinHandle<()>,
}

struct ProxyState {
    upstream: String,
    target: &'static str,
    to_lose: AtomicUsize,
    lost: AtomicUsize,
    /// Run once, after the first answer is withheld and before its connection is closed.
    meanwhile: Mutex<Option<Meanwhile>>,
    http: reqwest::Client,
}

impl LosingProxy {
    async fn start(upstream: &str, target: &'static str, lose: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            target,
            to_lose: AtomicUsize::new(lose),
            lost: AtomicUsize::new(0),
            meanwhile: Mutex::new(None),
            http: reqwest::Client::new(),
        });
        let shared = state.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let cut = Arc::new(Notify::new());
                    let service = {
                        let cut = cut.clone();
                        service_fn(move |req| forward(state.clone(), cut.clone(), req))
                    };
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                    // Dropping the connection closes the socket, with no answer sent.
                    tokio::select! {
                        _ = connection => {}
                        () = cut.notified() => {}
                    }
                });
            }
        });
        Self {
            addr,
            state,
            server,
        }
    }

    /// The URL to use as `AWS_ENDPOINT_URL`.
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `work` after the first answer is withheld, before its connection is closed.
    fn meanwhile(&self, work: impl Future<Output = ()> + Send + 'static) {
        *self.state.meanwhile.lock().unwrap() = Some(Box::pin(work));
    }

    /// How many answers were lost so far.
    fn lost(&self) -> usize {
        self.state.lost.load(Ordering::SeqCst)
    }
}

impl Drop for LosingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(
    state: Arc<ProxyState>,
    cut: Arc<Notify>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let lose = parts
        .headers
        .get("x-amz-target")
        .is_some_and(|t| t == state.target)
        && state
            .to_lose
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    let mut headers = parts.headers;
    headers.remove(http::header::HOST);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let answer = state
        .http
        .request(parts.method, format!("{}{path}", state.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let mut response = hyper::Response::new(Full::default());
    let Ok(answer) = answer else {
        *response.status_mut() = http::StatusCode::BAD_GATEWAY;
        return Ok(response);
    };
    *response.status_mut() = answer.status();
    let mut headers = answer.headers().clone();
    headers.remove(http::header::CONNECTION);
    headers.remove(http::header::TRANSFER_ENCODING);
    *response.headers_mut() = headers;
    // The whole answer has arrived: the emulator has carried the request out.
    *response.body_mut() = Full::new(answer.bytes().await.unwrap_or_default());
    if lose {
        let meanwhile = state.meanwhile.lock().unwrap().take();
        if let Some(work) = meanwhile {
            work.await;
        }
        state.lost.fetch_add(1, Ordering::SeqCst);
        cut.notify_one();
        return std::future::pending().await;
    }
    Ok(response)
}

/// Two other writers' changes made on top of ours before chadmin reads the secret back:
/// our version is then neither AWSCURRENT nor AWSPREVIOUS.
fn two_writers_follow(proxy: &LosingProxy, world: &World) {
    let other = world.clone();
    proxy.meanwhile(async move {
        another_writer_adds(&other, "x").await;
        another_writer_adds(&other, "y").await;
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_created_whose_answer_is_lost_while_two_writers_follow_is_printed_and_kept_once() {
    let Some(world) = World::init().await else {
        return;
    };
    let proxy = LosingProxy::start(&world.endpoint, UPDATE_STAGE, 1).await;
    two_writers_follow(&proxy, &world);

    let out = world
        .chadmin(&["keys", "create", "--name", "ci"])
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .output()
        .await;

    assert_eq!(proxy.lost(), 1, "the answer was lost");
    assert!(out.success, "exit {}: {}", out.code, out.stderr);
    assert_eq!(out.stdout.lines().count(), 1, "{:?}", out.stdout);
    let doc: KeyDocument = serde_json::from_str(&world.key_secret_text().await).unwrap();
    let mut names: Vec<&str> = doc.keys.iter().map(|k| k.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["ci", "x", "y"]);
    let ci = doc.keys.iter().find(|k| k.name == "ci").unwrap();
    assert_eq!(
        ci.sha256.as_deref(),
        Some(KeyDigest::of(out.stdout.trim()).to_hex().as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoke_whose_answer_is_lost_while_two_writers_follow_is_reported_done() {
    let Some(world) = World::init().await else {
        return;
    };
    world.create_key("a", &[]).await;
    world.create_key("b", &[]).await;
    let proxy = LosingProxy::start(&world.endpoint, UPDATE_STAGE, 1).await;
    two_writers_follow(&proxy, &world);

    let out = world
        .chadmin(&["keys", "revoke", "a"])
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .output()
        .await;

    assert_eq!(proxy.lost(), 1, "the answer was lost");
    assert!(out.success, "exit {}: {}", out.code, out.stderr);
    let mut names = key_names(&world).await;
    names.sort_unstable();
    assert_eq!(names, ["b", "x", "y"]);
}

#[tokio::test]
async fn a_probe_timeout_no_run_could_start_is_refused_naming_the_maximum() {
    use shared::ports::ConnectorCatalog as _;
    let Some(world) = World::init().await else {
        return;
    };
    // Given the most a run can start with its retry (26 s under the default settings)
    let ok = world
        .run(&[
            "connectors",
            "add",
            "--name",
            "a",
            "--url",
            "https://a.example",
            "--timeout",
            "26",
        ])
        .await
        .ok();
    assert_eq!(ok.stdout.trim(), "1");

    // When a longer one is asked for by flag, by update or in an import file
    let added = world
        .run(&[
            "connectors",
            "add",
            "--name",
            "b",
            "--url",
            "https://b.example",
            "--timeout",
            "27",
        ])
        .await;
    let updated = world
        .run(&["connectors", "update", "1", "--timeout", "600"])
        .await;
    let file =
        std::env::temp_dir().join(format!("{}.json", testkit::world::unique_name("timeout")));
    std::fs::write(
        &file,
        r#"{"connectors": [{"name": "c", "url": "https://c.example/", "probeTimeoutSeconds": 27}]}"#,
    )
    .unwrap();
    let imported = world
        .run(&["connectors", "import", file.to_str().unwrap()])
        .await;
    let _ = std::fs::remove_file(file);

    // Then each is refused in one line naming the maximum, and nothing is written
    assert!(!added.success);
    assert_eq!(
        added.stderr.trim(),
        "error: --timeout must be from 1 to 26 seconds (got 27): a probe with its retry must fit in the probe function's 60 s timeout"
    );
    for refused in [&updated, &imported] {
        assert!(!refused.success);
        assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
        assert!(
            refused
                .stderr
                .contains("probeTimeoutSeconds must be from 1 to 26 seconds (got "),
            "{}",
            refused.stderr
        );
    }
    let catalog = world.store.catalog().await.unwrap();
    assert_eq!(catalog.rows.len(), 1);
    assert_eq!(catalog.rows[0].settings.probe_timeout_seconds, Some(26));
}

#[tokio::test]
async fn a_longer_timeout_set_before_the_limit_stays_while_other_settings_change() {
    use shared::ports::ConnectorCatalog as _;
    let Some(world) = World::init().await else {
        return;
    };
    // Given a connector whose row holds a timeout from before the limit was lower
    let old = shared::domain::ConnectorSettings {
        name: "old".into(),
        url: "https://old.example/".into(),
        feed_type: Some("npm".into()),
        probe_timeout_seconds: Some(600),
        probe_package: None,
    };
    let mut connector = testkit::world::connector(1, shared::domain::Health::Unknown);
    connector.name = old.name.clone();
    connector.url = old.url.clone();
    let id = world.store.insert(&connector, &old, None).await.unwrap();

    // When it is renamed
    let renamed = world
        .run(&["connectors", "update", &id.to_string(), "--name", "renamed"])
        .await;

    // Then the rename is made and the timeout kept (a run clamps it)
    assert!(renamed.success, "{}", renamed.stderr);
    let settings = world.store.settings(id).await.unwrap().unwrap();
    assert_eq!(
        (settings.name.as_str(), settings.probe_timeout_seconds),
        ("renamed", Some(600))
    );
}
