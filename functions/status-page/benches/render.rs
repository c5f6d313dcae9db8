//! What the status page costs the function: the real `StatusPage::handle` (key check on a
//! warm key cache, read from an in-memory store, history, rendering) for `/status` with
//! 100 connectors, each with 24 hours of response times and uptime figures, and for one
//! connector's page with 90 days and its last 50 checks. Prints the page sizes first.
//!
//!     cargo bench -p status-page --bench render

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use lambda_http::{Body, Request};
use shared::adapters::memory::{InMemoryConnectors, InMemoryKeySource, InMemoryStatusRows};
use shared::auth::{CachePolicy, KeyCache};
use shared::domain::{Connector, ConnectorId, Diagnostics, Health, State};
use shared::ports::{Clock, DependencyError};
use status_page::handler::{StatusPage, Trends};
use status_page::trend::{CheckRow, DayBar, Trend};
use std::collections::HashMap;
use std::sync::Arc;

const KEY: &str = "bench-key-0123456789abcdef";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

struct Fixed;
impl Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        now()
    }
    fn instant(&self) -> std::time::Instant {
        std::time::Instant::now()
    }
}

/// One in ten failing, the others healthy, with the diagnostics a probed connector carries.
fn connectors(n: u32) -> Vec<Connector> {
    (1..=n)
        .filter_map(|i| {
            let checked = now() - Duration::seconds(i64::from(i) * 7);
            let health = match i % 10 {
                0 => Health::Error {
                    message: format!("Connection refused by upstream-{i}.example.org:443."),
                    last_checked: checked,
                },
                _ => Health::Healthy {
                    last_checked: checked,
                },
            };
            Some(Connector {
                id: ConnectorId::new(i)?,
                name: format!("connector-{i}.example.org"),
                url: format!("https://upstream-{i}.example.org/api/v3/index.json"),
                health,
                diagnostics: Diagnostics {
                    response_time_ms: Some(87 + u64::from(i)),
                    http_status: Some(200),
                    consecutive_failures: Some(0),
                    state_changed_at: Some(now() - Duration::hours(30)),
                    certificate_expires_at: Some(now() + Duration::days(i64::from(i))),
                },
            })
        })
        .collect()
}

/// Every connector with the same full history.
struct Full(Trend);

impl Trends for Full {
    async fn trends(
        &self,
        ids: &[ConnectorId],
        _: bool,
        _: DateTime<Utc>,
    ) -> Result<HashMap<ConnectorId, Trend>, DependencyError> {
        Ok(ids.iter().map(|id| (*id, self.0.clone())).collect())
    }
}

fn trend() -> Trend {
    Trend {
        uptime: [Some(99.98), Some(99.5), Some(98.731)],
        hourly: (0..24)
            .map(|h| {
                (
                    now() - Duration::hours(23 - h),
                    Some(80 + (h as u64 * 37) % 90),
                )
            })
            .collect(),
        daily: (0..90)
            .map(|d| DayBar {
                date: now().date_naive() - Duration::days(89 - d),
                checks: 288,
                uptime: Some(if d % 17 == 0 { 97.2 } else { 100.0 }),
            })
            .collect(),
        recent: (0..50)
            .map(|i| CheckRow {
                at: now() - Duration::minutes(i * 5),
                state: if i % 13 == 0 {
                    State::Error
                } else {
                    State::Healthy
                },
                response_time_ms: Some(90 + i as u64),
                message: (i % 13 == 0).then(|| "HTTP 503 Service Unavailable.".to_owned()),
            })
            .collect(),
        demo: false,
    }
}

fn get(path: &str) -> Request {
    http::Request::builder()
        .uri(path)
        .header("X-ApiKey", KEY)
        .body(Body::Empty)
        .unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rows = Arc::new(InMemoryStatusRows::new(Arc::new(InMemoryConnectors::new(
        connectors(100),
    ))));
    let keys = KeyCache::new(InMemoryKeySource::granting(&[KEY]), CachePolicy::default());
    let page = StatusPage::new(rows, keys)
        .with_trends(Full(trend()))
        .with_clock(Fixed);
    for path in ["/status", "/status/1"] {
        let r = rt.block_on(page.handle(get(path)));
        let bytes = match r.body() {
            Body::Text(t) => t.len(),
            _ => 0,
        };
        println!("{path}: HTTP {}, {bytes} bytes", r.status().as_u16());
    }
    c.bench_function("GET /status, 100 connectors with history", |b| {
        b.iter(|| rt.block_on(page.handle(get("/status?key=bench-key-0123456789abcdef"))))
    });
    c.bench_function("GET /status/{id}, 90 days and 50 checks", |b| {
        b.iter(|| rt.block_on(page.handle(get("/status/1"))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
