//! `cold-start --first-invocation`: init, first and second invocation of each binary
//! against the local emulator.

use benchkit::cold_start::{self, Phases};
use serde_json::{json, Value};
use shared::domain::{ConnectorId, Health};
use std::path::PathBuf;
use std::time::Duration;
use testkit::fixtures::{event, Payload};
use testkit::registry::FakeRegistry;
use testkit::runtime_api::RuntimeApi;
use testkit::world::{connector, fresh_key, key_document, sample_connectors, World};

const WARM_UP_ROUNDS: usize = 3;
/// The connector the probe function is asked to probe: it points at the local registry.
const PROBED: u32 = 100;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The event a binary serves, and how its answer is judged a success.
fn event_for(binary: &std::path::Path, key: &str) -> (Value, fn(&Value) -> bool) {
    let name = binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ok_200: fn(&Value) -> bool = |v| v["statusCode"] == 200;
    if name.starts_with("list-connectors") {
        (event(Payload::V2, "list", key, ""), ok_200)
    } else if name.starts_with("get-connector") {
        (event(Payload::V2, "get", key, "1"), ok_200)
    } else if name.starts_with("status-page") {
        // The list event, routed to the page.
        let mut e = event(Payload::V2, "list", key, "");
        e["rawPath"] = json!("/status");
        e["routeKey"] = json!("GET /status");
        e["requestContext"]["routeKey"] = json!("GET /status");
        e["requestContext"]["http"]["path"] = json!("/status");
        (e, ok_200)
    } else if name.starts_with("probe-connectors") {
        (json!({ "connectorId": PROBED }), |v| !v.is_null())
    } else {
        (json!({}), |_| true)
    }
}

pub async fn measure(
    binaries: &[PathBuf],
    runs: usize,
    extra_env: &[(String, String)],
) -> Result<(), String> {
    let endpoint = benchkit::local_endpoint().map_err(|e| format!("--first-invocation: {e}"))?;
    let key = fresh_key();
    let world = World::create(&endpoint, &key_document(&[("bench", &key)])).await;
    world.seed(&sample_connectors()).await;
    let registry = FakeRegistry::feeds().await;
    let mut probed = connector(PROBED, Health::Unknown);
    probed.id = ConnectorId::new(PROBED).expect("a positive id");
    probed.url = registry.url("/v3/index.json");
    world.seed(&[probed]).await;

    let mut vars: Vec<(&str, &str)> = vec![
        ("CONNECTORS_TABLE", &world.table),
        ("API_KEYS_SECRET_ID", &world.secret_id),
        ("AWS_ENDPOINT_URL", &endpoint),
        ("PROBE_ALLOW_PRIVATE_NETWORKS", "true"),
        ("STATE_CHANGE_EVENTS_ENABLED", "false"),
        ("RUST_LOG", "warn"),
    ];
    vars.extend(extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let api = RuntimeApi::start("bench").await;
    let mut samples: Vec<Vec<Phases>> = vec![Vec::with_capacity(runs); binaries.len()];
    for round in 0..WARM_UP_ROUNDS + runs {
        for (i, binary) in binaries.iter().enumerate() {
            let (event, accept) = event_for(binary, &key);
            let phases = cold_start::with_invocations(&api, binary, &vars, &event, accept)
                .await
                .map_err(|e| format!("{}: {e}", binary.display()))?;
            if round >= WARM_UP_ROUNDS {
                samples[i].push(phases);
            }
        }
    }

    println!("init, first and second invocation against the emulator, {runs} runs each after {WARM_UP_ROUNDS} warm-up rounds, interleaved (medians, ms)");
    println!(
        "{:<46} {:>9} {:>9} {:>9} {:>14} {:>12}",
        "binary", "init", "first", "second", "first-second", "init+first"
    );
    for (binary, s) in binaries.iter().zip(&samples) {
        let median = |f: fn(&Phases) -> Duration| {
            benchkit::median_p90(&s.iter().map(f).collect::<Vec<_>>()).0
        };
        let (init, first, second) = (
            median(|p| p.init),
            median(|p| p.first),
            median(|p| p.second),
        );
        let extra = median(|p| p.first.saturating_sub(p.second));
        let total = median(|p| p.init + p.first);
        println!(
            "{:<46} {:>9.2} {:>9.2} {:>9.2} {:>14.2} {:>12.2}",
            benchkit::binary_label(binary),
            ms(init),
            ms(first),
            ms(second),
            ms(extra),
            ms(total),
        );
    }
    Ok(())
}
