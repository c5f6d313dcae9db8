//! `chadmin dev` (the `make dev` stack) end to end: it starts its demo upstreams, registers
//! them as connectors, and its prober turns every `unknown` into the state and message the
//! upstream deserves, as the API shows them.

mod common;

use common::World;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The port of a connector URL such as `https://127.0.0.1:43121/generic/`.
fn port_of(url: &str) -> &str {
    url.rsplit(':')
        .next()
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

/// What each demo connector must show once probed: `None` for healthy, else the message.
fn expected(name: &str, url: &str) -> Option<String> {
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
        | "demo generic (HTTPS)" => None,
        "demo hanging" => Some(format!("No response from 127.0.0.1:{port} within 1 s.")),
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

#[tokio::test(flavor = "multi_thread")]
async fn make_dev_probes_its_demo_upstreams_into_every_state_with_exact_messages() {
    // Given `chadmin dev` on a fresh table, probing with a 1 s timeout
    let world = World::new().await;
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
    assert_eq!(rows.len(), 14, "{rows:#?}");
    let mut errors = 0;
    for row in &rows {
        let name = row["name"].as_str().expect("a name");
        let url = row["url"].as_str().expect("a url");
        assert!(url.contains("://127.0.0.1:"), "{url}");
        assert!(row["lastChecked"].is_string(), "{row}");
        match expected(name, url) {
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
    assert_eq!(errors, 5);

    // And the static rows of `seed-demo` are not added
    assert!(rows.iter().all(|r| r["name"] != "npmjs.org"));
}
