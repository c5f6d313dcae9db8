//! `chadmin connectors ...` and `chadmin seed-demo`: connector rows in the table.

use crate::cli::{AddConnectorArgs, ConnectorsCommand, FeedType};
use crate::demo;
use crate::error::{AdminError, Result};
use crate::output::stdout;
use crate::target::Target;
use crate::text_table;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use shared::adapters::dynamodb::{attr, raw_from_item, DynamoConnectorStore};
use shared::domain::{format_timestamp, Connector, ConnectorId, Diagnostics, Health};

/// How often `add` without `--id` tries the next free id when another writer takes it first.
const NEXT_ID_ATTEMPTS: u32 = 5;

pub async fn run(target: &Target, command: ConnectorsCommand) -> Result<()> {
    let store = target.connectors()?;
    match command {
        ConnectorsCommand::Add {
            connector: args,
            probe,
        } => {
            let connector = new_connector(&args)?;
            let probe = super::config::ProbeSettings::from_args(&probe)?;
            let id = add_with(&store, connector, args.feed_type, args.id, &probe).await?;
            eprintln!("added connector {id} ({:?})", args.name.trim());
            stdout(&format!("{id}\n"))
        }
        ConnectorsCommand::List { json } => {
            let rows = list(&store).await?;
            if json {
                let text = serde_json::to_string_pretty(&json_rows(&rows))
                    .map_err(|e| AdminError::Io(e.to_string()))?;
                stdout(&format!("{text}\n"))
            } else {
                stdout(&list_text(&rows))
            }
        }
        ConnectorsCommand::Remove { id } => {
            if !store.delete_existing(id).await? {
                return Err(AdminError::NotFound(format!("no connector with id {id}")));
            }
            eprintln!("removed connector {id}");
            Ok(())
        }
        ConnectorsCommand::Update(args) => super::config::update(&store, &args).await,
        ConnectorsCommand::Export => super::config::export(&store).await,
        ConnectorsCommand::Import { file } => super::config::import(&store, &file).await,
    }
}

/// Checks the arguments and builds a never-probed connector (its id is set when added).
pub fn new_connector(args: &AddConnectorArgs) -> Result<Connector> {
    let name = args.name.trim();
    if name.is_empty() {
        return Err(AdminError::Invalid(
            "the connector name must not be empty".into(),
        ));
    }
    let url = args.url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            AdminError::Invalid(format!(
                "--url must start with http:// or https:// (got {url:?})"
            ))
        })?;
    if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace) {
        return Err(AdminError::Invalid(format!(
            "--url has no host or contains spaces (got {url:?})"
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

/// One row as `connectors list` sees it.
#[derive(Debug, Clone)]
pub struct Row {
    pub connector: Connector,
    pub feed_type: Option<String>,
}

/// Every showable row, ordered by id. Rows that cannot be shown are reported on stderr.
pub async fn list(store: &DynamoConnectorStore) -> Result<Vec<Row>> {
    Ok(snapshot(store).await?.0)
}

/// The showable rows (ordered by id) and the largest id of any row, malformed ones included.
async fn snapshot(store: &DynamoConnectorStore) -> Result<(Vec<Row>, u64)> {
    let (items, _) = store.scan_items().await?;
    let mut rows = Vec::with_capacity(items.len());
    let mut max_id = 0;
    for item in &items {
        if let Some(AttributeValue::N(n)) = item.get(attr::ID) {
            max_id = max_id.max(n.parse::<u64>().unwrap_or(0));
        }
        match raw_from_item(item).validate() {
            Ok(v) => {
                if let Some(why) = v.downgraded {
                    eprintln!(
                        "note: connector {} is shown as unknown ({why})",
                        v.connector.id
                    );
                }
                let feed_type = match item.get(attr::FEED_TYPE) {
                    Some(AttributeValue::S(f)) => Some(f.clone()),
                    _ => None,
                };
                rows.push(Row {
                    connector: v.connector,
                    feed_type,
                });
            }
            Err(e) => eprintln!("warning: skipping a malformed row: {e}"),
        }
    }
    rows.sort_by_key(|r| r.connector.id);
    Ok((rows, max_id))
}

/// Adds a connector under `id`, or under the next free id. Refuses a taken id or name.
pub async fn add(
    store: &DynamoConnectorStore,
    connector: Connector,
    feed_type: FeedType,
    id: Option<ConnectorId>,
) -> Result<ConnectorId> {
    add_with(store, connector, feed_type, id, &Default::default()).await
}

/// [`add`], with the connector's own probe settings in the same write.
pub async fn add_with(
    store: &DynamoConnectorStore,
    mut connector: Connector,
    feed_type: FeedType,
    id: Option<ConnectorId>,
    probe: &super::config::ProbeSettings,
) -> Result<ConnectorId> {
    for _ in 0..NEXT_ID_ATTEMPTS {
        let (rows, max_id) = snapshot(store).await?;
        if rows.iter().any(|r| r.connector.name == connector.name) {
            return Err(AdminError::AlreadyExists(format!(
                "a connector named {:?} already exists",
                connector.name
            )));
        }
        connector.id = match id {
            Some(id) => id,
            None => u32::try_from(max_id + 1)
                .ok()
                .and_then(ConnectorId::new)
                .ok_or_else(|| {
                    AdminError::Invalid("no free connector id left; pass --id".into())
                })?,
        };
        if super::config::insert(store, &connector, feed_type, probe).await? {
            return Ok(connector.id);
        }
        if id.is_some() {
            return Err(AdminError::AlreadyExists(format!(
                "a connector with id {} already exists",
                connector.id
            )));
        }
    }
    Err(AdminError::Conflict(
        "other writers kept taking the next free id; try again or pass --id".into(),
    ))
}

/// `seed-demo`: adds each demo connector whose name is not in the table yet.
pub async fn seed_demo(store: &DynamoConnectorStore) -> Result<(usize, usize)> {
    let present: Vec<String> = list(store)
        .await?
        .into_iter()
        .map(|r| r.connector.name)
        .collect();
    let (mut added, mut kept) = (0, 0);
    for (connector, feed_type) in demo::connectors(Utc::now()) {
        if present.contains(&connector.name) {
            kept += 1;
            continue;
        }
        add(store, connector, feed_type, None).await?;
        added += 1;
    }
    Ok((added, kept))
}

/// `chadmin dev`: registers a connector for each demo upstream, never probed (`unknown`).
/// A row with the same name is replaced (same id, new URL, probe results cleared), since
/// the upstreams get new ports each time. Returns (added, replaced).
pub async fn register_demo(
    store: &DynamoConnectorStore,
    demo: &[crate::demo_upstreams::DemoConnector],
) -> Result<(usize, usize)> {
    let present = list(store).await?;
    let (mut added, mut replaced) = (0, 0);
    for d in demo {
        let mut connector = new_connector(&AddConnectorArgs {
            name: d.name.clone(),
            url: d.url.clone(),
            id: None,
            feed_type: d.feed_type,
        })?;
        match present.iter().find(|r| r.connector.name == connector.name) {
            Some(row) => {
                connector.id = row.connector.id;
                store.put(&connector, Some(d.feed_type.as_str())).await?;
                replaced += 1;
            }
            None => {
                add(store, connector, d.feed_type, None).await?;
                added += 1;
            }
        }
    }
    Ok((added, replaced))
}

/// A row of `connectors list --json`: the API's object (documented members first), then
/// `feedType`.
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    #[serde(flatten)]
    connector: &'a Connector,
    #[serde(rename = "feedType", skip_serializing_if = "Option::is_none")]
    feed_type: Option<&'a str>,
}

fn json_rows(rows: &[Row]) -> Vec<JsonRow<'_>> {
    rows.iter()
        .map(|r| JsonRow {
            connector: &r.connector,
            feed_type: r.feed_type.as_deref(),
        })
        .collect()
}

/// The `connectors list` table.
pub fn list_text(rows: &[Row]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let c = &r.connector;
            let (checked, message) = match &c.health {
                Health::Unknown => ("-".to_owned(), String::new()),
                Health::Healthy { last_checked } => (format_timestamp(last_checked), String::new()),
                Health::Error {
                    message,
                    last_checked,
                } => (format_timestamp(last_checked), message.clone()),
            };
            vec![
                c.id.to_string(),
                c.name.clone(),
                r.feed_type.clone().unwrap_or_else(|| "-".into()),
                c.health.state().as_str().to_owned(),
                checked,
                c.url.clone(),
                message,
            ]
        })
        .collect();
    text_table::render(
        &[
            "ID",
            "NAME",
            "FEED",
            "STATE",
            "LAST CHECKED",
            "URL",
            "ERROR",
        ],
        &cells,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_args(name: &str, url: &str) -> AddConnectorArgs {
        AddConnectorArgs {
            name: name.into(),
            url: url.into(),
            id: None,
            feed_type: FeedType::Generic,
        }
    }

    #[test]
    fn new_connectors_are_unknown_and_need_a_name_and_an_http_url() {
        let c = new_connector(&add_args(" npm ", "https://registry.npmjs.org")).unwrap();
        assert_eq!(c.name, "npm");
        assert_eq!(c.health, Health::Unknown);
        for (name, url) in [
            ("", "https://x"),
            ("n", "ftp://x"),
            ("n", "https://"),
            ("n", "registry.npmjs.org"),
            ("n", "https://a b"),
        ] {
            assert!(
                new_connector(&add_args(name, url)).is_err(),
                "{name:?} {url:?}"
            );
        }
    }

    #[test]
    fn the_table_lists_state_and_error() {
        let mut rows: Vec<Row> = demo::connectors(Utc::now())
            .into_iter()
            .enumerate()
            .map(|(i, (mut c, f))| {
                c.id = ConnectorId::new(i as u32 + 1).unwrap();
                Row {
                    connector: c,
                    feed_type: Some(f.as_str().into()),
                }
            })
            .collect();
        rows.truncate(3);
        let text = list_text(&rows);
        assert!(text.starts_with("ID  NAME"));
        assert_eq!(text.lines().count(), 4);
    }
}
