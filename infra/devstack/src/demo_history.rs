//! `make dev`'s made-up history: 30 days of checks every 5 minutes before today for each
//! connector, so the history route, the uptime badges and the status page's charts have
//! something to show from the start. Every day written is marked `demo`, and the history
//! JSON says `"demo": true` while any of it is shown. Today's day is left to the real
//! probes.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use shared::adapters::dynamodb::history::DynamoHistoryStore;
use shared::domain::{ConnectorId, State};
use shared::history::{Check, Day, DayUpdate};
use shared::ports::DependencyError;

/// Days of demo history before today.
pub const DEMO_DAYS: i64 = 30;
/// Minutes between two made-up checks.
pub const DEMO_INTERVAL_MINUTES: i64 = 5;

/// A small deterministic generator (the same demo every time for the same connector).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// The made-up days of connector number `seed` before `now`'s day: healthy with response
/// times around a base of its own, and a few incidents of an hour or so.
pub fn days(seed: u64, now: DateTime<Utc>) -> Vec<Day> {
    let mut rng = Lcg(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let base_ms = 60 + rng.next() % 300;
    let today = now.date_naive();
    let first: NaiveDate = today - Duration::days(DEMO_DAYS);
    let Some(start) = first.and_hms_opt(0, 0, 0).map(|t| t.and_utc()) else {
        return Vec::new();
    };
    let mut days: Vec<Day> = Vec::new();
    let mut incident_left = 0u32;
    let mut at = start;
    while at.date_naive() < today {
        // About one incident every four days, lasting 30 to 150 minutes.
        if incident_left == 0 && rng.next() % (4 * 288) < 1 {
            incident_left = 6 + (rng.next() % 25) as u32;
        }
        let check = if incident_left > 0 {
            incident_left -= 1;
            Check::new(
                at,
                State::Error,
                None,
                Some("HTTP 503 Service Unavailable."),
            )
        } else {
            let jitter = rng.next() % (base_ms / 2 + 1);
            Check::new(at, State::Healthy, Some(base_ms + jitter), None)
        };
        let update = DayUpdate::of(&check);
        if days.last().map(|d| d.date) != Some(update.date) {
            let mut day = Day::new(update.date);
            day.demo = true;
            days.push(day);
        }
        if let Some(day) = days.last_mut() {
            day.apply(&update);
        }
        at += Duration::minutes(DEMO_INTERVAL_MINUTES);
    }
    days
}

/// Creates the history table if needed and writes each connector's demo days.
pub async fn seed(
    history: &DynamoHistoryStore,
    ids: &[ConnectorId],
    now: DateTime<Utc>,
) -> Result<(), DependencyError> {
    history.create_table().await?;
    for id in ids {
        history
            .put_days(*id, &days(u64::from(id.get()), now))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use shared::history::{summarize, Window};

    #[test]
    fn thirty_days_of_mostly_healthy_demo_history_before_today() {
        let now = Utc.with_ymd_and_hms(2025, 11, 5, 10, 0, 0).unwrap();
        let days = days(3, now);
        assert_eq!(days.len(), 30);
        assert!(days.iter().all(|d| d.demo && d.date < now.date_naive()));
        assert_eq!(days[0].totals().checks, 288);
        let history = summarize(&days, now);
        assert!(history.demo);
        let uptime = history.uptime(Window::Month).unwrap();
        assert!(
            (90.0..100.0).contains(&uptime) || uptime == 100.0,
            "{uptime}"
        );
        assert_eq!(history.recent.len(), 50);
        assert_eq!(days, super::days(3, now), "the same every time");
    }
}
