//! The list's size and cost in one process: the real `ListConnectors` handler over an
//! in-memory store of N connectors (a third each healthy, in error and unknown, with the
//! diagnostics a probed row carries), once plain and once for a client accepting gzip.
//! Prints the handler time (median of 5), the body bytes, the base64 bytes Lambda would
//! return for the gzip body, and whether each fits Lambda's 6 MB response limit.
//!
//!     cargo run --release -p connector-health-bench --bin list-size -- [N...]   # default: 10000 100000

use lambda_http::{Body, Request};
use list_connectors::handler::ListConnectors;
use shared::adapters::memory::{InMemoryConnectors, InMemoryKeySource};
use shared::auth::{CachePolicy, KeyCache};
use shared::domain::{Connector, ConnectorId, Diagnostics, Health};
use std::time::{Duration, Instant};

const KEY: &str = "list-size-key-0123456789abcdef";
/// Lambda's limit on a synchronous invocation's response (6 MB).
const LAMBDA_RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

fn connectors(n: u32) -> Vec<Connector> {
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
        .map(|t| t.to_utc())
        .unwrap_or_default();
    let probed = |status, failures| Diagnostics {
        response_time_ms: Some(187),
        http_status: Some(status),
        consecutive_failures: Some(failures),
        state_changed_at: Some(at),
        certificate_expires_at: Some(at),
    };
    (1..=n)
        .filter_map(|i| {
            let (health, diagnostics) = match i % 3 {
                0 => (Health::Unknown, Diagnostics::default()),
                1 => (Health::Healthy { last_checked: at }, probed(200, 0)),
                _ => (
                    Health::Error {
                        message: "HTTP 503 Service Unavailable from feeds.example.org.".into(),
                        last_checked: at,
                    },
                    probed(503, 3),
                ),
            };
            Some(Connector {
                id: ConnectorId::new(i)?,
                name: format!("connector-{i}"),
                url: format!("https://feeds-{i}.example.org/nuget/v3/index.json"),
                health,
                diagnostics,
            })
        })
        .collect()
}

fn request(gzip: bool) -> Request {
    let mut builder = http::Request::builder()
        .uri("/api/connector-health")
        .header("X-ApiKey", KEY);
    if gzip {
        builder = builder.header("Accept-Encoding", "gzip");
    }
    builder.body(Body::Empty).unwrap_or_default()
}

fn body_len(body: &Body) -> usize {
    match body {
        Body::Text(t) => t.len(),
        Body::Binary(b) => b.len(),
        _ => 0,
    }
}

fn fits(bytes: usize) -> &'static str {
    if bytes < LAMBDA_RESPONSE_LIMIT {
        "fits"
    } else {
        "TOO LARGE"
    }
}

#[tokio::main]
async fn main() {
    let sizes: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    println!(
        "{:>8} {:>10} {:>12} {:>10} {:>12} {:>12} {:>10}",
        "rows", "plain ms", "plain bytes", "gzip ms", "gzip bytes", "as base64", "ratio"
    );
    for n in sizes {
        let handler = ListConnectors::new(
            InMemoryConnectors::new(connectors(n)),
            KeyCache::new(InMemoryKeySource::granting(&[KEY]), CachePolicy::default()),
        );
        let _ = handler.handle(request(false)).await; // loads the key document
        let mut results = Vec::new();
        for gzip in [false, true] {
            let mut times: Vec<Duration> = Vec::new();
            let mut bytes = 0;
            for _ in 0..5 {
                let started = Instant::now();
                let response = handler.handle(request(gzip)).await;
                times.push(started.elapsed());
                bytes = body_len(response.body());
            }
            times.sort_unstable();
            results.push((times[2], bytes));
        }
        let (plain, gz) = (results[0], results[1]);
        let base64 = gz.1.div_ceil(3) * 4;
        println!(
            "{:>8} {:>10.1} {:>12} {:>10.1} {:>12} {:>12} {:>9.1}x   plain {}, gzip {}",
            n,
            plain.0.as_secs_f64() * 1000.0,
            plain.1,
            gz.0.as_secs_f64() * 1000.0,
            gz.1,
            base64,
            plain.1 as f64 / gz.1.max(1) as f64,
            fits(plain.1),
            fits(base64),
        );
    }
}
