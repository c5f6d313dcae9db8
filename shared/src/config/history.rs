//! Where history is kept: the history table, when there is one.

/// The history table's name. Unset or blank: no history is recorded or read (the read
/// API's history is then empty and its uptime badges say `no data`).
pub const HISTORY_TABLE_VAR: &str = "HISTORY_TABLE";

/// The history table named by the lookup (`None`: unset or blank).
pub fn history_table(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    lookup(HISTORY_TABLE_VAR)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The history table named by the process environment.
pub fn history_table_from_env() -> Option<String> {
    history_table(|name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_or_unset_means_no_history() {
        assert_eq!(history_table(|_| None), None);
        assert_eq!(history_table(|_| Some("  ".into())), None);
        assert_eq!(
            history_table(|n| (n == HISTORY_TABLE_VAR).then(|| "h".into())),
            Some("h".to_owned())
        );
    }
}
