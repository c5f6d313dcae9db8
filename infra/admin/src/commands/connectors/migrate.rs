//! `connectors migrate-credentials [--dry-run]`: moves the credentials older rows carry in
//! their URL's user-info (`https://user:pass@host/...`, or a token as the user name) into
//! the connector's own Basic credentials in Secrets Manager, and rewrites the URL without
//! them through `update`'s code path.
//!
//! A user name alone (a token such as Gemfury's) becomes Basic credentials with that user
//! name and an empty password: what the probe sent from the user-info before.
//!
//! The secret is written first, then the row's reference, then its URL, so a failure
//! part-way leaves a row that still authenticates; running the command again finishes the
//! move (a row whose secret already holds the same credentials as its user-info is the
//! rest of such a move, not a conflict). Neither the user-info nor the URL is printed.

use super::credentials;
use super::update;
use crate::cli::{ProbeSettingsArgs, UpdateArgs};
use crate::error::{AdminError, Result};
use crate::output::stdout;
use secrecy::{ExposeSecret, SecretString};
use shared::adapters::connector_credentials::SecretsManagerCredentials;
use shared::adapters::dynamodb::DynamoConnectorStore;
use shared::domain::redact::has_user_info;
use shared::domain::{ConnectorId, Credentials, CredentialsRef, Secret};
use shared::ports::ConnectorCatalog;

/// What a URL's user-info means, and the URL without it.
pub struct Moved {
    pub credentials: Credentials,
    pub url: String,
}

fn decoded(part: &str) -> String {
    percent_encoding::percent_decode_str(part)
        .decode_utf8_lossy()
        .into_owned()
}

/// The credentials in `url`'s user-info and the URL without it (the rest exactly as it
/// was), or `None` when it has no user-info. Errors never show the user-info.
pub fn split_user_info(url: &str) -> Result<Option<Moved>> {
    let unusable = || AdminError::Invalid("its URL is not a valid URL".into());
    let parsed = url::Url::parse(url.trim()).map_err(|_| unusable())?;
    if !has_user_info(&parsed) {
        return Ok(None);
    }
    let url = url.trim();
    let (scheme, rest) = url.split_once("://").ok_or_else(unusable)?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let at = authority.rfind('@').ok_or_else(unusable)?;
    let stripped = format!("{scheme}://{}{path}", &authority[at + 1..]);
    let credentials = Credentials {
        secret: Secret::Basic {
            username: decoded(parsed.username()),
            password: SecretString::from(parsed.password().map(decoded).unwrap_or_default()),
        },
        expire_at: None,
    };
    credentials
        .check()
        .map_err(|e| AdminError::Invalid(format!("the credentials in its URL: {e}")))?;
    Ok(Some(Moved {
        credentials,
        url: stripped,
    }))
}

/// Whether `a` and `b` are the same credentials.
fn same(a: &Credentials, b: &Credentials) -> bool {
    a.to_document().expose_secret() == b.to_document().expose_secret()
}

enum Outcome {
    Migrated,
    Unchanged,
    Refused(String),
}

pub async fn migrate(
    rows: &DynamoConnectorStore,
    secrets: &SecretsManagerCredentials,
    dry_run: bool,
) -> Result<()> {
    let catalog = rows.catalog().await?;
    let (mut migrated, mut unchanged, mut refused) = (0, 0, 0);
    for row in &catalog.rows {
        let id = row.connector.id;
        let outcome = match split_user_info(&row.settings.url) {
            Err(e) => Outcome::Refused(e.to_string()),
            Ok(None) => Outcome::Unchanged,
            Ok(Some(moved)) => {
                one(rows, secrets, id, row.credentials.as_ref(), moved, dry_run).await?
            }
        };
        match outcome {
            Outcome::Migrated => migrated += 1,
            Outcome::Unchanged => unchanged += 1,
            Outcome::Refused(why) => {
                refused += 1;
                eprintln!("connector {id}: refused: {why}");
            }
        }
    }
    let dry = if dry_run { "dry run: " } else { "" };
    stdout(&format!(
        "{dry}migrated={migrated} unchanged={unchanged} refused={refused}\n"
    ))?;
    if refused > 0 {
        return Err(AdminError::Invalid(format!(
            "{refused} connector(s) not migrated (see above); their URLs are unchanged"
        )));
    }
    Ok(())
}

async fn one(
    rows: &DynamoConnectorStore,
    secrets: &SecretsManagerCredentials,
    id: ConnectorId,
    current: Option<&CredentialsRef>,
    moved: Moved,
    dry_run: bool,
) -> Result<Outcome> {
    // A row with credentials of its own keeps them, unless they are the very ones in its
    // URL (a move that stopped after writing them).
    let resumed = match current {
        None => false,
        Some(at) => {
            let theirs = secrets.get(at).await?;
            if !same(&theirs, &moved.credentials) {
                return Ok(Outcome::Refused(
                    "it has credentials of its own and others in its URL's user-info; remove one of them first (chadmin connectors update --clear-credentials, or --url without user-info)".into(),
                ));
            }
            true
        }
    };
    if dry_run {
        eprintln!("connector {id}: would move the user-info of its URL to basic credentials");
        return Ok(Outcome::Migrated);
    }
    if !resumed {
        credentials::apply(
            rows,
            secrets,
            id,
            credentials::Change::Set(moved.credentials),
        )
        .await?;
    }
    let args = UpdateArgs {
        id,
        name: None,
        url: Some(moved.url),
        feed_type: None,
        probe: ProbeSettingsArgs::default(),
        clear_timeout: false,
        clear_package: false,
        credentials: Default::default(),
        clear_credentials: false,
    };
    // Settings `update` refuses (a feed type this version does not know, say) leave the row
    // as it was, working with its URL and its credentials (the same ones).
    match update::update(rows, &args).await {
        Ok(_) => {}
        Err(AdminError::Invalid(why)) => {
            return Ok(Outcome::Refused(format!(
                "its URL cannot be rewritten: {why}"
            )))
        }
        Err(e) => return Err(e),
    }
    eprintln!("connector {id}: moved the user-info of its URL to basic credentials");
    Ok(Outcome::Migrated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(m: &Moved) -> (String, String) {
        match &m.credentials.secret {
            Secret::Basic { username, password } => {
                (username.clone(), password.expose_secret().to_owned())
            }
            _ => panic!("not basic"),
        }
    }

    #[test]
    fn user_info_becomes_basic_credentials_and_leaves_the_url() {
        let m = split_user_info("https://ci:p%40ss@nexus.example:8443/npm/?a=b@c#x")
            .unwrap()
            .unwrap();
        assert_eq!(m.url, "https://nexus.example:8443/npm/?a=b@c#x");
        assert_eq!(basic(&m), ("ci".into(), "p@ss".into()));
        let m = split_user_info("https://T0ken@npm.fury.io/acme/")
            .unwrap()
            .unwrap();
        assert_eq!(m.url, "https://npm.fury.io/acme/");
        assert_eq!(basic(&m), ("T0ken".into(), String::new()));
        let m = split_user_info("http://u:p@host").unwrap().unwrap();
        assert_eq!(m.url, "http://host");
        assert!(split_user_info("https://registry.npmjs.org/")
            .unwrap()
            .is_none());
        let e = split_user_info("https://a%3Ab:s3cret@host/")
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("the credentials in its URL: "), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }
}
