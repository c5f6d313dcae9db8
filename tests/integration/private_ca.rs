//! The prober's trust: the system's root certificates plus an optional extra CA bundle
//! (`PROBE_EXTRA_CA_FILE`, `PROBE_EXTRA_CA_SECRET_ID`), loaded on the first run and not at
//! cold start.
//!
//! The real `probe-connectors` binary probes two TLS registries on 127.0.0.1: one signed by
//! a CA standing in for the system store (`SSL_CERT_FILE`, which the system store loader
//! honours), one signed by a private CA. Rows are in moto. The last test counts the loads
//! of a prober probing in this process.

use base64::Engine as _;
use rustls::RootCertStore;
use serde_json::Value;
use shared::adapters::dynamodb::schema::item_from;
use shared::adapters::http_prober::{
    tls, HttpProber, ProberSettings, StaticResolver, TrustFuture, TrustLoader,
};
use shared::domain::{ConnectorId, FeedType, Health};
use shared::ports::{ConnectorReader, Prober};
use shared::probe::outcome::ProbeOutcome;
use shared::probe::target::ProbeTarget;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::binaries::binary;
use testkit::fixtures::scheduled_event;
use testkit::pki::DemoPki;
use testkit::registry::{feeds, FakeRegistry};
use testkit::runtime_api::{Function, InvocationResult};
use testkit::world::{connector, unique_name, World};

const FILE_VAR: &str = "PROBE_EXTRA_CA_FILE";
const SECRET_VAR: &str = "PROBE_EXTRA_CA_SECRET_ID";

/// A certificate as PEM text.
fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        text.push('\n');
    }
    text.push_str("-----END CERTIFICATE-----\n");
    text
}

/// A directory of this test's own, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(unique_name("connector-health-ca"));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        Self(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write a temporary file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A table with two connectors: 1 on a registry whose certificate the "system" CA signed,
/// 2 on one a private CA signed; both certificates name 127.0.0.1.
struct Setup {
    world: World,
    dir: TempDir,
    system_pem: PathBuf,
    private_pem: String,
    _servers: [FakeRegistry; 2],
}

async fn given_a_public_and_a_private_upstream() -> Option<Setup> {
    let world = World::named(&testkit::endpoint()?).await;
    world.store.create_table().await.expect("create table");
    let system = DemoPki::new("connector-health stand-in system CA").expect("a CA");
    let private = DemoPki::new("connector-health private CA").expect("a CA");
    let valid = |pki: &DemoPki| {
        pki.acceptor("127.0.0.1", (2020, 1, 1), (2099, 1, 1))
            .expect("a server certificate")
    };
    let public_server = FakeRegistry::start_tls(valid(&system), feeds).await;
    let private_server = FakeRegistry::start_tls(valid(&private), feeds).await;
    for (i, server) in [(1, &public_server), (2, &private_server)] {
        let mut c = connector(i, Health::Unknown);
        c.url = server.https_url("127.0.0.1", "/npm");
        world.put_raw(item_from(&c, Some("npm"))).await;
    }
    let dir = TempDir::new();
    let system_pem = dir.write("system.pem", &pem(system.ca_certificate()));
    Some(Setup {
        world,
        system_pem,
        private_pem: pem(private.ca_certificate()),
        dir,
        _servers: [public_server, private_server],
    })
}

impl Setup {
    /// The probe function with the stand-in system store and `extra` variables.
    async fn function(&self, extra: &[(&str, &str)]) -> Function {
        let mut vars = vec![
            ("AWS_ENDPOINT_URL", self.world.endpoint.as_str()),
            ("CONNECTORS_TABLE", self.world.table.as_str()),
            ("PROBE_ALLOW_PRIVATE_NETWORKS", "true"),
            ("PROBE_TIMEOUT_SECONDS", "5"),
            ("STATE_CHANGE_EVENTS_ENABLED", "false"),
            ("SSL_CERT_FILE", text(&self.system_pem)),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ];
        vars.extend_from_slice(extra);
        let function = Function::start(&binary("probe-connectors"), &vars).await;
        // The cold start is over when the function asks for its first event.
        tokio::time::timeout(Duration::from_secs(30), function.api.next_call_at(0))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the function did not finish its cold start; it printed:\n{}",
                    function.output()
                )
            });
        function
    }

    async fn health(&self, id: u32) -> Health {
        self.world
            .store
            .get(ConnectorId::new(id).expect("positive id"))
            .await
            .expect("get")
            .expect("row")
            .health
    }

    async fn assert_untouched(&self) {
        for id in [1, 2] {
            assert_eq!(self.health(id).await, Health::Unknown, "connector {id}");
        }
    }
}

/// The error a run ended with: its `errorType` and `errorMessage`.
async fn failed_run(function: &Function) -> (String, String) {
    match function.invoke(&scheduled_event()).await {
        InvocationResult::Error { payload, .. } => (
            payload["errorType"].as_str().unwrap_or_default().to_owned(),
            payload["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ),
        InvocationResult::Response(summary) => panic!("the run succeeded: {summary}"),
    }
}

fn counts(summary: &Value) -> (u64, u64, u64) {
    let n = |k: &str| summary[k].as_u64().unwrap_or(u64::MAX);
    (n("total"), n("healthy"), n("error"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_ca_is_trusted_only_with_the_extra_bundle_file() {
    let Some(setup) = given_a_public_and_a_private_upstream().await else {
        return;
    };

    // Without the extra bundle: the system store is trusted, the private CA is not
    let plain = setup.function(&[]).await;
    let summary = plain.invoke(&scheduled_event()).await.response();
    assert_eq!(counts(&summary), (2, 1, 1), "{summary}");
    assert!(matches!(setup.health(1).await, Health::Healthy { .. }));
    match setup.health(2).await {
        Health::Error { message, .. } => assert_eq!(
            message,
            "TLS certificate for 127.0.0.1 is not trusted (unknown issuer)."
        ),
        other => panic!("connector 2: {other:?}"),
    }

    // With it: both, the system store still included
    let bundle = setup.dir.write("private-ca.pem", &setup.private_pem);
    let with_bundle = setup.function(&[(FILE_VAR, text(&bundle))]).await;
    let summary = with_bundle.invoke(&scheduled_event()).await.response();
    assert_eq!(counts(&summary), (2, 2, 0), "{summary}");
    assert!(matches!(setup.health(2).await, Health::Healthy { .. }));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_bundle_fails_each_run_clearly_until_it_is_fixed_and_writes_nothing() {
    let Some(setup) = given_a_public_and_a_private_upstream().await else {
        return;
    };
    let bundle = setup.dir.path("private-ca.pem");

    // Given a bundle file that does not exist yet: the cold start does not read it
    let function = setup.function(&[(FILE_VAR, text(&bundle))]).await;

    // When the schedule fires, the run fails once, naming the setting and the file, and
    // no connector is probed or written
    let (kind, message) = failed_run(&function).await;
    assert_eq!(kind, "ProberNotReady");
    assert!(
        message.contains(FILE_VAR) && message.contains(text(&bundle)),
        "{message}"
    );
    setup.assert_untouched().await;

    // A file with PEM in it but no certificate: the same, without quoting the file
    let marker = base64::engine::general_purpose::STANDARD.encode("never-printed-key-material");
    std::fs::write(
        &bundle,
        format!("-----BEGIN PRIVATE KEY-----\n{marker}\n-----END PRIVATE KEY-----\n"),
    )
    .expect("write the bundle");
    let (kind, message) = failed_run(&function).await;
    assert_eq!(kind, "ProberNotReady");
    assert!(
        message.contains(FILE_VAR) && message.contains("no PEM certificate"),
        "{message}"
    );
    setup.assert_untouched().await;

    // Once the file holds the CA, the next run in the same container reads it and works
    std::fs::write(&bundle, &setup.private_pem).expect("write the bundle");
    let summary = function.invoke(&scheduled_event()).await.response();
    assert_eq!(counts(&summary), (2, 2, 0), "{summary}");
    let output = function.output();
    assert!(
        !output.contains(&marker),
        "the log quotes the file:\n{output}"
    );
    assert!(!output.contains("BEGIN"), "the log quotes PEM:\n{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cold_start_loads_no_certificates() {
    let Some(setup) = given_a_public_and_a_private_upstream().await else {
        return;
    };
    // Given a system store with nothing in it: a cold start that read it would fail
    let missing = setup.dir.path("no-such-bundle.pem");
    let function = setup.function(&[("SSL_CERT_FILE", text(&missing))]).await;
    assert_eq!(
        function.api.init_error(Duration::ZERO).await,
        None,
        "{}",
        function.output()
    );

    // The first run is where the store is read, and it fails saying so
    let (kind, message) = failed_run(&function).await;
    assert_eq!(kind, "ProberNotReady");
    assert!(message.contains("root certificates"), "{message}");
    setup.assert_untouched().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn both_sources_at_once_are_refused_at_cold_start_naming_both() {
    let Some(setup) = given_a_public_and_a_private_upstream().await else {
        return;
    };
    let bundle = setup.dir.write("private-ca.pem", &setup.private_pem);
    let mut function = Function::start(
        &binary("probe-connectors"),
        &[
            ("AWS_ENDPOINT_URL", setup.world.endpoint.as_str()),
            ("CONNECTORS_TABLE", setup.world.table.as_str()),
            (FILE_VAR, text(&bundle)),
            (SECRET_VAR, "connector-health/private-ca"),
        ],
    )
    .await;
    let status = function
        .process
        .wait_exit(Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("it kept running; it printed:\n{}", function.output()));
    assert!(!status.success());
    assert_eq!(function.api.next_calls(), 0, "it asked for an event");
    let reported = format!(
        "{:?}\n{}",
        function.api.init_error(Duration::ZERO).await,
        function.output()
    );
    assert!(
        reported.contains(&format!(
            "environment variables {FILE_VAR} and {SECRET_VAR} cannot both be set"
        )),
        "{reported}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_ca_in_secrets_manager_is_trusted_and_a_missing_secret_is_named() {
    let Some(setup) = given_a_public_and_a_private_upstream().await else {
        return;
    };
    let secret_id = unique_name("connector-health/private-ca");

    // A secret that does not exist: the run fails naming the setting, nothing is written
    let function = setup.function(&[(SECRET_VAR, &secret_id)]).await;
    let (kind, message) = failed_run(&function).await;
    assert_eq!(kind, "ProberNotReady");
    assert!(
        message.contains(SECRET_VAR) && message.contains(&secret_id),
        "{message}"
    );
    setup.assert_untouched().await;

    // Once it exists, the next run reads it and trusts the private CA
    setup
        .world
        .secrets
        .create_secret()
        .name(&secret_id)
        .secret_string(&setup.private_pem)
        .send()
        .await
        .expect("create the CA secret");
    let summary = function.invoke(&scheduled_event()).await.response();
    assert_eq!(counts(&summary), (2, 2, 0), "{summary}");
    assert!(!function.output().contains("BEGIN CERTIFICATE"));
}

/// Counts its loads; gives a configuration trusting `roots`.
struct CountingLoader {
    loads: AtomicUsize,
    roots: RootCertStore,
}

impl TrustLoader for CountingLoader {
    fn load(&self) -> TrustFuture<'_> {
        Box::pin(async move {
            self.loads.fetch_add(1, Ordering::SeqCst);
            Ok(tls::client_config(self.roots.clone())?)
        })
    }
}

#[tokio::test]
async fn the_prober_loads_its_trust_on_the_first_probe_and_only_once() {
    // Given a registry behind a private CA, and a prober whose loader trusts that CA
    let ca = DemoPki::new("connector-health private CA").expect("a CA");
    let acceptor = ca
        .acceptor("registry.test", (2020, 1, 1), (2099, 1, 1))
        .expect("a server certificate");
    let server = FakeRegistry::start_tls(acceptor, feeds).await;
    let loader = Arc::new(CountingLoader {
        loads: AtomicUsize::new(0),
        roots: ca.roots(),
    });
    let prober = HttpProber::with_trust_loader(
        ProberSettings {
            allow_private: true,
            ..ProberSettings::default()
        },
        loader.clone(),
        Arc::new(StaticResolver::new().with("registry.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)])),
    );
    assert_eq!(loader.loads.load(Ordering::SeqCst), 0, "built, not loaded");

    // When 20 connectors are probed at once
    let target = ProbeTarget::new(
        ConnectorId::new(1).expect("positive id"),
        server.https_url("registry.test", "/npm"),
        FeedType::Npm,
    );
    let outcomes = probe_at_once(&prober, &target, 20).await;

    // Then every probe used the one trust, loaded once
    for outcome in &outcomes {
        assert!(outcome.verdict.is_ok(), "{outcome:?}");
    }
    assert_eq!(server.request_count(), 20);
    assert_eq!(loader.loads.load(Ordering::SeqCst), 1);
    prober.prepare().await.expect("ready");
    assert_eq!(loader.loads.load(Ordering::SeqCst), 1);
}

/// `n` probes of `target` at once.
async fn probe_at_once(prober: &HttpProber, target: &ProbeTarget, n: usize) -> Vec<ProbeOutcome> {
    let mut probes = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (prober, target) = (prober.clone(), target.clone());
        probes.spawn(async move { prober.probe(&target, Duration::from_secs(5)).await });
    }
    probes.join_all().await
}
