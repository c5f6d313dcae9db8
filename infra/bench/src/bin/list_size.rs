//! The list's size and cost in one process: the real `ListConnectors` handler over an
//! in-memory store of N connectors (a third each healthy, in error and unknown, with the
//! diagnostics a probed row carries), once plain and once for a client accepting gzip.
//! Prints the handler time (median of 5), the body bytes, what each body takes in the
//! invocation response (the plain body as an escaped JSON string, the gzip body as base64),
//! and what the handler answers under Lambda's 6 MB response limit (`200`, or `406`).
//!
//!     cargo run --release -p connector-health-bench --bin list-size -- [N...]   # default: 10000 100000

use lambda_http::{Body, Request};
use list_connectors::handler::ListConnectors;
use shared::adapters::memory::{InMemoryConnectors, InMemoryKeySource};
use shared::auth::{CachePolicy, KeyCache};
use shared::config::api::ReadSettings;
use shared::domain::{Connector, ConnectorId, Diagnostics, Health};
use shared::http::encoded_body_len;
use std::time::{Duration, Instant};

const KEY: &str = "list-size-key-0123456789abcdef";

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
        credentials_expire_at: None,
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
        "{:>8} {:>10} {:>12} {:>12} {:>10} {:>12} {:>12} {:>8}   under Lambda's limit",
        "rows",
        "plain ms",
        "plain bytes",
        "as JSON str",
        "gzip ms",
        "gzip bytes",
        "as base64",
        "ratio",
    );
    for n in sizes {
        let rows = connectors(n);
        // No limit, to measure every size; then the production limit, to show the answer.
        let unlimited = ReadSettings {
            max_response_bytes: usize::MAX,
            // Every request reads the store, as it did before the list cache.
            list_cache: Duration::ZERO,
            ..ReadSettings::default()
        };
        let handler = ListConnectors::new(
            InMemoryConnectors::new(rows.clone()),
            KeyCache::new(InMemoryKeySource::granting(&[KEY]), CachePolicy::default()),
        )
        .with_settings(&unlimited);
        let limited = ListConnectors::new(
            InMemoryConnectors::new(rows),
            KeyCache::new(InMemoryKeySource::granting(&[KEY]), CachePolicy::default()),
        );
        let _ = handler.handle(request(false)).await; // loads the key document
        let mut results = Vec::new();
        for gzip in [false, true] {
            let mut times: Vec<Duration> = Vec::new();
            let (mut bytes, mut encoded) = (0, 0);
            for _ in 0..5 {
                let started = Instant::now();
                let response = handler.handle(request(gzip)).await;
                times.push(started.elapsed());
                bytes = body_len(response.body());
                encoded = encoded_body_len(response.body());
            }
            times.sort_unstable();
            let answer = limited.handle(request(gzip)).await.status().as_u16();
            results.push((times[2], bytes, encoded, answer));
        }
        let (plain, gz) = (results[0], results[1]);
        println!(
            "{:>8} {:>10.1} {:>12} {:>12} {:>10.1} {:>12} {:>12} {:>7.1}x   plain {}, gzip {}",
            n,
            plain.0.as_secs_f64() * 1000.0,
            plain.1,
            plain.2,
            gz.0.as_secs_f64() * 1000.0,
            gz.1,
            gz.2,
            plain.1 as f64 / gz.1.max(1) as f64,
            plain.3,
            gz.3,
        );
    }
}
