//! Benchmark of one probe run on loopback (figures for docs/performance.md, not a timed test).
//!
//!   cargo run --release -p connector-health-bench --bin probe-run -- \
//!       [connectors=1000] [hanging=100] [concurrency=128] [timeout_ms=2000] [retries=1]
//!
//! Starts testkit's fake registry answering every feed type and one that accepts
//! connections and never answers, both on 127.0.0.1, points `connectors - hanging` npm
//! connectors at the first and `hanging` at the second, runs the real HTTP prober with the
//! in-memory store (`shared::runner`, the probe function's run), and prints wall time, the
//! process's peak RSS (VmHWM, servers included) and the write calls.

use shared::adapters::memory::InMemoryProbeStore;
use shared::domain::{ConnectorId, FeedType};
use shared::ports::SystemClock;
use shared::probe::target::ProbeTarget;
use shared::runner::{no_events, run, RunPorts, RunSettings};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::registry::{loopback_prober, FakeRegistry};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let arg = |i: usize, default: u64| args.get(i).copied().unwrap_or(default);
    let (total, hanging, concurrency, timeout_ms, retries) = (
        arg(0, 1000) as u32,
        arg(1, 100) as u32,
        arg(2, 128) as usize,
        arg(3, 2000),
        arg(4, 1) as u32,
    );
    let registry = FakeRegistry::feeds().await;
    let hanging_registry = FakeRegistry::hanging().await;
    let targets: Vec<ProbeTarget> = (1..=total)
        .filter_map(|i| {
            let url = if i <= hanging {
                hanging_registry.url("/")
            } else {
                registry.url("/npm")
            };
            Some(ProbeTarget::new(ConnectorId::new(i)?, url, FeedType::Npm))
        })
        .collect();
    let store = Arc::new(InMemoryProbeStore::new(targets.clone()));
    let settings = RunSettings {
        concurrency,
        default_timeout: Duration::from_millis(timeout_ms),
        retries,
        // The two loopback servers stand for many upstreams: no per-host limit.
        per_host_concurrency: concurrency,
        ..RunSettings::default()
    };
    let ports = RunPorts {
        writer: store.clone(),
        prober: Arc::new(loopback_prober()),
        clock: Arc::new(SystemClock),
        events: no_events(),
    };
    let started = Instant::now();
    let summary = run(
        targets,
        ports,
        &settings,
        Instant::now() + Duration::from_secs(900),
    )
    .await;
    let wall = started.elapsed();
    println!(
        "connectors={total} hanging={hanging} concurrency={concurrency} timeout={timeout_ms}ms retries={retries}"
    );
    println!(
        "wall={:.2}s healthy={} error={} skipped={} write_calls={} peak_rss={} KiB",
        wall.as_secs_f64(),
        summary.healthy,
        summary.error,
        summary.skipped,
        store.write_calls(),
        peak_rss_kib().map_or("?".to_owned(), |k| k.to_string()),
    );
    Ok(())
}
