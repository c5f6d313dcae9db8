//! Handler cost of `GET /api/connector-health/{id}` with an in-memory store of 100
//! connectors: the real `GetConnector::handle` (id parsing, method check, X-ApiKey
//! reconciliation, key cache lookup, read, JSON serialisation), key cache warm.
//!
//!     cargo bench -p get-connector --bench get

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use get_connector::handler::GetConnector;
use lambda_http::{Body, Request};
use shared::adapters::memory::{InMemoryConnectors, InMemoryKeySource};
use shared::auth::{CachePolicy, KeyCache};
use shared::domain::{Connector, ConnectorId, Diagnostics, Health};

const KEY: &str = "bench-key-0123456789abcdef";

fn connectors(n: u32) -> Vec<Connector> {
    let at = Utc
        .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
        .single()
        .unwrap_or_default();
    (1..=n)
        .map(|i| Connector {
            id: ConnectorId::new(i).unwrap(),
            name: format!("connector-{i}"),
            url: format!("https://feeds-{i}.example.org/nuget/v3/index.json"),
            health: Health::Healthy { last_checked: at },
            diagnostics: Diagnostics {
                response_time_ms: Some(87),
                http_status: Some(200),
                consecutive_failures: Some(0),
                state_changed_at: Some(at),
                certificate_expires_at: None,
                credentials_expire_at: None,
            },
        })
        .collect()
}

fn request(uri: &'static str) -> impl Fn() -> Request {
    move || {
        http::Request::builder()
            .method("GET")
            .uri(uri)
            .header("X-ApiKey", KEY)
            .body(Body::Empty)
            .unwrap()
    }
}

fn bench_get(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let handler = GetConnector::new(
        InMemoryConnectors::new(connectors(100)),
        KeyCache::new(InMemoryKeySource::granting(&[KEY]), CachePolicy::default()),
    );
    let found = request("/api/connector-health/50");
    let missing = request("/api/connector-health/4242");
    assert_eq!(rt.block_on(handler.handle(found())).status(), 200);
    assert_eq!(rt.block_on(handler.handle(missing())).status(), 404);

    let mut group = c.benchmark_group("get_connector");
    group.bench_function("found", |b| {
        b.iter_batched(
            &found,
            |req| rt.block_on(handler.handle(req)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("not_found", |b| {
        b.iter_batched(
            &missing,
            |req| rt.block_on(handler.handle(req)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
    assert_eq!(handler.auth.fetch_count(), 1);
}

criterion_group!(benches, bench_get);
criterion_main!(benches);
