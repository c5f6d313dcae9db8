//! Lambda entry point: wiring only. The logic is in `handler`.

use lambda_http::{run, service_fn, Error};
use shared::config::StatusPageConfig;
use shared::wiring::ReadDependencies;
use status_page::handler::{PageSettings, StatusPage};
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let config = StatusPageConfig::from_env().map_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
        Error::from(e.to_string())
    })?;
    let aws = shared::aws::sdk_config().await;
    let deps = ReadDependencies::new(&config.api, &aws);
    let handler = StatusPage::new(deps.connectors, deps.keys)
        .with_settings(PageSettings::new(&config.api.read, config.public));
    let handler = &handler;
    run(service_fn(move |req| async move {
        Ok::<_, Infallible>(handler.handle(req).await)
    }))
    .await
}
