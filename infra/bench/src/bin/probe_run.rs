//! Benchmark of one probe run on loopback (figures for PERFORMANCE.md, not a timed test).
//!
//!   cargo run --release -p probe-connectors --example probe_benchmark -- \
//!       [connectors=1000] [hanging=100] [concurrency=128] [timeout_ms=2000] [retries=1]
//!
//! Starts one healthy npm-like registry and one that accepts connections and never
//! answers, both on 127.0.0.1, points `connectors - hanging` connectors at the first and
//! `hanging` at the second, runs the real HTTP prober with the in-memory store, and prints
//! wall time, the process's peak RSS (VmHWM, servers included) and the write calls.

use probe_connectors::run::{run, RunPorts, RunSettings};
use shared::adapters::http_prober::{tls, HttpProber, ProberSettings, StaticResolver};
use shared::adapters::memory_probe::InMemoryProbeStore;
use shared::domain::ConnectorId;
use shared::ports::SystemClock;
use shared::probe::target::{FeedType, ProbeTarget};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn server(answer: bool) -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                if answer {
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                        )
                        .await;
                    let _ = stream.shutdown().await;
                } else {
                    std::future::pending::<()>().await;
                }
            });
        }
    });
    Ok(port)
}

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
    let ok_port = server(true).await?;
    let hang_port = server(false).await?;
    let targets: Vec<ProbeTarget> = (1..=total)
        .filter_map(|i| {
            let port = if i <= hanging { hang_port } else { ok_port };
            Some(ProbeTarget::new(
                ConnectorId::new(i)?,
                format!("http://127.0.0.1:{port}"),
                FeedType::Npm,
            ))
        })
        .collect();
    let store = Arc::new(InMemoryProbeStore::new(targets.clone()));
    let prober = HttpProber::new(
        ProberSettings {
            allow_private: true,
            ..ProberSettings::default()
        },
        tls::client_config(rustls::RootCertStore::empty())?,
        Arc::new(StaticResolver::new()),
    );
    let settings = RunSettings {
        concurrency,
        default_timeout: Duration::from_millis(timeout_ms),
        retries,
        ..RunSettings::default()
    };
    let ports = RunPorts {
        writer: store.clone(),
        prober: Arc::new(prober),
        clock: Arc::new(SystemClock),
        events: probe_connectors::run::no_events(),
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
