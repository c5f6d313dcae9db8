//! How long one connector's probe may take: what fits in the probe function's timeout once
//! the run's other time is kept. Derived here once, for the probe function's settings, the
//! run, and the operator's tool alike.

use std::time::Duration;

/// A run's retries unless set (`RunSettings::retries`).
pub const DEFAULT_RETRIES: u32 = 1;
/// A run's pause before a retry unless set (`RunSettings::retry_backoff`).
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(500);
/// The time a run keeps to write a result unless set (`RunSettings::write_reserve`).
pub const DEFAULT_WRITE_RESERVE: Duration = Duration::from_millis(1500);

/// The probe function's timeout (`Timeout` of `ProbeConnectorsFunction` in `template.yaml`,
/// which must match it).
pub const PROBE_FUNCTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Kept for what an invocation does before its run starts (reading the connectors, loading
/// the prober's certificates).
pub const RUN_START_MARGIN: Duration = Duration::from_secs(5);

/// The longest per-connector timeout that still lets a probe start inside a run of a
/// function with `function_timeout`, with all its attempts: `timeout × (retries + 1) +
/// backoff × retries + reserve + `[`RUN_START_MARGIN`]` ≤ function_timeout`, in whole
/// seconds (rounded down; zero when nothing fits).
pub const fn max_probe_timeout(
    function_timeout: Duration,
    retries: u32,
    backoff: Duration,
    reserve: Duration,
) -> Duration {
    let attempts = retries as u128 + 1;
    let kept =
        backoff.as_millis() * retries as u128 + reserve.as_millis() + RUN_START_MARGIN.as_millis();
    let total = function_timeout.as_millis();
    if kept >= total {
        return Duration::ZERO;
    }
    Duration::from_secs(((total - kept) / attempts / 1000) as u64)
}

/// [`max_probe_timeout`] with the run's default settings: the longest
/// `probeTimeoutSeconds` an operator may set on a connector (26 s). A run with other
/// settings clamps a row's longer timeout to its own maximum.
pub const DEFAULT_MAX_PROBE_TIMEOUT: Duration = max_probe_timeout(
    PROBE_FUNCTION_TIMEOUT,
    DEFAULT_RETRIES,
    DEFAULT_RETRY_BACKOFF,
    DEFAULT_WRITE_RESERVE,
);

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn every_attempt_its_backoff_the_reserve_and_the_start_fit_in_the_function() {
        // (60 − 0.5 − 1.5 − 5) / 2 = 26.5
        assert_eq!(DEFAULT_MAX_PROBE_TIMEOUT, Duration::from_secs(26));
        assert_eq!(
            max_probe_timeout(PROBE_FUNCTION_TIMEOUT, 0, MS(500), MS(1500)),
            Duration::from_secs(53)
        );
        // (60 − 3 × 10 − 1.5 − 5) / 4 = 5.875
        assert_eq!(
            max_probe_timeout(PROBE_FUNCTION_TIMEOUT, 3, MS(10_000), MS(1500)),
            Duration::from_secs(5)
        );
        assert_eq!(
            max_probe_timeout(PROBE_FUNCTION_TIMEOUT, 3, MS(10_000), MS(60_000)),
            Duration::ZERO
        );
        assert_eq!(
            max_probe_timeout(Duration::from_secs(900), 1, MS(500), MS(1500)),
            Duration::from_secs(446)
        );
    }
}
