//! What a probe run needs: the table, the run's settings, the prober's (with where its
//! extra CA certificates come from) and the event bus.

use super::{ConfigError, Env, TABLE_VAR};
use crate::adapters::eventbridge::DEFAULT_BUS;
use crate::adapters::http_prober::trust::{EXTRA_CA_FILE_SETTING, EXTRA_CA_SECRET_SETTING};
use crate::adapters::http_prober::{ExtraCa, ProberSettings, ALLOW_PRIVATE_SETTING};
use crate::probe::limits::PROBE_FUNCTION_TIMEOUT;
use crate::runner::RunSettings;
use std::time::Duration;

pub const CONCURRENCY_VAR: &str = "PROBE_CONCURRENCY";
/// Probes in flight at once to one host (at least 1).
pub const PER_HOST_CONCURRENCY_VAR: &str = "PROBE_PER_HOST_CONCURRENCY";
pub const TIMEOUT_VAR: &str = "PROBE_TIMEOUT_SECONDS";
pub const RETRIES_VAR: &str = "PROBE_RETRIES";
pub const BACKOFF_VAR: &str = "PROBE_RETRY_BACKOFF_MS";
pub const WRITE_RESERVE_VAR: &str = "PROBE_WRITE_RESERVE_MS";
/// The floor of `PROBE_WRITE_RESERVE_MS`: the run's publish and summary margins (750 ms)
/// and a quarter of a second for the write.
pub const MIN_WRITE_RESERVE_MS: u64 = 1000;
pub const CERT_WARNING_VAR: &str = "CERT_EXPIRY_WARNING_DAYS";
pub const ALLOW_PRIVATE_VAR: &str = ALLOW_PRIVATE_SETTING;
/// A PEM file of CA certificates the prober trusts besides the system's.
pub const EXTRA_CA_FILE_VAR: &str = EXTRA_CA_FILE_SETTING;
/// A Secrets Manager secret whose `SecretString` is such a PEM (at most one of the two).
pub const EXTRA_CA_SECRET_VAR: &str = EXTRA_CA_SECRET_SETTING;
/// The EventBridge bus for state-change events (name or ARN; default `default`).
pub const EVENT_BUS_VAR: &str = "EVENT_BUS_NAME";
/// `false` switches state-change events off (default `true`).
pub const EVENTS_ENABLED_VAR: &str = "STATE_CHANGE_EVENTS_ENABLED";

/// Everything the probe function needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    pub table: String,
    pub run: RunSettings,
    pub allow_private: bool,
    /// Extra CA certificates to trust besides the system's; read on the first run, not here.
    pub extra_ca: Option<ExtraCa>,
    /// The bus state-change events go to; `None` when they are switched off.
    pub event_bus: Option<String>,
}

impl ProbeConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let d = RunSettings::default();
        let allow_private = env.flag(ALLOW_PRIVATE_VAR, false)?;
        let extra_ca = match (env.get(EXTRA_CA_FILE_VAR), env.get(EXTRA_CA_SECRET_VAR)) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Exclusive {
                    name: EXTRA_CA_FILE_VAR,
                    other: EXTRA_CA_SECRET_VAR,
                })
            }
            (Some(path), None) => Some(ExtraCa::File(path.into())),
            (None, Some(secret_id)) => Some(ExtraCa::Secret(secret_id)),
            (None, None) => None,
        };
        let event_bus = env.flag(EVENTS_ENABLED_VAR, true)?.then(|| {
            env.get(EVENT_BUS_VAR)
                .unwrap_or_else(|| DEFAULT_BUS.to_owned())
        });
        let mut run = RunSettings {
            concurrency: env.number(CONCURRENCY_VAR, d.concurrency as u64, 1, 1024)? as usize,
            per_host_concurrency: env.number(
                PER_HOST_CONCURRENCY_VAR,
                d.per_host_concurrency as u64,
                1,
                1024,
            )? as usize,
            // Checked below, against what the other settings leave.
            default_timeout: d.default_timeout,
            retries: env.number(RETRIES_VAR, u64::from(d.retries), 0, 3)? as u32,
            retry_backoff: Duration::from_millis(env.number(
                BACKOFF_VAR,
                d.retry_backoff.as_millis() as u64,
                0,
                10_000,
            )?),
            // At least what the run keeps after the write cut-off (publishing, then
            // the summary), plus time for the write itself.
            write_reserve: Duration::from_millis(env.number(
                WRITE_RESERVE_VAR,
                d.write_reserve.as_millis() as u64,
                MIN_WRITE_RESERVE_MS,
                60_000,
            )?),
            certificate_warning_days: env.number(
                CERT_WARNING_VAR,
                u64::from(d.certificate_warning_days),
                0,
                365,
            )? as u32,
        };
        let max = run.max_probe_timeout().as_secs();
        let too_long = ConfigError::ProbeTimeoutTooLong {
            name: TIMEOUT_VAR,
            max,
            function_timeout: PROBE_FUNCTION_TIMEOUT.as_secs(),
        };
        let timeout = env
            .number(TIMEOUT_VAR, d.default_timeout.as_secs(), 1, u64::MAX)
            .map_err(|_| ConfigError::OutOfRange {
                name: TIMEOUT_VAR,
                min: 1,
                max,
            })?;
        if timeout > max {
            return Err(too_long);
        }
        run.default_timeout = Duration::from_secs(timeout);
        Ok(Self {
            table: env.required(TABLE_VAR)?,
            run,
            allow_private,
            extra_ca,
            event_bus,
        })
    }

    /// The HTTP prober's settings.
    pub fn prober_settings(&self) -> ProberSettings {
        ProberSettings {
            allow_private: self.allow_private,
            ..ProberSettings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<ProbeConfig, ConfigError> {
        ProbeConfig::from_lookup(crate::config::lookup(pairs))
    }

    #[test]
    fn defaults_apply_and_the_table_is_required() {
        assert_eq!(cfg(&[]), Err(ConfigError::Missing(TABLE_VAR)));
        let c = cfg(&[(TABLE_VAR, "connectors")]).unwrap();
        assert_eq!(c.table, "connectors");
        assert_eq!(c.run, RunSettings::default());
        assert_eq!(c.run.concurrency, 32);
        assert_eq!(c.run.per_host_concurrency, 4);
        assert_eq!(c.run.default_timeout, Duration::from_secs(10));
        assert_eq!(c.run.retries, 1);
        assert_eq!(c.run.certificate_warning_days, 14);
        assert!(!c.allow_private);
        assert!(!c.prober_settings().allow_private);
        assert_eq!(c.event_bus.as_deref(), Some("default"));
        assert_eq!(c.extra_ca, None);
    }

    #[test]
    fn extra_ca_certificates_come_from_a_file_or_a_secret_never_both() {
        let base = (TABLE_VAR, "t");
        let c = cfg(&[base, (EXTRA_CA_FILE_VAR, "/opt/ca/private.pem")]).unwrap();
        assert_eq!(
            c.extra_ca,
            Some(ExtraCa::File("/opt/ca/private.pem".into()))
        );
        let c = cfg(&[base, (EXTRA_CA_SECRET_VAR, "ops/private-ca")]).unwrap();
        assert_eq!(c.extra_ca, Some(ExtraCa::Secret("ops/private-ca".into())));
        // Blank is unset, as for every variable (the template sets an unused one to "").
        let c = cfg(&[base, (EXTRA_CA_FILE_VAR, ""), (EXTRA_CA_SECRET_VAR, " ")]).unwrap();
        assert_eq!(c.extra_ca, None);
        let both = cfg(&[
            base,
            (EXTRA_CA_FILE_VAR, "/opt/ca/private.pem"),
            (EXTRA_CA_SECRET_VAR, "ops/private-ca"),
        ])
        .unwrap_err();
        assert_eq!(
            both,
            ConfigError::Exclusive {
                name: EXTRA_CA_FILE_VAR,
                other: EXTRA_CA_SECRET_VAR
            }
        );
        let message = both.to_string();
        assert!(
            message.contains("PROBE_EXTRA_CA_FILE") && message.contains("PROBE_EXTRA_CA_SECRET_ID"),
            "{message}"
        );
    }

    #[test]
    fn events_go_to_the_named_bus_or_are_switched_off() {
        let base = (TABLE_VAR, "t");
        let c = cfg(&[base, (EVENT_BUS_VAR, "ops")]).unwrap();
        assert_eq!(c.event_bus.as_deref(), Some("ops"));
        let c = cfg(&[base, (EVENT_BUS_VAR, "ops"), (EVENTS_ENABLED_VAR, "false")]).unwrap();
        assert_eq!(c.event_bus, None);
        assert_eq!(
            cfg(&[base, (EVENTS_ENABLED_VAR, "off")]),
            Err(ConfigError::NotBool(EVENTS_ENABLED_VAR))
        );
    }

    #[test]
    fn a_timeout_that_cannot_fit_in_a_run_is_refused_naming_the_maximum() {
        let base = (TABLE_VAR, "t");
        // Default retries, backoff and reserve: at most 26 s.
        assert_eq!(
            cfg(&[base, (TIMEOUT_VAR, "26")])
                .unwrap()
                .run
                .default_timeout,
            Duration::from_secs(26)
        );
        let e = cfg(&[base, (TIMEOUT_VAR, "27")]).unwrap_err();
        assert_eq!(
            e,
            ConfigError::ProbeTimeoutTooLong {
                name: TIMEOUT_VAR,
                max: 26,
                function_timeout: 60
            }
        );
        let message = e.to_string();
        assert!(
            message.contains("PROBE_TIMEOUT_SECONDS") && message.contains("at most 26 seconds"),
            "{message}"
        );
        // Without retries a probe may take longer; with more it must take less.
        assert!(cfg(&[base, (TIMEOUT_VAR, "53"), (RETRIES_VAR, "0")]).is_ok());
        assert!(matches!(
            cfg(&[base, (TIMEOUT_VAR, "20"), (RETRIES_VAR, "2")]),
            Err(ConfigError::ProbeTimeoutTooLong { max: 17, .. })
        ));
        // The default timeout too.
        assert!(matches!(
            cfg(&[base, (RETRIES_VAR, "3"), (BACKOFF_VAR, "10000")]),
            Err(ConfigError::ProbeTimeoutTooLong { max: 5, .. })
        ));
    }

    #[test]
    fn bad_values_name_their_variable() {
        let base = (TABLE_VAR, "t");
        assert_eq!(
            cfg(&[base, (RETRIES_VAR, "4")]),
            Err(ConfigError::OutOfRange {
                name: RETRIES_VAR,
                min: 0,
                max: 3
            })
        );
        assert!(matches!(
            cfg(&[base, (CONCURRENCY_VAR, "0")]),
            Err(ConfigError::OutOfRange {
                name: CONCURRENCY_VAR,
                ..
            })
        ));
        assert!(matches!(
            cfg(&[base, (TIMEOUT_VAR, "10s")]),
            Err(ConfigError::OutOfRange {
                name: TIMEOUT_VAR,
                ..
            })
        ));
        assert_eq!(
            cfg(&[base, (PER_HOST_CONCURRENCY_VAR, "0")]),
            Err(ConfigError::OutOfRange {
                name: PER_HOST_CONCURRENCY_VAR,
                min: 1,
                max: 1024
            })
        );
        assert_eq!(
            cfg(&[base, (PER_HOST_CONCURRENCY_VAR, "1")])
                .unwrap()
                .run
                .per_host_concurrency,
            1
        );
        assert_eq!(
            cfg(&[base, (ALLOW_PRIVATE_VAR, "maybe")]),
            Err(ConfigError::NotBool(ALLOW_PRIVATE_VAR))
        );
        let c = cfg(&[
            base,
            (RETRIES_VAR, "0"),
            (CONCURRENCY_VAR, "128"),
            (ALLOW_PRIVATE_VAR, "true"),
        ])
        .unwrap();
        assert_eq!(
            (c.run.retries, c.run.concurrency, c.allow_private),
            (0, 128, true)
        );
        assert!(ConfigError::Missing(TABLE_VAR)
            .to_string()
            .contains(TABLE_VAR));
    }
}
