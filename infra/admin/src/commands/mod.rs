//! What each subcommand does. Each returns `Ok` only when everything it set out to write
//! was written; output meant for scripts goes to stdout, everything else to stderr.

pub mod config;
pub mod connectors;
pub mod health;
pub mod keys;
pub mod probe;

use crate::cli::{Cli, Command, CreateKeyArgs, DevArgs, ServeArgs};
use crate::demo_upstreams::{self, DemoUpstreams};
use crate::error::Result;
use crate::probe_loop;
use crate::server;
use crate::target::Target;
use chrono::Utc;
use get_connector::handler::GetConnector;
use list_connectors::handler::ListConnectors;
use shared::keys::CONNECTOR_HEALTH_GRANT;
use shared::wiring::ReadDependencies;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The name of the key `chadmin dev` (re)creates.
pub const DEMO_KEY_NAME: &str = "demo";

pub async fn run(cli: Cli) -> Result<()> {
    let target = Target::load(&cli.target)
        .await
        .map_err(|e| explain(e, None))?;
    let table = target.table_name().ok().map(str::to_owned);
    let outcome = match cli.command {
        Command::Init => init(&target).await,
        Command::Keys(command) => keys::run(&target, command).await,
        Command::Connectors(command) => connectors::run(&target, command).await,
        Command::SeedDemo => seed_demo(&target).await,
        Command::Serve(args) => serve(&target, &args, None).await,
        Command::Probe(args) => probe::run(&target, &args).await,
        Command::Health(args) => health::run(&target, &args).await,
        Command::Dev(args) => dev(&target, &args).await,
    };
    outcome.map_err(|e| explain(e, table.as_deref()))
}

/// Turns the AWS errors an operator meets first into one plain sentence: a table that
/// does not exist, no credentials.
pub fn explain(e: crate::error::AdminError, table: Option<&str>) -> crate::error::AdminError {
    use crate::error::AdminError;
    let AdminError::Dependency(d) = &e else {
        return e;
    };
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "(no region set)".to_owned());
    if d.service == shared::adapters::dynamodb::SERVICE
        && d.detail.contains("ResourceNotFoundException")
    {
        if let Some(table) = table {
            return AdminError::NotFound(format!(
                "table {table} does not exist in region {region}"
            ));
        }
    }
    let detail = d.detail.to_ascii_lowercase();
    if detail.contains("credentialsnotloaded")
        || detail.contains("no credentials")
        || detail.contains("failed to load credentials")
        || detail.contains("the credential provider was not enabled")
    {
        return AdminError::Config(
            "no AWS credentials found: set AWS_PROFILE (and run `aws sso login` if it uses SSO) \
             or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
                .to_owned(),
        );
    }
    e
}

/// Creates the table and the key secret; both steps keep what already exists.
async fn init(target: &Target) -> Result<()> {
    // Check both settings before creating anything.
    let store = target.connectors()?;
    let secret = target.key_secret()?;
    store.create_table().await?;
    eprintln!("table {} is ready", store.table());
    if secret.ensure().await? {
        eprintln!("created key secret {} with no keys", secret.id());
    } else {
        eprintln!("key secret {} already exists; left unchanged", secret.id());
    }
    Ok(())
}

async fn seed_demo(target: &Target) -> Result<()> {
    let store = target.connectors()?;
    let (added, kept) = connectors::seed_demo(&store).await?;
    eprintln!("demo connectors: {added} added, {kept} already present");
    Ok(())
}

/// Serves the API; with `banner`, prints it once the port is bound.
async fn serve(target: &Target, args: &ServeArgs, demo_key: Option<&str>) -> Result<()> {
    let config = target.api_config()?;
    // One set of dependencies per handler, like two Lambda functions with a cache each.
    let list = ReadDependencies::new(&config, &target.aws);
    let get = ReadDependencies::new(&config, &target.aws);
    let router = server::router(
        ListConnectors::new(list.connectors, list.keys),
        GetConnector::new(get.connectors, get.keys),
    );
    let listener = server::bind(SocketAddr::new(args.bind, args.port)).await?;
    let addr = listener
        .local_addr()
        .map_err(|e| crate::error::AdminError::Io(e.to_string()))?;
    let base = format!("http://{addr}");
    let mut banner = String::new();
    if let Some(key) = demo_key {
        banner.push_str(&format!("demo API key: {key}\n"));
    }
    banner.push_str(&format!("listening on {base}\n"));
    if let Some(key) = demo_key {
        banner.push_str(&format!(
            "ready: curl -H 'X-ApiKey: {key}' {base}{}\n(Ctrl-C stops everything)\n",
            server::LIST_PATH
        ));
    }
    crate::output::stdout(&banner)?;
    server::serve(listener, router, server::shutdown_signal()).await
}

/// `make dev`: everything a fresh local stack needs, demo upstreams and the connectors
/// pointing at them, then serve while probing on an interval.
async fn dev(target: &Target, args: &DevArgs) -> Result<()> {
    init(target).await?;
    // Check the probe settings before starting anything.
    let probe = probe_loop::probe_config(target)?;
    let store = target.connectors()?;
    let upstreams = DemoUpstreams::start().await?;
    let (added, replaced) = connectors::register_demo(&store, upstreams.connectors()).await?;
    eprintln!(
        "demo upstreams on 127.0.0.1: {added} connectors added, {replaced} pointed at them again; \
         each is unknown until probed"
    );
    let secret = target.key_secret()?;
    let key = keys::recreate(
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
    let prober = probe_loop::prober(&probe, demo_upstreams::client_tls(upstreams.pki())?);
    eprintln!(
        "probing every connector now and every {} s (timeout {} s, {} retries)",
        args.probe_interval,
        probe.run.default_timeout.as_secs(),
        probe.run.retries
    );
    let probing = tokio::spawn(probe_loop::probe_forever(
        Arc::new(store),
        Arc::new(prober),
        probe.run.clone(),
        Duration::from_secs(args.probe_interval),
    ));
    let served = serve(target, &args.serve, Some(&key)).await;
    probing.abort();
    drop(upstreams);
    served
}
