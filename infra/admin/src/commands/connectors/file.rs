//! Connector files: `connectors export` writes every connector's settings (never its probe
//! results, never the credentials a URL carries) as JSON; `connectors import` reads such a
//! file (JSON or YAML), checks all of it, and writes only what differs, through the same
//! catalog writes as `add` and `update`. An exported URL stands for the stored one when
//! imported over the same connector, so a round trip keeps credentials where they are.

use super::add::add;
use super::settings::{check_new_url, checked, new_connector, normalized, Spelling};
use crate::error::{AdminError, Result};
use crate::output::stdout;
use serde::{Deserialize, Serialize};
use shared::domain::redact::hides_something;
use shared::domain::{redact, Catalog, ConnectorId, ConnectorSettings, UrlView};
use shared::ports::{CatalogError, ConnectorCatalog, MAX_CONNECTORS_PER_CHANGE};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// One connector's settings, as `export` writes them and `import` reads them.
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
    /// A row's settings as a file entry.
    pub fn of_row(id: ConnectorId, s: &ConnectorSettings) -> Self {
        Self {
            id: Some(id.get()),
            name: s.name.clone(),
            url: s.url.clone(),
            feed_type: s.feed_type.clone(),
            probe_timeout_seconds: s.probe_timeout_seconds,
            probe_package: s.probe_package.clone(),
        }
    }

    /// The settings this entry asks for.
    pub fn settings(&self) -> ConnectorSettings {
        ConnectorSettings {
            name: self.name.clone(),
            url: self.url.clone(),
            feed_type: self.feed_type.clone(),
            probe_timeout_seconds: self.probe_timeout_seconds,
            probe_package: self.probe_package.clone(),
        }
    }

    fn with(id: Option<u32>, s: ConnectorSettings) -> Self {
        Self {
            id,
            name: s.name,
            url: s.url,
            feed_type: s.feed_type,
            probe_timeout_seconds: s.probe_timeout_seconds,
            probe_package: s.probe_package,
        }
    }

    /// The same entry with the feed type spelt as stored (absent: generic).
    fn normalized(&self) -> Self {
        Self::with(self.id, normalized(&self.settings()))
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
        let settings =
            checked(&self.settings(), Spelling::File).map_err(|e| invalid(e.to_string()))?;
        Ok(Self::with(self.id, settings))
    }
}

/// Every row's settings, by id (rows that cannot be read are skipped with a warning).
pub async fn read_all<C: ConnectorCatalog>(catalog: &C) -> Result<BTreeMap<u32, ConnectorConfig>> {
    Ok(table_of(&catalog.catalog().await?))
}

/// Every showable row's settings, by id (skipped rows said on stderr).
fn table_of(catalog: &Catalog) -> BTreeMap<u32, ConnectorConfig> {
    for _ in &catalog.skipped {
        eprintln!("warning: skipping a row without a valid id, name or url");
    }
    catalog
        .rows
        .iter()
        .map(|r| {
            let id = r.connector.id;
            (id.get(), ConnectorConfig::of_row(id, &r.settings))
        })
        .collect()
}

/// The export of `table`: every URL as the API shows it (no user-info, no secret query
/// value), and the ids of the connectors whose URL lost something that way.
pub fn exported(table: BTreeMap<u32, ConnectorConfig>) -> (ConfigFile, Vec<u32>) {
    let mut hidden = Vec::new();
    let connectors = table
        .into_iter()
        .map(|(id, mut c)| {
            if hides_something(&c.url) {
                hidden.push(id);
                c.url = redact(&c.url, UrlView::Api).into_owned();
            }
            c
        })
        .collect();
    (ConfigFile { connectors }, hidden)
}

/// `connectors export`: every connector's settings as JSON on stdout, without the
/// credentials a URL carries (said once on stderr, naming the connectors).
pub async fn export<C: ConnectorCatalog>(catalog: &C) -> Result<()> {
    let catalog = catalog.catalog().await?;
    let (file, hidden) = exported(table_of(&catalog));
    let own: Vec<String> = catalog
        .rows
        .iter()
        .filter_map(|r| {
            let kind = r.credentials.as_ref()?.kind.as_str();
            Some(format!("{} ({kind})", r.connector.id))
        })
        .collect();
    if !own.is_empty() {
        eprintln!(
            "note: the credentials of connector{} {} are not exported; importing it here keeps them, elsewhere give them again with `chadmin connectors update ID` and --username/--password-stdin, --token-stdin or --header/--header-value-stdin",
            if own.len() == 1 { "" } else { "s" },
            own.join(", ")
        );
    }
    if !hidden.is_empty() {
        let ids: Vec<String> = hidden.iter().map(u32::to_string).collect();
        eprintln!(
            "note: the URL credentials (user-info, secret query values) of connector{} {} are left out of the export; importing it here keeps the stored ones, importing it elsewhere cannot restore them",
            if ids.len() == 1 { "" } else { "s" },
            ids.join(", ")
        );
    }
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
        entries.push((c.checked(&at)?, at));
    }
    let (mut ids, mut names) = (HashSet::new(), HashSet::new());
    for (c, _) in &entries {
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
    for (mut c, at) in entries {
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
        let row = id.and_then(|id| table.get(&id).map(|row| (id, row)));
        // The URL as an export showed it stands for the stored one (credentials and all);
        // any other new URL must carry none.
        match row {
            Some((_, row)) if c.url == row.url => {}
            Some((_, row)) if c.url == redact(&row.url, UrlView::Api) => c.url.clone_from(&row.url),
            _ => check_new_url(&c.url, Spelling::File)
                .map_err(|e| AdminError::Invalid(format!("{at}: {e}")))?,
        }
        let action = match row {
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

/// The updates of a plan in the groups they are written in, each group all or nothing:
/// connectors that pass names to one another (a swap, a chain of renames) change together,
/// every other update alone. Refused when a group is larger than one change can be.
pub fn update_groups(
    actions: &[Action],
    table: &BTreeMap<u32, ConnectorConfig>,
) -> Result<Vec<Vec<(ConnectorId, ConnectorSettings)>>> {
    let updates: Vec<(u32, &ConnectorConfig)> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Update(id, to) => Some((*id, to)),
            _ => None,
        })
        .collect();
    // Union-find over the updates: one takes a name another gives up.
    let mut group: Vec<usize> = (0..updates.len()).collect();
    fn root(group: &mut [usize], mut i: usize) -> usize {
        while group[i] != i {
            group[i] = group[group[i]];
            i = group[i];
        }
        i
    }
    let giving_up: HashMap<&str, usize> = updates
        .iter()
        .enumerate()
        .filter_map(|(i, (id, to))| {
            let old = table.get(id)?.name.as_str();
            (old != to.name).then_some((old, i))
        })
        .collect();
    for (i, (_, to)) in updates.iter().enumerate() {
        if let Some(&j) = giving_up.get(to.name.as_str()) {
            let (a, b) = (root(&mut group, i), root(&mut group, j));
            group[a] = b;
        }
    }
    let mut groups: BTreeMap<usize, Vec<(ConnectorId, ConnectorSettings)>> = BTreeMap::new();
    for (i, (id, to)) in updates.iter().enumerate() {
        let connector = ConnectorId::new(*id)
            .ok_or_else(|| AdminError::Invalid(format!("{id} is not a connector id")))?;
        groups
            .entry(root(&mut group, i))
            .or_default()
            .push((connector, to.settings()));
    }
    let groups: Vec<_> = groups.into_values().collect();
    if let Some(big) = groups.iter().find(|g| g.len() > MAX_CONNECTORS_PER_CHANGE) {
        return Err(AdminError::Invalid(format!(
            "{} connectors pass their names to one another in this file; at most {} can in one \
             import, so split the renames over several imports",
            big.len(),
            MAX_CONNECTORS_PER_CHANGE
        )));
    }
    Ok(groups)
}

/// `connectors import FILE`: the updates first (connectors that pass names to one another
/// together), then the new connectors (so they may take a name a rename gave up), each
/// added as `connectors add` adds: those with an id first, so the others get ids above
/// every id in the file.
pub async fn import<C: ConnectorCatalog>(catalog: &C, path: &Path) -> Result<()> {
    let name = path.display().to_string();
    let text = if name == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| AdminError::Invalid(format!("cannot read {name}: {e}")))?;
    let file = parse_file(&name, &text)?;
    let table = read_all(catalog).await?;
    let actions = plan(&file, &table)?;
    let groups = update_groups(&actions, &table)?;
    let (mut added, mut updated) = (0, 0);
    let unchanged = actions
        .iter()
        .filter(|a| matches!(a, Action::Unchanged(_)))
        .count();
    for group in groups {
        match catalog.update_settings(&group).await {
            Ok(()) => updated += group.len(),
            Err(CatalogError::NotFound(id)) => {
                return Err(AdminError::Conflict(format!(
                    "connector {id} was removed during the import; run it again"
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
    // Entries with an id first: the others then get ids above every id in the file.
    let mut adds: Vec<ConnectorConfig> = actions
        .into_iter()
        .filter_map(|a| match a {
            Action::Add(c) => Some(c),
            _ => None,
        })
        .collect();
    adds.sort_by_key(|c| c.id.is_none());
    for c in adds {
        let id =
            c.id.map(|id| {
                ConnectorId::new(id)
                    .ok_or_else(|| AdminError::Invalid(format!("{id} is not a connector id")))
            })
            .transpose()?;
        match add(catalog, new_connector(&c.name, &c.url)?, &c.settings(), id).await {
            Ok(_) => added += 1,
            Err(AdminError::AlreadyExists(why)) => {
                return Err(AdminError::Conflict(format!(
                    "{why}: it was added during the import; run it again"
                )))
            }
            Err(e) => return Err(e),
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

    fn with_url(id: Option<u32>, name: &str, url: &str) -> ConnectorConfig {
        ConnectorConfig {
            url: url.into(),
            ..cfg(id, name)
        }
    }

    #[test]
    fn an_export_leaves_credentials_out_and_names_the_connectors() {
        let t = table(&[
            with_url(Some(1), "a", "https://T0kenValue@npm.fury.io/acme/"),
            with_url(
                Some(2),
                "b",
                "https://b.example/?access_token=s3cret&page=2",
            ),
            cfg(Some(3), "c"),
        ]);
        let (file, hidden) = exported(t);
        assert_eq!(hidden, vec![1, 2]);
        let urls: Vec<&str> = file.connectors.iter().map(|c| c.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://npm.fury.io/acme/",
                "https://b.example/?access_token=***&page=2",
                "https://c.example/"
            ]
        );
    }

    #[test]
    fn an_import_keeps_stored_credentials_and_refuses_new_ones() {
        let stored = [
            with_url(Some(1), "a", "https://T0kenValue@npm.fury.io/acme/"),
            with_url(
                Some(2),
                "b",
                "https://b.example/?access_token=s3cret&page=2",
            ),
        ];
        let t = table(&stored);
        // What an export wrote leaves the stored URLs as they are.
        let (file, _) = exported(t.clone());
        let actions = plan(&file, &t).unwrap();
        assert_eq!(actions, [Action::Unchanged(1), Action::Unchanged(2)]);
        // So does the stored URL itself; a change of another setting keeps it too.
        let mut b = stored[1].clone();
        b.probe_package = Some("six".into());
        let mut a = file.connectors[0].clone();
        a.probe_package = Some("left-pad".into());
        let actions = plan(
            &ConfigFile {
                connectors: vec![a, b],
            },
            &t,
        )
        .unwrap();
        assert!(
            matches!(&actions[0], Action::Update(1, c) if c.url == stored[0].url),
            "{actions:?}"
        );
        assert!(
            matches!(&actions[1], Action::Update(2, c) if c.url == stored[1].url),
            "{actions:?}"
        );
        // A new URL with user-info, or with a placeholder, is refused, naming the entry.
        for (entry, why) in [
            (
                with_url(Some(1), "a", "https://0ther@npm.fury.io/acme/"),
                "connector #1 (\"a\"): url: a URL must not carry credentials (user-info); import the URL without them, then give the credentials with chadmin connectors update ID --username NAME --password-stdin (or --token-stdin)",
            ),
            (
                with_url(None, "n", "https://u:p4ss@n.example/"),
                "connector #1 (\"n\"): url: a URL must not carry credentials (user-info); import the URL without them, then give the credentials with chadmin connectors update ID --username NAME --password-stdin (or --token-stdin)",
            ),
            (
                with_url(None, "n", "https://b.example/?access_token=***&page=2"),
                "connector #1 (\"n\"): url: the value of access_token is ***, which an export writes in place of a secret; give the real value",
            ),
        ] {
            let e = plan(&ConfigFile { connectors: vec![entry] }, &t)
                .unwrap_err()
                .to_string();
            assert_eq!(e, why);
        }
        // Elsewhere, the export's URLs are new: user-info is simply gone, a placeholder refused.
        let (file, _) = exported(t);
        let e = plan(&file, &BTreeMap::new()).unwrap_err().to_string();
        assert!(
            e.starts_with("connector #2 (\"b\"): url: the value of access_token"),
            "{e}"
        );
    }

    #[test]
    fn connectors_passing_names_on_are_written_together_the_others_alone() {
        let t = table(&[
            cfg(Some(1), "a"),
            cfg(Some(2), "b"),
            cfg(Some(3), "c"),
            cfg(Some(4), "d"),
            cfg(Some(5), "e"),
        ]);
        let mut e = cfg(Some(5), "e");
        e.probe_package = Some("six".into());
        // 1 and 2 swap; 3 takes 4's name, 4 takes a new one; 5 changes alone.
        let file = ConfigFile {
            connectors: vec![
                cfg(Some(1), "b"),
                cfg(Some(2), "a"),
                cfg(Some(3), "d"),
                cfg(Some(4), "z"),
                e,
            ],
        };
        let actions = plan(&file, &t).unwrap();
        let groups: Vec<Vec<u32>> = update_groups(&actions, &t)
            .unwrap()
            .iter()
            .map(|g| {
                let mut ids: Vec<u32> = g.iter().map(|(id, _)| id.get()).collect();
                ids.sort_unstable();
                ids
            })
            .collect();
        let mut groups = groups;
        groups.sort();
        assert_eq!(groups, vec![vec![1, 2], vec![3, 4], vec![5]]);
    }

    #[test]
    fn a_ring_of_renames_larger_than_one_change_is_refused_before_writing() {
        let n = u32::try_from(MAX_CONNECTORS_PER_CHANGE).unwrap() + 1;
        let name = |i: u32| format!("n{i}");
        let t: BTreeMap<u32, ConnectorConfig> =
            (1..=n).map(|i| (i, cfg(Some(i), &name(i)))).collect();
        let ring = ConfigFile {
            connectors: (1..=n).map(|i| cfg(Some(i), &name(i % n + 1))).collect(),
        };
        let actions = plan(&ring, &t).unwrap();
        let e = update_groups(&actions, &t).unwrap_err().to_string();
        assert!(e.contains("pass their names to one another"), "{e}");
    }
}
