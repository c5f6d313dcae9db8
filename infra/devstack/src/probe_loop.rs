//! `chadmin dev`'s prober: the probe function's own run code (`probe_connectors::run`)
//! with the real HTTP prober, run at once and then every interval against the table.

use crate::error::{AdminError, Result};
use crate::target::Target;
use probe_connectors::config::{ProbeConfig, ALLOW_PRIVATE_VAR, TABLE_VAR};
use probe_connectors::run::{no_events, run, RunPorts, RunSettings, RunSummary};
use shared::adapters::dynamodb::DynamoConnectorStore;
use shared::adapters::http_prober::{HttpProber, SystemResolver};
use shared::ports::SystemClock;
use shared::probe::ports::ProbeTargetReader;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The default `--probe-interval`, in seconds.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 30;

/// The probe function's settings for this target: the table from the target, loopback
/// and private addresses allowed (the demo upstreams are on 127.0.0.1), everything else
/// from the same environment variables the function reads (`PROBE_TIMEOUT_SECONDS`, ...).
pub fn probe_config(target: &Target) -> Result<ProbeConfig> {
    let table = target.table_name()?.to_owned();
    ProbeConfig::from_lookup(|name| match name {
        TABLE_VAR => Some(table.clone()),
        ALLOW_PRIVATE_VAR => Some("true".to_owned()),
        other => std::env::var(other).ok(),
    })
    .map_err(|e| AdminError::Config(e.to_string()))
}

/// How long one run may take: the interval, or the time one retried probe needs if that
/// is longer (so a short interval never skips everything).
fn budget(interval: Duration, s: &RunSettings) -> Duration {
    let attempts = s.retries + 1;
    let needed = s.default_timeout * attempts + s.retry_backoff * s.retries + s.write_reserve;
    interval.max(needed)
}

/// Runs the probe over every connector at once and then every `interval`, one run at a
/// time (a run that overruns delays the next one). Never returns; drop or abort it to stop.
pub async fn probe_forever(
    store: Arc<DynamoConnectorStore>,
    prober: Arc<HttpProber>,
    settings: RunSettings,
    interval: Duration,
) {
    let ports = RunPorts {
        writer: store.clone(),
        prober,
        clock: Arc::new(SystemClock),
        // No state-change events locally: the API shows the states.
        events: no_events(),
    };
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let targets = match store.targets().await {
            Ok(targets) => targets,
            Err(e) => {
                tracing::warn!(error = %e, "probe run: could not read the connectors");
                continue;
            }
        };
        let deadline = Instant::now() + budget(interval, &settings);
        let summary = run(targets, ports.clone(), &settings, deadline).await;
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

/// The prober `chadmin dev` uses: the probe function's settings, and TLS trusting the
/// system roots plus the demo CA.
pub fn prober(config: &ProbeConfig, tls: Arc<rustls::ClientConfig>) -> HttpProber {
    HttpProber::new(config.prober_settings(), tls, Arc::new(SystemResolver))
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
