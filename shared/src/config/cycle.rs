//! How the scheduled probe shares out a cycle: the interval, the probe queue, the batch
//! size, and up to how many connectors one invocation probes itself.

use super::api::{MAX_PROBE_INTERVAL_SECONDS, PROBE_INTERVAL_VAR};
use super::{ConfigError, Env};
use std::time::Duration;

/// The probe queue's URL; unset: every cycle is probed in the scheduled invocation.
pub const QUEUE_URL_VAR: &str = "PROBE_QUEUE_URL";
/// Connector ids per queue message (one message per worker invocation).
pub const BATCH_SIZE_VAR: &str = "PROBE_BATCH_SIZE";
/// Up to how many connectors the scheduled invocation probes itself; unset: as many as it
/// can always finish (see [`crate::cycle::inline_capacity`]).
pub const INLINE_MAX_VAR: &str = "PROBE_INLINE_MAX";

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
/// What one invocation of 60 s with the default run settings always finishes.
pub const DEFAULT_BATCH_SIZE: u64 = 64;
/// The largest batch: its message stays far below SQS's 256 KiB.
pub const MAX_BATCH_SIZE: u64 = 10_000;

pub use crate::cycle::CycleConfig;

impl Default for CycleConfig {
    fn default() -> Self {
        Self {
            interval: DEFAULT_INTERVAL,
            queue_url: None,
            batch_size: DEFAULT_BATCH_SIZE as usize,
            inline_max: None,
        }
    }
}

impl CycleConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        // The schedule's interval (the template sets it from `ProbeIntervalMinutes`), read
        // as the read functions read it.
        let interval = Duration::from_secs(env.number(
            PROBE_INTERVAL_VAR,
            DEFAULT_INTERVAL.as_secs(),
            1,
            MAX_PROBE_INTERVAL_SECONDS,
        )?);
        let batch_size = env.number(BATCH_SIZE_VAR, DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE)?;
        let inline_max = match env.get(INLINE_MAX_VAR) {
            None => None,
            Some(_) => Some(env.number(INLINE_MAX_VAR, 0, 0, u64::from(u32::MAX))?),
        };
        Ok(Self {
            interval,
            queue_url: env.get(QUEUE_URL_VAR),
            batch_size: usize::try_from(batch_size).unwrap_or(usize::MAX),
            inline_max: inline_max.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lookup;

    #[test]
    fn defaults_probe_in_the_scheduled_invocation() {
        assert_eq!(
            CycleConfig::from_lookup(lookup(&[])).unwrap(),
            CycleConfig::default()
        );
    }

    #[test]
    fn every_setting_is_read_and_checked() {
        let c = CycleConfig::from_lookup(lookup(&[
            (PROBE_INTERVAL_VAR, "60"),
            (QUEUE_URL_VAR, "http://127.0.0.1:1/123456789012/probe"),
            (BATCH_SIZE_VAR, "256"),
            (INLINE_MAX_VAR, "0"),
        ]))
        .unwrap();
        assert_eq!(c.interval, Duration::from_secs(60));
        assert_eq!(
            c.queue_url.as_deref(),
            Some("http://127.0.0.1:1/123456789012/probe")
        );
        assert_eq!((c.batch_size, c.inline_max), (256, Some(0)));
        for (name, bad) in [
            (PROBE_INTERVAL_VAR, "0"),
            (PROBE_INTERVAL_VAR, "5m"),
            (BATCH_SIZE_VAR, "0"),
            (BATCH_SIZE_VAR, "10001"),
            (INLINE_MAX_VAR, "-1"),
        ] {
            let e = CycleConfig::from_lookup(lookup(&[(name, bad)])).unwrap_err();
            assert!(e.to_string().contains(name), "{name}={bad}: {e}");
        }
    }
}
