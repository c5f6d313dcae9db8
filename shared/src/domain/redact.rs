//! How a connector URL is shown outside the table. A URL may carry credentials (user-info,
//! a token in the query), and every API key holder can read the API, so every place that
//! shows a URL goes through [`redact`]: the API, log lines, probe messages and events.

use std::borrow::Cow;

/// Who the URL is shown to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlView {
    /// The API's `url` member: the URL as stored, less a password in its user-info (which
    /// the prober needs for a private feed) and with the value of every query-string
    /// parameter named like a credential (`token`, `api_key`, `X-Amz-Signature`, ...) shown as
    /// [`REDACTED`].
    /// Text that is not a URL is shown as stored.
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
            Ok(mut u) => {
                let query = u.query().and_then(hide_secret_values);
                if u.password().is_none() && query.is_none() {
                    return Cow::Borrowed(url);
                }
                let _ = u.set_password(None);
                if let Some(query) = query {
                    u.set_query(Some(&query));
                }
                Cow::Owned(u.to_string())
            }
            Err(_) => Cow::Borrowed(url),
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

/// What the API view shows instead of the value of a secret query-string parameter.
pub const REDACTED: &str = "REDACTED";

/// Whether a query-string parameter's name (percent-decoded, any case) marks its value as a
/// credential: it contains `key` (`api_key`, `X-ApiKey`), `token`, `secret`, `pass`
/// (`password`, `passwd`), `pwd`, `auth`, `sig` (`signature`, `X-Amz-Signature`),
/// `credential` or `session`. Naming a harmless parameter so only hides its value.
fn is_secret_parameter(name: &str) -> bool {
    const PARTS: [&str; 9] = [
        "key",
        "token",
        "secret",
        "pass",
        "pwd",
        "auth",
        "sig",
        "credential",
        "session",
    ];
    let name = percent_encoding::percent_decode_str(name)
        .decode_utf8_lossy()
        .to_ascii_lowercase();
    PARTS.iter().any(|part| name.contains(part))
}

/// The query with the value of every secret parameter replaced by [`REDACTED`], or `None`
/// when it has none. Parameters are separated by `&` or `;`; the rest is kept as written.
fn hide_secret_values(query: &str) -> Option<String> {
    let mut shown = String::with_capacity(query.len());
    let mut changed = false;
    for piece in query.split_inclusive(['&', ';']) {
        let pair = piece.strip_suffix(['&', ';']).unwrap_or(piece);
        match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() && is_secret_parameter(name) => {
                shown.push_str(name);
                shown.push('=');
                shown.push_str(REDACTED);
                changed = true;
            }
            _ => shown.push_str(pair),
        }
        shown.push_str(&piece[pair.len()..]);
    }
    changed.then_some(shown)
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
    fn secret_query_values_are_not_shown_by_the_api() {
        assert_eq!(
            public_url("https://ci:pw@feed.example/npm/?token=t0kenvalue&page=2"),
            "https://ci@feed.example/npm/?token=REDACTED&page=2"
        );
        assert_eq!(
            public_url("https://feed.example/?api_key=a1&X-Amz-Signature=s2&Key=k3&sig=&q=a+b"),
            "https://feed.example/?api_key=REDACTED&X-Amz-Signature=REDACTED&Key=REDACTED&sig=&q=a+b"
        );
        assert_eq!(
            public_url("https://feed.example/?x=1;password=p4ss&%74oken=t5"),
            "https://feed.example/?x=1;password=REDACTED&%74oken=REDACTED"
        );
        assert_eq!(
            public_url("https://feed.example/nuget/?page=1"),
            "https://feed.example/nuget/?page=1"
        );
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

/// Property tests (`cargo test -p connector-health-shared --lib properties`).
#[cfg(test)]
mod properties {
    use super::*;
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    use proptest::prelude::*;

    /// Query-string parameters that carry a credential, spelt as feeds and object stores do.
    const SECRET_PARAMETERS: &[&str] = &[
        "key",
        "Key",
        "api_key",
        "apikey",
        "X-ApiKey",
        "api-key",
        "token",
        "TOKEN",
        "access_token",
        "private_token",
        "auth",
        "password",
        "passwd",
        "pwd",
        "secret",
        "client_secret",
        "sig",
        "signature",
        "X-Amz-Signature",
        "X-Amz-Credential",
        "X-Amz-Security-Token",
        "session",
    ];

    /// Parameters that do not.
    const PLAIN_PARAMETERS: &[&str] = &["page", "q", "format", "v", "id", "limit", "feed", "x"];

    /// A secret as a URL carries it: a run of 12 to 24 letters and digits (which nothing
    /// else in a generated URL is long enough to contain), between a few other characters.
    #[derive(Debug, Clone)]
    struct Secret {
        core: String,
        text: String,
    }

    fn secret() -> impl Strategy<Value = Secret> {
        let other = "[ -/:-@\\[-`{-~é€]{0,3}";
        (other, "[A-Za-z0-9]{12,24}", other).prop_map(|(before, core, after)| Secret {
            text: format!("{before}{core}{after}"),
            core,
        })
    }

    #[derive(Debug, Clone)]
    struct Generated {
        url: String,
        user: String,
        secrets: Vec<Secret>,
        /// (name, value) of the plain parameters, as written in the URL.
        plain: Vec<(String, String)>,
    }

    /// An http(s) URL with short plain parts, maybe a password in its user-info and maybe
    /// secret parameters (names spelt plainly or percent-encoded), in any order, joined by
    /// `&` or `;`, and maybe a fragment.
    fn url_with_secrets() -> impl Strategy<Value = Generated> {
        let name = prop::collection::vec("[a-z][a-z0-9]{0,6}", 1..4).prop_map(|l| l.join("."));
        let host = prop_oneof![
            name.clone(),
            name.prop_map(|h| format!("{h}.example")),
            Just("127.0.0.1".to_owned()),
            Just("[::1]".to_owned()),
        ];
        let parameter = prop_oneof![
            (prop::sample::select(PLAIN_PARAMETERS), "[a-z0-9]{0,7}").prop_map(|(n, v)| (
                n.to_owned(),
                v,
                None
            )),
            (
                prop::sample::select(SECRET_PARAMETERS),
                any::<bool>(),
                secret()
            )
                .prop_map(|(name, encode_name, s)| {
                    let name = if encode_name {
                        name.bytes().map(|b| format!("%{b:02X}")).collect()
                    } else {
                        name.to_owned()
                    };
                    let value = form_urlencoded::byte_serialize(s.text.as_bytes()).collect();
                    (name, value, Some(s))
                }),
        ];
        (
            prop_oneof![Just("http"), Just("https"), Just("HTTPS")],
            "[a-z0-9]{1,7}",
            prop::option::of(secret()),
            host,
            prop::option::of(1u16..),
            prop::collection::vec("[A-Za-z0-9._~-]{0,7}", 0..4),
            prop::collection::vec(parameter, 0..5),
            prop_oneof![Just('&'), Just(';')],
            prop::option::of("[a-z0-9]{0,7}"),
        )
            .prop_map(
                |(scheme, user, password, host, port, path, parameters, separator, fragment)| {
                    let mut url = format!("{scheme}://{user}");
                    let mut secrets = Vec::new();
                    if let Some(p) = password {
                        url.push(':');
                        url.extend(utf8_percent_encode(&p.text, NON_ALPHANUMERIC));
                        secrets.push(p);
                    }
                    url.push('@');
                    url.push_str(&host);
                    if let Some(port) = port {
                        url.push_str(&format!(":{port}"));
                    }
                    for segment in path {
                        url.push('/');
                        url.push_str(&segment);
                    }
                    let mut plain = Vec::new();
                    for (i, (name, value, s)) in parameters.into_iter().enumerate() {
                        url.push(if i == 0 { '?' } else { separator });
                        url.push_str(&format!("{name}={value}"));
                        match s {
                            Some(s) => secrets.push(s),
                            None => plain.push((name, value)),
                        }
                    }
                    if let Some(f) = fragment {
                        url.push('#');
                        url.push_str(&f);
                    }
                    Generated {
                        url,
                        user,
                        secrets,
                        plain,
                    }
                },
            )
    }

    /// Any text, URL-like text with arbitrary parts, and generated URLs.
    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "(https?|HTTP|ftp|file|data)?:?/{0,3}[ -~]{0,40}",
            "https?://[a-z0-9:@/?#&;=%.\\[\\]+ -]{0,40}",
            url_with_secrets().prop_map(|g| g.url),
        ]
    }

    proptest! {
        #[test]
        fn redaction_never_panics(text in any_text()) {
            let _ = redact(&text, UrlView::Api);
            let _ = redact(&text, UrlView::Location);
        }

        /// Neither view shows a password or the value of a secret parameter.
        #[test]
        fn no_view_shows_a_secret(g in url_with_secrets()) {
            for view in [UrlView::Api, UrlView::Location] {
                let shown = redact(&g.url, view);
                for s in &g.secrets {
                    prop_assert!(
                        !shown.contains(&s.core),
                        "{:?} shows {:?}: {}", view, s.core, shown
                    );
                }
            }
        }

        /// The API view keeps everything that is not a secret: scheme, user, host, port, path,
        /// the plain parameters and the fragment; it changes nothing when there is no secret.
        #[test]
        fn the_api_view_keeps_what_is_not_secret(g in url_with_secrets()) {
            let shown = redact(&g.url, UrlView::Api);
            let (stored, shown_url) = (url::Url::parse(&g.url).unwrap(), url::Url::parse(&shown).unwrap());
            prop_assert_eq!(shown_url.scheme(), stored.scheme());
            prop_assert_eq!(shown_url.username(), g.user.as_str());
            prop_assert_eq!(shown_url.host(), stored.host());
            prop_assert_eq!(shown_url.port(), stored.port());
            prop_assert_eq!(shown_url.path(), stored.path());
            prop_assert_eq!(shown_url.fragment(), stored.fragment());
            prop_assert_eq!(shown_url.query_pairs().count(), stored.query_pairs().count());
            for (name, value) in &g.plain {
                let pair = format!("{name}={value}");
                prop_assert!(shown_url.query().unwrap_or("").contains(&pair), "{} lost {}", shown, pair);
            }
            if g.secrets.is_empty() {
                prop_assert_eq!(&*shown, g.url.as_str());
            }
        }

        /// The location view is an http(s) URL without user-info, query or fragment, or the
        /// placeholder, whatever the input.
        #[test]
        fn the_location_view_is_only_scheme_host_port_and_path(text in any_text()) {
            let shown = redact(&text, UrlView::Location);
            if shown != "(invalid URL)" {
                let u = url::Url::parse(&shown).unwrap();
                prop_assert!(matches!(u.scheme(), "http" | "https"), "{}", shown);
                prop_assert_eq!(u.username(), "", "{}", shown);
                prop_assert_eq!(u.password(), None, "{}", shown);
                prop_assert_eq!(u.query(), None, "{}", shown);
                prop_assert_eq!(u.fragment(), None, "{}", shown);
            }
        }

        /// Redacting again changes nothing.
        #[test]
        fn redaction_is_idempotent(text in any_text()) {
            for view in [UrlView::Api, UrlView::Location] {
                let once = redact(&text, view).into_owned();
                prop_assert_eq!(&*redact(&once, view), once.as_str(), "{:?} of {:?}", view, text);
            }
        }
    }
}
