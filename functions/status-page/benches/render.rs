//! What the status page costs the function: the real `StatusPage::handle` (key check on a
//! warm key cache, read from an in-memory store, history, rendering) for `/status` with
//! 100 connectors, each with 24 hours of response times and uptime figures, and for one
//! connector's page with 90 days and its last 50 checks. Prints the page sizes first.
//!
//! Twice: with the history already summed up (what rendering costs), and with 31 days of
//! checks every 5 minutes per connector in an in-memory history store, summed up on each
//! request as the function does (`summarize` included).
//!
//!     cargo bench -p status-page --bench render

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use lambda_http::{Body, Request};
use shared::adapters::memory::InMemoryHistory;
use shared::adapters::memory::{InMemoryConnectors, InMemoryKeySource, InMemoryStatusRows};
use shared::auth::{CachePolicy, KeyCache};
use shared::domain::{Connector, ConnectorId, Diagnostics, Health, State};
use shared::history::{Check, Day, DayUpdate};
use shared::ports::{Clock, DependencyError};
use status_page::handler::{StatusPage, Trends};
use status_page::trend::{CheckRow, DayBar, HistoryTrends, Trend};
use std::collections::HashMap;
use std::sync::Arc;

/// As long as the keys chadmin makes (64 hex digits): the page carries it in every link.
const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

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
                    credentials_expire_at: None,
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

/// 31 days of checks every 5 minutes for each of `ids`, one in fifty failing.
fn history(ids: impl Iterator<Item = ConnectorId>) -> Arc<InMemoryHistory> {
    let store = Arc::new(InMemoryHistory::default());
    for id in ids {
        let mut days: Vec<Day> = Vec::new();
        let mut at = now() - Duration::days(31);
        let mut i = 0u64;
        while at <= now() {
            let check = if i.is_multiple_of(50) {
                Check::new(
                    at,
                    State::Error,
                    None,
                    Some("HTTP 503 Service Unavailable."),
                )
            } else {
                Check::new(at, State::Healthy, Some(80 + i % 90), None)
            };
            let update = DayUpdate::of(&check);
            if days.last().map(|d| d.date) != Some(update.date) {
                days.push(Day::new(update.date));
            }
            if let Some(day) = days.last_mut() {
                day.apply(&update);
            }
            at += Duration::minutes(5);
            i += 1;
        }
        for day in days {
            store.put(id, day);
        }
    }
    store
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
    for path in [format!("/status?key={KEY}"), format!("/status/1?key={KEY}")] {
        let r = rt.block_on(page.handle(get(&path)));
        let bytes = match r.body() {
            Body::Text(t) => t.len(),
            _ => 0,
        };
        let shown = path.split('?').next().unwrap_or_default();
        println!(
            "{shown}?key=(64 digits): HTTP {}, {bytes} bytes",
            r.status().as_u16()
        );
    }
    c.bench_function("GET /status, 100 connectors with history", |b| {
        b.iter(|| rt.block_on(page.handle(get(&format!("/status?key={KEY}")))))
    });
    c.bench_function("GET /status/{id}, 90 days and 50 checks", |b| {
        b.iter(|| rt.block_on(page.handle(get("/status/1"))))
    });
    let stored = history((1..=100).filter_map(ConnectorId::new));
    let page = page.with_trends(HistoryTrends { history: stored });
    c.bench_function(
        "GET /status, 100 connectors, history summed up per request",
        |b| b.iter(|| rt.block_on(page.handle(get(&format!("/status?key={KEY}"))))),
    );
    c.bench_function("GET /status/{id}, history summed up per request", |b| {
        b.iter(|| rt.block_on(page.handle(get("/status/1"))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
