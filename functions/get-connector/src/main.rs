//! Lambda entry point: wiring only. The logic is in `handler`.

use get_connector::handler::{BadgeAccess, GetConnector};
use lambda_http::{run, service_fn, Error};
use shared::config::status_page::PUBLIC_VAR;
use shared::config::Env;
use shared::wiring::ReadDependencies;
use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let (config, deps) = ReadDependencies::from_env().await?;
    // Badges are as public as the status page (STATUS_PAGE_PUBLIC).
    let public = Env(|name: &str| std::env::var(name).ok())
        .flag(PUBLIC_VAR, false)
        .map_err(|e| {
            tracing::error!(error = %e, "invalid configuration");
            Error::from(e.to_string())
        })?;
    let handler = GetConnector::new(deps.connectors, deps.keys)
        .with_settings(&config.read)
        .with_history(deps.history)
        .with_badge_access(BadgeAccess::of_status_page(public));
    let handler = &handler;
    run(service_fn(move |req| async move {
        Ok::<_, Infallible>(handler.handle(req).await)
    }))
    .await
}
