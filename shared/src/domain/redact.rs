//! How a connector URL is shown outside the table. A URL may carry credentials (user-info,
//! a token in the query), and every API key holder can read the API, so every place that
//! shows a URL goes through [`redact`]: the API, log lines, probe messages and events.

use std::borrow::Cow;

/// Who the URL is shown to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlView {
    /// The API's `url` member: the URL as stored, less a password in its user-info (which
    /// the prober needs for a private feed). Text that is not a URL is shown as stored.
    Api,
    /// Log lines, probe messages and state-change events: scheme, host, port and path only
    /// (no user-info, no query, no fragment). Text that is not an http(s) URL becomes a
    /// placeholder, never the input.
    Location,
}

/// The URL as `view` may show it.
pub fn redact(url: &str, view: UrlView) -> Cow<'_, str> {
    let parsed = url::Url::parse(url);
    match view {
        UrlView::Api => match parsed {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(None);
                Cow::Owned(u.to_string())
            }
            _ => Cow::Borrowed(url),
        },
        UrlView::Location => match parsed {
            Ok(mut u) if matches!(u.scheme(), "http" | "https") => {
                let _ = u.set_username("");
                let _ = u.set_password(None);
                u.set_query(None);
                u.set_fragment(None);
                Cow::Owned(u.to_string())
            }
            _ => Cow::Borrowed("(invalid URL)"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Connector, ConnectorId, Diagnostics, Health};

    fn public_url(url: &str) -> Cow<'_, str> {
        redact(url, UrlView::Api)
    }

    fn location(url: &str) -> Cow<'_, str> {
        redact(url, UrlView::Location)
    }

    #[test]
    fn passwords_in_urls_are_not_shown() {
        assert_eq!(
            public_url("https://ci:s3cret@nexus.example/repository/npm/"),
            "https://ci@nexus.example/repository/npm/"
        );
        assert_eq!(
            public_url("https://registry.npmjs.org"),
            "https://registry.npmjs.org"
        );
        assert_eq!(public_url("not a url"), "not a url");
        let c = Connector {
            id: ConnectorId::new(1).unwrap(),
            name: "n".into(),
            url: "https://u:p@h.example/x".into(),
            health: Health::Unknown,
            diagnostics: Diagnostics::default(),
        };
        assert!(!serde_json::to_string(&c).unwrap().contains(":p@"));
    }

    #[test]
    fn redaction_drops_credentials_and_queries() {
        assert_eq!(
            location("https://user:s3cret@registry.test:8443/npm/?token=abc#x"),
            "https://registry.test:8443/npm/"
        );
        assert_eq!(location("https://user:p%40ss@r.test"), "https://r.test/");
        assert_eq!(location("user:pass@nothing"), "(invalid URL)");
    }
}
