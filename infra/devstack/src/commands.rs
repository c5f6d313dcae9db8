//! What each `chadmin-dev` command does.

use crate::cli::{Cli, Command, DevArgs, ServeArgs};
use crate::demo_upstreams::{self, DemoConnector, DemoUpstreams};
use crate::{demo, demo_history, probe_loop, server};
use chadmin::cli::CreateKeyArgs;
use chadmin::error::{AdminError, Result};
use chadmin::target::Target;
use chrono::Utc;
use get_connector::handler::GetConnector;
use list_connectors::handler::ListConnectors;
use shared::adapters::dynamodb::DynamoConnectorStore;
use shared::auth::CONNECTOR_HEALTH_GRANT;
use shared::domain::{Connector, ConnectorSettings, FeedType};
use shared::ports::{ConnectorCatalog, ConnectorReader};
use shared::wiring::{ProbeDependencies, ReadDependencies};
use status_page::handler::{PageSettings, StatusPage};
use status_page::trend::HistoryTrends;
use std::net::SocketAddr;
use std::time::Duration;

/// The name of the key `dev` (re)creates.
pub const DEMO_KEY_NAME: &str = "demo";

pub async fn run(cli: Cli) -> Result<()> {
    let target = Target::load(&cli.target)
        .await
        .map_err(|e| chadmin::commands::explain(e, None))?;
    let outcome = match cli.command {
        Command::SeedDemo => seed_demo(&target).await,
        Command::Serve(args) => serve(&target, &args, None).await,
        Command::Dev(args) => dev(&target, &args).await,
    };
    outcome.map_err(|e| chadmin::commands::explain(e, Some(&target)))
}

/// The settings of a connector with no probe settings of its own but its probe package.
fn settings(
    connector: &Connector,
    feed_type: FeedType,
    package: Option<&str>,
) -> ConnectorSettings {
    ConnectorSettings {
        name: connector.name.clone(),
        url: connector.url.clone(),
        feed_type: Some(feed_type.as_str().to_owned()),
        probe_package: package.map(str::to_owned),
        ..ConnectorSettings::default()
    }
}

/// `seed-demo`: adds each demo connector whose name is not in the table yet, and demo
/// history for every connector.
async fn seed_demo(target: &Target) -> Result<()> {
    target.require_local("chadmin seed-demo")?;
    let store = target.connectors().await?;
    let present: Vec<String> = store
        .catalog()
        .await?
        .rows
        .into_iter()
        .map(|r| r.connector.name)
        .collect();
    let (mut added, mut kept) = (0, 0);
    for (connector, feed_type) in demo::connectors(Utc::now()) {
        if present.contains(&connector.name) {
            kept += 1;
            continue;
        }
        let settings = settings(&connector, feed_type, None);
        chadmin::commands::connectors::add(&store, connector, &settings, None).await?;
        added += 1;
    }
    eprintln!("demo connectors: {added} added, {kept} already present");
    // Their demo history, so the history route, the badges and the status page's charts
    // have something to show.
    seed_demo_history(target, &store).await?;
    Ok(())
}

/// Seeds the demo history of every connector in `store`'s table, so the history route, the
/// badges and the status page's charts have something to show. Returns the history table.
async fn seed_demo_history(target: &Target, store: &DynamoConnectorStore) -> Result<String> {
    let history = target.history().await?;
    let ids: Vec<_> = store.list().await?.iter().map(|c| c.id).collect();
    demo_history::seed(&history, &ids, Utc::now()).await?;
    eprintln!(
        "history table {}: {} days of demo history for each connector",
        history.table(),
        demo_history::DEMO_DAYS
    );
    Ok(history.table().to_owned())
}

/// `dev`: registers a connector for each demo upstream, never probed (`unknown`), with its
/// credentials if it has any. A row with the same name is replaced (same id, new URL, probe
/// results cleared), since the upstreams get new ports each time. Returns (added, replaced).
async fn register_demo(
    target: &Target,
    store: &DynamoConnectorStore,
    demo: &[DemoConnector],
) -> Result<(usize, usize)> {
    use chadmin::commands::connectors::credentials;
    let present = store.catalog().await?.rows;
    let (mut added, mut replaced) = (0, 0);
    for d in demo {
        let mut connector = chadmin::commands::connectors::new_connector(&d.name, &d.url)?;
        let id = match present.iter().find(|r| r.connector.name == connector.name) {
            Some(row) => {
                connector.id = row.connector.id;
                store.put(&connector, Some(d.feed_type.as_str())).await?;
                replaced += 1;
                row.connector.id
            }
            None => {
                let settings = settings(&connector, d.feed_type, d.package.as_deref());
                added += 1;
                chadmin::commands::connectors::add(store, connector, &settings, None).await?
            }
        };
        // Stored as `connectors add --username ... --password-stdin` stores them.
        if let Some(c) = &d.credentials {
            let secrets = credentials::store(target).await?;
            credentials::apply(store, &secrets, id, credentials::Change::Set(c.clone())).await?;
        }
    }
    Ok((added, replaced))
}

/// Serves the API; with `demo_key`, prints it and a ready curl line once the port is bound.
async fn serve(target: &Target, args: &ServeArgs, demo_key: Option<&str>) -> Result<()> {
    let config = target.api_config()?;
    let aws = target.aws().await;
    // One set of dependencies per handler, like two Lambda functions with a cache each.
    let list = ReadDependencies::new(&config, aws);
    let history_table = target.history_table_name()?;
    let get = ReadDependencies::new(&config, aws).with_history(Some(history_table.clone()));
    let router = server::router(
        // The functions' own settings (list cache, staleness, response limit) from the same
        // variables, so the local server answers as the deployed API does.
        ListConnectors::new(list.connectors, list.keys).with_settings(&config.read),
        GetConnector::new(get.connectors, get.keys)
            .with_settings(&config.read)
            .with_history(get.history),
    );
    let listener = server::bind(SocketAddr::new(args.bind, args.port)).await?;
    let addr = listener
        .local_addr()
        .map_err(|e| AdminError::Io(e.to_string()))?;
    let base = format!("http://{addr}");
    chadmin::output::stdout(&banner(&base, demo_key))?;
    // The status page, wired as its function is.
    let env = |name: &str| std::env::var(name).ok();
    let public = shared::config::Env(env)
        .flag(shared::config::status_page::PUBLIC_VAR, false)
        .map_err(|e| AdminError::Config(e.to_string()))?;
    let history_cache = shared::config::status_page::history_cache(env)
        .map_err(|e| AdminError::Config(e.to_string()))?;
    let page = ReadDependencies::new(&config, aws).with_history(Some(history_table));
    let router = router.merge(server::status_routes(
        StatusPage::new(page.connectors, page.keys)
            .with_trends(HistoryTrends {
                history: page.history,
            })
            .with_settings(
                PageSettings::new(&config.read, public).with_history_cache(history_cache),
            ),
    ));
    server::serve(listener, router, server::shutdown_signal()).await
}

/// What `serve` prints once its port is bound: the address; with `demo_key`, the key first
/// and then a ready curl line and the status page's URL with the key.
fn banner(base: &str, demo_key: Option<&str>) -> String {
    let mut banner = String::new();
    if let Some(key) = demo_key {
        banner.push_str(&format!("demo API key: {key}\n"));
    }
    banner.push_str(&format!("listening on {base}\n"));
    if let Some(key) = demo_key {
        banner.push_str(&format!(
            "ready: curl -H 'X-ApiKey: {key}' {base}{}\nstatus page: {base}{}?key={}\n(Ctrl-C stops everything)\n",
            server::LIST_PATH,
            server::STATUS_PATH,
            percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC)
        ));
    }
    banner
}

/// `make dev`: everything a fresh local stack needs, demo upstreams and the connectors
/// pointing at them, then serve while probing on an interval.
async fn dev(target: &Target, args: &DevArgs) -> Result<()> {
    target.require_local("chadmin dev")?;
    chadmin::commands::init(target).await?;
    // Check the probe settings before starting anything.
    let probe = chadmin::commands::probe::local_config(target)?;
    let store = target.connectors().await?;
    let upstreams = DemoUpstreams::start().await?;
    let (added, replaced) = register_demo(target, &store, upstreams.connectors()).await?;
    eprintln!(
        "demo upstreams on 127.0.0.1: {added} connectors added, {replaced} pointed at them again; \
         each is unknown until probed"
    );
    let secret = target.key_secret().await?;
    let key = chadmin::commands::keys::recreate(
        &secret,
        &CreateKeyArgs {
            name: DEMO_KEY_NAME.to_owned(),
            expires: None,
            grants: vec![CONNECTOR_HEALTH_GRANT.to_owned()],
            impersonate: None,
            privileges: vec![],
        },
        Utc::now(),
    )
    .await?;
    let history = seed_demo_history(target, &store).await?;
    let deps = ProbeDependencies::new(
        &probe,
        target.aws().await,
        demo_upstreams::client_tls(upstreams.pki())?,
    )
    .with_history(Some(history));
    eprintln!(
        "probing every connector now and every {} s (timeout {} s, {} retries)",
        args.probe_interval,
        probe.run.default_timeout.as_secs(),
        probe.run.retries
    );
    let probing = tokio::spawn(probe_loop::probe_forever(
        deps,
        probe.run.clone(),
        Duration::from_secs(args.probe_interval),
    ));
    let served = serve(target, &args.serve, Some(&key)).await;
    probing.abort();
    drop(upstreams);
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_banner_names_the_status_page_beside_the_curl_line() {
        let b = banner("http://127.0.0.1:3000", Some("k+1"));
        let lines: Vec<&str> = b.lines().collect();
        assert_eq!(lines[0], "demo API key: k+1");
        assert_eq!(lines[1], "listening on http://127.0.0.1:3000");
        assert!(lines[2].starts_with(
            "ready: curl -H 'X-ApiKey: k+1' http://127.0.0.1:3000/api/connector-health"
        ));
        assert_eq!(
            lines[3],
            "status page: http://127.0.0.1:3000/status?key=k%2B1"
        );
        // Without a demo key (chadmin serve): only the address.
        assert_eq!(
            banner("http://127.0.0.1:9", None),
            "listening on http://127.0.0.1:9\n"
        );
    }
}
