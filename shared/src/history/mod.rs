//! Each connector's check history, as values and rules (no AWS, no HTTP): what one check
//! adds to its connector's day ([`day`]), and what the stored days add up to
//! ([`summarize`]): uptime over 24 h, 7 d, 30 d and 90 d, response time per hour over the
//! last 24 h and per day over 90 days, and the last 50 checks. The read API's history
//! route and badges show it; a probe run records it through
//! [`HistoryWriter`](crate::adapters::history_writer::HistoryWriter).

pub mod day;

pub use day::{Day, DayUpdate, HourTotals};

use crate::domain::{format_timestamp, State};
use chrono::{DateTime, Duration, DurationRound, NaiveDate, Timelike, Utc};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::collections::HashMap;

/// The most recent checks shown.
pub const SHOWN_CHECKS: usize = 50;
/// Hourly buckets shown: the current hour and the 23 before it.
pub const HOURLY_BUCKETS: usize = 24;
/// Daily buckets shown: today and the 89 days before it.
pub const DAILY_BUCKETS: usize = 90;
/// How long a day is kept after it ends, in days: the longest window (90 days counted in
/// hours back from the current one) reaches into the 91st day back.
pub const KEPT_DAYS: i64 = 92;

/// One check as history keeps it: to the second, with its message shortened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    #[serde(rename = "checkedAt", serialize_with = "timestamp")]
    pub at: DateTime<Utc>,
    #[serde(serialize_with = "state")]
    pub state: State,
    pub response_time_ms: Option<u64>,
    pub message: Option<String>,
}

fn timestamp<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_timestamp(at))
}

fn state<S: Serializer>(state: &State, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.as_str())
}

impl Check {
    /// A check at `at` (kept to the second), its message shortened as history keeps it.
    pub fn new(
        at: DateTime<Utc>,
        state: State,
        response_time_ms: Option<u64>,
        message: Option<&str>,
    ) -> Self {
        Self {
            at: at.duration_trunc(Duration::seconds(1)).unwrap_or(at),
            state,
            response_time_ms,
            message: message.map(day::shorten),
        }
    }
}

/// A window of the uptime figures, counted in whole hours back from the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    Day,
    Week,
    Month,
    Quarter,
}

impl Window {
    pub const ALL: [Window; 4] = [Window::Day, Window::Week, Window::Month, Window::Quarter];

    /// `24h`, `7d`, `30d` or `90d`.
    pub fn label(self) -> &'static str {
        match self {
            Window::Day => "24h",
            Window::Week => "7d",
            Window::Month => "30d",
            Window::Quarter => "90d",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.label() == text)
    }

    pub fn hours(self) -> i64 {
        match self {
            Window::Day => 24,
            Window::Week => 7 * 24,
            Window::Month => 30 * 24,
            Window::Quarter => 90 * 24,
        }
    }
}

/// The share of healthy checks as a percentage, rounded down to three decimals (never
/// 100 while a check failed); `None` without checks.
pub fn percent(totals: &HourTotals) -> Option<f64> {
    (totals.checks > 0).then(|| {
        let thousandths = u128::from(totals.up) * 100_000 / u128::from(totals.checks);
        thousandths as f64 / 1000.0
    })
}

/// The hour's (or day's) average response time of its healthy checks, in whole ms.
pub fn average_ms(totals: &HourTotals) -> Option<u64> {
    (totals.up > 0).then(|| (totals.up_response_ms + totals.up / 2) / totals.up)
}

/// One bucket of a series: when it starts, and its totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub totals: HourTotals,
}

/// A connector's history at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// Totals of each [`Window`].
    pub windows: Vec<(Window, HourTotals)>,
    /// The current hour and the 23 before it, oldest first.
    pub hourly: Vec<Bucket>,
    /// Today and the 89 days before it, oldest first.
    pub daily: Vec<Bucket>,
    /// The most recent checks, newest first.
    pub recent: Vec<Check>,
    /// Some of it was made up for the local stack's demo.
    pub demo: bool,
}

impl History {
    pub fn totals(&self, window: Window) -> HourTotals {
        self.windows
            .iter()
            .find(|(w, _)| *w == window)
            .map(|(_, t)| *t)
            .unwrap_or_default()
    }

    pub fn uptime(&self, window: Window) -> Option<f64> {
        percent(&self.totals(window))
    }
}

/// The start of the hour of `at`.
fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::hours(1)).unwrap_or(at)
}

/// The oldest day [`summarize`] needs at `now`.
pub fn first_day(now: DateTime<Utc>) -> NaiveDate {
    let longest = Window::Quarter.hours().max(24 * DAILY_BUCKETS as i64);
    (hour_of(now) - Duration::hours(longest - 1)).date_naive()
}

/// What `days` (one connector's, any order, possibly with others outside the windows)
/// add up to at `now`. Checks after `now` are left out.
pub fn summarize(days: &[Day], now: DateTime<Utc>) -> History {
    let by_date: HashMap<NaiveDate, &Day> = days.iter().map(|d| (d.date, d)).collect();
    let hour_totals = |start: DateTime<Utc>| -> HourTotals {
        by_date
            .get(&start.date_naive())
            .map(|d| d.hours[start.hour() as usize])
            .unwrap_or_default()
    };
    let current = hour_of(now);
    let windows = Window::ALL
        .iter()
        .map(|&w| {
            let mut t = HourTotals::default();
            for back in 0..w.hours() {
                t.add(&hour_totals(current - Duration::hours(back)));
            }
            (w, t)
        })
        .collect();
    let hourly = (0..HOURLY_BUCKETS as i64)
        .rev()
        .map(|back| {
            let start = current - Duration::hours(back);
            Bucket {
                start,
                totals: hour_totals(start),
            }
        })
        .collect();
    let today = now.date_naive();
    let daily = (0..DAILY_BUCKETS as i64)
        .rev()
        .filter_map(|back| {
            let date = today - Duration::days(back);
            let start = date.and_hms_opt(0, 0, 0)?.and_utc();
            Some(Bucket {
                start,
                totals: by_date.get(&date).map(|d| d.totals()).unwrap_or_default(),
            })
        })
        .collect();
    let mut recent: Vec<Check> = days
        .iter()
        .flat_map(Day::checks)
        .filter(|c| c.at <= now)
        .collect();
    recent.sort_by_key(|c| std::cmp::Reverse(c.at));
    recent.truncate(SHOWN_CHECKS);
    History {
        windows,
        hourly,
        daily,
        recent,
        demo: days.iter().any(|d| d.demo),
    }
}

fn shown(buckets: &[Bucket], daily: bool) -> Vec<Shown<'_>> {
    buckets
        .iter()
        .map(|bucket| Shown { bucket, daily })
        .collect()
}

/// A bucket as the API shows it.
struct Shown<'a> {
    bucket: &'a Bucket,
    daily: bool,
}

impl Serialize for Shown<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = &self.bucket.totals;
        let mut map = s.serialize_map(Some(5))?;
        if self.daily {
            map.serialize_entry(
                "date",
                &self
                    .bucket
                    .start
                    .date_naive()
                    .format("%Y-%m-%d")
                    .to_string(),
            )?;
        } else {
            map.serialize_entry("start", &format_timestamp(&self.bucket.start))?;
        }
        map.serialize_entry("checks", &t.checks)?;
        map.serialize_entry("up", &t.up)?;
        map.serialize_entry("uptime", &percent(t))?;
        map.serialize_entry("responseTimeMs", &average_ms(t))?;
        map.end()
    }
}

struct Uptimes<'a>(&'a History);

impl Serialize for Uptimes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(Window::ALL.len()))?;
        for w in Window::ALL {
            map.serialize_entry(w.label(), &self.0.uptime(w))?;
        }
        map.end()
    }
}

/// `{"uptime": {"24h": …}, "hourly": [...], "daily": [...], "recentChecks": [...]}`, with
/// `"demo": true` when some of it was made up for the demo.
impl Serialize for History {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("uptime", &Uptimes(self))?;
        map.serialize_entry("hourly", &shown(&self.hourly, false))?;
        map.serialize_entry("daily", &shown(&self.daily, true))?;
        map.serialize_entry("recentChecks", &self.recent)?;
        if self.demo {
            map.serialize_entry("demo", &true)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests;
