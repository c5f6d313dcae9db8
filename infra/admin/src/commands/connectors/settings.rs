//! The checks every way of setting a connector shares (`add`, `update`, `import`): a name,
//! an http(s) URL (a new one without credentials), a known feed type, a probe timeout within
//! the probe's limit, a package name without spaces.

use crate::error::{AdminError, Result};
use shared::domain::redact::{has_user_info, redacted_parameter, REDACTED};
use shared::domain::{Connector, ConnectorId, ConnectorSettings, Diagnostics, FeedType, Health};
use shared::probe::limits::{DEFAULT_MAX_PROBE_TIMEOUT, PROBE_FUNCTION_TIMEOUT};

/// How a message names the settings: as the command line's flags, or as a connector
/// file's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    Flags,
    File,
}

impl Spelling {
    fn url(self) -> &'static str {
        match self {
            Spelling::Flags => "--url",
            Spelling::File => "url",
        }
    }

    fn timeout(self) -> &'static str {
        match self {
            Spelling::Flags => "--timeout",
            Spelling::File => "probeTimeoutSeconds",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Spelling::Flags => "--package",
            Spelling::File => "probePackage",
        }
    }
}

/// Checks a name and URL and builds a never-probed connector (its id is set when added).
pub fn new_connector(name: &str, url: &str) -> Result<Connector> {
    new_connector_spelt(name, url, Spelling::Flags)
}

fn new_connector_spelt(name: &str, url: &str, spelling: Spelling) -> Result<Connector> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AdminError::Invalid(
            "the connector name must not be empty".into(),
        ));
    }
    let flag = spelling.url();
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            AdminError::Invalid(format!(
                "{flag} must start with http:// or https:// (got {url:?})"
            ))
        })?;
    if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace) {
        return Err(AdminError::Invalid(format!(
            "{flag} has no host or contains spaces (got {url:?})"
        )));
    }
    Ok(Connector {
        id: ConnectorId::new(1).ok_or_else(|| AdminError::Invalid("bad id".into()))?,
        name: name.to_owned(),
        url: url.to_owned(),
        health: Health::Unknown,
        diagnostics: Diagnostics::default(),
    })
}

/// The checks a URL new to a connector passes besides [`new_connector`]'s: it parses, it
/// carries no user-info (the API, events and exports never show it, and credentials do not
/// belong in a URL), and no secret query value is the `***` an export writes in its place.
/// A row's URL that does not change is not checked again: a private feed stored with
/// user-info keeps working.
pub fn check_new_url(url: &str, spelling: Spelling) -> Result<()> {
    let flag = spelling.url();
    let parsed = url::Url::parse(url.trim())
        .map_err(|_| AdminError::Invalid(format!("{flag} is not a valid URL")))?;
    if has_user_info(&parsed) {
        let how = match spelling {
            Spelling::Flags => "give the URL without them and the credentials with --username and --password-stdin, or --token-stdin",
            Spelling::File => "import the URL without them, then give the credentials with chadmin connectors update ID --username NAME --password-stdin (or --token-stdin)",
        };
        return Err(AdminError::Invalid(format!(
            "{flag}: a URL must not carry credentials (user-info); {how}"
        )));
    }
    if let Some(name) = redacted_parameter(url) {
        return Err(AdminError::Invalid(format!(
            "{flag}: the value of {name} is {REDACTED}, which an export writes in place of a secret; give the real value"
        )));
    }
    Ok(())
}

/// A probe package: absent, or a non-empty name without spaces (trimmed).
pub fn check_package(package: Option<&str>, spelling: Spelling) -> Result<Option<String>> {
    let flag = spelling.package();
    match package.map(str::trim) {
        None => Ok(None),
        Some("") => Err(AdminError::Invalid(format!("{flag} must not be empty"))),
        Some(p) if p.chars().any(char::is_whitespace) => Err(AdminError::Invalid(format!(
            "{flag} must not contain spaces (got {p:?})"
        ))),
        Some(p) => Ok(Some(p.to_owned())),
    }
}

/// A probe timeout: absent, or from 1 second to the longest a probe run can start with
/// its retries ([`DEFAULT_MAX_PROBE_TIMEOUT`], for the probe function's default settings).
pub fn check_timeout(seconds: Option<u32>, spelling: Spelling) -> Result<Option<u32>> {
    let max = DEFAULT_MAX_PROBE_TIMEOUT.as_secs();
    match seconds {
        Some(t) if !(1..=max).contains(&u64::from(t)) => Err(AdminError::Invalid(format!(
            "{} must be from 1 to {max} seconds (got {t}): a probe with its retry must fit in the probe function's {} s timeout",
            spelling.timeout(),
            PROBE_FUNCTION_TIMEOUT.as_secs()
        ))),
        other => Ok(other),
    }
}

/// The feed type as stored: its canonical name (absent means generic); an unknown one
/// is kept as it is.
fn stored_feed_type(feed_type: Option<&str>) -> String {
    let feed = feed_type.unwrap_or(FeedType::Generic.as_str());
    FeedType::from_name(feed).map_or_else(|| feed.to_owned(), |f| f.as_str().to_owned())
}

/// The same settings with the feed type spelt as stored (absent: generic), for comparing
/// what is asked for with what a row holds.
pub fn normalized(settings: &ConnectorSettings) -> ConnectorSettings {
    ConnectorSettings {
        feed_type: Some(stored_feed_type(settings.feed_type.as_deref())),
        ..settings.clone()
    }
}

/// Checks settings as `connectors add` would and returns them normalized: name and URL
/// trimmed, the feed type's canonical name, the package trimmed.
pub fn checked(settings: &ConnectorSettings, spelling: Spelling) -> Result<ConnectorSettings> {
    check_timeout(settings.probe_timeout_seconds, spelling)?;
    checked_keeping_timeout(settings, spelling)
}

/// [`checked`], but the probe timeout is not checked: for a change that keeps a row's
/// timeout as it is (one set before the limit was lower stays; the run clamps it).
pub fn checked_keeping_timeout(
    settings: &ConnectorSettings,
    spelling: Spelling,
) -> Result<ConnectorSettings> {
    let feed = settings
        .feed_type
        .as_deref()
        .unwrap_or(FeedType::Generic.as_str());
    let feed_type = FeedType::from_name(feed).ok_or_else(|| {
        let known: Vec<&str> = FeedType::ALL.iter().map(|f| f.as_str()).collect();
        AdminError::Invalid(format!(
            "unknown feedType {feed:?} (one of {})",
            known.join(", ")
        ))
    })?;
    let connector = new_connector_spelt(&settings.name, &settings.url, spelling)?;
    Ok(ConnectorSettings {
        name: connector.name,
        url: connector.url,
        feed_type: Some(feed_type.as_str().to_owned()),
        probe_timeout_seconds: settings.probe_timeout_seconds,
        probe_package: check_package(settings.probe_package.as_deref(), spelling)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(name: &str, url: &str) -> ConnectorSettings {
        ConnectorSettings {
            name: name.into(),
            url: url.into(),
            ..ConnectorSettings::default()
        }
    }

    #[test]
    fn new_connectors_are_unknown_and_need_a_name_and_an_http_url() {
        let c = new_connector(" npm ", "https://registry.npmjs.org").unwrap();
        assert_eq!(c.name, "npm");
        assert_eq!(c.health, Health::Unknown);
        for (name, url) in [
            ("", "https://x"),
            ("n", "ftp://x"),
            ("n", "https://"),
            ("n", "registry.npmjs.org"),
            ("n", "https://a b"),
        ] {
            assert!(new_connector(name, url).is_err(), "{name:?} {url:?}");
        }
    }

    #[test]
    fn messages_name_flags_or_file_members() {
        let e = new_connector("n", "nope").unwrap_err().to_string();
        assert!(e.starts_with("--url must start with http"), "{e}");
        let e = checked(&settings("n", "nope"), Spelling::File)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("url must start with http"), "{e}");
        assert_eq!(
            check_package(Some(" "), Spelling::Flags)
                .unwrap_err()
                .to_string(),
            "--package must not be empty"
        );
        assert_eq!(
            check_package(Some("a b"), Spelling::File)
                .unwrap_err()
                .to_string(),
            "probePackage must not contain spaces (got \"a b\")"
        );
    }

    #[test]
    fn new_urls_carry_no_credentials_and_no_placeholders() {
        for url in [
            "https://T0kenValue@npm.fury.io/acme/",
            "https://ci:s3cret@nexus.example/npm/",
            "https://:s3cret@nexus.example/npm/",
        ] {
            let e = check_new_url(url, Spelling::Flags).unwrap_err().to_string();
            assert_eq!(
                e,
                "--url: a URL must not carry credentials (user-info); give the URL without them and the credentials with --username and --password-stdin, or --token-stdin"
            );
            assert!(!e.contains("s3cret") && !e.contains("T0ken"), "{e}");
        }
        let e = check_new_url("https://feed.example/?token=***&page=2", Spelling::File)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "url: the value of token is ***, which an export writes in place of a secret; give the real value"
        );
        let e = check_new_url("https://r.test:99999/", Spelling::Flags)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--url is not a valid URL");
        for url in [
            "https://registry.npmjs.org",
            "https://feed.example/npm/?token=t0ken&page=2",
            "https://feed.example/?page=***",
        ] {
            assert!(check_new_url(url, Spelling::Flags).is_ok(), "{url}");
        }
    }

    #[test]
    fn checked_settings_are_normalized_and_bounded() {
        let mut s = settings(" pypi ", " https://pypi.org/simple/ ");
        s.feed_type = Some("PyPI".into());
        s.probe_package = Some(" six ".into());
        let max = u32::try_from(DEFAULT_MAX_PROBE_TIMEOUT.as_secs()).unwrap();
        s.probe_timeout_seconds = Some(max);
        let c = checked(&s, Spelling::File).unwrap();
        assert_eq!(
            (c.name.as_str(), c.url.as_str(), c.feed_type.as_deref()),
            ("pypi", "https://pypi.org/simple/", Some("pypi"))
        );
        assert_eq!(c.probe_package.as_deref(), Some("six"));
        assert_eq!(
            checked(&settings("n", "https://x"), Spelling::File)
                .unwrap()
                .feed_type
                .as_deref(),
            Some("generic")
        );
        s.probe_timeout_seconds = Some(max + 1);
        assert_eq!(
            checked(&s, Spelling::File).unwrap_err().to_string(),
            "probeTimeoutSeconds must be from 1 to 26 seconds (got 27): a probe with its retry must fit in the probe function's 60 s timeout"
        );
        assert!(checked_keeping_timeout(&s, Spelling::File).is_ok());
        assert!(check_timeout(Some(max + 1), Spelling::Flags)
            .unwrap_err()
            .to_string()
            .starts_with("--timeout must be from 1 to 26 seconds"));
        s.probe_timeout_seconds = Some(0);
        assert!(checked(&s, Spelling::File).is_err());
        let mut unknown = settings("n", "https://x");
        unknown.feed_type = Some("cargo".into());
        let e = checked(&unknown, Spelling::File).unwrap_err().to_string();
        assert!(
            e.starts_with("unknown feedType \"cargo\" (one of npm, nuget, "),
            "{e}"
        );
        assert_eq!(normalized(&unknown).feed_type.as_deref(), Some("cargo"));
        assert_eq!(
            normalized(&settings("n", "u")).feed_type.as_deref(),
            Some("generic")
        );
    }
}
