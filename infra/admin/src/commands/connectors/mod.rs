//! `chadmin connectors ...`: connector rows in the table, read and written through the
//! [`shared::ports::ConnectorCatalog`] port.
//!
//! - [`settings`]: the checks `add`, `update` and `import` share.
//! - [`mod@add`]: a new row under an id never used before (also what `import` and the dev
//!   stack add rows with).
//! - [`mod@list`]: the rows as a table or JSON.
//! - [`update`]: change some settings of one row.
//! - [`credentials`]: a connector's own credentials (`--username`/`--password-stdin`,
//!   `--token-stdin`, `--header`/`--header-value-stdin`, `--clear-credentials`).
//! - [`mod@file`]: `export` and `import` of connector files.
//! - [`proget`]: `import --from-proget`, a ProGet server's connectors and their credentials.
//! - [`mod@migrate`]: `migrate-credentials`, credentials in URLs moved to their own.

pub mod add;
pub mod credentials;
pub mod file;
pub mod list;
pub mod migrate;
pub mod proget;
pub mod settings;
pub mod update;

pub use add::add;
pub use list::{list, list_text};
pub use settings::new_connector;

use crate::cli::ConnectorsCommand;
use crate::error::{AdminError, Result};
use crate::output::stdout;
use crate::target::Target;
use settings::{check_new_url, check_package, check_timeout, Spelling};
use shared::domain::ConnectorSettings;
use shared::ports::{CatalogError, ConnectorCatalog};

impl From<CatalogError> for AdminError {
    fn from(e: CatalogError) -> Self {
        let line = e.to_string();
        match e {
            CatalogError::IdTaken(_)
            | CatalogError::NameTaken(_)
            | CatalogError::NameUnavailable { .. } => AdminError::AlreadyExists(line),
            CatalogError::NotFound(_) => AdminError::NotFound(line),
            CatalogError::RepeatedId(_)
            | CatalogError::RepeatedName(_)
            | CatalogError::TooLarge { .. }
            | CatalogError::IdsExhausted => AdminError::Invalid(line),
            CatalogError::Contended => AdminError::Conflict(line),
            CatalogError::Dependency(d) => AdminError::Dependency(d),
        }
    }
}

pub async fn run(target: &Target, command: ConnectorsCommand) -> Result<()> {
    let store = target.connectors().await?;
    match command {
        ConnectorsCommand::Add {
            connector: args,
            probe,
            credentials: wanted,
        } => {
            let change = credentials::requested(&wanted, false, &mut std::io::stdin())?;
            if let credentials::Change::Expire(_) = change {
                return Err(AdminError::Invalid(
                    "--credentials-expire: give the credentials too (--username and --password-stdin, --token-stdin, or --header and --header-value-stdin)".into(),
                ));
            }
            let connector = new_connector(&args.name, &args.url)?;
            check_new_url(&connector.url, Spelling::Flags)?;
            let settings = ConnectorSettings {
                name: connector.name.clone(),
                url: connector.url.clone(),
                feed_type: Some(args.feed_type.as_str().to_owned()),
                probe_timeout_seconds: check_timeout(probe.timeout, Spelling::Flags)?,
                probe_package: check_package(probe.package.as_deref(), Spelling::Flags)?,
            };
            let id = add(&store, connector, &settings, args.id).await?;
            eprintln!("added connector {id} ({:?})", args.name.trim());
            if !change.is_keep() {
                let secrets = credentials::store(target).await?;
                if let Err(e) = credentials::apply(&store, &secrets, id, change).await {
                    // Nothing half-made stays: the connector goes again.
                    credentials::undo_add(&store, &secrets, id, args.name.trim()).await?;
                    return Err(e);
                }
            }
            stdout(&format!("{id}\n"))
        }
        ConnectorsCommand::List { json } => {
            let rows = list(&store).await?;
            if json {
                let text = list::list_json(&rows).map_err(|e| AdminError::Io(e.to_string()))?;
                stdout(&format!("{text}\n"))
            } else {
                stdout(&list_text(&rows))
            }
        }
        ConnectorsCommand::Remove { id } => {
            let removed = store.remove(id).await?;
            // Its credentials go with it (also left over from a remove that failed halfway).
            credentials::remove(&credentials::store(target).await?, id).await?;
            if !removed {
                return Err(AdminError::NotFound(format!("no connector with id {id}")));
            }
            eprintln!("removed connector {id}");
            Ok(())
        }
        ConnectorsCommand::Update(args) => {
            let change = credentials::requested(
                &args.credentials,
                args.clear_credentials,
                &mut std::io::stdin(),
            )?;
            let before = if change.is_keep() || update::changes_settings(&args) {
                update::update(&store, &args).await?
            } else {
                None
            };
            if !change.is_keep() {
                let secrets = credentials::store(target).await?;
                if let Err(e) = credentials::apply(&store, &secrets, args.id, change).await {
                    // A failed command changes nothing: the settings go back as they were.
                    if let Some(before) = before {
                        update::restore(&store, args.id, before).await;
                    }
                    return Err(e);
                }
            }
            Ok(())
        }
        ConnectorsCommand::MigrateCredentials { dry_run } => {
            migrate::migrate(&store, &credentials::store(target).await?, dry_run).await
        }
        ConnectorsCommand::Export => file::export(&store).await,
        ConnectorsCommand::Import {
            file,
            from_proget,
            proget_key_stdin,
            dry_run,
        } => match (file, from_proget) {
            (_, Some(url)) => {
                let base = proget::base_url(&url)?;
                let key = proget::api_key(proget_key_stdin, &mut std::io::stdin())?;
                proget::import(target, &store, &base, &key, dry_run).await
            }
            (Some(file), None) => file::import(&store, &file).await,
            (None, None) => Err(AdminError::Invalid(
                "import: give a file or --from-proget URL".into(),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{ProbeSettingsArgs, UpdateArgs};
    use shared::adapters::memory::InMemoryCatalog as Rows;
    use shared::domain::{ConnectorId, FeedType, Health};

    fn settings(name: &str) -> ConnectorSettings {
        ConnectorSettings {
            name: name.into(),
            url: format!("https://{name}.example/"),
            feed_type: Some("npm".into()),
            ..ConnectorSettings::default()
        }
    }

    async fn add_named(rows: &Rows, name: &str, id: Option<u32>) -> Result<ConnectorId> {
        let connector = new_connector(name, &format!("https://{name}.example/"))?;
        add(
            rows,
            connector,
            &settings(name),
            id.and_then(ConnectorId::new),
        )
        .await
    }

    #[tokio::test]
    async fn add_takes_the_next_free_id_and_refuses_a_taken_id_or_name() {
        let rows = Rows::default();
        assert_eq!(add_named(&rows, "a", None).await.unwrap().get(), 1);
        assert_eq!(add_named(&rows, "b", Some(10)).await.unwrap().get(), 10);
        assert_eq!(add_named(&rows, "c", None).await.unwrap().get(), 11);
        let e = add_named(&rows, "d", Some(10)).await.unwrap_err();
        assert_eq!(e.to_string(), "a connector with id 10 already exists");
        let e = add_named(&rows, "a", None).await.unwrap_err();
        assert_eq!(e.to_string(), "a connector named \"a\" already exists");
        let (connector, stored) = rows.row(ConnectorId::new(1).unwrap()).unwrap();
        assert_eq!(connector.health, Health::Unknown);
        assert_eq!(stored, settings("a"));
    }

    fn update_args(id: u32) -> UpdateArgs {
        UpdateArgs {
            id: ConnectorId::new(id).unwrap(),
            name: None,
            url: None,
            feed_type: None,
            probe: ProbeSettingsArgs::default(),
            clear_timeout: false,
            clear_package: false,
            credentials: Default::default(),
            clear_credentials: false,
        }
    }

    #[tokio::test]
    async fn update_changes_only_what_is_given() {
        let rows = Rows::default();
        add_named(&rows, "a", None).await.unwrap();
        add_named(&rows, "b", None).await.unwrap();
        let mut args = update_args(1);
        args.feed_type = Some(FeedType::PyPi);
        args.probe.package = Some("six".into());
        update::update(&rows, &args).await.unwrap();
        let (_, s) = rows.row(ConnectorId::new(1).unwrap()).unwrap();
        assert_eq!(
            (
                s.name.as_str(),
                s.feed_type.as_deref(),
                s.probe_package.as_deref()
            ),
            ("a", Some("pypi"), Some("six"))
        );
        let mut rename = update_args(1);
        rename.name = Some("b".into());
        let e = update::update(&rows, &rename).await.unwrap_err();
        assert_eq!(e.to_string(), "a connector named \"b\" already exists");
        let mut bad = update_args(1);
        bad.url = Some("nope".into());
        let e = update::update(&rows, &bad).await.unwrap_err().to_string();
        assert!(e.starts_with("update: url must start with http"), "{e}");
        let e = update::update(&rows, &update_args(9)).await.unwrap_err();
        assert_eq!(e.to_string(), "no connector with id 9");
    }

    #[tokio::test]
    async fn a_stored_url_with_credentials_stays_but_a_new_one_is_refused() {
        let rows = Rows::default();
        let stored = "https://T0kenValue@npm.fury.io/acme/";
        let connector = new_connector("fury", stored).unwrap();
        let mut s = settings("fury");
        s.url = stored.into();
        add(&rows, connector, &s, None).await.unwrap();
        let id = ConnectorId::new(1).unwrap();
        let mut args = update_args(1);
        args.probe.package = Some("left-pad".into());
        update::update(&rows, &args).await.unwrap();
        assert_eq!(rows.row(id).unwrap().1.url, stored);
        let mut args = update_args(1);
        args.url = Some("https://0ther:p4ss@npm.fury.io/acme/".into());
        let e = update::update(&rows, &args).await.unwrap_err().to_string();
        assert_eq!(
            e,
            "--url: a URL must not carry credentials (user-info); give the URL without them and the credentials with --username and --password-stdin, or --token-stdin"
        );
        assert_eq!(rows.row(id).unwrap().1.url, stored);
    }
}
