//! The `make dev` stack: its demo upstreams each give the prober the outcome they are
//! there for, and `chadmin dev` end to end starts them, registers them as connectors, and
//! its prober turns every `unknown` into the state and message the upstream deserves, as
//! the API shows them.

use devstack::demo_upstreams::{client_tls, DemoUpstreams};
use serde_json::Value;
use shared::adapters::http_prober::{HttpProber, ProberSettings, SystemResolver};
use shared::adapters::memory::InMemoryCredentials;
use shared::domain::{ConnectorId, CredentialsRef};
use shared::ports::Prober;
use shared::probe::target::ProbeTarget;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::world::World;

/// The port of a connector URL such as `https://127.0.0.1:43121/generic/`.
fn port_of(url: &str) -> &str {
    url.rsplit(':')
        .next()
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

/// What each demo connector must show once probed with `timeout` (`1 s`): `None` for
/// healthy, else the message.
fn expected(name: &str, url: &str, timeout: &str) -> Option<String> {
    let port = port_of(url);
    match name {
        "demo npm"
        | "demo NuGet v3"
        | "demo NuGet v2"
        | "demo Chocolatey"
        | "demo PyPI"
        | "demo Docker"
        | "demo Maven"
        | "demo RubyGems"
        | "demo generic (HTTPS)"
        | "demo private npm (right credentials)" => None,
        "demo private npm (wrong credentials)" => Some(
            "Credentials were rejected by 127.0.0.1 (HTTP 401): the connector's user name, password or token is wrong or expired."
                .to_owned(),
        ),
        "demo private npm (no credentials)" => Some(
            "127.0.0.1 requires credentials (HTTP 401) and the connector has none.".to_owned(),
        ),
        "demo hanging" => Some(format!(
            "No response from 127.0.0.1:{port} within {timeout}."
        )),
        "demo refusing" => Some(format!("Connection refused by 127.0.0.1:{port}.")),
        "demo expired certificate" => {
            Some("TLS certificate for 127.0.0.1 expired on 2020-01-01.".to_owned())
        }
        "demo wrong-host certificate" => {
            Some("TLS certificate is not valid for 127.0.0.1.".to_owned())
        }
        "demo unavailable" => Some("HTTP 503 Service Unavailable.".to_owned()),
        other => panic!("unexpected connector {other:?}"),
    }
}

#[tokio::test]
async fn each_healthy_upstream_passes_its_feed_check_and_the_rest_fail_as_named() {
    let demo = DemoUpstreams::start().await.unwrap();
    let prober = HttpProber::new(
        ProberSettings {
            allow_private: true,
            ..ProberSettings::default()
        },
        client_tls(demo.pki()).unwrap(),
        Arc::new(SystemResolver),
    );
    let mut names = Vec::new();
    for c in demo.connectors() {
        names.push(c.name.clone());
        let mut target = ProbeTarget::new(ConnectorId::new(1).unwrap(), c.url.clone(), c.feed_type);
        target.package.clone_from(&c.package);
        // Its credentials held as the probe holds what it read from Secrets Manager.
        let prober = match &c.credentials {
            Some(credentials) => {
                let at = CredentialsRef {
                    secret_id: "connector-health/dev/connector/1".into(),
                    kind: credentials.secret.kind(),
                    expire_at: None,
                };
                let held = InMemoryCredentials::default().with(&at, credentials.clone());
                target.credentials = Some(at);
                prober.clone().with_credentials(Arc::new(held))
            }
            None => prober.clone(),
        };
        let outcome = prober.probe(&target, Duration::from_millis(500)).await;
        let got = outcome.verdict.as_ref().err().map(|f| f.message.clone());
        assert_eq!(
            got,
            expected(&c.name, &c.url, "0.5 s"),
            "{}: {outcome:?}",
            c.name
        );
        if c.name == "demo generic (HTTPS)" {
            assert_eq!(
                outcome
                    .observed
                    .certificate_expires_at
                    .map(|t| t.to_rfc3339()),
                Some("2099-12-31T00:00:00+00:00".to_owned())
            );
        }
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), demo.connectors().len(), "unique names");
}

#[tokio::test(flavor = "multi_thread")]
async fn make_dev_probes_its_demo_upstreams_into_every_state_with_exact_messages() {
    // Given `chadmin dev` on a fresh table, probing with a 1 s timeout
    let Some(world) = World::init().await else {
        return;
    };
    let (server, key) = world
        .dev(
            &["--probe-interval", "30"],
            &[("PROBE_TIMEOUT_SECONDS", "1"), ("PROBE_RETRIES", "1")],
        )
        .await;

    // When its first probe run (started at once) has recorded every connector
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut polls = 0;
    let rows = loop {
        polls += 1;
        let response = server
            .get("/api/connector-health")
            .header("X-ApiKey", &key)
            .send()
            .await
            .expect("the API answers");
        assert_eq!(response.status(), 200);
        let rows: Vec<Value> = response.json().await.expect("a JSON array");
        if !rows.is_empty() && rows.iter().all(|r| r["state"] != "unknown") {
            break rows;
        }
        assert!(
            Instant::now() < deadline,
            "connectors still unknown after 60 s: {rows:#?}"
        );
        // Polling interval, not synchronisation: the loop ends on the condition above.
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // Then each shows the state and the exact message its upstream deserves
    assert!(polls > 1, "the rows started unknown");
    assert_eq!(rows.len(), 17, "{rows:#?}");
    let mut errors = 0;
    for row in &rows {
        let name = row["name"].as_str().expect("a name");
        let url = row["url"].as_str().expect("a url");
        assert!(url.contains("://127.0.0.1:"), "{url}");
        assert!(row["lastChecked"].is_string(), "{row}");
        match expected(name, url, "1 s") {
            None => {
                assert_eq!(row["state"], "healthy", "{row}");
                assert!(row["errorMessage"].is_null(), "{row}");
            }
            Some(message) => {
                errors += 1;
                assert_eq!(row["state"], "error", "{row}");
                assert_eq!(row["errorMessage"], message.as_str(), "{row}");
            }
        }
    }
    assert_eq!(errors, 7);

    // And the static rows of `seed-demo` are not added
    assert!(rows.iter().all(|r| r["name"] != "npmjs.org"));
}
