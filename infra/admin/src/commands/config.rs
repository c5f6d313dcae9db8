//! A connector's configuration: name, URL, feed type and its own probe settings. What
//! `connectors update`, `export` and `import` deal in; never the probe results.

use super::connectors::new_connector;
use crate::cli::{AddConnectorArgs, FeedType, ProbeSettingsArgs};
use crate::error::{AdminError, Result};
use crate::output::stdout;
use aws_sdk_dynamodb::types::AttributeValue;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use shared::adapters::dynamodb::{applied, attr, item_from, DynamoConnectorStore, SERVICE};
use shared::domain::{Connector, ConnectorId};
use shared::ports::DependencyError;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

type Item = HashMap<String, AttributeValue>;

/// The longest per-connector probe timeout, in seconds (the probe function caps it too).
pub const MAX_TIMEOUT_SECONDS: u32 = 600;

/// A connector's own probe settings, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeSettings {
    pub timeout_seconds: Option<u32>,
    pub package: Option<String>,
}

impl ProbeSettings {
    pub fn from_args(args: &ProbeSettingsArgs) -> Result<Self> {
        Ok(Self {
            timeout_seconds: args.timeout,
            package: check_package(args.package.as_deref())?,
        })
    }
}

fn check_package(package: Option<&str>) -> Result<Option<String>> {
    match package.map(str::trim) {
        None => Ok(None),
        Some("") => Err(AdminError::Invalid(
            "--package must not be empty".to_owned(),
        )),
        Some(p) if p.chars().any(char::is_whitespace) => Err(AdminError::Invalid(format!(
            "--package must not contain spaces (got {p:?})"
        ))),
        Some(p) => Ok(Some(p.to_owned())),
    }
}

fn dependency(e: impl std::fmt::Display) -> AdminError {
    AdminError::Dependency(DependencyError {
        service: SERVICE,
        detail: e.to_string(),
    })
}

/// Writes a new connector row with its probe settings, only if its id is free.
/// Returns `false`, writing nothing, when the id is taken.
pub async fn insert(
    store: &DynamoConnectorStore,
    connector: &Connector,
    feed_type: FeedType,
    probe: &ProbeSettings,
) -> Result<bool> {
    let mut item = item_from(connector, Some(feed_type.as_str()));
    if let Some(t) = probe.timeout_seconds {
        item.insert(
            attr::PROBE_TIMEOUT_SECONDS.into(),
            AttributeValue::N(t.to_string()),
        );
    }
    if let Some(p) = &probe.package {
        item.insert(attr::PROBE_PACKAGE.into(), AttributeValue::S(p.clone()));
    }
    Ok(store.insert_item(item).await?)
}

/// One connector's configuration, as `export` writes it and `import` reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectorConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    pub name: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_timeout_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_package: Option<String>,
}

/// The file: `{"connectors": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub connectors: Vec<ConnectorConfig>,
}

impl ConnectorConfig {
    /// The configuration a row holds; `None` for a row without a valid id, name or url.
    pub fn from_item(item: &Item) -> Option<Self> {
        let s = |name: &str| match item.get(name) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        };
        let id = match item.get(attr::ID) {
            Some(AttributeValue::N(v)) => ConnectorId::parse(v)?.get(),
            _ => return None,
        };
        Some(Self {
            id: Some(id),
            name: s(attr::NAME)?,
            url: s(attr::URL)?,
            feed_type: s(attr::FEED_TYPE),
            probe_timeout_seconds: match item.get(attr::PROBE_TIMEOUT_SECONDS) {
                Some(AttributeValue::N(v)) => v.parse().ok(),
                _ => None,
            },
            probe_package: s(attr::PROBE_PACKAGE),
        })
    }

    /// The same configuration with the feed type spelt as stored (absent: generic), for
    /// comparing what a file asks for with what a row holds.
    fn normalized(&self) -> Self {
        let mut c = self.clone();
        let feed = c.feed_type.as_deref().unwrap_or("generic");
        c.feed_type = Some(
            FeedType::from_str(feed, true)
                .map(|f| f.as_str().to_owned())
                .unwrap_or_else(|_| feed.to_owned()),
        );
        c
    }

    /// Checks one entry as `connectors add` would, and returns it normalized.
    fn checked(&self, at: &str) -> Result<Self> {
        let invalid = |why: String| AdminError::Invalid(format!("{at}: {why}"));
        if let Some(id) = self.id {
            ConnectorId::new(id).ok_or_else(|| {
                invalid(format!(
                    "id must be a whole number from 1 to {}",
                    ConnectorId::MAX
                ))
            })?;
        }
        let feed = self.feed_type.as_deref().unwrap_or("generic");
        let feed_type = FeedType::from_str(feed, true).map_err(|_| {
            let known: Vec<&str> = FeedType::value_variants()
                .iter()
                .map(|f| f.as_str())
                .collect();
            invalid(format!(
                "unknown feedType {feed:?} (one of {})",
                known.join(", ")
            ))
        })?;
        let connector = new_connector(&AddConnectorArgs {
            name: self.name.clone(),
            url: self.url.clone(),
            id: None,
            feed_type,
        })
        .map_err(|e| invalid(e.to_string().replace("--url", "url")))?;
        if let Some(t) = self.probe_timeout_seconds {
            if !(1..=MAX_TIMEOUT_SECONDS).contains(&t) {
                return Err(invalid(format!(
                    "probeTimeoutSeconds must be from 1 to {MAX_TIMEOUT_SECONDS}"
                )));
            }
        }
        let package = check_package(self.probe_package.as_deref())
            .map_err(|e| invalid(e.to_string().replace("--package", "probePackage")))?;
        Ok(Self {
            id: self.id,
            name: connector.name,
            url: connector.url,
            feed_type: Some(feed_type.as_str().to_owned()),
            probe_timeout_seconds: self.probe_timeout_seconds,
            probe_package: package,
        })
    }
}

/// Every row's configuration, by id (rows without a valid id, name or url are skipped
/// with a warning).
pub async fn read_all(store: &DynamoConnectorStore) -> Result<BTreeMap<u32, ConnectorConfig>> {
    let (items, _) = store.scan_items().await?;
    let mut configs = BTreeMap::new();
    for item in &items {
        match ConnectorConfig::from_item(item) {
            Some(c) => {
                configs.insert(c.id.unwrap_or_default(), c);
            }
            None => eprintln!("warning: skipping a row without a valid id, name or url"),
        }
    }
    Ok(configs)
}

async fn read_one(
    store: &DynamoConnectorStore,
    id: ConnectorId,
) -> Result<Option<ConnectorConfig>> {
    let out = store
        .client()
        .get_item()
        .table_name(store.table())
        .key(attr::ID, AttributeValue::N(id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| dependency(aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
    Ok(out.item.as_ref().and_then(ConnectorConfig::from_item))
}

/// Sets a row's configuration to `to`, only if the row exists. Returns `false` when
/// there is no such row. The probe results stay as they are.
async fn write(store: &DynamoConnectorStore, id: u32, to: &ConnectorConfig) -> Result<bool> {
    let mut names = HashMap::from([("#id".to_owned(), attr::ID.to_owned())]);
    let mut values = Item::new();
    let (mut set, mut remove) = (Vec::new(), Vec::new());
    let fields = [
        (attr::NAME, Some(AttributeValue::S(to.name.clone()))),
        (attr::URL, Some(AttributeValue::S(to.url.clone()))),
        (attr::FEED_TYPE, to.feed_type.clone().map(AttributeValue::S)),
        (
            attr::PROBE_TIMEOUT_SECONDS,
            to.probe_timeout_seconds
                .map(|t| AttributeValue::N(t.to_string())),
        ),
        (
            attr::PROBE_PACKAGE,
            to.probe_package.clone().map(AttributeValue::S),
        ),
    ];
    for (name, value) in fields {
        names.insert(format!("#{name}"), name.to_owned());
        match value {
            Some(v) => {
                set.push(format!("#{name} = :{name}"));
                values.insert(format!(":{name}"), v);
            }
            None => remove.push(format!("#{name}")),
        }
    }
    let mut expression = format!("SET {}", set.join(", "));
    if !remove.is_empty() {
        expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    Ok(applied(
        store
            .client()
            .update_item()
            .table_name(store.table())
            .key(attr::ID, AttributeValue::N(id.to_string()))
            .update_expression(expression)
            .condition_expression("attribute_exists(#id)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await,
    )?)
}

/// `connectors update ID [--name] [--url] [--feed-type] [--timeout] [--package] ...`
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// The connector's id.
    #[arg(value_parser = crate::cli::parse_id)]
    pub id: ConnectorId,
    /// A new unique name.
    #[arg(long)]
    pub name: Option<String>,
    /// A new URL (http or https).
    #[arg(long)]
    pub url: Option<String>,
    /// A new feed type.
    #[arg(long, value_enum)]
    pub feed_type: Option<FeedType>,
    #[command(flatten)]
    pub probe: ProbeSettingsArgs,
    /// Remove the connector's own timeout (use the probe function's).
    #[arg(long, conflicts_with = "timeout")]
    pub clear_timeout: bool,
    /// Remove the connector's probe package (use the feed type's default).
    #[arg(long, conflicts_with = "package")]
    pub clear_package: bool,
}

pub async fn update(store: &DynamoConnectorStore, args: &UpdateArgs) -> Result<()> {
    let id = args.id;
    let Some(current) = read_one(store, id).await? else {
        return Err(AdminError::NotFound(format!("no connector with id {id}")));
    };
    let mut wanted = current.clone();
    if let Some(n) = &args.name {
        wanted.name = n.clone();
    }
    if let Some(u) = &args.url {
        wanted.url = u.clone();
    }
    if let Some(f) = args.feed_type {
        wanted.feed_type = Some(f.as_str().to_owned());
    }
    if let Some(t) = args.probe.timeout {
        wanted.probe_timeout_seconds = Some(t);
    }
    if args.clear_timeout {
        wanted.probe_timeout_seconds = None;
    }
    if let Some(p) = &args.probe.package {
        wanted.probe_package = Some(p.clone());
    }
    if args.clear_package {
        wanted.probe_package = None;
    }
    let wanted = wanted.checked("update")?;
    if wanted == current.normalized() {
        eprintln!("connector {id} unchanged");
        return Ok(());
    }
    if wanted.name != current.name {
        let taken = read_all(store)
            .await?
            .into_values()
            .any(|c| c.name == wanted.name && c.id != Some(id.get()));
        if taken {
            return Err(AdminError::AlreadyExists(format!(
                "a connector named {:?} already exists",
                wanted.name
            )));
        }
    }
    if !write(store, id.get(), &wanted).await? {
        return Err(AdminError::NotFound(format!(
            "connector {id} was removed meanwhile"
        )));
    }
    eprintln!("updated connector {id}");
    Ok(())
}

/// `connectors export`: every connector's configuration as JSON on stdout.
pub async fn export(store: &DynamoConnectorStore) -> Result<()> {
    let file = ConfigFile {
        connectors: read_all(store).await?.into_values().collect(),
    };
    let text = serde_json::to_string_pretty(&file).map_err(|e| AdminError::Io(e.to_string()))?;
    stdout(&format!("{text}\n"))
}

/// Reads a connector file: JSON (`.json`) or YAML (anything else; YAML also reads JSON).
pub fn parse_file(name: &str, text: &str) -> Result<ConfigFile> {
    let expected = r#"expected {"connectors": [{"name": ..., "url": ..., "feedType": ..., "id": ..., "probeTimeoutSeconds": ..., "probePackage": ...}]}"#;
    let parsed = if name.to_ascii_lowercase().ends_with(".json") {
        serde_json::from_str::<ConfigFile>(text).map_err(|e| e.to_string())
    } else {
        serde_yaml_ng::from_str::<ConfigFile>(text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| {
        AdminError::Invalid(format!(
            "{name} is not a connector file: {}; {expected}",
            e.replace('\n', " ")
        ))
    })
}

/// What importing one entry does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Add(ConnectorConfig),
    Update(u32, ConnectorConfig),
    Unchanged(u32),
}

/// Checks every entry against the others and the table and decides what each one does;
/// nothing is written. Entries with an id are matched by id, the others by name.
pub fn plan(file: &ConfigFile, table: &BTreeMap<u32, ConnectorConfig>) -> Result<Vec<Action>> {
    let mut entries = Vec::with_capacity(file.connectors.len());
    for (i, c) in file.connectors.iter().enumerate() {
        let at = format!("connector #{} ({:?})", i + 1, c.name.trim());
        entries.push(c.checked(&at)?);
    }
    let (mut ids, mut names) = (HashSet::new(), HashSet::new());
    for c in &entries {
        if let Some(id) = c.id {
            if !ids.insert(id) {
                return Err(AdminError::Invalid(format!(
                    "id {id} appears twice in the file"
                )));
            }
        }
        if !names.insert(c.name.clone()) {
            return Err(AdminError::Invalid(format!(
                "the name {:?} appears twice in the file",
                c.name
            )));
        }
    }
    let by_name: HashMap<&str, u32> = table.iter().map(|(id, c)| (c.name.as_str(), *id)).collect();
    let mut actions = Vec::with_capacity(entries.len());
    let mut targets = HashSet::new();
    for c in entries {
        let id = c.id.or_else(|| by_name.get(c.name.as_str()).copied());
        if let Some(id) = id {
            if !targets.insert(id) {
                return Err(AdminError::Invalid(format!(
                    "two entries in the file are connector {id}"
                )));
            }
        }
        // A name may move between connectors only if its current holder is renamed too.
        if let Some(holder) = by_name.get(c.name.as_str()) {
            if Some(*holder) != id {
                let renamed = file
                    .connectors
                    .iter()
                    .any(|o| o.id == Some(*holder) && o.name.trim() != c.name);
                if !renamed {
                    return Err(AdminError::Invalid(format!(
                        "the name {:?} belongs to connector {holder}, not {}",
                        c.name,
                        id.map_or("a new one".to_owned(), |i| i.to_string())
                    )));
                }
            }
        }
        let action = match id.and_then(|id| table.get(&id).map(|row| (id, row))) {
            Some((id, row)) => {
                let wanted = ConnectorConfig { id: Some(id), ..c };
                if row.normalized() == wanted {
                    Action::Unchanged(id)
                } else {
                    Action::Update(id, wanted)
                }
            }
            None => Action::Add(c),
        };
        actions.push(action);
    }
    Ok(actions)
}

/// `connectors import FILE`.
pub async fn import(store: &DynamoConnectorStore, path: &Path) -> Result<()> {
    let name = path.display().to_string();
    let text = if name == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| AdminError::Invalid(format!("cannot read {name}: {e}")))?;
    let file = parse_file(&name, &text)?;
    let table = read_all(store).await?;
    let actions = plan(&file, &table)?;
    let mut next_id = table
        .keys()
        .copied()
        .chain(file.connectors.iter().filter_map(|c| c.id))
        .max()
        .unwrap_or(0);
    let (mut added, mut updated, mut unchanged) = (0, 0, 0);
    for action in actions {
        match action {
            Action::Unchanged(_) => unchanged += 1,
            Action::Update(id, to) => {
                if !write(store, id, &to).await? {
                    return Err(AdminError::Conflict(format!(
                        "connector {id} was removed during the import; run it again"
                    )));
                }
                updated += 1;
            }
            Action::Add(c) => {
                let id = match c.id {
                    Some(id) => id,
                    None => {
                        next_id += 1;
                        next_id
                    }
                };
                let connector = Connector {
                    id: ConnectorId::new(id)
                        .ok_or_else(|| AdminError::Invalid("no free connector id left".into()))?,
                    ..new_connector(&AddConnectorArgs {
                        name: c.name.clone(),
                        url: c.url.clone(),
                        id: None,
                        feed_type: FeedType::Generic,
                    })?
                };
                let feed_type =
                    FeedType::from_str(c.feed_type.as_deref().unwrap_or("generic"), true)
                        .unwrap_or(FeedType::Generic);
                let probe = ProbeSettings {
                    timeout_seconds: c.probe_timeout_seconds,
                    package: c.probe_package.clone(),
                };
                if !insert(store, &connector, feed_type, &probe).await? {
                    return Err(AdminError::Conflict(format!(
                        "connector id {id} was taken during the import; run it again"
                    )));
                }
                added += 1;
            }
        }
    }
    eprintln!("import: {added} added, {updated} updated, {unchanged} unchanged");
    stdout(&format!(
        "added={added} updated={updated} unchanged={unchanged}\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(id: Option<u32>, name: &str) -> ConnectorConfig {
        ConnectorConfig {
            id,
            name: name.into(),
            url: format!("https://{name}.example/"),
            feed_type: Some("npm".into()),
            probe_timeout_seconds: None,
            probe_package: None,
        }
    }

    fn table(rows: &[ConnectorConfig]) -> BTreeMap<u32, ConnectorConfig> {
        rows.iter().map(|r| (r.id.unwrap(), r.clone())).collect()
    }

    #[test]
    fn json_and_yaml_files_read_alike_and_a_wrong_shape_is_one_line() {
        let json = r#"{"connectors": [{"name": "npm", "url": "https://r.test/", "feedType": "npm", "probeTimeoutSeconds": 5}]}"#;
        let yaml = "connectors:\n  - name: npm\n    url: https://r.test/\n    feedType: npm\n    probeTimeoutSeconds: 5\n";
        assert_eq!(
            parse_file("a.json", json).unwrap(),
            parse_file("a.yaml", yaml).unwrap()
        );
        assert_eq!(
            parse_file("a.yml", json).unwrap(),
            parse_file("a.yaml", yaml).unwrap()
        );
        for bad in [
            r#"[{"name": "x"}]"#,
            r#"{"connectors": [{"name": "x", "url": "https://x", "colour": 1}]}"#,
            "connectors: 3",
        ] {
            let e = parse_file("c.yaml", bad).unwrap_err().to_string();
            assert!(e.starts_with("c.yaml is not a connector file: "), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn the_plan_adds_updates_and_leaves_alone() {
        let t = table(&[cfg(Some(1), "a"), cfg(Some(2), "b")]);
        let mut b = cfg(None, "b");
        b.probe_package = Some("six".into());
        let mut a = cfg(Some(1), "a");
        a.feed_type = Some("NPM".into());
        let file = ConfigFile {
            connectors: vec![a, b, cfg(None, "c")],
        };
        let actions = plan(&file, &t).unwrap();
        assert_eq!(
            actions[0],
            Action::Unchanged(1),
            "feed type case does not matter"
        );
        assert!(
            matches!(&actions[1], Action::Update(2, c) if c.probe_package.as_deref() == Some("six"))
        );
        assert!(matches!(&actions[2], Action::Add(c) if c.name == "c" && c.id.is_none()));
    }

    #[test]
    fn a_bad_entry_or_a_clash_rejects_the_whole_file() {
        let t = table(&[cfg(Some(1), "a"), cfg(Some(2), "b")]);
        let mut bad_url = cfg(None, "x");
        bad_url.url = "ftp://x".into();
        let mut bad_timeout = cfg(None, "y");
        bad_timeout.probe_timeout_seconds = Some(0);
        let mut bad_feed = cfg(None, "z");
        bad_feed.feed_type = Some("cargo".into());
        for (file, why) in [
            (vec![cfg(None, "ok"), bad_url], "url"),
            (vec![bad_timeout], "probeTimeoutSeconds"),
            (vec![bad_feed], "feedType"),
            (vec![cfg(Some(5), "n"), cfg(Some(5), "m")], "twice"),
            (vec![cfg(None, "n"), cfg(Some(7), "n")], "twice"),
            (vec![cfg(Some(3), "a")], "belongs to connector 1"),
        ] {
            let e = plan(&ConfigFile { connectors: file }, &t)
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{e}");
        }
        // Swapping names is fine when both connectors are in the file.
        let swap = vec![cfg(Some(1), "b"), cfg(Some(2), "a")];
        let actions = plan(&ConfigFile { connectors: swap }, &t).unwrap();
        assert!(actions.iter().all(|a| matches!(a, Action::Update(..))));
    }
}
