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
