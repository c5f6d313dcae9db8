//! ProGet's connector list (`GET {URL}/api/management/connectors/list`, with an `X-ApiKey`
//! header) read as connector entries: ProGet's feed types mapped to ours (an unknown one is
//! imported as generic and named), its timeout clamped to what a probe run allows, and its
//! user name and password kept apart as Basic credentials, never in the URL.

use super::add::add;
use super::credentials::{apply, Change};
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
use shared::domain::{ConnectorId, Credentials, FeedType, Secret};
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

/// ProGet's answer (`status`, `body`) to the list request at `url` as its connectors, or
/// one line saying why not. The body is never shown: it may be anything.
pub fn read_answer(url: &str, status: u16, body: &[u8]) -> Result<Vec<ProGetConnector>> {
    match status {
        200..=299 => serde_json::from_slice(body).map_err(|_| {
            AdminError::Invalid(format!(
                "{url} is not a ProGet API: its answer is not ProGet's connector list (check the URL: ProGet's base URL, without {LIST_PATH})"
            ))
        }),
        401 | 403 => Err(AdminError::Config(format!(
            "ProGet refused the API key (HTTP {status}): give a system-level API key with the Use/Manage Feeds privilege"
        ))),
        _ => Err(AdminError::Io(format!(
            "ProGet answered HTTP {status} to {url}"
        ))),
    }
}

/// Our feed type for ProGet's, case-insensitively; `None` for one without a dedicated
/// check here (imported as generic).
pub fn feed_type(proget: Option<&str>) -> Option<FeedType> {
    let name = proget?.trim();
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
async fn fetch(base: &str, key: &SecretString) -> Result<Vec<ProGetConnector>> {
    let url = format!("{base}{LIST_PATH}");
    let retry = |why: String| {
        AdminError::WithStatus(
            2,
            Box::new(AdminError::Io(format!(
                "cannot reach ProGet at {base}: {why}; nothing was written, try again"
            ))),
        )
    };
    let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, get(&url, key.expose_secret()))
        .await
        .map_err(|_| retry("no answer within 30 s".into()))?
        .map_err(retry)?;
    read_answer(base, status, &body)
}

/// Whether the stored credentials of row `id` are not `wanted`.
async fn credentials_differ(
    rows: &DynamoConnectorStore,
    secrets: &SecretsManagerCredentials,
    id: ConnectorId,
    wanted: &Credentials,
) -> Result<bool> {
    let Some(current) = rows.credentials(id).await? else {
        return Ok(true);
    };
    let stored = secrets.get(&current).await?;
    Ok(match (&stored.secret, &wanted.secret) {
        (
            Secret::Basic { username, password },
            Secret::Basic {
                username: u,
                password: p,
            },
        ) => username != u || password.expose_secret() != p.expose_secret(),
        _ => true,
    })
}

/// `connectors import --from-proget URL`: ProGet's connectors added or updated by name,
/// their credentials (when ProGet has some) stored as the connector's Basic credentials.
/// With `dry_run`, only says what would change.
pub async fn import(
    target: &Target,
    rows: &DynamoConnectorStore,
    url: &str,
    key: &SecretString,
    dry_run: bool,
) -> Result<()> {
    let base = url.trim().trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(AdminError::Invalid(format!(
            "--from-proget must start with https:// or http:// (got {base:?})"
        )));
    }
    let list = fetch(base, key).await?;
    let table = read_all(rows).await?;
    let prepared = prepare(list, &table);
    let actions = plan(&prepared.file, &table)?;
    let groups = update_groups(&actions, &table)?;
    let secrets = super::credentials::store(target).await?;
    // What each entry changes: its settings, its credentials, or nothing.
    let mut settings_changed: Vec<u32> = Vec::new();
    let mut credentials_changed: BTreeSet<u32> = BTreeSet::new();
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
                    Some(w) => credentials_differ(rows, &secrets, connector, w).await?,
                    None => false,
                };
                if creds {
                    credentials_changed.insert(*id);
                }
                if matches!(action, Action::Update(..)) {
                    settings_changed.push(*id);
                } else if !creds {
                    unchanged += 1;
                }
            }
        }
    }
    let updated = settings_changed
        .iter()
        .copied()
        .collect::<BTreeSet<u32>>()
        .union(&credentials_changed)
        .count();
    summarize(&prepared);
    if dry_run {
        for c in &adds {
            eprintln!("would add {:?}", c.name);
        }
        for id in settings_changed.iter().chain(&credentials_changed) {
            let name = table.get(id).map_or("", |r| r.name.as_str());
            let what = if credentials_changed.contains(id) && !settings_changed.contains(id) {
                "its credentials"
            } else {
                "its settings"
            };
            eprintln!("would update connector {id} ({name:?}): {what}");
        }
        return stdout(&format!(
            "dry run, nothing written: added={} updated={updated} unchanged={unchanged}\n",
            adds.len()
        ));
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
    for id in &credentials_changed {
        let name = table.get(id).map_or("", |r| r.name.as_str());
        if let (Some(c), Some(connector)) = (prepared.credentials.get(name), ConnectorId::new(*id))
        {
            apply(rows, &secrets, connector, Change::Set(c.clone())).await?;
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
        added += 1;
        if let Some(credentials) = prepared.credentials.get(&c.name) {
            apply(rows, &secrets, id, Change::Set(credentials.clone())).await?;
        }
    }
    eprintln!("import: {added} added, {updated} updated, {unchanged} unchanged");
    stdout(&format!(
        "added={added} updated={updated} unchanged={unchanged}\n"
    ))
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
            e.starts_with("https://proget.example is not a ProGet API"),
            "{e}"
        );
        for e in [e, read_answer(url, 500, html).unwrap_err().to_string()] {
            assert!(!e.contains('\n') && !e.contains("pass123"), "{e}");
        }
    }

    #[test]
    fn feed_types_map_case_insensitively_and_unknown_ones_are_none() {
        assert_eq!(feed_type(Some("NuGet")), Some(FeedType::NuGet));
        assert_eq!(feed_type(Some("pypi")), Some(FeedType::PyPi));
        assert_eq!(feed_type(Some("RubyGems")), Some(FeedType::RubyGems));
        assert_eq!(feed_type(Some("Docker")), Some(FeedType::Docker));
        assert_eq!(feed_type(Some("chocolatey")), Some(FeedType::Chocolatey));
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
