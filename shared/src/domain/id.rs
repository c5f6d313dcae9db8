//! Connector ids.

use std::fmt;

/// A connector id: a positive integer that fits in a signed 32-bit integer, as in ProGet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectorId(u32);

impl ConnectorId {
    /// The largest id (ProGet stores connector ids as a signed 32-bit `int`).
    pub const MAX: u32 = i32::MAX as u32;

    /// Parses a path segment. Only plain ASCII digits are accepted (no sign, no spaces,
    /// no decimal point, no percent-encoding); the value must be between 1 and [`Self::MAX`].
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: u64 = text.parse().ok()?;
        Self::new(u32::try_from(value).ok()?)
    }

    pub fn new(value: u32) -> Option<Self> {
        (1..=Self::MAX).contains(&value).then_some(Self(value))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for ConnectorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_only_positive_32_bit_integers() {
        assert_eq!(ConnectorId::parse("1").map(ConnectorId::get), Some(1));
        assert_eq!(ConnectorId::parse("42").map(ConnectorId::get), Some(42));
        assert_eq!(
            ConnectorId::parse("2147483647").map(ConnectorId::get),
            Some(2147483647)
        );
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "abc",
            "1.5",
            "1e3",
            " 1",
            "1 ",
            "2147483648",
            "4294967296",
            "99999999999999999999",
            "%31",
            "%00",
            "１",
            "0x10",
        ] {
            assert_eq!(ConnectorId::parse(bad), None, "{bad:?} must be rejected");
        }
    }
}

/// Property tests (`cargo test -p connector-health-shared --lib properties`).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Text a path segment may hold: any string, digit strings of every length (with and
    /// without leading zeros), and numbers around the bounds.
    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[0-9]{0,24}",
            "[0-9+\\-. %a-fx]{0,14}",
            any::<u64>().prop_map(|n| n.to_string()),
            (0u64..=u64::from(ConnectorId::MAX) + 2).prop_map(|n| n.to_string()),
        ]
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in segment()) {
            let _ = ConnectorId::parse(&text);
        }

        /// Every valid id prints as its number and reads back as itself.
        #[test]
        fn format_then_parse_is_the_identity(value in 1..=ConnectorId::MAX) {
            let id = ConnectorId::new(value).unwrap();
            prop_assert_eq!(id.to_string(), value.to_string());
            prop_assert_eq!(ConnectorId::parse(&id.to_string()), Some(id));
            prop_assert_eq!(id.get(), value);
        }

        /// Numbers outside 1..=MAX are never ids, however they are written.
        #[test]
        fn out_of_range_numbers_are_rejected(value in prop_oneof![
            Just(0u64),
            u64::from(ConnectorId::MAX) + 1..=u64::MAX,
        ]) {
            prop_assert_eq!(ConnectorId::parse(&value.to_string()), None);
            prop_assert_eq!(u32::try_from(value).ok().and_then(ConnectorId::new), None);
        }

        /// What parses is plain ASCII digits naming the id it yields (leading zeros aside).
        #[test]
        fn what_parses_is_the_digits_of_the_id(text in segment()) {
            if let Some(id) = ConnectorId::parse(&text) {
                prop_assert!(text.bytes().all(|b| b.is_ascii_digit()), "{:?}", text);
                prop_assert_eq!(text.trim_start_matches('0'), id.to_string());
            }
        }
    }
}
