//! The run with the real HTTP prober against servers on 127.0.0.1: a flapping registry
//! stays healthy thanks to the retry, and one hanging registry holds up no other probe.

use shared::adapters::memory::{InMemoryProbeStore, ManualClock};
use shared::domain::{ConnectorId, FeedType, State};
use shared::ports::ProbeTargetReader;
use shared::probe::target::ProbeTarget;
use shared::runner::{no_events, run, RunPorts, RunSettings, RunSummary};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::registry::{loopback_prober, status, Action, FakeRegistry, Request};

fn target(id: u32, registry: &FakeRegistry) -> ProbeTarget {
    ProbeTarget::new(
        ConnectorId::new(id).unwrap(),
        registry.url("/"),
        FeedType::Generic,
    )
}

async fn probe_all(store: &Arc<InMemoryProbeStore>, settings: &RunSettings) -> RunSummary {
    let targets = store.targets().await.unwrap();
    let ports = RunPorts {
        writer: store.clone(),
        prober: Arc::new(loopback_prober()),
        clock: Arc::new(ManualClock::new()),
        events: no_events(),
    };
    run(
        targets,
        ports,
        settings,
        Instant::now() + Duration::from_secs(60),
    )
    .await
}

fn settings(retries: u32) -> RunSettings {
    RunSettings {
        retries,
        retry_backoff: Duration::from_millis(50),
        default_timeout: Duration::from_millis(800),
        write_reserve: Duration::from_millis(100),
        ..RunSettings::default()
    }
}

/// 503 for the first request, 200 after.
fn flapping(request: &Request) -> Action {
    status(if request.index == 0 {
        "503 Service Unavailable"
    } else {
        "200 OK"
    })
}

#[tokio::test]
async fn a_registry_that_fails_once_stays_healthy_thanks_to_the_retry() {
    let registry = FakeRegistry::start(flapping).await;
    let store = Arc::new(InMemoryProbeStore::new([target(1, &registry)]));
    let s = probe_all(&store, &settings(1)).await;
    assert_eq!((s.healthy, s.error, s.retried), (1, 0, 1));
    let r = store.record(ConnectorId::new(1).unwrap()).unwrap();
    assert_eq!(r.state, State::Healthy);
    assert_eq!(r.http_status, Some(200));
    assert_eq!(registry.request_count(), 2);
}

#[tokio::test]
async fn without_retries_the_same_blip_is_recorded() {
    let registry = FakeRegistry::start(flapping).await;
    let store = Arc::new(InMemoryProbeStore::new([target(1, &registry)]));
    let s = probe_all(&store, &settings(0)).await;
    assert_eq!((s.healthy, s.error, s.retried), (0, 1, 0));
    let r = store.record(ConnectorId::new(1).unwrap()).unwrap();
    assert_eq!(
        r.error_message.as_deref(),
        Some("HTTP 503 Service Unavailable.")
    );
    assert_eq!(r.consecutive_failures, 1);
}

#[tokio::test]
async fn a_hanging_registry_holds_up_no_other_probe() {
    let hanging = FakeRegistry::hanging().await;
    let ok = FakeRegistry::answering("200 OK").await;
    let down = FakeRegistry::answering("500 Internal Server Error").await;
    let hang_port = hanging.port();
    let mut targets = vec![target(1, &hanging)];
    targets.extend((2..=20).map(|i| target(i, &ok)));
    targets.push(target(21, &down));
    let store = Arc::new(InMemoryProbeStore::new(targets));
    let mut st = settings(1);
    st.concurrency = 4;
    let started = Instant::now();
    let s = probe_all(&store, &st).await;
    assert_eq!((s.total, s.healthy, s.error, s.written), (21, 19, 2, 21));
    let hung = store.record(ConnectorId::new(1).unwrap()).unwrap();
    assert_eq!(
        hung.error_message,
        Some(format!(
            "No response from 127.0.0.1:{hang_port} within 0.8 s."
        ))
    );
    assert_eq!(s.retried, 1, "the timeout was retried; the 500 was not");
    // The hanging one costs its timeout, its backoff and its retry, not one per wave.
    assert!(
        started.elapsed() < Duration::from_millis(2 * 800 + 50 + 1500),
        "took {:?}",
        started.elapsed()
    );
}
