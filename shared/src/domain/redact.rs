//! How a connector URL is shown outside the table. A URL may carry credentials (user-info,
//! where even a user name alone may be a token; a token in the query), and every API key
//! holder can read the API, so every place that shows a URL goes through [`redact`]: the
//! API, `chadmin connectors list` and `export`, state-change events (the API view), log
//! lines and probe messages (the location view).

use std::borrow::Cow;

/// Who the URL is shown to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlView {
    /// The API's `url` member, `chadmin connectors list` and `export`, and state-change
    /// events: the URL as stored, less any user-info (user name and password: the prober
    /// still uses them for a private feed), and with the value of every query-string (or
    /// fragment) parameter named like a credential (`token`, `api_key`, `X-Amz-Signature`,
    /// ...) shown as [`REDACTED`]. Text that is not a URL is shown as stored when it has no `@` and no
    /// `?`, and as [`INVALID`] otherwise.
    Api,
    /// Log lines and probe messages: scheme, host, port and path only (no user-info, no
    /// query, no fragment). Text that is not an http(s) URL becomes [`INVALID`], never the
    /// input.
    Location,
}

/// The URL as `view` may show it.
pub fn redact(url: &str, view: UrlView) -> Cow<'_, str> {
    let parsed = url::Url::parse(url);
    match view {
        UrlView::Api => match parsed {
            Ok(mut u) => {
                let query = u.query().and_then(hide_secret_values);
                // A fragment may carry a token too (`#access_token=...`, as OAuth hands
                // them to browsers).
                let fragment = u.fragment().and_then(hide_secret_values);
                if !has_user_info(&u) && query.is_none() && fragment.is_none() {
                    return Cow::Borrowed(url);
                }
                let _ = u.set_password(None);
                let _ = u.set_username("");
                if let Some(query) = query {
                    u.set_query(Some(&query));
                }
                if let Some(fragment) = fragment {
                    u.set_fragment(Some(&fragment));
                }
                Cow::Owned(u.to_string())
            }
            Err(_) if url.contains(['@', '?']) => Cow::Borrowed(INVALID),
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
            _ => Cow::Borrowed(INVALID),
        },
    }
}

/// Whether a parsed URL has user-info (a user name, a password, or both).
pub fn has_user_info(url: &url::Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// Whether the API view of `url` hides something: user-info, or the value of a query
/// parameter named like a credential (text that is not a URL counts when the view replaces
/// it).
pub fn hides_something(url: &str) -> bool {
    redact(url, UrlView::Api) != url
}

/// What is shown instead of text that is not a URL and may carry a credential.
pub const INVALID: &str = "(invalid URL)";

/// What the API view shows instead of the value of a secret query-string parameter.
pub const REDACTED: &str = "***";

/// The name (percent-decoded) of the first query-string (or fragment) parameter named like
/// a credential whose value is the [`REDACTED`] placeholder, as the API view and an export
/// write it.
pub fn redacted_parameter(url: &str) -> Option<String> {
    let (before, fragment) = url.split_once('#').unwrap_or((url, ""));
    let query = before.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split(['&', ';'])
        .chain(fragment.split(['&', ';']))
        .find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            (value == REDACTED && is_secret_parameter(name)).then(|| {
                percent_encoding::percent_decode_str(name)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
}

/// Whether a query-string parameter's name (percent-decoded, any case) marks its value as a
/// credential: it contains `key` (`api_key`, `X-ApiKey`), `token`, `secret`, `pass`
/// (`password`, `passwd`), `pwd`, `auth`, `sig` (`signature`, `X-Amz-Signature`),
/// `credential`, `session`, `jwt` or `bearer`. Naming a harmless parameter so only hides
/// its value.
fn is_secret_parameter(name: &str) -> bool {
    const PARTS: [&str; 11] = [
        "key",
        "token",
        "secret",
        "pass",
        "pwd",
        "auth",
        "sig",
        "credential",
        "session",
        "jwt",
        "bearer",
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
    fn user_info_in_urls_is_never_shown() {
        assert_eq!(
            public_url("https://ci:s3cret@nexus.example/repository/npm/"),
            "https://nexus.example/repository/npm/"
        );
        // A user name alone may itself be the token.
        assert_eq!(
            public_url("https://Tok3nValue@npm.fury.io/acme/"),
            "https://npm.fury.io/acme/"
        );
        assert_eq!(
            public_url("https://registry.npmjs.org"),
            "https://registry.npmjs.org"
        );
        assert_eq!(public_url("not a url"), "not a url");
        // Text that does not parse is shown only when it cannot carry a credential.
        assert_eq!(public_url("https://tok@r.test:99999/"), INVALID);
        assert_eq!(public_url("https://r.test:99999/?token=t"), INVALID);
        let c = Connector {
            id: ConnectorId::new(1).unwrap(),
            name: "n".into(),
            url: "https://u:p@h.example/x".into(),
            health: Health::Unknown,
            diagnostics: Diagnostics::default(),
        };
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""url":"https://h.example/x""#), "{json}");
    }

    #[test]
    fn secret_query_values_are_not_shown_by_the_api() {
        assert_eq!(
            public_url("https://ci:pw@feed.example/npm/?token=t0kenvalue&page=2"),
            "https://feed.example/npm/?token=***&page=2"
        );
        assert_eq!(
            public_url("https://feed.example/?api_key=a1&X-Amz-Signature=s2&Key=k3&sig=&q=a+b"),
            "https://feed.example/?api_key=***&X-Amz-Signature=***&Key=***&sig=&q=a+b"
        );
        assert_eq!(
            public_url("https://feed.example/?x=1;password=p4ss&%74oken=t5"),
            "https://feed.example/?x=1;password=***&%74oken=***"
        );
        assert_eq!(
            public_url("https://feed.example/?access_token=a&apikey=b&passwd=c&credentials=d&session=e&auth=f&deploy-token=g&client_secret=h&signature=i"),
            "https://feed.example/?access_token=***&apikey=***&passwd=***&credentials=***&session=***&auth=***&deploy-token=***&client_secret=***&signature=***"
        );
        assert_eq!(
            public_url("https://feed.example/nuget/?page=1"),
            "https://feed.example/nuget/?page=1"
        );
        assert_eq!(
            public_url("https://feed.example/?jwt=j1&bearer=b2"),
            "https://feed.example/?jwt=***&bearer=***"
        );
        // A token in the fragment, as OAuth hands them to browsers.
        assert_eq!(
            public_url("https://feed.example/npm/#access_token=t0ken&state=x"),
            "https://feed.example/npm/#access_token=***&state=x"
        );
        assert_eq!(
            public_url("https://feed.example/npm/#readme"),
            "https://feed.example/npm/#readme"
        );
    }

    #[test]
    fn placeholders_are_found_by_name() {
        let shown = public_url("https://feed.example/?page=2&%74oken=t0ken");
        assert_eq!(redacted_parameter(&shown).as_deref(), Some("token"));
        assert_eq!(redacted_parameter("https://feed.example/?page=***"), None);
        assert_eq!(
            redacted_parameter("https://feed.example/#access_token=***").as_deref(),
            Some("access_token")
        );
        assert_eq!(
            redacted_parameter("https://feed.example/?token=t0ken"),
            None
        );
        // The fragment counts too (the API view hides secret values there), plain text
        // there does not.
        assert_eq!(redacted_parameter("https://feed.example/#readme"), None);
    }

    #[test]
    fn redaction_drops_credentials_and_queries() {
        assert_eq!(
            location("https://user:s3cret@registry.test:8443/npm/?token=abc#x"),
            "https://registry.test:8443/npm/"
        );
        assert_eq!(location("https://user:p%40ss@r.test"), "https://r.test/");
        assert_eq!(location("user:pass@nothing"), INVALID);
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
        /// The user name, the password and the values of secret parameters.
        secrets: Vec<Secret>,
        /// (name, value) of the plain parameters, as written in the URL.
        plain: Vec<(String, String)>,
        /// The names of the secret parameters, as written in the URL.
        hidden: Vec<String>,
    }

    /// An http(s) URL with short plain parts, maybe user-info (a user name that may be a
    /// token, maybe with a password) and maybe secret parameters (names spelt plainly or
    /// percent-encoded), in any order, joined by `&` or `;`, and maybe a fragment.
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
            prop::option::of((secret(), prop::option::of(secret()))),
            host,
            prop::option::of(1u16..),
            prop::collection::vec("[A-Za-z0-9._~-]{0,7}", 0..4),
            prop::collection::vec(parameter, 0..5),
            prop_oneof![Just('&'), Just(';')],
            prop::option::of("[a-z0-9]{0,7}"),
        )
            .prop_map(
                |(scheme, user_info, host, port, path, parameters, separator, fragment)| {
                    let mut url = format!("{scheme}://");
                    let mut secrets = Vec::new();
                    if let Some((user, password)) = user_info {
                        url.extend(utf8_percent_encode(&user.text, NON_ALPHANUMERIC));
                        secrets.push(user);
                        if let Some(p) = password {
                            url.push(':');
                            url.extend(utf8_percent_encode(&p.text, NON_ALPHANUMERIC));
                            secrets.push(p);
                        }
                        url.push('@');
                    }
                    url.push_str(&host);
                    if let Some(port) = port {
                        url.push_str(&format!(":{port}"));
                    }
                    for segment in path {
                        url.push('/');
                        url.push_str(&segment);
                    }
                    let (mut plain, mut hidden) = (Vec::new(), Vec::new());
                    for (i, (name, value, s)) in parameters.into_iter().enumerate() {
                        url.push(if i == 0 { '?' } else { separator });
                        url.push_str(&format!("{name}={value}"));
                        match s {
                            Some(s) => {
                                secrets.push(s);
                                hidden.push(name);
                            }
                            None => plain.push((name, value)),
                        }
                    }
                    if let Some(f) = fragment {
                        url.push('#');
                        url.push_str(&f);
                    }
                    Generated {
                        url,
                        secrets,
                        plain,
                        hidden,
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

        /// Neither view shows a user name, a password or the value of a secret parameter.
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

        /// The API view keeps everything that is not a secret: scheme, host, port, path, the
        /// names of all parameters, the plain parameters and the fragment; it has no user-info
        /// and shows each secret value as `***`; it changes nothing when there is no secret.
        #[test]
        fn the_api_view_keeps_what_is_not_secret(g in url_with_secrets()) {
            let shown = redact(&g.url, UrlView::Api);
            let (stored, shown_url) = (url::Url::parse(&g.url).unwrap(), url::Url::parse(&shown).unwrap());
            prop_assert_eq!(shown_url.scheme(), stored.scheme());
            prop_assert_eq!(shown_url.username(), "");
            prop_assert_eq!(shown_url.password(), None);
            prop_assert_eq!(shown_url.host(), stored.host());
            prop_assert_eq!(shown_url.port(), stored.port());
            prop_assert_eq!(shown_url.path(), stored.path());
            prop_assert_eq!(shown_url.fragment(), stored.fragment());
            prop_assert_eq!(shown_url.query_pairs().count(), stored.query_pairs().count());
            for (name, value) in &g.plain {
                let pair = format!("{name}={value}");
                prop_assert!(shown_url.query().unwrap_or("").contains(&pair), "{} lost {}", shown, pair);
            }
            for name in &g.hidden {
                let pair = format!("{name}={REDACTED}");
                prop_assert!(shown_url.query().unwrap_or("").contains(&pair), "{} lacks {}", shown, pair);
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
            if shown != INVALID {
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
