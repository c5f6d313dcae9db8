//! The inline SVG charts: no script, no external file. Colours come from the page's
//! stylesheet by class; every chart is an image with a text alternative (its
//! `aria-label`), and each bar carries its figure as a tooltip (`<title>`).

use crate::text;
use crate::trend::DayBar;
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use std::fmt::Write as _;

/// Horizontal units per hour of the sparkline (the stylesheet stretches it to its width
/// and keeps the stroke unscaled).
const SPARK_STEP: usize = 1;
const SPARK_HEIGHT: u64 = 24;
const SPARK_PAD: u64 = 2;

/// The response time of each hour as a line (hours without a healthy check leave a gap;
/// a lone hour is a dot), or `None` when no hour has one. Whole-unit coordinates keep it
/// small: a list of a hundred connectors carries a hundred of these.
pub fn sparkline(hourly: &[(DateTime<Utc>, Option<u64>)]) -> Option<Markup> {
    let values: Vec<u64> = hourly.iter().filter_map(|(_, ms)| *ms).collect();
    let (min, max) = (*values.iter().min()?, *values.iter().max()?);
    let y = |ms: u64| {
        if max == min {
            SPARK_HEIGHT / 2
        } else {
            let span = SPARK_HEIGHT - 2 * SPARK_PAD;
            SPARK_HEIGHT - SPARK_PAD - ((ms - min) * span + (max - min) / 2) / (max - min)
        }
    };
    let mut d = String::with_capacity(hourly.len() * 7);
    let mut drawing = false;
    for (i, (_, ms)) in hourly.iter().enumerate() {
        match ms {
            Some(ms) => {
                // After a point, the next pair continues the line (an implicit `L`).
                let command = if drawing { " " } else { "M" };
                let _ = write!(d, "{command}{} {}", i * SPARK_STEP, y(*ms));
                // A run of one hour is a dot (the round line cap of a zero-length line).
                let next = hourly.get(i + 1).and_then(|(_, ms)| *ms);
                if !drawing && next.is_none() {
                    d.push_str("h0");
                }
                drawing = true;
            }
            None => drawing = false,
        }
    }
    let width = (hourly.len().max(2) - 1) * SPARK_STEP;
    let label = if min == max {
        format!("{min} ms over 24 h")
    } else {
        format!("{min}\u{2013}{max} ms over 24 h")
    };
    Some(html! {
        svg.spark viewBox={"0 0 " (width) " " (SPARK_HEIGHT)} preserveAspectRatio="none" role="img" aria-label=(label) {
            path d=(d) {}
        }
    })
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// The class of a day's bar: `up` from 99.9 %, `degraded` from 95 %, `down` below,
/// `none` without checks.
pub fn uptime_class(uptime: Option<f64>) -> &'static str {
    match uptime {
        None => "none",
        Some(p) if p >= 99.9 => "up",
        Some(p) if p >= 95.0 => "degraded",
        Some(_) => "down",
    }
}

const BAR_WIDTH: usize = 8;
const BAR_GAP: usize = 2;
const DAY_CHART_HEIGHT: usize = 40;

/// One bar per day, coloured by its uptime, full height (a day without checks is a low
/// grey bar).
pub fn daily_uptime(days: &[DayBar]) -> Markup {
    let width = days.len() * (BAR_WIDTH + BAR_GAP);
    let checked = days.iter().filter(|d| d.uptime.is_some()).count();
    let label = format!(
        "Uptime per day over the last {} days; {} with checks",
        days.len(),
        checked
    );
    html! {
        svg.bars viewBox={"0 0 " (width) " " (DAY_CHART_HEIGHT)} role="img" aria-label=(label) preserveAspectRatio="none" {
            @for (i, day) in days.iter().enumerate() {
                @let x = i * (BAR_WIDTH + BAR_GAP);
                @let (y, h) = if day.uptime.is_some() { (0, DAY_CHART_HEIGHT) } else { (DAY_CHART_HEIGHT - 8, 8) };
                rect class=(uptime_class(day.uptime)) x=(x) y=(y) width=(BAR_WIDTH) height=(h) {
                    title {
                        (day.date.format("%Y-%m-%d")) ": "
                        @match day.uptime {
                            Some(p) => { (text::percent(p)) " of " (day.checks) " checks healthy" }
                            None => "no checks",
                        }
                    }
                }
            }
        }
    }
}

const HOUR_BAR_WIDTH: usize = 30;
const HOUR_CHART_HEIGHT: usize = 100;

/// One bar per hour, as tall as its average response time against the slowest hour;
/// hours without a healthy check are empty. `None` when no hour has one.
pub fn hourly_response(hourly: &[(DateTime<Utc>, Option<u64>)]) -> Option<Markup> {
    let max = hourly.iter().filter_map(|(_, ms)| *ms).max()?.max(1);
    let width = hourly.len() * (HOUR_BAR_WIDTH + BAR_GAP);
    let label = format!(
        "Average response time per hour over the last {} hours; the slowest hour {} ms",
        hourly.len(),
        max
    );
    Some(html! {
        svg.bars viewBox={"0 0 " (width) " " (HOUR_CHART_HEIGHT)} role="img" aria-label=(label) preserveAspectRatio="none" {
            @for (i, (start, ms)) in hourly.iter().enumerate() {
                @if let Some(ms) = ms {
                    @let h = ((*ms as f64 / max as f64) * HOUR_CHART_HEIGHT as f64).max(1.0);
                    rect.rt x=(i * (HOUR_BAR_WIDTH + BAR_GAP)) y=(fmt(HOUR_CHART_HEIGHT as f64 - h)) width=(HOUR_BAR_WIDTH) height=(fmt(h)) {
                        title { (start.format("%H:00 UTC")) ": " (ms) " ms" }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hours(values: &[Option<u64>]) -> Vec<(DateTime<Utc>, Option<u64>)> {
        let start = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (start + chrono::Duration::hours(i as i64), *v))
            .collect()
    }

    #[test]
    fn a_sparkline_spans_the_range_and_breaks_at_gaps() {
        assert!(sparkline(&hours(&[None, None])).is_none());
        let svg = sparkline(&hours(&[Some(100), Some(200), None, Some(150)]))
            .unwrap()
            .into_string();
        assert!(svg.contains("aria-label=\"100\u{2013}200 ms over 24 h\""));
        // Two runs: a line of two points, then a lone dot.
        assert!(svg.contains(r#"<path d="M0 22 1 2M3 12h0">"#), "{svg}");
        assert!(svg.contains(r#"viewBox="0 0 3 24""#), "{svg}");
    }

    #[test]
    fn bars_are_classed_by_uptime_with_tooltips() {
        let date = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let svg = daily_uptime(&[
            DayBar {
                date: date(1),
                checks: 288,
                uptime: Some(100.0),
            },
            DayBar {
                date: date(2),
                checks: 288,
                uptime: Some(97.0),
            },
            DayBar {
                date: date(3),
                checks: 10,
                uptime: Some(50.0),
            },
            DayBar {
                date: date(4),
                checks: 0,
                uptime: None,
            },
        ])
        .into_string();
        for class in ["up", "degraded", "down", "none"] {
            assert!(
                svg.contains(&format!(r#"class="{class}""#)),
                "{class}: {svg}"
            );
        }
        assert!(svg.contains("<title>2026-11-03: 50% of 10 checks healthy</title>"));
        assert!(svg.contains("<title>2026-11-04: no checks</title>"));
        let hourly = hourly_response(&hours(&[Some(50), None, Some(100)]))
            .unwrap()
            .into_string();
        assert_eq!(hourly.matches("<rect").count(), 2);
        assert!(hourly.contains("<title>02:00 UTC: 100 ms</title>"));
        assert!(hourly_response(&hours(&[None])).is_none());
    }
}
