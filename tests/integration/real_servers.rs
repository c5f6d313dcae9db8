//! The run with the real HTTP prober against servers on 127.0.0.1: a flapping registry
//! stays healthy thanks to the retry, and one hanging registry holds up no other probe.

use probe_connectors::run::{run, RunPorts, RunSettings, RunSummary};
use shared::adapters::http_prober::{tls, HttpProber, ProberSettings, StaticResolver};
use shared::adapters::memory::ManualClock;
use shared::adapters::memory_probe::InMemoryProbeStore;
use shared::domain::{ConnectorId, State};
use shared::probe::ports::ProbeTargetReader;
use shared::probe::target::{FeedType, ProbeTarget};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server on 127.0.0.1 port 0; `answer(n)` gives the status line for the n-th request
/// (from 0), or `None` to never answer. Returns its port and its request counter.
async fn server(answer: fn(usize) -> Option<&'static str>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 2048];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let n = counter.fetch_add(1, Ordering::SeqCst);
                match answer(n) {
                    Some(status) => {
                        let reply = format!(
                            "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        );
                        let _ = stream.write_all(reply.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            });
        }
    });
    (port, count)
}

fn prober() -> Arc<HttpProber> {
    Arc::new(HttpProber::new(
        ProberSettings {
            allow_private: true,
            ..ProberSettings::default()
        },
        tls::client_config(rustls::RootCertStore::empty()).unwrap(),
        Arc::new(StaticResolver::new()),
    ))
}

fn target(id: u32, port: u16) -> ProbeTarget {
    ProbeTarget::new(
        ConnectorId::new(id).unwrap(),
        format!("http://127.0.0.1:{port}/"),
        FeedType::Generic,
    )
}

async fn probe_all(store: &Arc<InMemoryProbeStore>, settings: &RunSettings) -> RunSummary {
    let targets = store.targets().await.unwrap();
    let ports = RunPorts {
        writer: store.clone(),
        prober: prober(),
        clock: Arc::new(ManualClock::new()),
        events: probe_connectors::run::no_events(),
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

fn flapping(n: usize) -> Option<&'static str> {
    Some(if n == 0 {
        "503 Service Unavailable"
    } else {
        "200 OK"
    })
}

#[tokio::test]
async fn a_registry_that_fails_once_stays_healthy_thanks_to_the_retry() {
    let (port, requests) = server(flapping).await;
    let store = Arc::new(InMemoryProbeStore::new([target(1, port)]));
    let s = probe_all(&store, &settings(1)).await;
    assert_eq!((s.healthy, s.error, s.retried), (1, 0, 1));
    let r = store.record(ConnectorId::new(1).unwrap()).unwrap();
    assert_eq!(r.state, State::Healthy);
    assert_eq!(r.http_status, Some(200));
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn without_retries_the_same_blip_is_recorded() {
    let (port, _) = server(flapping).await;
    let store = Arc::new(InMemoryProbeStore::new([target(1, port)]));
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
    let (hang_port, _) = server(|_| None).await;
    let (ok_port, _) = server(|_| Some("200 OK")).await;
    let (down_port, _) = server(|_| Some("500 Internal Server Error")).await;
    let mut targets = vec![target(1, hang_port)];
    targets.extend((2..=20).map(|i| target(i, ok_port)));
    targets.push(target(21, down_port));
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
