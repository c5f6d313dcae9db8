//! `connectors list`: every showable row, as a table or as the API's JSON plus `feedType`;
//! URLs are shown as the API shows them (no credentials); a connector's own credentials
//! only by their kind (`basic`, `bearer`, `header` or `-`) and expiry.

use crate::error::Result;
use crate::text_table;
use shared::domain::{format_timestamp, redact, CatalogRow, Connector, Health, UrlView};
use shared::ports::ConnectorCatalog;

/// Every showable row, ordered by id. Rows that cannot be shown, or only as `unknown`,
/// are reported on stderr.
pub async fn list<C: ConnectorCatalog>(catalog: &C) -> Result<Vec<CatalogRow>> {
    let catalog = catalog.catalog().await?;
    for e in &catalog.skipped {
        eprintln!("warning: skipping a malformed row: {e}");
    }
    for row in &catalog.rows {
        if let Some(why) = row.downgraded {
            eprintln!(
                "note: connector {} is shown as unknown ({why})",
                row.connector.id
            );
        }
    }
    Ok(catalog.rows)
}

/// A row of `connectors list --json`: the API's object (documented members first), then
/// `feedType`.
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    #[serde(flatten)]
    connector: &'a Connector,
    #[serde(rename = "feedType", skip_serializing_if = "Option::is_none")]
    feed_type: Option<&'a str>,
    /// The kind of the connector's own credentials (never their value).
    #[serde(rename = "credentialsKind", skip_serializing_if = "Option::is_none")]
    credentials_kind: Option<&'a str>,
    #[serde(
        rename = "credentialsExpireAt",
        skip_serializing_if = "Option::is_none"
    )]
    credentials_expire_at: Option<String>,
}

/// The `connectors list --json` text.
pub fn list_json(rows: &[CatalogRow]) -> serde_json::Result<String> {
    let rows: Vec<JsonRow<'_>> = rows
        .iter()
        .map(|r| JsonRow {
            connector: &r.connector,
            feed_type: r.settings.feed_type.as_deref(),
            credentials_kind: r.credentials.as_ref().map(|c| c.kind.as_str()),
            credentials_expire_at: r
                .credentials
                .as_ref()
                .and_then(|c| c.expire_at.as_ref())
                .map(format_timestamp),
        })
        .collect();
    serde_json::to_string_pretty(&rows)
}

/// The `connectors list` table.
pub fn list_text(rows: &[CatalogRow]) -> String {
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
                r.settings.feed_type.clone().unwrap_or_else(|| "-".into()),
                c.health.state().as_str().to_owned(),
                r.credentials
                    .as_ref()
                    .map_or("-", |c| c.kind.as_str())
                    .to_owned(),
                checked,
                redact(&c.url, UrlView::Api).into_owned(),
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
            "CREDENTIALS",
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
    use chrono::Utc;
    use shared::domain::{ConnectorId, ConnectorSettings, Diagnostics};

    fn row(id: u32, name: &str, feed: &str, health: Health) -> CatalogRow {
        let connector = Connector {
            id: ConnectorId::new(id).unwrap(),
            name: name.into(),
            url: format!("https://{name}.example/"),
            health,
            diagnostics: Diagnostics::default(),
        };
        CatalogRow {
            settings: ConnectorSettings {
                name: connector.name.clone(),
                url: connector.url.clone(),
                feed_type: Some(feed.into()),
                ..ConnectorSettings::default()
            },
            connector,
            credentials: None,
            downgraded: None,
        }
    }

    fn rows() -> Vec<CatalogRow> {
        let now = Utc::now();
        vec![
            row(1, "npmjs.org", "npm", Health::Healthy { last_checked: now }),
            row(
                2,
                "nuget.org",
                "nuget",
                Health::Error {
                    message: "HTTP 503 Service Unavailable.".into(),
                    last_checked: now,
                },
            ),
            row(3, "pypi.org", "pypi", Health::Unknown),
        ]
    }

    #[test]
    fn the_table_lists_state_and_error() {
        let rows = rows();
        let text = list_text(&rows);
        assert!(text.starts_with("ID  NAME"));
        assert_eq!(text.lines().count(), 4);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].contains("error") && lines[2].ends_with("HTTP 503 Service Unavailable."));
        assert!(lines[3].contains("unknown") && lines[3].contains(" - "));
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        let mut rows = rows();
        rows[0].connector.url = "https://T0kenValue@npm.fury.io/acme/?token=s3cret".into();
        rows[0].settings.url = rows[0].connector.url.clone();
        let text = list_text(&rows);
        let json = list_json(&rows).unwrap();
        for shown in [&text, &json] {
            assert!(
                !shown.contains("T0kenValue") && !shown.contains("s3cret"),
                "{shown}"
            );
            assert!(
                shown.contains("https://npm.fury.io/acme/?token=***"),
                "{shown}"
            );
        }
    }

    #[test]
    fn credentials_are_shown_by_kind_only() {
        let mut rows = rows();
        rows[1].credentials = Some(shared::domain::CredentialsRef {
            secret_id: "connector-health/t/connector/2".into(),
            kind: shared::domain::CredentialsKind::Header,
            expire_at: Some(chrono::TimeZone::with_ymd_and_hms(&Utc, 2027, 1, 2, 0, 0, 0).unwrap()),
        });
        let text = list_text(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains(" CREDENTIALS "), "{text}");
        let column = |line: &str| line.split_whitespace().nth(4).map(str::to_owned);
        assert_eq!(column(lines[1]).as_deref(), Some("-"), "{text}");
        assert_eq!(column(lines[2]).as_deref(), Some("header"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&list_json(&rows).unwrap()).unwrap();
        assert_eq!(json[1]["credentialsKind"], "header");
        assert_eq!(json[1]["credentialsExpireAt"], "2027-01-02T00:00:00.000Z");
        assert!(json[0].get("credentialsKind").is_none());
        assert!(
            !json.to_string().contains("connector-health/"),
            "no secret name"
        );
    }

    #[test]
    fn json_rows_are_the_api_objects_plus_the_feed_type() {
        let json: serde_json::Value = serde_json::from_str(&list_json(&rows()).unwrap()).unwrap();
        assert_eq!(json[0]["name"], "npmjs.org");
        assert_eq!(json[0]["state"], "healthy");
        assert_eq!(json[1]["errorMessage"], "HTTP 503 Service Unavailable.");
        assert_eq!(json[2]["feedType"], "pypi");
    }
}
