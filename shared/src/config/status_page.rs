//! What the status page function needs: what the read functions need, and whether the page
//! is open to anyone.

use super::{ApiConfig, ConfigError, Env};

/// `true`: the page answers without an API key (template parameter `StatusPagePublic`).
pub const PUBLIC_VAR: &str = "STATUS_PAGE_PUBLIC";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPageConfig {
    pub api: ApiConfig,
    /// The page needs no key (the JSON API still does).
    pub public: bool,
}

impl StatusPageConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let public = Env(&lookup).flag(PUBLIC_VAR, false)?;
        Ok(Self {
            api: ApiConfig::from_lookup(lookup)?,
            public,
        })
    }
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
}
