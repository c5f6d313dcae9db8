//! Lambda entry point: wiring only. The logic is in `handler`.

use get_connector::handler::GetConnector;
use lambda_http::{run, service_fn, Error};
use shared::config::ApiConfig;
use shared::wiring::ReadDependencies;
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = ApiConfig::from_env().map_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
        Error::from(e.to_string())
    })?;
    let aws = shared::aws::sdk_config().await;
    let deps = ReadDependencies::new(&config, &aws);
    let handler = GetConnector::new(deps.connectors, deps.keys);
    let handler = &handler;
    run(service_fn(move |req| async move {
        Ok::<_, Infallible>(handler.handle(req).await)
    }))
    .await
}
