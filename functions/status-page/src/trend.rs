//! What the pages show of a connector's history: uptime over 24 h, 7 d and 30 d, the
//! response time of each of the last 24 hours, each of the last 90 days, and the last
//! checks. A connector without history has no [`Trend`], and the page says so.

use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};
use futures_util::stream::{self, StreamExt};
use shared::domain::{ConnectorId, State};
use shared::history::{
    average_ms, first_day, percent, summarize, Day, History, HourTotals, Window, HOURLY_BUCKETS,
};
use shared::ports::{DependencyError, HistoryReader};
use std::collections::HashMap;
use std::future::Future;

/// Where the pages get each connector's history from.
pub trait Trends: Send + Sync {
    /// The history of each of `ids` at `now`, as the list (`detail == false`: uptime and
    /// the last 24 hours) or one connector's page (`detail == true`: 90 days and the last
    /// checks) shows it. A connector without history is absent from the map.
    fn trends(
        &self,
        ids: &[ConnectorId],
        detail: bool,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<HashMap<ConnectorId, Trend>, DependencyError>> + Send;
}

/// No history: every connector's page says it has none yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHistory;

impl Trends for NoHistory {
    async fn trends(
        &self,
        _: &[ConnectorId],
        _: bool,
        _: DateTime<Utc>,
    ) -> Result<HashMap<ConnectorId, Trend>, DependencyError> {
        Ok(HashMap::new())
    }
}

/// The uptime windows the list shows, with their labels.
pub const WINDOWS: [&str; 3] = ["24 h", "7 d", "30 d"];

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trend {
    /// Uptime in percent per window of [`WINDOWS`]; `None` for a window without checks.
    pub uptime: [Option<f64>; 3],
    /// The last 24 hours, oldest first: the hour's start, its average response time.
    pub hourly: Vec<(DateTime<Utc>, Option<u64>)>,
    /// The last 90 days, oldest first.
    pub daily: Vec<DayBar>,
    /// The most recent checks, newest first.
    pub recent: Vec<CheckRow>,
    /// Some of it was made up (the local stack's demo history).
    pub demo: bool,
}

/// One day of the uptime bars.
#[derive(Debug, Clone, PartialEq)]
pub struct DayBar {
    pub date: NaiveDate,
    pub checks: u64,
    /// `None` for a day without checks.
    pub uptime: Option<f64>,
}

/// One check of the table of recent checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRow {
    pub at: DateTime<Utc>,
    pub state: State,
    pub response_time_ms: Option<u64>,
    pub message: Option<String>,
}

impl Trend {
    /// Whether any window has a check.
    pub fn has_checks(&self) -> bool {
        self.uptime.iter().any(Option::is_some) || !self.recent.is_empty()
    }
}

impl Trend {
    /// What the pages show of a summed-up history.
    pub fn of(history: &History) -> Self {
        Self {
            uptime: [
                history.uptime(Window::Day),
                history.uptime(Window::Week),
                history.uptime(Window::Month),
            ],
            hourly: history
                .hourly
                .iter()
                .map(|b| (b.start, average_ms(&b.totals)))
                .collect(),
            daily: history
                .daily
                .iter()
                .map(|b| DayBar {
                    date: b.start.date_naive(),
                    checks: b.totals.checks,
                    uptime: percent(&b.totals),
                })
                .collect(),
            recent: history
                .recent
                .iter()
                .map(|c| CheckRow {
                    at: c.at,
                    state: c.state,
                    response_time_ms: c.response_time_ms,
                    message: c.message.clone(),
                })
                .collect(),
            demo: history.demo,
        }
    }
}

/// Hours in each of the list's windows ([`WINDOWS`]), counted back from the current hour.
const WINDOW_HOURS: [i64; 3] = [24, 7 * 24, 30 * 24];

impl Trend {
    /// What the list shows of `days` at `now`: uptime over 24 h, 7 d and 30 d and the last
    /// 24 hours, the same figures as [`summarize`] gives, added up straight from the days'
    /// hourly totals (a list sums up a hundred connectors per request; it needs neither
    /// the 90-day window, the daily series nor the last checks).
    pub fn for_list(days: &[Day], now: DateTime<Utc>) -> Self {
        let current = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
        let mut windows = [HourTotals::default(); 3];
        let mut hours = [HourTotals::default(); HOURLY_BUCKETS];
        for day in days {
            let Some(midnight) = day.date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()) else {
                continue;
            };
            for (hour, totals) in day.hours.iter().enumerate() {
                let back = (current - (midnight + Duration::hours(hour as i64))).num_hours();
                if back < 0 || totals.checks == 0 {
                    continue;
                }
                for (window, limit) in windows.iter_mut().zip(WINDOW_HOURS) {
                    if back < limit {
                        window.add(totals);
                    }
                }
                if let Some(slot) = usize::try_from(back)
                    .ok()
                    .and_then(|b| (HOURLY_BUCKETS - 1).checked_sub(b))
                {
                    hours[slot].add(totals);
                }
            }
        }
        Self {
            uptime: windows.map(|t| percent(&t)),
            hourly: hours
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let back = (HOURLY_BUCKETS - 1 - i) as i64;
                    (current - Duration::hours(back), average_ms(t))
                })
                .collect(),
            daily: Vec::new(),
            recent: Vec::new(),
            demo: days.iter().any(|d| d.demo),
        }
    }
}

/// At most this many history reads in flight for one page.
pub const READS_IN_FLIGHT: usize = 16;

/// The pages' history from the history store: for the list, the days the 30-day uptime
/// needs (one Query per connector, [`READS_IN_FLIGHT`] at a time); for one connector, the
/// 90 days of its charts.
#[derive(Debug, Clone, Default)]
pub struct HistoryTrends<H> {
    pub history: H,
}

impl<H: HistoryReader> Trends for HistoryTrends<H> {
    async fn trends(
        &self,
        ids: &[ConnectorId],
        detail: bool,
        now: DateTime<Utc>,
    ) -> Result<HashMap<ConnectorId, Trend>, DependencyError> {
        let to = now.date_naive();
        let from = match detail {
            true => first_day(now),
            false => (now - Duration::hours(Window::Month.hours())).date_naive(),
        };
        let read = |id: ConnectorId| async move {
            let days = self.history.days(id, from, to).await?;
            Ok::<_, DependencyError>((id, days))
        };
        let results: Vec<_> = stream::iter(ids.iter().copied())
            .map(read)
            .buffer_unordered(READS_IN_FLIGHT)
            .collect()
            .await;
        let mut out = HashMap::new();
        for result in results {
            let (id, days) = result?;
            if days.is_empty() {
                continue;
            }
            let trend = match detail {
                true => Trend::of(&summarize(&days, now)),
                false => Trend::for_list(&days, now),
            };
            out.insert(id, trend);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use shared::adapters::memory::InMemoryHistory;
    use shared::history::{Check, DayUpdate};
    use shared::ports::{HistoryReader, HistoryRecorder};
    use std::sync::Arc;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 30, 0).unwrap()
    }

    fn id(n: u32) -> ConnectorId {
        ConnectorId::new(n).unwrap()
    }

    /// Connector 1 checked every 5 minutes for the last 10 hours and 40 days ago; one
    /// check in ten failed.
    async fn history() -> Arc<InMemoryHistory> {
        let h = Arc::new(InMemoryHistory::default());
        let mut times: Vec<DateTime<Utc>> = (0..120)
            .rev()
            .map(|i| now() - Duration::minutes(5 * i))
            .collect();
        times.insert(0, now() - Duration::days(40));
        for (i, at) in times.into_iter().enumerate() {
            let check = match i % 10 {
                0 => Check::new(at, State::Error, None, Some("HTTP 503.")),
                _ => Check::new(at, State::Healthy, Some(100 + i as u64), None),
            };
            h.record(id(1), &DayUpdate::of(&check)).await.unwrap();
        }
        h
    }

    #[tokio::test]
    async fn the_list_gets_uptime_and_hours_and_one_connector_its_90_days() {
        let trends = HistoryTrends {
            history: history().await,
        };
        let list = trends.trends(&[id(1), id(2)], false, now()).await.unwrap();
        assert!(!list.contains_key(&id(2)), "no history, no trend");
        let t = &list[&id(1)];
        assert_eq!(t.uptime[0], Some(90.0));
        assert_eq!(t.uptime[2], Some(90.0), "40 days ago is outside 30 d");
        assert_eq!(t.hourly.len(), 24);
        assert!(t.hourly.last().unwrap().1.is_some());
        let one = trends.trends(&[id(1)], true, now()).await.unwrap();
        let t = &one[&id(1)];
        assert_eq!(t.daily.len(), 90);
        assert_eq!(t.daily.iter().filter(|d| d.uptime.is_some()).count(), 2);
        assert_eq!(t.recent.len(), 50);
        assert!(
            t.recent.windows(2).all(|w| w[0].at >= w[1].at),
            "newest first"
        );
        assert_eq!(t.recent[0].at, now());
    }

    #[tokio::test]
    async fn the_list_adds_up_the_same_figures_as_the_history_route() {
        let h = history().await;
        // Failed checks just inside and just outside each window, and one in the future
        // (clock skew), which counts nowhere.
        let mut extra = vec![now() + Duration::hours(2)];
        for days in [1, 7, 30] {
            let edge = now() - Duration::days(days);
            extra.extend([edge, edge + Duration::minutes(40)]);
        }
        for at in extra {
            let check = Check::new(at, State::Error, None, None);
            h.record(id(1), &DayUpdate::of(&check)).await.unwrap();
        }
        let days = h
            .days(id(1), first_day(now()), now().date_naive())
            .await
            .unwrap();
        for at in [
            now(),
            now() + Duration::minutes(29),
            now() - Duration::hours(3),
            now() + Duration::days(1),
            now() + Duration::days(31),
        ] {
            let fast = Trend::for_list(&days, at);
            let full = Trend::of(&summarize(&days, at));
            assert_eq!(fast.uptime, full.uptime, "{at}");
            assert_eq!(fast.hourly, full.hourly, "{at}");
        }
    }

    #[tokio::test]
    async fn a_failed_read_is_an_error() {
        let h = history().await;
        h.fail(true);
        let trends = HistoryTrends { history: h };
        assert!(trends.trends(&[id(1)], false, now()).await.is_err());
    }
}
