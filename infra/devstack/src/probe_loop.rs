//! `chadmin-dev dev`'s prober: the probe function's own run (`shared::runner`), wired by
//! `shared::wiring::ProbeDependencies` as in the Lambda (with the settings of
//! `chadmin probe --local`: loopback allowed, no events), run at once and then every
//! interval against the table.

use shared::ports::ProbeTargetReader;
use shared::runner::{run, RunSettings, RunSummary};
use shared::wiring::ProbeDependencies;
use std::time::{Duration, Instant};

/// The default `--probe-interval`, in seconds.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 30;

/// How long one run may take: the interval, or the time one retried probe needs if that
/// is longer (so a short interval never skips everything).
fn budget(interval: Duration, s: &RunSettings) -> Duration {
    let attempts = s.retries + 1;
    let needed = s.default_timeout * attempts + s.retry_backoff * s.retries + s.write_reserve;
    interval.max(needed)
}

/// Runs the probe over every connector at once and then every `interval`, one run at a
/// time (a run that overruns delays the next one). Never returns; drop or abort it to stop.
pub async fn probe_forever(deps: ProbeDependencies, settings: RunSettings, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let targets = match deps.store.targets().await {
            Ok(targets) => targets,
            Err(e) => {
                tracing::warn!(error = %e, "probe run: could not read the connectors");
                continue;
            }
        };
        let deadline = Instant::now() + budget(interval, &settings);
        let summary = run(targets, deps.ports.clone(), &settings, deadline).await;
        tracing::info!("{}", describe(&summary));
    }
}

/// `probe run: 9 healthy, 5 error, 0 skipped of 14 connectors in 2.6 s`.
pub fn describe(s: &RunSummary) -> String {
    let mut text = format!(
        "probe run: {} healthy, {} error, {} skipped of {} connectors in {:.1} s",
        s.healthy,
        s.error,
        s.skipped,
        s.total,
        s.duration_ms as f64 / 1000.0
    );
    if s.write_failures > 0 {
        text.push_str(&format!(" ({} results not written)", s.write_failures));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_gets_the_interval_or_at_least_one_retried_probe() {
        let s = RunSettings::default();
        assert_eq!(budget(Duration::from_secs(30), &s), Duration::from_secs(30));
        // 10 s + 0.5 s + 10 s + 1.5 s
        assert_eq!(
            budget(Duration::from_secs(5), &s),
            Duration::from_millis(22_000)
        );
    }

    #[test]
    fn the_summary_reads_as_a_sentence() {
        let s = RunSummary {
            total: 14,
            healthy: 9,
            error: 5,
            duration_ms: 2_560,
            ..RunSummary::default()
        };
        assert_eq!(
            describe(&s),
            "probe run: 9 healthy, 5 error, 0 skipped of 14 connectors in 2.6 s"
        );
    }
}
