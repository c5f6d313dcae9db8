//! Typed configuration, read once at cold start. Missing or malformed variables fail fast
//! with a message naming the variable; nothing defaults silently to an empty table name.

use crate::key_cache::CachePolicy;
use std::time::Duration;

pub const TABLE_VAR: &str = "CONNECTORS_TABLE";
pub const SECRET_VAR: &str = "API_KEYS_SECRET_ID";
pub const TTL_VAR: &str = "API_KEYS_CACHE_TTL_SECONDS";
pub const MIN_REFRESH_VAR: &str = "API_KEYS_MIN_REFRESH_SECONDS";
pub const BACKOFF_VAR: &str = "API_KEYS_FAILURE_BACKOFF_SECONDS";
pub const STALENESS_VAR: &str = "API_KEYS_MAX_STALENESS_SECONDS";

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} must be set to a non-empty value")]
    Missing(&'static str),
    #[error("environment variable {0} must be a whole number of seconds")]
    NotSeconds(&'static str),
    #[error("environment variable {0} must be at least {1} seconds")]
    TooShort(&'static str, u64),
}

/// The floor of `API_KEYS_MIN_REFRESH_SECONDS` and of the TTL: unknown keys must not be
/// able to make a container call Secrets Manager more often than this.
pub const MIN_REFRESH_FLOOR_SECONDS: u64 = 30;

/// What the two read functions need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    pub table: String,
    pub key_secret_id: String,
    pub key_cache: CachePolicy,
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let seconds = |name: &'static str, default: Duration| match lookup(name) {
            None => Ok(default),
            Some(v) if v.trim().is_empty() => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| ConfigError::NotSeconds(name)),
        };
        let at_least = |name: &'static str, value: Duration| {
            if value.as_secs() < MIN_REFRESH_FLOOR_SECONDS {
                Err(ConfigError::TooShort(name, MIN_REFRESH_FLOOR_SECONDS))
            } else {
                Ok(value)
            }
        };
        let d = CachePolicy::default();
        Ok(Self {
            table: required(TABLE_VAR)?,
            key_secret_id: required(SECRET_VAR)?,
            key_cache: CachePolicy {
                ttl: at_least(TTL_VAR, seconds(TTL_VAR, d.ttl)?)?,
                min_refresh_interval: at_least(
                    MIN_REFRESH_VAR,
                    seconds(MIN_REFRESH_VAR, d.min_refresh_interval)?,
                )?,
                failure_backoff: seconds(BACKOFF_VAR, d.failure_backoff)?,
                max_staleness: seconds(STALENESS_VAR, d.max_staleness)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<ApiConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ApiConfig::from_lookup(|k| map.get(k).cloned())
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
}
