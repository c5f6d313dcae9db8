//! Handler cost of `GET /api/connector-health` with an in-memory store: the real
//! `ListConnectors::handle` (method check, X-ApiKey reconciliation, key cache lookup,
//! read, JSON serialisation), for 100 and 10,000 connectors. The key cache is warmed
//! before measuring, as on a warm container.
//!
//!     cargo bench -p list-connectors --bench list

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use lambda_http::{Body, Request};
use list_connectors::handler::ListConnectors;
use shared::adapters::memory::{InMemoryConnectors, InMemoryKeySource};
use shared::auth::{CachePolicy, KeyCache};
use shared::domain::{Connector, ConnectorId, Diagnostics, Health};

const KEY: &str = "bench-key-0123456789abcdef";

/// A mix of the three states, with the diagnostics a probed connector carries.
fn connectors(n: u32) -> Vec<Connector> {
    let at = Utc
        .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
        .single()
        .unwrap_or_default();
    (1..=n)
        .map(|i| {
            let (health, diagnostics) = match i % 3 {
                0 => (Health::Unknown, Diagnostics::default()),
                1 => (
                    Health::Healthy { last_checked: at },
                    Diagnostics {
                        response_time_ms: Some(87),
                        http_status: Some(200),
                        consecutive_failures: Some(0),
                        state_changed_at: Some(at),
                        certificate_expires_at: None,
                        credentials_expire_at: None,
                    },
                ),
                _ => (
                    Health::Error {
                        message: "HTTP 503 Service Unavailable.".into(),
                        last_checked: at,
                    },
                    Diagnostics {
                        response_time_ms: Some(1200),
                        http_status: Some(503),
                        consecutive_failures: Some(3),
                        state_changed_at: Some(at),
                        certificate_expires_at: None,
                        credentials_expire_at: None,
                    },
                ),
            };
            Connector {
                id: ConnectorId::new(i).unwrap(),
                name: format!("connector-{i}"),
                url: format!("https://feeds-{i}.example.org/nuget/v3/index.json"),
                health,
                diagnostics,
            }
        })
        .collect()
}

fn key_source() -> InMemoryKeySource {
    InMemoryKeySource::granting(&[KEY])
}

fn request() -> Request {
    http::Request::builder()
        .method("GET")
        .uri("/api/connector-health")
        .header("X-ApiKey", KEY)
        .body(Body::Empty)
        .unwrap()
}

fn bench_list(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("list_connectors");
    for n in [100u32, 10_000] {
        let handler = ListConnectors::new(
            InMemoryConnectors::new(connectors(n)),
            KeyCache::new(key_source(), CachePolicy::default()),
        );
        // Warm container: the key document is already cached; check the answer once.
        let first = rt.block_on(handler.handle(request()));
        assert_eq!(first.status(), 200);
        let Body::Text(text) = first.body() else {
            panic!("expected a text body")
        };
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(text)
                .unwrap()
                .as_array()
                .map(Vec::len),
            Some(n as usize)
        );
        assert_eq!(handler.auth.fetch_count(), 1);

        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_with_input(BenchmarkId::from_parameter(n), &handler, |b, h| {
            b.iter_batched(
                request,
                |req| rt.block_on(h.handle(req)),
                BatchSize::SmallInput,
            )
        });
        assert_eq!(handler.auth.fetch_count(), 1);
    }
    group.finish();
}

criterion_group!(benches, bench_list);
criterion_main!(benches);
