//! What the pages show of a connector's history: uptime over 24 h, 7 d and 30 d, the
//! response time of each of the last 24 hours, each of the last 90 days, and the last
//! checks. A connector without history has no [`Trend`], and the page says so.

use chrono::{DateTime, NaiveDate, Utc};
use shared::domain::State;

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
