//! What a request presented as its API key, once its header, query string and Basic
//! authentication were reconciled (see `auth::presented` for how).

use secrecy::SecretString;
use std::fmt;

/// What a request presented, after reconciling the three ways a key may be passed.
pub enum Presented {
    /// No key at all.
    Missing,
    /// Keys were given in several places and they differ, or Basic authentication
    /// was used with another user name than `api`, or its header was malformed.
    Invalid,
    /// One key (possibly given in several places that agree).
    Key(SecretString),
}

impl fmt::Debug for Presented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Presented::Missing => "Missing",
            Presented::Invalid => "Invalid",
            Presented::Key(_) => "Key(..)",
        })
    }
}
