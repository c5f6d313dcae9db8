//! ProGet's connector list (`GET {URL}/api/management/connectors/list`, with an `X-ApiKey`
//! header) read as connector entries: ProGet's feed types mapped to ours (an unknown one is
//! imported as generic and named), its timeout clamped to what a probe run allows, and its
//! user name and password kept apart as Basic credentials, never in the URL.

use super::add::add;
use super::credentials::{apply, undo_add, Change};
use super::file::{plan, read_all, update_groups, Action, ConfigFile, ConnectorConfig};
use super::settings::new_connector;
use crate::commands::health::get;
use crate::error::{AdminError, Result};
use crate::output::stdout;
use crate::target::Target;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use shared::adapters::connector_credentials::SecretsManagerCredentials;
use shared::adapters::dynamodb::DynamoConnectorStore;
use shared::domain::redact::has_user_info;
use shared::domain::{redact, ConnectorId, Credentials, FeedType, Secret, UrlView};
use shared::ports::{CatalogError, ConnectorCatalog};
use shared::probe::limits::DEFAULT_MAX_PROBE_TIMEOUT;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::time::Duration;

/// The path of ProGet's connector list under its base URL.
pub const LIST_PATH: &str = "/api/management/connectors/list";

/// One connector as ProGet's management API describes it (the members this import uses;
/// filters and metadata caching have no counterpart here).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProGetConnector {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub feed_type: Option<String>,
    /// Seconds.
    #[serde(default)]
    pub timeout: Option<u64>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "secret")]
    pub password: Option<SecretString>,
}

/// A password straight into a [`SecretString`].
fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(SecretString::from))
}

/// The `--from-proget` URL: where the list is requested, and how messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// The base URL without a trailing slash: the list is at `{request}{LIST_PATH}`.
    pub request: String,
    /// Scheme, host, port and path only ([`UrlView::Location`]).
    pub shown: String,
}

/// `text` as ProGet's base URL: http(s), without user-info (ProGet takes an API key, not a
/// password), a query or a fragment. A refusal never repeats the URL.
pub fn base_url(text: &str) -> Result<Base> {
    let text = text.trim();
    let parsed = match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => u,
        _ => {
            return Err(AdminError::Invalid(
                "--from-proget: give ProGet's base URL, starting with https:// or http:// (e.g. https://proget.example)".into(),
            ))
        }
    };
    if has_user_info(&parsed) {
        return Err(AdminError::Invalid(
            "--from-proget: the URL must not carry credentials (user-info); ProGet takes an API key: set PROGET_API_KEY or pipe it in with --proget-key-stdin".into(),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(AdminError::Invalid(
            "--from-proget: give ProGet's base URL without a query or fragment (e.g. https://proget.example)".into(),
        ));
    }
    Ok(Base {
        request: parsed.as_str().trim_end_matches('/').to_owned(),
        shown: redact(parsed.as_str(), UrlView::Location).into_owned(),
    })
}

/// ProGet's answer (`status`, `body`) to the list request at the base URL `shown` as its
/// connectors, or one line saying why not. The body is never shown: it may be anything.
pub fn read_answer(shown: &str, status: u16, body: &[u8]) -> Result<Vec<ProGetConnector>> {
    // A login page (as it is, behind a redirect, or as a 404): some other server or path.
    let not_proget = || {
        AdminError::Invalid(format!(
            "{shown} is not a ProGet API: it did not answer with ProGet's connector list (check the base URL: ProGet's own, e.g. https://proget.example, without {LIST_PATH})"
        ))
    };
    match status {
        200..=299 => serde_json::from_slice(body).map_err(|_| not_proget()),
        300..=399 | 404 => Err(not_proget()),
        401 | 403 => Err(AdminError::Config(format!(
            "ProGet refused the API key (HTTP {status}): give a system-level API key with the Use/Manage Feeds privilege"
        ))),
        _ => Err(AdminError::Io(format!(
            "ProGet answered HTTP {status} to {shown}"
        ))),
    }
}

/// Our feed type for ProGet's, case-insensitively; `None` for one without a dedicated
/// check here (imported as generic).
pub fn feed_type(proget: Option<&str>) -> Option<FeedType> {
    let name = proget?.trim();
    // PowerShell feeds speak NuGet's v2 protocol, which the NuGet check reads.
    if name.eq_ignore_ascii_case("powershell") {
        return Some(FeedType::NuGet);
    }
    match FeedType::parse(Some(name)) {
        FeedType::Generic => FeedType::from_name(name),
        known => Some(known),
    }
}

/// What the import makes of ProGet's list.
#[derive(Debug)]
pub struct Prepared {
    /// The entries, matched with the rows by name.
    pub file: ConfigFile,
    /// Each entry's Basic credentials, by name (none: the connector has none in ProGet).
    pub credentials: BTreeMap<String, Credentials>,
    /// ProGet feed types without a dedicated check, with the connectors that have them.
    pub unknown_feed_types: BTreeMap<String, Vec<String>>,
    /// Connectors whose ProGet timeout was longer than a probe may take: (name, ProGet's).
    pub clamped: Vec<(String, u64)>,
    /// Connectors left out, each with why.
    pub refused: Vec<(String, String)>,
}

/// ProGet's connectors as entries for the rows in `table` (a row of the same name keeps
/// its probe package).
pub fn prepare(list: Vec<ProGetConnector>, table: &BTreeMap<u32, ConnectorConfig>) -> Prepared {
    let max = DEFAULT_MAX_PROBE_TIMEOUT.as_secs();
    let mut out = Prepared {
        file: ConfigFile {
            connectors: Vec::new(),
        },
        credentials: BTreeMap::new(),
        unknown_feed_types: BTreeMap::new(),
        clamped: Vec::new(),
        refused: Vec::new(),
    };
    for c in list {
        let name = c.name.trim().to_owned();
        let mut url = match url::Url::parse(c.url.trim()) {
            Ok(u) => u,
            Err(_) => {
                out.refused
                    .push((name, "its URL is not a valid URL".to_owned()));
                continue;
            }
        };
        let given = c.username.as_deref().is_some_and(|u| !u.is_empty());
        let (username, password) = if has_user_info(&url) {
            if given || c.password.is_some() {
                out.refused.push((
                    name,
                    "its URL carries credentials and ProGet gives credentials too; remove them from the URL in ProGet".to_owned(),
                ));
                continue;
            }
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map_or_else(|_| s.to_owned(), |d| d.into_owned())
            };
            let user = decode(url.username());
            let pass = url.password().map(decode).unwrap_or_default();
            // Setting these cannot fail on an http(s) URL with a host.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            (Some(user), Some(SecretString::from(pass)))
        } else {
            (c.username.clone(), c.password)
        };
        let credentials = match username.filter(|u| !u.is_empty()) {
            Some(username) => {
                let credentials = Credentials {
                    secret: Secret::Basic {
                        username,
                        password: password.unwrap_or_else(|| SecretString::from(String::new())),
                    },
                    expire_at: None,
                };
                if let Err(e) = credentials.check() {
                    out.refused.push((name, format!("its credentials: {e}")));
                    continue;
                }
                Some(credentials)
            }
            None => None,
        };
        let feed = feed_type(c.feed_type.as_deref());
        if feed.is_none() {
            let shown = c.feed_type.as_deref().unwrap_or("").trim().to_owned();
            out.unknown_feed_types
                .entry(shown)
                .or_default()
                .push(name.clone());
        }
        let timeout = match c.timeout {
            None | Some(0) => None,
            Some(t) if t > max => {
                out.clamped.push((name.clone(), t));
                u32::try_from(max).ok()
            }
            Some(t) => u32::try_from(t).ok(),
        };
        let probe_package = table
            .values()
            .find(|row| row.name == name)
            .and_then(|row| row.probe_package.clone());
        if let Some(credentials) = credentials {
            out.credentials.insert(name.clone(), credentials);
        }
        out.file.connectors.push(ConnectorConfig {
            id: None,
            name,
            url: url.to_string(),
            feed_type: Some(feed.unwrap_or(FeedType::Generic).as_str().to_owned()),
            probe_timeout_seconds: timeout,
            probe_package,
        });
    }
    out
}

/// The ProGet API key: standard input with `--proget-key-stdin`, else `PROGET_API_KEY`.
pub fn api_key(from_stdin: bool, input: &mut dyn Read) -> Result<SecretString> {
    if from_stdin {
        return super::credentials::read_secret("--proget-key-stdin", input);
    }
    match std::env::var("PROGET_API_KEY") {
        Ok(key) if !key.trim().is_empty() => Ok(SecretString::from(key.trim().to_owned())),
        _ => Err(AdminError::Config(
            "no ProGet API key: set PROGET_API_KEY or pipe it in with --proget-key-stdin".into(),
        )),
    }
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// ProGet's connectors at `base`. An unreachable server exits with status 2: try again.
async fn fetch(base: &Base, key: &SecretString) -> Result<Vec<ProGetConnector>> {
    let url = format!("{}{LIST_PATH}", base.request);
    let shown = &base.shown;
    // The reason comes from the connection (never the URL's secrets: it has none).
    let retry = |why: String| {
        AdminError::WithStatus(
            2,
            Box::new(AdminError::Io(format!(
                "cannot reach ProGet at {shown}: {why}; nothing was written, try again"
            ))),
        )
    };
    let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, get(&url, key.expose_secret()))
        .await
        .map_err(|_| retry("no answer within 30 s".into()))?
        .map_err(retry)?;
    read_answer(shown, status, &body)
}

/// The credentials to store for row `id` so that it has `wanted`, or `None` when it has
/// them already. An expiry set here stays while the user name does (ProGet has none).
async fn credentials_change(
    rows: &DynamoConnectorStore,
    secrets: &SecretsManagerCredentials,
    id: ConnectorId,
    wanted: &Credentials,
) -> Result<Option<Credentials>> {
    let Some(current) = rows.credentials(id).await? else {
        return Ok(Some(wanted.clone()));
    };
    let stored = secrets.get(&current).await?;
    Ok(changed_credentials(&stored, wanted))
}

/// [`credentials_change`] once the stored credentials are read.
fn changed_credentials(stored: &Credentials, wanted: &Credentials) -> Option<Credentials> {
    match (&stored.secret, &wanted.secret) {
        (
            Secret::Basic { username, password },
            Secret::Basic {
                username: u,
                password: p,
            },
        ) if username == u => {
            (password.expose_secret() != p.expose_secret()).then(|| Credentials {
                expire_at: stored.expire_at,
                ..wanted.clone()
            })
        }
        _ => Some(wanted.clone()),
    }
}

/// `connectors import --from-proget URL`: ProGet's connectors added or updated by name,
/// their credentials (when ProGet has some) stored as the connector's Basic credentials.
/// With `dry_run`, only says what would change. Connectors left out (see [`prepare`]) are
/// counted in the summary (`left_out=K`) and make the command fail once the rest is done.
pub async fn import(
    target: &Target,
    rows: &DynamoConnectorStore,
    base: &Base,
    key: &SecretString,
    dry_run: bool,
) -> Result<()> {
    let list = fetch(base, key).await?;
    let table = read_all(rows).await?;
    let prepared = prepare(list, &table);
    let actions = plan(&prepared.file, &table)?;
    let groups = update_groups(&actions, &table)?;
    let secrets = super::credentials::store(target).await?;
    // What each entry changes: its settings, its credentials, or nothing.
    let mut settings_changed: BTreeSet<u32> = BTreeSet::new();
    let mut credentials_changed: BTreeMap<u32, Credentials> = BTreeMap::new();
    let mut unchanged = 0;
    let mut adds = Vec::new();
    for (entry, action) in prepared.file.connectors.iter().zip(&actions) {
        let wanted = prepared.credentials.get(&entry.name);
        match action {
            Action::Add(c) => adds.push(c.clone()),
            Action::Update(id, _) | Action::Unchanged(id) => {
                let connector = ConnectorId::new(*id)
                    .ok_or_else(|| AdminError::Invalid(format!("{id} is not a connector id")))?;
                let creds = match wanted {
                    Some(w) => credentials_change(rows, &secrets, connector, w).await?,
                    None => None,
                };
                let creds_change = creds.is_some();
                if let Some(c) = creds {
                    credentials_changed.insert(*id, c);
                }
                if matches!(action, Action::Update(..)) {
                    settings_changed.insert(*id);
                } else if !creds_change {
                    unchanged += 1;
                }
            }
        }
    }
    let changed: BTreeSet<u32> = settings_changed
        .iter()
        .chain(credentials_changed.keys())
        .copied()
        .collect();
    let updated = changed.len();
    let left_out = prepared.refused.len();
    summarize(&prepared);
    if dry_run {
        for c in &adds {
            eprintln!("would add {:?}", c.name);
        }
        for id in &changed {
            let name = table.get(id).map_or("", |r| r.name.as_str());
            let what = match (
                settings_changed.contains(id),
                credentials_changed.contains_key(id),
            ) {
                (true, true) => "its settings and credentials",
                (true, false) => "its settings",
                _ => "its credentials",
            };
            eprintln!("would update connector {id} ({name:?}): {what}");
        }
        stdout(&format!(
            "dry run, nothing written: added={} updated={updated} unchanged={unchanged}{}\n",
            adds.len(),
            left_out_field(left_out)
        ))?;
        return left_out_error(left_out);
    }
    // Credentials first: when Secrets Manager cannot store them, no settings have changed
    // (and a connector whose credentials were stored has all of ProGet's).
    for (id, c) in credentials_changed {
        if let Some(connector) = ConnectorId::new(id) {
            apply(rows, &secrets, connector, Change::Set(c)).await?;
        }
    }
    for group in groups {
        match rows.update_settings(&group).await {
            Ok(()) => {}
            Err(CatalogError::NotFound(id)) => {
                return Err(AdminError::Conflict(format!(
                    "connector {id} was removed during the import; run it again"
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut added = 0;
    for c in adds {
        let id = match add(rows, new_connector(&c.name, &c.url)?, &c.settings(), None).await {
            Ok(id) => id,
            Err(AdminError::AlreadyExists(why)) => {
                return Err(AdminError::Conflict(format!(
                    "{why}: it was added during the import; run it again"
                )))
            }
            Err(e) => return Err(e),
        };
        if let Some(credentials) = prepared.credentials.get(&c.name) {
            if let Err(e) = apply(rows, &secrets, id, Change::Set(credentials.clone())).await {
                // No connector without the credentials it needs: it goes again.
                undo_add(rows, &secrets, id, &c.name).await?;
                return Err(e);
            }
        }
        added += 1;
    }
    eprintln!(
        "import: {added} added, {updated} updated, {unchanged} unchanged, {left_out} left out"
    );
    stdout(&format!(
        "added={added} updated={updated} unchanged={unchanged}{}\n",
        left_out_field(left_out)
    ))?;
    left_out_error(left_out)
}

/// The summary's ` left_out=K`, only when some were (a clean run's line stays
/// `added=0 updated=0 unchanged=N`).
fn left_out_field(left_out: usize) -> String {
    if left_out == 0 {
        String::new()
    } else {
        format!(" left_out={left_out}")
    }
}

/// A partial import fails (status 1), after the summary, so a script notices it.
fn left_out_error(left_out: usize) -> Result<()> {
    if left_out == 0 {
        return Ok(());
    }
    Err(AdminError::Invalid(format!(
        "{left_out} of ProGet's connectors left out (see above); fix them in ProGet and import again"
    )))
}

/// The connectors ProGet has that came over other than as they are there, on stderr.
fn summarize(p: &Prepared) {
    for (feed, names) in &p.unknown_feed_types {
        eprintln!(
            "import: ProGet feed type {feed:?} has no check of its own here; imported as generic: {}",
            names.join(", ")
        );
    }
    let max = DEFAULT_MAX_PROBE_TIMEOUT.as_secs();
    for (name, seconds) in &p.clamped {
        eprintln!(
            "import: {name:?}: ProGet's timeout of {seconds} s is longer than a probe may take; imported as {max} s"
        );
    }
    for (name, why) in &p.refused {
        eprintln!("import: {name:?} left out: {why}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of ProGet's documentation example.
    const LIST: &str = r#"[
      {"name": "npmjs.org", "url": "https://registry.npmjs.org", "feedType": "npm",
       "timeout": 10, "username": "admin", "password": "pass123", "filters": ["*"],
       "metadataCacheEnabled": true, "metadataCacheMinutes": 30, "metadataCacheCount": 100},
      {"name": "nuget.org", "url": "https://api.nuget.org/v3/index.json", "feedType": "NuGet",
       "timeout": 100000, "filters": [], "metadataCacheEnabled": false,
       "metadataCacheMinutes": 0, "metadataCacheCount": 0},
      {"name": "helm", "url": "https://charts.example/", "feedType": "helm", "timeout": 0},
      {"name": "private", "url": "https://ci:s%40cret@private.example/npm/", "feedType": "npm"},
      {"name": "both", "url": "https://ci:s3cret@both.example/", "feedType": "npm",
       "username": "ci", "password": "other"}
    ]"#;

    #[test]
    fn the_answer_is_the_list_or_one_line_that_never_shows_the_body() {
        let url = "https://proget.example";
        assert_eq!(read_answer(url, 200, LIST.as_bytes()).unwrap().len(), 5);
        let e = read_answer(url, 403, b"").unwrap_err().to_string();
        assert!(
            e.contains("Use/Manage Feeds") && e.contains("system-level API key"),
            "{e}"
        );
        let html = b"<html><body>Log in to ProGet pass123</body></html>";
        let e = read_answer(url, 200, html).unwrap_err().to_string();
        assert!(
            e.starts_with("https://proget.example is not a ProGet API: "),
            "{e}"
        );
        // A redirect (to a login page) and a 404 are the same: not ProGet's API.
        for status in [301, 302, 303, 307, 404] {
            let other = read_answer(url, status, b"").unwrap_err().to_string();
            assert_eq!(other, e, "{status}");
        }
        for e in [e, read_answer(url, 500, html).unwrap_err().to_string()] {
            assert!(!e.contains('\n') && !e.contains("pass123"), "{e}");
        }
    }

    #[test]
    fn the_base_url_has_no_credentials_query_or_fragment_and_is_never_repeated() {
        assert_eq!(
            base_url(" https://proget.example/ ").unwrap(),
            Base {
                request: "https://proget.example".into(),
                shown: "https://proget.example/".into(),
            }
        );
        assert_eq!(
            base_url("http://127.0.0.1:8624/proget").unwrap().request,
            "http://127.0.0.1:8624/proget"
        );
        let e = base_url("http://admin:S3cretPw@127.0.0.1:1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("user-info")
                && e.contains("PROGET_API_KEY")
                && e.contains("--proget-key-stdin"),
            "{e}"
        );
        for bad in [
            "http://T0kenOnly@proget.example",
            "https://proget.example/?api_key=Qu3rySecret",
            "https://proget.example/#Qu3rySecret",
            "ftp://admin:S3cretPw@proget.example",
            "proget.example?token=Qu3rySecret",
        ] {
            let e = base_url(bad).unwrap_err().to_string();
            assert!(e.starts_with("--from-proget: "), "{e}");
            for secret in ["S3cretPw", "T0kenOnly", "Qu3rySecret"] {
                assert!(!e.contains(secret), "{e}");
            }
        }
    }

    #[test]
    fn a_new_password_keeps_the_expiry_and_a_new_user_name_does_not() {
        let at = chrono::Utc::now();
        let basic = |user: &str, pass: &str, expire_at| Credentials {
            secret: Secret::Basic {
                username: user.into(),
                password: SecretString::from(pass.to_owned()),
            },
            expire_at,
        };
        let stored = basic("ci", "old", Some(at));
        assert!(changed_credentials(&stored, &basic("ci", "old", None)).is_none());
        let new = changed_credentials(&stored, &basic("ci", "new", None)).unwrap();
        assert_eq!(new.expire_at, Some(at));
        let other = changed_credentials(&stored, &basic("bot", "old", None)).unwrap();
        assert_eq!(other.expire_at, None);
        let bearer = Credentials {
            secret: Secret::Bearer {
                token: SecretString::from("t".to_owned()),
            },
            expire_at: Some(at),
        };
        let replaced = changed_credentials(&bearer, &basic("ci", "old", None)).unwrap();
        assert_eq!(replaced.expire_at, None);
    }

    #[test]
    fn feed_types_map_case_insensitively_and_unknown_ones_are_none() {
        assert_eq!(feed_type(Some("NuGet")), Some(FeedType::NuGet));
        assert_eq!(feed_type(Some("pypi")), Some(FeedType::PyPi));
        assert_eq!(feed_type(Some("RubyGems")), Some(FeedType::RubyGems));
        assert_eq!(feed_type(Some("Docker")), Some(FeedType::Docker));
        assert_eq!(feed_type(Some("chocolatey")), Some(FeedType::Chocolatey));
        // ProGet's PowerShell feeds speak NuGet's v2 protocol.
        assert_eq!(feed_type(Some("PowerShell")), Some(FeedType::NuGet));
        for other in ["helm", "universal", "debian", "conda", "cran", "vsix"] {
            assert_eq!(feed_type(Some(other)), None, "{other}");
        }
        assert_eq!(feed_type(None), None);
    }

    #[test]
    fn the_list_becomes_entries_with_credentials_apart_from_the_url() {
        let list = read_answer("https://p", 200, LIST.as_bytes()).unwrap();
        let row = ConnectorConfig {
            id: Some(4),
            name: "npmjs.org".into(),
            url: "https://registry.npmjs.org".into(),
            feed_type: Some("npm".into()),
            probe_timeout_seconds: None,
            probe_package: Some("left-pad".into()),
        };
        let table = BTreeMap::from([(4, row)]);
        let p = prepare(list, &table);
        let names: Vec<&str> = p.file.connectors.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["npmjs.org", "nuget.org", "helm", "private"]);
        let [npm, nuget, helm, private] = &p.file.connectors[..] else {
            panic!()
        };
        assert_eq!(
            (npm.feed_type.as_deref(), npm.probe_timeout_seconds),
            (Some("npm"), Some(10))
        );
        assert_eq!(npm.probe_package.as_deref(), Some("left-pad"));
        let max = u32::try_from(DEFAULT_MAX_PROBE_TIMEOUT.as_secs()).unwrap();
        assert_eq!(nuget.probe_timeout_seconds, Some(max));
        assert_eq!(p.clamped, [("nuget.org".to_owned(), 100_000)]);
        assert_eq!(
            (helm.feed_type.as_deref(), helm.probe_timeout_seconds),
            (Some("generic"), None)
        );
        assert_eq!(
            p.unknown_feed_types,
            BTreeMap::from([("helm".to_owned(), vec!["helm".to_owned()])])
        );
        assert_eq!(private.url, "https://private.example/npm/");
        let basic = |name: &str| match &p.credentials[name].secret {
            Secret::Basic { username, password } => {
                (username.clone(), password.expose_secret().to_owned())
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(basic("npmjs.org"), ("admin".into(), "pass123".into()));
        assert_eq!(basic("private"), ("ci".into(), "s@cret".into()));
        assert!(!p.credentials.contains_key("nuget.org"));
        assert_eq!(p.refused.len(), 1);
        assert_eq!(p.refused[0].0, "both");
        assert!(!p.refused[0].1.contains("s3cret"));
        assert!(!format!("{p:?}").contains("pass123"));
    }
}
