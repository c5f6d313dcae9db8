//! Times, durations and figures as the page words them.

use chrono::{DateTime, Utc};

/// How long ago `at` was, seen at `now`: `45 s ago`, `3 min ago`, `2 h ago`, `4 d ago`
/// (`just now` for a moment in the future, as a skewed clock may give).
pub fn ago(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds();
    if secs < 1 {
        return "just now".to_owned();
    }
    format!("{} ago", duration(secs))
}

/// A length of time in its largest unit (and the next for hours and days): `45 s`,
/// `3 min`, `2 h 5 min`, `4 d 3 h`.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => match (secs % 3600) / 60 {
            0 => format!("{} h", secs / 3600),
            m => format!("{} h {m} min", secs / 3600),
        },
        _ => match (secs % 86_400) / 3600 {
            0 => format!("{} d", secs / 86_400),
            h => format!("{} d {h} h", secs / 86_400),
        },
    }
}

/// A moment as the page names it: the time alone on `now`'s day, else the date too (UTC).
pub fn moment(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M UTC").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

/// A moment in full, for `<time datetime>` and tooltips.
pub fn full(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A machine-readable moment for `<time datetime>`, to the minute (what the page shows).
pub fn machine(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%MZ").to_string()
}

/// An uptime percentage, rounded down to two decimals (so never `100%` while a check
/// failed): `100%`, `99.95%`, `87.5%`.
pub fn percent(p: f64) -> String {
    let hundredths = (p * 100.0).floor() / 100.0;
    let text = format!("{hundredths:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// `1 connector`, `14 connectors`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, h, m, s).unwrap()
    }

    #[test]
    fn ages_and_durations_read_naturally() {
        let now = at(12, 0, 0);
        assert_eq!(ago(now, at(12, 0, 0)), "just now");
        assert_eq!(ago(now, at(12, 0, 30)), "just now");
        assert_eq!(ago(now, at(11, 59, 15)), "45 s ago");
        assert_eq!(ago(now, at(11, 57, 0)), "3 min ago");
        assert_eq!(ago(now, at(10, 0, 0)), "2 h ago");
        assert_eq!(ago(now, at(9, 55, 0)), "2 h 5 min ago");
        assert_eq!(duration(4 * 86_400), "4 d");
        assert_eq!(duration(4 * 86_400 + 3 * 3600 + 59), "4 d 3 h");
        assert_eq!(duration(-5), "0 s");
    }

    #[test]
    fn moments_name_the_date_only_on_another_day() {
        let now = at(12, 0, 0);
        assert_eq!(moment(now, at(9, 31, 55)), "09:31 UTC");
        let yesterday = Utc.with_ymd_and_hms(2026, 11, 26, 23, 5, 0).unwrap();
        assert_eq!(moment(now, yesterday), "2026-11-26 23:05 UTC");
        assert_eq!(full(yesterday), "2026-11-26 23:05:00 UTC");
    }

    #[test]
    fn percentages_round_down_and_drop_trailing_zeros() {
        assert_eq!(percent(100.0), "100%");
        assert_eq!(percent(99.999), "99.99%");
        assert_eq!(percent(87.5), "87.5%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(count(1, "connector"), "1 connector");
        assert_eq!(count(14, "connector"), "14 connectors");
    }
}
