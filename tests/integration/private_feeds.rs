//! Private feeds probed with the connector's own credentials, against registries on
//! 127.0.0.1 that require them: each kind is sent as it says, a refusal is named, a Docker
//! registry's token flow is followed, and nothing is sent to another origin.

use base64::Engine as _;
use shared::adapters::connector_credentials::{
    CredentialsFuture, CredentialsSource, CredentialsStoreError,
};
use shared::adapters::memory::InMemoryCredentials;
use shared::domain::{ConnectorId, Credentials, CredentialsKind, CredentialsRef, FeedType};
use shared::ports::{DependencyError, Prober};
use shared::probe::outcome::{FailureKind, ProbeOutcome};
use shared::probe::target::ProbeTarget;
use std::sync::Arc;
use std::time::Duration;
use testkit::credentials::{basic, bearer, header, prober_with};
use testkit::registry::{
    basic_value, header_of, loopback_prober, reply, status, Action, FakeRegistry, Request,
};
use testkit::world::unique_name;

const TIMEOUT: Duration = Duration::from_secs(2);
const PASSWORD: &str = "Pw-0f-the-ci-bot";
const TOKEN: &str = "Tok-0f-the-ci-bot";
const API_KEY: &str = "AKCp-0f-the-ci-bot";
const REGISTRY_TOKEN: &str = "registry-issued-token";

async fn probe(url: &str, feed: FeedType, credentials: Option<Credentials>) -> ProbeOutcome {
    testkit::credentials::probe(url, feed, None, credentials, TIMEOUT).await
}

fn message(outcome: &ProbeOutcome) -> &str {
    match &outcome.verdict {
        Ok(()) => panic!("expected a failure, got healthy: {outcome:?}"),
        Err(f) => &f.message,
    }
}

/// A feed that answers 200 only to the right credentials of any kind, 403 to the read-only
/// user on `/forbidden/`, and 401 otherwise.
fn private_feed(r: &Request) -> Action {
    let auth = header_of(&r.head, "authorization").unwrap_or_default();
    let api_key = header_of(&r.head, "x-jfrog-art-api").unwrap_or_default();
    let right = auth == basic_value("ci-bot", PASSWORD)
        || auth == format!("Bearer {TOKEN}")
        || api_key == API_KEY;
    if r.path().starts_with("/forbidden/") && right {
        return status("403 Forbidden");
    }
    if right {
        reply("200 OK", &[], "ok")
    } else {
        reply(
            "401 Unauthorized",
            &[("WWW-Authenticate", "Basic realm=\"feed\"")],
            "",
        )
    }
}

#[tokio::test]
async fn each_kind_of_credentials_opens_a_private_feed() {
    let feed = FakeRegistry::start(private_feed).await;
    let url = feed.url("/generic/");
    for credentials in [
        basic("ci-bot", PASSWORD),
        bearer(TOKEN),
        header("X-JFrog-Art-Api", API_KEY),
    ] {
        let kind = credentials.secret.kind();
        let outcome = probe(&url, FeedType::Generic, Some(credentials)).await;
        assert!(outcome.verdict.is_ok(), "{kind:?}: {outcome:?}");
    }
}

#[tokio::test]
async fn wrong_missing_and_insufficient_credentials_are_named() {
    let feed = FakeRegistry::start(private_feed).await;
    let url = feed.url("/generic/");
    let wrong = probe(&url, FeedType::Generic, Some(basic("ci-bot", "nope"))).await;
    assert_eq!(
        message(&wrong),
        "Credentials were rejected by 127.0.0.1 (HTTP 401): the connector's user name, password or token is wrong or expired."
    );
    let none = probe(&url, FeedType::Generic, None).await;
    assert_eq!(
        message(&none),
        "127.0.0.1 requires credentials (HTTP 401) and the connector has none."
    );
    let read_only = probe(
        &feed.url("/forbidden/"),
        FeedType::Generic,
        Some(bearer(TOKEN)),
    )
    .await;
    assert_eq!(
        message(&read_only),
        "The connector's credentials may not read this feed (HTTP 403)."
    );
    // Credentials the probe cannot find are said to be missing, not sent as nothing.
    let mut target = ProbeTarget::new(ConnectorId::new(1).unwrap(), &url, FeedType::Generic);
    target.credentials = Some(CredentialsRef {
        secret_id: "connector-health/t/connector/9".into(),
        kind: CredentialsKind::Basic,
        expire_at: None,
    });
    let (prober, _) = prober_with(Some(basic("ci-bot", PASSWORD)));
    let missing = prober.probe(&target, TIMEOUT).await;
    assert_eq!(
        missing.verdict.as_ref().unwrap_err().kind,
        FailureKind::Credentials
    );
    assert_eq!(
        message(&missing),
        "The connector's credentials secret does not exist; set its credentials again."
    );
    for outcome in [&wrong, &none, &read_only, &missing] {
        assert!(!format!("{outcome:?}").contains(PASSWORD));
    }
}

/// A Docker registry with a token service on its own origin (named from the request's
/// `Host`): `/v2/` wants a token the service issues for the right Basic credentials.
fn docker_registry(r: &Request) -> Action {
    {
        let host = header_of(&r.head, "host").unwrap_or_default();
        let auth = header_of(&r.head, "authorization").unwrap_or_default();
        match r.path().split('?').next() {
            Some("/token") if auth == basic_value("ci-bot", PASSWORD) => reply(
                "200 OK",
                &[("Content-Type", "application/json")],
                &format!(r#"{{"token":"{REGISTRY_TOKEN}"}}"#),
            ),
            Some("/token") => status("401 Unauthorized"),
            Some("/v2/") if auth == format!("Bearer {REGISTRY_TOKEN}") => {
                reply("200 OK", &[("Content-Type", "application/json")], "{}")
            }
            Some("/v2/") => reply(
                "401 Unauthorized",
                &[(
                    "WWW-Authenticate",
                    &format!(r#"Bearer realm="http://{host}/token",service="fake-registry""#),
                )],
                "",
            ),
            _ => status("404 Not Found"),
        }
    }
}

#[tokio::test]
async fn a_docker_registry_gives_a_token_for_the_credentials() {
    let registry = FakeRegistry::start(docker_registry).await;
    let url = registry.url("/");

    let right = probe(&url, FeedType::Docker, Some(basic("ci-bot", PASSWORD))).await;
    assert!(right.verdict.is_ok(), "{right:?}");
    assert_eq!(right.observed.http_status, Some(200));
    let seen = registry.requests();
    let paths: Vec<&str> = seen
        .iter()
        .map(|h| h.split_whitespace().nth(1).unwrap_or(""))
        .collect();
    assert_eq!(paths, ["/v2/", "/token?service=fake-registry", "/v2/"]);
    assert_eq!(
        header_of(&seen[1], "authorization"),
        Some(basic_value("ci-bot", PASSWORD).as_str()),
        "the token service got the Basic credentials"
    );

    let wrong = probe(&url, FeedType::Docker, Some(basic("ci-bot", "nope"))).await;
    assert_eq!(
        message(&wrong),
        "Credentials were rejected by 127.0.0.1 (HTTP 401): the connector's user name, password or token is wrong or expired."
    );
    // Without credentials the challenge still shows a working registry.
    let none = probe(&url, FeedType::Docker, None).await;
    assert!(none.verdict.is_ok(), "{none:?}");
    // Credentials kept in the URL (a row from before connectors had their own) run the
    // same flow: right ones work, wrong ones are rejected.
    let in_url =
        |password: &str| format!("http://ci-bot:{password}@127.0.0.1:{}/", registry.port());
    let right = probe(&in_url(PASSWORD), FeedType::Docker, None).await;
    assert!(right.verdict.is_ok(), "{right:?}");
    assert_eq!(right.observed.http_status, Some(200));
    assert_eq!(
        message(&probe(&in_url("nope"), FeedType::Docker, None).await),
        "Credentials were rejected by 127.0.0.1 (HTTP 401): the connector's user name, password or token is wrong or expired."
    );
}

#[tokio::test]
async fn credentials_are_not_sent_after_a_redirect_to_another_origin() {
    // Given a feed that sends every request on to another origin (another port), which
    // answers 200 and keeps what it was sent.
    let other = FakeRegistry::start(|_| reply("200 OK", &[], "ok")).await;
    let elsewhere = other.url("/mirror/");
    let feed = FakeRegistry::start(move |r: &Request| {
        if r.path().starts_with("/moved/") {
            reply("302 Found", &[("Location", &elsewhere)], "")
        } else {
            reply("302 Found", &[("Location", "/moved/")], "")
        }
    })
    .await;
    for credentials in [
        basic("ci-bot", PASSWORD),
        bearer(TOKEN),
        header("X-JFrog-Art-Api", API_KEY),
    ] {
        let kind = credentials.secret.kind();
        // When the connector is probed with its credentials
        let outcome = probe(&feed.url("/generic/"), FeedType::Generic, Some(credentials)).await;
        assert!(outcome.verdict.is_ok(), "{kind:?}: {outcome:?}");
    }
    // Then its own origin got them on every request (the redirect within it too), and the
    // other origin never did.
    let own = feed.requests();
    assert_eq!(own.len(), 6, "{own:#?}");
    assert!(own
        .iter()
        .all(|h| header_of(h, "authorization").is_some()
            || header_of(h, "x-jfrog-art-api").is_some()));
    let seen = other.requests();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    for head in &seen {
        assert_eq!(header_of(head, "authorization"), None, "{head}");
        assert_eq!(header_of(head, "x-jfrog-art-api"), None, "{head}");
        for secret in [PASSWORD, TOKEN, API_KEY] {
            assert!(!head.contains(secret), "{head}");
        }
    }
}

#[tokio::test]
async fn a_refusal_by_another_origin_after_a_redirect_is_not_called_a_rejection() {
    // Given a feed that sends every request to another origin, which wants a login
    let other = FakeRegistry::start(|_| {
        reply(
            "401 Unauthorized",
            &[("WWW-Authenticate", "Basic realm=\"sso\"")],
            "",
        )
    })
    .await;
    let to = other.url("/login");
    let feed = FakeRegistry::start(move |_| reply("302 Found", &[("Location", &to)], "")).await;
    // When it is probed with its credentials (its own, or in the URL)
    let with_url_info = format!(
        "http://ci-bot:{PASSWORD}@127.0.0.1:{}/generic/",
        feed.port()
    );
    for (url, credentials) in [
        (feed.url("/generic/"), Some(basic("ci-bot", PASSWORD))),
        (with_url_info, None),
    ] {
        let (prober, at) = prober_with(credentials);
        let mut target = ProbeTarget::new(ConnectorId::new(1).unwrap(), &url, FeedType::Generic);
        target.credentials = at;
        let outcome = prober.probe(&target, TIMEOUT).await;
        // Then the message says where the refusal came from, and that it never had them
        assert_eq!(
            message(&outcome),
            format!("Redirected to 127.0.0.1:{} (another origin), which answered HTTP 401 Unauthorized; the connector's credentials are sent only to its own origin.", other.port())
        );
    }
    assert!(other
        .requests()
        .iter()
        .all(|h| header_of(h, "authorization").is_none()));
}

/// Each feed type's healthy answer, only to `ci-bot` with [`PASSWORD`] (a Docker registry's
/// `/v2/` answers 200 then); 401 with a Basic challenge otherwise.
fn gated_feeds(r: &Request) -> Action {
    if header_of(&r.head, "authorization") != Some(basic_value("ci-bot", PASSWORD).as_str()) {
        return reply(
            "401 Unauthorized",
            &[("WWW-Authenticate", "Basic realm=\"feeds\"")],
            "",
        );
    }
    match r.path() {
        "/docker/v2/" => reply("200 OK", &[("Content-Type", "application/json")], "{}"),
        // A private npm registry holds no left-pad.
        "/npm/left-pad" => status("404 Not Found"),
        _ => testkit::registry::feeds(r),
    }
}

#[tokio::test]
async fn every_feed_type_with_right_wrong_and_no_credentials() {
    let server = FakeRegistry::start(gated_feeds).await;
    for feed in testkit::registry::FEEDS {
        let url = server.url(feed.path);
        let at = |credentials| probe(&url, feed.feed_type, credentials);
        let right = at(Some(basic("ci-bot", PASSWORD))).await;
        assert!(right.verdict.is_ok(), "{}: {right:?}", feed.name);
        assert_eq!(
            message(&at(Some(basic("ci-bot", "nope"))).await),
            "Credentials were rejected by 127.0.0.1 (HTTP 401): the connector's user name, password or token is wrong or expired.",
            "{}",
            feed.name
        );
        let none = at(None).await;
        if feed.feed_type == FeedType::Docker {
            // A registry that wants a login is up: its challenge is a healthy answer.
            assert!(none.verdict.is_ok(), "{none:?}");
        } else {
            assert_eq!(
                message(&none),
                "127.0.0.1 requires credentials (HTTP 401) and the connector has none.",
                "{}",
                feed.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_probe_function_reads_credentials_from_secrets_manager_and_never_shows_them() {
    use shared::domain::Health;
    use shared::ports::ConnectorReader;
    use testkit::binaries::binary;
    use testkit::fixtures::scheduled_event;
    use testkit::runtime_api::Function;
    use testkit::world::World;

    // Given a private feed and three connectors to it, added with chadmin: the right
    // password, a wrong token, and no credentials at all ...
    let Some(world) = World::init().await else {
        return;
    };
    let feed = FakeRegistry::start(private_feed).await;
    let url = feed.url("/generic/");
    let names = [
        unique_name("right"),
        unique_name("wrong"),
        unique_name("none"),
    ];
    let add = |name: &str, extra: &'static [&'static str], input: &'static str| {
        let mut args = vec!["connectors", "add", "--name", name, "--url", &url];
        args.extend_from_slice(extra);
        let command = world.chadmin(&args);
        async move { command.input(input).await.ok() }
    };
    add(
        &names[0],
        &["--username", "ci-bot", "--password-stdin"],
        PASSWORD,
    )
    .await;
    add(&names[1], &["--token-stdin"], "Wrong-t0ken-value").await;
    add(&names[2], &[], "").await;
    // ... and a rule on the default bus sending their state-change events to a queue.
    let (sqs, queue) = events_of(&world.endpoint, &names).await;

    // When the real probe function runs on schedule
    let function = Function::start(
        &binary("probe-connectors"),
        &[
            ("AWS_ENDPOINT_URL", &world.endpoint),
            ("CONNECTORS_TABLE", &world.table),
            ("PROBE_ALLOW_PRIVATE_NETWORKS", "true"),
            ("PROBE_TIMEOUT_SECONDS", "2"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
            ("EVENT_BUS_NAME", "default"),
        ],
    )
    .await;
    let summary = function.invoke(&scheduled_event()).await.response();
    let events = drain(&sqs, &queue).await;
    assert_eq!(events.len(), 3, "one event per connector: {events:?}");

    // Then the right credentials open the feed, the others are named, and neither the log,
    // the summary, the stored rows nor chadmin's list shows a credential.
    assert_eq!(
        (summary["healthy"].as_u64(), summary["error"].as_u64()),
        (Some(1), Some(2)),
        "{summary}"
    );
    let health = |id: u32| {
        let store = world.store.clone();
        async move {
            store
                .get(ConnectorId::new(id).unwrap())
                .await
                .expect("get")
                .expect("the connector")
                .health
        }
    };
    assert!(matches!(health(1).await, Health::Healthy { .. }));
    let Health::Error { message, .. } = health(2).await else {
        panic!("connector 2 is not failing");
    };
    assert_eq!(
        message,
        "Credentials were rejected by 127.0.0.1 (HTTP 401): the connector's user name, password or token is wrong or expired."
    );
    let Health::Error { message, .. } = health(3).await else {
        panic!("connector 3 is not failing");
    };
    assert_eq!(
        message,
        "127.0.0.1 requires credentials (HTTP 401) and the connector has none."
    );
    let listed = world.run(&["connectors", "list", "--json"]).await.ok();
    let rows = world
        .dynamodb()
        .scan()
        .table_name(&world.table)
        .send()
        .await
        .unwrap();
    let shown = [
        function.output(),
        summary.to_string(),
        listed.stdout,
        format!("{:?}", rows.items()),
        serde_json::Value::from(events).to_string(),
    ];
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("ci-bot:{PASSWORD}"));
    for text in &shown {
        for secret in [PASSWORD, "Wrong-t0ken-value", encoded.as_str()] {
            assert!(!text.contains(secret), "{secret} shown:\n{text}");
        }
    }
    assert!(shown[0].contains("probe run finished"), "{}", shown[0]);
}

/// A queue receiving the state-change events of the connectors named `names` from the
/// default bus of the emulator at `endpoint`.
async fn events_of(endpoint: &str, names: &[String]) -> (aws_sdk_sqs::Client, String) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let sdk = testkit::world::sdk_config().await;
    let events = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&sdk)
            .endpoint_url(endpoint)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&sdk)
            .endpoint_url(endpoint)
            .build(),
    );
    let queue = sqs
        .create_queue()
        .queue_name(unique_name("private-feed-events"))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn");
    let rule = unique_name("private-feed-events");
    events
        .put_rule()
        .name(&rule)
        .event_pattern(
            serde_json::json!({
                "source": [shared::probe::events::SOURCE],
                "detail": {"name": names}
            })
            .to_string(),
        )
        .send()
        .await
        .expect("put rule");
    events
        .put_targets()
        .rule(&rule)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("put targets");
    (sqs, queue)
}

/// The messages on `queue` until none arrives for two seconds (at most 30 s).
async fn drain(sqs: &aws_sdk_sqs::Client, queue: &str) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut bodies = Vec::new();
    let mut last_seen = std::time::Instant::now();
    while std::time::Instant::now() < deadline && last_seen.elapsed() < Duration::from_secs(2) {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for m in out.messages() {
            bodies.push(serde_json::from_str(m.body().unwrap_or("")).expect("JSON event"));
            last_seen = std::time::Instant::now();
        }
    }
    bodies
}

/// Fails its first read as Secrets Manager would when it throttles, then reads `inner`.
struct ThrottledOnce {
    inner: InMemoryCredentials,
    reads: std::sync::atomic::AtomicUsize,
}

impl CredentialsSource for ThrottledOnce {
    fn read<'a>(&'a self, at: &'a CredentialsRef) -> CredentialsFuture<'a> {
        if self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return Box::pin(async {
                Err(CredentialsStoreError::Dependency(
                    DependencyError::Throttled {
                        service: "Secrets Manager",
                        detail: "Rate exceeded".into(),
                    },
                ))
            });
        }
        self.inner.read(at)
    }
}

#[tokio::test]
async fn a_credentials_read_that_fails_for_a_moment_is_tried_again_in_the_run() {
    use shared::adapters::memory::{InMemoryProbeStore, ManualClock};
    use shared::domain::State;
    use shared::runner::{no_events, run, RunPorts, RunSettings};

    let feed = FakeRegistry::start(private_feed).await;
    let (_, at) = prober_with(Some(basic("ci-bot", PASSWORD)));
    let at = at.unwrap();
    let source = ThrottledOnce {
        inner: InMemoryCredentials::default().with(&at, basic("ci-bot", PASSWORD)),
        reads: Default::default(),
    };
    let prober = loopback_prober().with_credentials(Arc::new(source));

    // Alone, the failed read is named and may go away.
    let mut target = ProbeTarget::new(
        ConnectorId::new(1).unwrap(),
        feed.url("/generic/"),
        FeedType::Generic,
    );
    target.credentials = Some(at);
    let first = prober.probe(&target, TIMEOUT).await;
    assert_eq!(
        message(&first),
        "The connector's credentials could not be read from Secrets Manager."
    );
    assert!(first.is_transient_failure());

    // In a run, the retry reads them and the feed is healthy.
    let prober = {
        let (_, at) = prober_with(Some(basic("ci-bot", PASSWORD)));
        let held = InMemoryCredentials::default().with(&at.unwrap(), basic("ci-bot", PASSWORD));
        loopback_prober().with_credentials(Arc::new(ThrottledOnce {
            inner: held,
            reads: Default::default(),
        }))
    };
    let store = Arc::new(InMemoryProbeStore::new(vec![target.clone()]));
    let ports = RunPorts {
        writer: store.clone(),
        prober: Arc::new(prober),
        clock: Arc::new(ManualClock::new()),
        events: no_events(),
    };
    let settings = RunSettings {
        retries: 1,
        retry_backoff: Duration::from_millis(1),
        ..RunSettings::default()
    };
    let summary = run(
        vec![target],
        ports,
        &settings,
        std::time::Instant::now() + Duration::from_secs(30),
    )
    .await;
    assert_eq!((summary.healthy, summary.retried), (1, 1), "{summary:?}");
    assert_eq!(
        store.record(ConnectorId::new(1).unwrap()).unwrap().state,
        State::Healthy
    );
}
