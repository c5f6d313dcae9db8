//! What the status page function needs: what the read functions need, and whether the page
//! is open to anyone.

use super::{ApiConfig, ConfigError, Env};
use std::time::Duration;

/// `true`: the page answers without an API key (template parameter `StatusPagePublic`).
pub const PUBLIC_VAR: &str = "STATUS_PAGE_PUBLIC";
/// Seconds a container shows the list page's history (uptime, sparklines) from its last
/// reads; `0`: every view reads it.
pub const HISTORY_CACHE_VAR: &str = "STATUS_PAGE_HISTORY_CACHE_SECONDS";
/// The default: a connector's history gains one check per probe interval (5 minutes by
/// default), so a minute-old copy shows nearly the same, for one read per connector per
/// minute per container instead of one per view.
pub const DEFAULT_HISTORY_CACHE: Duration = Duration::from_secs(60);
/// The longest: an hour.
const MAX_HISTORY_CACHE_SECONDS: u64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPageConfig {
    pub api: ApiConfig,
    /// The page needs no key (the JSON API still does).
    pub public: bool,
    /// How long the list page's history is kept per container (`HISTORY_CACHE_VAR`).
    pub history_cache: Duration,
}

impl StatusPageConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let public = Env(&lookup).flag(PUBLIC_VAR, false)?;
        let history_cache = history_cache(&lookup)?;
        Ok(Self {
            api: ApiConfig::from_lookup(lookup)?,
            public,
            history_cache,
        })
    }
}

/// `STATUS_PAGE_HISTORY_CACHE_SECONDS`, or the default.
pub fn history_cache(lookup: impl Fn(&str) -> Option<String>) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(Env(lookup).number(
        HISTORY_CACHE_VAR,
        DEFAULT_HISTORY_CACHE.as_secs(),
        0,
        MAX_HISTORY_CACHE_SECONDS,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lookup;

    #[test]
    fn private_by_default_public_when_asked_and_a_bad_value_is_named() {
        let base = [("CONNECTORS_TABLE", "t"), ("API_KEYS_SECRET_ID", "s")];
        let c = StatusPageConfig::from_lookup(lookup(&base)).unwrap();
        assert!(!c.public);
        assert_eq!(c.api.table, "t");
        let with = |v: &'static str| {
            let mut pairs = base.to_vec();
            pairs.push((PUBLIC_VAR, v));
            StatusPageConfig::from_lookup(lookup(&pairs))
        };
        assert!(with("true").unwrap().public);
        assert!(!with("false").unwrap().public);
        assert_eq!(with("maybe"), Err(ConfigError::NotBool(PUBLIC_VAR)));
    }

    #[test]
    fn the_history_cache_defaults_to_a_minute_and_0_turns_it_off() {
        let base = [("CONNECTORS_TABLE", "t"), ("API_KEYS_SECRET_ID", "s")];
        let c = StatusPageConfig::from_lookup(lookup(&base)).unwrap();
        assert_eq!(c.history_cache, Duration::from_secs(60));
        let with = |v: &'static str| {
            let mut pairs = base.to_vec();
            pairs.push((HISTORY_CACHE_VAR, v));
            StatusPageConfig::from_lookup(lookup(&pairs))
        };
        assert_eq!(with("0").unwrap().history_cache, Duration::ZERO);
        assert_eq!(with("300").unwrap().history_cache, Duration::from_secs(300));
        assert!(with("3601").is_err());
        assert!(with("soon").is_err());
    }
}
