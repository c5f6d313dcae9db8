//! What the two read functions need: the table, the key secret and the key cache's rules.

use super::{ConfigError, Env, TABLE_VAR};
use crate::auth::CachePolicy;
use crate::domain::Staleness;
use crate::http::LAMBDA_RESPONSE_LIMIT;
use std::time::Duration;

pub const SECRET_VAR: &str = "API_KEYS_SECRET_ID";
pub const TTL_VAR: &str = "API_KEYS_CACHE_TTL_SECONDS";
pub const MIN_REFRESH_VAR: &str = "API_KEYS_MIN_REFRESH_SECONDS";
pub const BACKOFF_VAR: &str = "API_KEYS_FAILURE_BACKOFF_SECONDS";
pub const STALENESS_VAR: &str = "API_KEYS_MAX_STALENESS_SECONDS";
pub const MAX_RESPONSE_VAR: &str = "MAX_RESPONSE_BYTES";
pub const LIST_CACHE_VAR: &str = "LIST_CACHE_SECONDS";
pub const PROBE_INTERVAL_VAR: &str = "PROBE_INTERVAL_SECONDS";

/// The longest `PROBE_INTERVAL_SECONDS`: a day.
pub const MAX_PROBE_INTERVAL_SECONDS: u64 = 86_400;

/// The longest `LIST_CACHE_SECONDS`: a list older than this is not worth showing.
pub const MAX_LIST_CACHE_SECONDS: u64 = 300;

/// The floor of `MAX_RESPONSE_BYTES`: room for an error message and the envelope.
pub const MIN_RESPONSE_BYTES: u64 = 16 * 1024;

/// The floor of `API_KEYS_MIN_REFRESH_SECONDS` and of the TTL: unknown keys must not be
/// able to make a container call Secrets Manager more often than this.
pub const MIN_REFRESH_FLOOR_SECONDS: u64 = 30;

/// What the two read functions need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    pub table: String,
    pub key_secret_id: String,
    pub key_cache: CachePolicy,
    pub read: ReadSettings,
}

/// How the read functions answer, beyond where they read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadSettings {
    /// The most bytes an invocation response may take (`MAX_RESPONSE_BYTES`): Lambda's
    /// limit, or lower, so tests and operators can see the `406` without a huge table.
    pub max_response_bytes: usize,
    /// How long a container answers the list from the rows of its last `Scan`
    /// (`LIST_CACHE_SECONDS`; zero: every request scans).
    pub list_cache: Duration,
    /// How often connectors are probed (`PROBE_INTERVAL_SECONDS`), so a connector whose
    /// last check is older than three intervals is shown `"stale": true`.
    pub staleness: Staleness,
}

impl Default for ReadSettings {
    fn default() -> Self {
        Self {
            max_response_bytes: LAMBDA_RESPONSE_LIMIT,
            list_cache: Duration::from_secs(5),
            staleness: Staleness::default(),
        }
    }
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let at_least = |name: &'static str, value: Duration| {
            if value.as_secs() < MIN_REFRESH_FLOOR_SECONDS {
                Err(ConfigError::TooShort(name, MIN_REFRESH_FLOOR_SECONDS))
            } else {
                Ok(value)
            }
        };
        let table = env.required(TABLE_VAR)?;
        let key_secret_id = env.required(SECRET_VAR)?;
        let d = CachePolicy::default();
        let key_cache = CachePolicy {
            ttl: at_least(TTL_VAR, env.seconds(TTL_VAR, d.ttl)?)?,
            min_refresh_interval: at_least(
                MIN_REFRESH_VAR,
                env.seconds(MIN_REFRESH_VAR, d.min_refresh_interval)?,
            )?,
            failure_backoff: env.seconds(BACKOFF_VAR, d.failure_backoff)?,
            max_staleness: env.seconds(STALENESS_VAR, d.max_staleness)?,
            fetch_timeout: d.fetch_timeout,
            refresh_grace: d.refresh_grace,
        };
        // With no backoff, every request during an outage would call Secrets Manager.
        if key_cache.failure_backoff.is_zero() {
            return Err(ConfigError::TooShort(BACKOFF_VAR, 1));
        }
        // A copy may not be dropped before it is even due for a refresh.
        if key_cache.max_staleness < key_cache.ttl {
            return Err(ConfigError::Contradicts {
                name: STALENESS_VAR,
                other: TTL_VAR,
            });
        }
        let d = ReadSettings::default();
        let read = ReadSettings {
            max_response_bytes: env.number(
                MAX_RESPONSE_VAR,
                d.max_response_bytes as u64,
                MIN_RESPONSE_BYTES,
                LAMBDA_RESPONSE_LIMIT as u64,
            )? as usize,
            list_cache: Duration::from_secs(env.number(
                LIST_CACHE_VAR,
                d.list_cache.as_secs(),
                0,
                MAX_LIST_CACHE_SECONDS,
            )?),
            staleness: Staleness {
                probe_interval: Duration::from_secs(env.number(
                    PROBE_INTERVAL_VAR,
                    d.staleness.probe_interval.as_secs(),
                    1,
                    MAX_PROBE_INTERVAL_SECONDS,
                )?),
            },
        };
        Ok(Self {
            table,
            key_secret_id,
            key_cache,
            read,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<ApiConfig, ConfigError> {
        ApiConfig::from_lookup(crate::config::lookup(pairs))
    }

    #[test]
    fn required_variables_are_named_when_missing() {
        assert_eq!(cfg(&[]), Err(ConfigError::Missing(TABLE_VAR)));
        assert_eq!(
            cfg(&[(TABLE_VAR, "t"), (SECRET_VAR, " ")]),
            Err(ConfigError::Missing(SECRET_VAR))
        );
    }

    #[test]
    fn durations_default_and_parse() {
        let c = cfg(&[(TABLE_VAR, "t"), (SECRET_VAR, "s")]).unwrap();
        assert_eq!(c.key_cache, CachePolicy::default());
        let c = cfg(&[(TABLE_VAR, "t"), (SECRET_VAR, "s"), (TTL_VAR, "60")]).unwrap();
        assert_eq!(c.key_cache.ttl, Duration::from_secs(60));
        assert_eq!(
            cfg(&[(TABLE_VAR, "t"), (SECRET_VAR, "s"), (TTL_VAR, "5m")]),
            Err(ConfigError::NotSeconds(TTL_VAR))
        );
        assert_eq!(
            cfg(&[(TABLE_VAR, "t"), (SECRET_VAR, "s"), (MIN_REFRESH_VAR, "0")]),
            Err(ConfigError::TooShort(MIN_REFRESH_VAR, 30))
        );
        assert_eq!(
            cfg(&[(TABLE_VAR, "t"), (SECRET_VAR, "s"), (TTL_VAR, "29")]),
            Err(ConfigError::TooShort(TTL_VAR, 30))
        );
    }

    #[test]
    fn the_response_limit_defaults_to_lambdas_and_may_only_be_lowered() {
        let base = [(TABLE_VAR, "t"), (SECRET_VAR, "s")];
        let c = cfg(&base).unwrap();
        assert_eq!(c.read.max_response_bytes, 6_291_456);
        let mut pairs = base.to_vec();
        pairs.push((MAX_RESPONSE_VAR, "20000"));
        assert_eq!(cfg(&pairs).unwrap().read.max_response_bytes, 20_000);
        for bad in ["6291457", "1000", "6MB", "-1"] {
            let mut pairs = base.to_vec();
            pairs.push((MAX_RESPONSE_VAR, bad));
            assert_eq!(
                cfg(&pairs),
                Err(ConfigError::OutOfRange {
                    name: MAX_RESPONSE_VAR,
                    min: 16_384,
                    max: 6_291_456
                }),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_list_cache_defaults_to_5_s_and_0_turns_it_off() {
        let base = [(TABLE_VAR, "t"), (SECRET_VAR, "s")];
        assert_eq!(cfg(&base).unwrap().read.list_cache, Duration::from_secs(5));
        let with = |v: &'static str| {
            let mut pairs = base.to_vec();
            pairs.push((LIST_CACHE_VAR, v));
            cfg(&pairs)
        };
        assert_eq!(with("0").unwrap().read.list_cache, Duration::ZERO);
        assert_eq!(
            with("300").unwrap().read.list_cache,
            Duration::from_secs(300)
        );
        for bad in ["301", "5s", "-1"] {
            assert_eq!(
                with(bad),
                Err(ConfigError::OutOfRange {
                    name: LIST_CACHE_VAR,
                    min: 0,
                    max: 300
                }),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_probe_interval_defaults_to_300_s() {
        let base = [(TABLE_VAR, "t"), (SECRET_VAR, "s")];
        let interval =
            |pairs: &[(&str, &str)]| cfg(pairs).map(|c| c.read.staleness.probe_interval.as_secs());
        assert_eq!(interval(&base), Ok(300));
        let mut pairs = base.to_vec();
        pairs.push((PROBE_INTERVAL_VAR, "120"));
        assert_eq!(interval(&pairs), Ok(120));
        for bad in ["0", "86401", "5m"] {
            let mut pairs = base.to_vec();
            pairs.push((PROBE_INTERVAL_VAR, bad));
            assert_eq!(
                interval(&pairs),
                Err(ConfigError::OutOfRange {
                    name: PROBE_INTERVAL_VAR,
                    min: 1,
                    max: 86_400
                }),
                "{bad}"
            );
        }
    }

    #[test]
    fn contradictory_cache_settings_are_refused_naming_the_variable() {
        let base = [(TABLE_VAR, "t"), (SECRET_VAR, "s")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            cfg(&pairs)
        };
        // A copy may not be dropped before it is even due for a refresh.
        let e = with(&[(TTL_VAR, "600"), (STALENESS_VAR, "300")]).unwrap_err();
        assert_eq!(
            e,
            ConfigError::Contradicts {
                name: STALENESS_VAR,
                other: TTL_VAR
            }
        );
        assert!(e.to_string().contains(STALENESS_VAR), "{e}");
        // With no backoff, every request during an outage would call Secrets Manager.
        assert_eq!(
            with(&[(BACKOFF_VAR, "0")]),
            Err(ConfigError::TooShort(BACKOFF_VAR, 1))
        );
        // Equal is not a contradiction.
        assert!(with(&[(TTL_VAR, "300"), (STALENESS_VAR, "300")]).is_ok());
        assert!(with(&[(BACKOFF_VAR, "1")]).is_ok());
    }
}
