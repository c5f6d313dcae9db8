//! Typed configuration, read once at cold start from the environment. A missing or
//! malformed variable fails fast with a message naming it; nothing defaults silently to an
//! empty table name.
//!
//! - [`api`]: what the two read functions need.
//! - [`probe`]: what a probe run needs.
//! - [`cycle`]: how the scheduled probe shares out a cycle (queue, batch size, interval).
//! - [`history`]: the history table, when there is one.
//! - [`status_page`]: what the status page needs beyond the read functions.
//!
//! Both read their variables through [`Env`], so every variable is parsed the same way.

pub mod api;
pub mod cycle;
pub mod history;
pub mod probe;
pub mod status_page;

pub use api::ApiConfig;
pub use cycle::CycleConfig;
pub use probe::ProbeConfig;
pub use status_page::StatusPageConfig;

use std::time::Duration;

/// The table both kinds of function read.
pub const TABLE_VAR: &str = "CONNECTORS_TABLE";

/// Why the configuration cannot be used; each names its variable.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} must be set to a non-empty value")]
    Missing(&'static str),
    #[error("environment variable {0} must be a whole number of seconds")]
    NotSeconds(&'static str),
    #[error("environment variable {0} must be at least {1} seconds")]
    TooShort(&'static str, u64),
    #[error("environment variable {name} must be a whole number from {min} to {max}")]
    OutOfRange {
        name: &'static str,
        min: u64,
        max: u64,
    },
    #[error("environment variable {0} must be true or false")]
    NotBool(&'static str),
    #[error("environment variable {name} must be at least {other}")]
    Contradicts {
        name: &'static str,
        other: &'static str,
    },
    #[error("environment variables {name} and {other} cannot both be set: set one of them")]
    Exclusive {
        name: &'static str,
        other: &'static str,
    },
    #[error("environment variable {name} must be at least 1 and at most {max} seconds: a probe with its retries, their backoff and the write reserve must fit in the probe function's {function_timeout} s timeout (lower PROBE_RETRIES, PROBE_RETRY_BACKOFF_MS or PROBE_WRITE_RESERVE_MS to allow more)")]
    ProbeTimeoutTooLong {
        name: &'static str,
        max: u64,
        function_timeout: u64,
    },
}

/// Reads variables through a lookup (the process environment, or a map in tests and in
/// the tools that override some of them). Blank values count as unset.
pub struct Env<F>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// The trimmed value, or `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A value that must be set.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    /// Whole seconds, or `default` when unset.
    pub fn seconds(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| ConfigError::NotSeconds(name)),
        }
    }

    /// A whole number in `min..=max`, or `default` when unset.
    pub fn number(
        &self,
        name: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or(ConfigError::OutOfRange { name, min, max }),
        }
    }

    /// `true`/`1`/`yes` or `false`/`0`/`no` (any case), or `default` when unset.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "true" | "1" | "yes") => Ok(true),
            Some(v) if matches!(v.as_str(), "false" | "0" | "no") => Ok(false),
            Some(_) => Err(ConfigError::NotBool(name)),
        }
    }
}

#[cfg(test)]
pub(crate) fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}
