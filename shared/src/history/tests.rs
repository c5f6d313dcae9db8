use super::day::{message_code, shorten, MAX_MESSAGE_BYTES, RECENT_SLOTS};
use super::*;
use chrono::TimeZone;

fn at(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, d, h, m, s).unwrap()
}

fn healthy(at: DateTime<Utc>, ms: u64) -> Check {
    Check::new(at, State::Healthy, Some(ms), None)
}

fn error(at: DateTime<Utc>, message: &str) -> Check {
    Check::new(at, State::Error, None, Some(message))
}

/// The days `checks` make, as the store would hold them.
fn days_of(checks: impl IntoIterator<Item = Check>) -> Vec<Day> {
    let mut days: HashMap<NaiveDate, Day> = HashMap::new();
    for check in checks {
        let u = DayUpdate::of(&check);
        days.entry(u.date)
            .or_insert_with(|| Day::new(u.date))
            .apply(&u);
    }
    days.into_values().collect()
}

#[test]
fn packed_totals_add_like_the_totals() {
    let a = HourTotals {
        checks: 60,
        up: 59,
        up_response_ms: 59 * 60_000,
    };
    let b = HourTotals {
        checks: 99_000,
        up: 98_999,
        up_response_ms: 12_345_678_901,
    };
    for t in [a, b, HourTotals::default()] {
        assert_eq!(HourTotals::from_packed(t.packed()), t);
    }
    let mut sum = a;
    sum.add(&HourTotals {
        checks: 1,
        up: 1,
        up_response_ms: 7,
    });
    assert_eq!(
        HourTotals::from_packed(
            a.packed()
                + HourTotals {
                    checks: 1,
                    up: 1,
                    up_response_ms: 7
                }
                .packed()
        ),
        sum
    );
    // A stored value claiming more healthy checks than checks is read as all healthy.
    assert_eq!(HourTotals::from_packed(5 * 100_000 + 9).up, 5);
}

#[test]
fn each_check_adds_to_its_hour_and_healthy_response_times_are_averaged() {
    let days = days_of([
        healthy(at(5, 8, 0, 10), 100),
        healthy(at(5, 8, 5, 10), 201),
        error(at(5, 8, 10, 10), "HTTP 503 Service Unavailable."),
        healthy(at(5, 9, 0, 10), 50),
    ]);
    assert_eq!(days.len(), 1);
    let h8 = days[0].hours[8];
    assert_eq!((h8.checks, h8.up, h8.up_response_ms), (3, 2, 301));
    assert_eq!(average_ms(&h8), Some(151));
    assert_eq!(percent(&h8), Some(66.666));
    assert_eq!(days[0].totals().checks, 4);
    assert_eq!(percent(&HourTotals::default()), None);
    // Never 100 while a check failed.
    let nearly = HourTotals {
        checks: 1_000_000,
        up: 999_999,
        up_response_ms: 0,
    };
    assert_eq!(percent(&nearly), Some(99.999));
}

#[test]
fn the_ring_keeps_the_last_53_checks_at_every_offered_interval() {
    for interval in [1, 2, 3, 5, 10, 15, 20, 30, 60] {
        let start = at(5, 0, 0, 30);
        let n = (24 * 60 / interval).min(200);
        let checks: Vec<Check> = (0..n)
            .map(|i| healthy(start + Duration::minutes(i * interval), 10 + i as u64))
            .collect();
        let days = days_of(checks.clone());
        let mut kept: Vec<DateTime<Utc>> =
            days.iter().flat_map(Day::checks).map(|c| c.at).collect();
        kept.sort();
        let expected: Vec<DateTime<Utc>> = checks
            .iter()
            .rev()
            .take(RECENT_SLOTS)
            .map(|c| c.at)
            .rev()
            .collect();
        assert_eq!(kept, expected, "interval {interval} min");
    }
}

#[test]
fn a_ring_entry_reads_back_as_the_check() {
    let c = Check::new(
        at(5, 23, 59, 59),
        State::Error,
        Some(1234),
        Some("Connection refused by 127.0.0.1:9."),
    );
    let days = days_of([c.clone()]);
    assert_eq!(days[0].checks(), vec![c]);
    let none = Check::new(at(5, 0, 0, 0), State::Healthy, None, None);
    assert_eq!(days_of([none.clone()])[0].checks(), vec![none]);
}

#[test]
fn messages_are_short_and_an_overwritten_one_is_not_misattributed() {
    let long = format!("TLS certificate for {} expired.", "a".repeat(200));
    let short = shorten(&long);
    assert!(
        short.len() <= MAX_MESSAGE_BYTES && short.ends_with('…'),
        "{short}"
    );
    assert!(shorten(&"é".repeat(100)).len() <= MAX_MESSAGE_BYTES);
    assert_eq!(shorten("line\nnext"), "line next");
    // Two texts whose codes share a message slot: the older check loses its text.
    let first = "HTTP 500 Internal Server Error.".to_owned();
    let code = message_code(&first);
    let second = (0..)
        .map(|i| format!("HTTP 502 Bad Gateway ({i})."))
        .find(|t| message_code(t) != code && message_code(t) % 2 == code % 2)
        .unwrap();
    let days = days_of([
        error(at(5, 1, 0, 0), &first),
        error(at(5, 1, 1, 0), &second),
    ]);
    let mut checks = days[0].checks();
    checks.sort_by_key(|c| c.at);
    assert_eq!(checks[0].state, State::Error);
    assert_eq!(checks[0].message, None);
    assert_eq!(checks[1].message.as_deref(), Some(second.as_str()));
    // The same text again keeps it for both.
    let days = days_of([error(at(5, 1, 0, 0), &first), error(at(5, 1, 1, 0), &first)]);
    assert!(days[0]
        .checks()
        .iter()
        .all(|c| c.message.as_deref() == Some(first.as_str())));
}

#[test]
fn the_summary_merges_days_and_windows_count_back_from_the_current_hour() {
    // Every 30 minutes from 10 days ago until now; healthy except yesterday 12:00–13:00.
    let now = at(20, 0, 20, 0);
    let start = at(10, 0, 0, 0);
    let checks: Vec<Check> = (0..)
        .map(|i| start + Duration::minutes(30 * i))
        .take_while(|t| *t <= now)
        .map(|t| {
            if t.date_naive() == at(19, 0, 0, 0).date_naive() && t.hour() == 12 {
                error(t, "HTTP 503 Service Unavailable.")
            } else {
                healthy(t, 100)
            }
        })
        .collect();
    let history = summarize(&days_of(checks), now);
    // 24 h: 00:00 today and the 23 hours before it: 23 × 2 + 1 = 47 checks, 2 failed.
    let day = history.totals(Window::Day);
    assert_eq!((day.checks, day.up), (47, 45));
    assert_eq!(history.uptime(Window::Day), Some(95.744));
    // 7 d counts 168 hours; 30 d and 90 d everything (481 checks).
    assert_eq!(history.totals(Window::Week).checks, 167 * 2 + 1);
    assert_eq!(history.totals(Window::Month).checks, 481);
    assert_eq!(history.totals(Window::Quarter).checks, 481);
    // Hourly: 24 buckets ending with the current hour.
    assert_eq!(history.hourly.len(), 24);
    assert_eq!(history.hourly[23].start, at(20, 0, 0, 0));
    assert_eq!(history.hourly[23].totals.checks, 1);
    assert_eq!(history.hourly[0].start, at(19, 1, 0, 0));
    assert_eq!(history.hourly[11].totals.up, 0);
    // Daily: 90 buckets ending today, empty before the first check.
    assert_eq!(history.daily.len(), 90);
    assert_eq!(history.daily[89].start, at(20, 0, 0, 0));
    assert_eq!(history.daily[88].totals.checks, 48);
    assert_eq!(history.daily[88].totals.up, 46);
    assert_eq!(history.daily[79].totals.checks, 48);
    assert_eq!(history.daily[78].totals.checks, 0);
    // The last 50 checks, newest first, across today's and yesterday's days.
    assert_eq!(history.recent.len(), SHOWN_CHECKS);
    assert_eq!(history.recent[0].at, at(20, 0, 0, 0));
    assert_eq!(history.recent[1].at, at(19, 23, 30, 0));
    assert!(history.recent.windows(2).all(|w| w[0].at > w[1].at));
    assert!(!history.demo);
}

#[test]
fn checks_after_now_and_days_out_of_range_are_left_out() {
    let now = at(20, 12, 0, 0);
    let history = summarize(&days_of([healthy(at(20, 12, 30, 0), 5)]), now);
    assert!(history.recent.is_empty());
    assert_eq!(
        first_day(now),
        (at(20, 12, 0, 0) - Duration::hours(2159)).date_naive()
    );
    assert!(first_day(now) <= now.date_naive() - Duration::days(89));
}

#[test]
fn the_json_has_every_series_and_says_when_it_is_demo_data() {
    let now = at(20, 0, 20, 0);
    let mut days = days_of([
        healthy(at(20, 0, 5, 0), 143),
        error(at(20, 0, 10, 0), "Connection timed out after 10 s."),
    ]);
    let json = serde_json::to_value(summarize(&days, now)).unwrap();
    assert_eq!(
        json["uptime"],
        serde_json::json!({"24h": 50.0, "7d": 50.0, "30d": 50.0, "90d": 50.0})
    );
    assert_eq!(json["hourly"].as_array().unwrap().len(), 24);
    assert_eq!(
        json["hourly"][23],
        serde_json::json!({"start": "2025-11-20T00:00:00.000Z", "checks": 2, "up": 1, "uptime": 50.0, "responseTimeMs": 143})
    );
    assert_eq!(
        json["hourly"][0],
        serde_json::json!({"start": "2025-11-19T01:00:00.000Z", "checks": 0, "up": 0, "uptime": null, "responseTimeMs": null})
    );
    assert_eq!(json["daily"][89]["date"], "2025-11-20");
    assert_eq!(
        json["recentChecks"],
        serde_json::json!([
            {"checkedAt": "2025-11-20T00:10:00.000Z", "state": "error", "responseTimeMs": null, "message": "Connection timed out after 10 s."},
            {"checkedAt": "2025-11-20T00:05:00.000Z", "state": "healthy", "responseTimeMs": 143, "message": null}
        ])
    );
    assert!(json.get("demo").is_none());
    days[0].demo = true;
    let json = serde_json::to_value(summarize(&days, now)).unwrap();
    assert_eq!(json["demo"], true);
}

#[test]
fn windows_parse_their_labels_only() {
    for w in Window::ALL {
        assert_eq!(Window::parse(w.label()), Some(w));
    }
    for bad in ["", "1h", "24H", "7", "90days"] {
        assert_eq!(Window::parse(bad), None);
    }
}
