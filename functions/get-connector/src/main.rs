//! Lambda entry point: wiring only. The logic is in `handler`.

use get_connector::handler::GetConnector;
use lambda_http::{run, service_fn, Error};
use shared::wiring::ReadDependencies;
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let (config, deps) = ReadDependencies::from_env().await?;
    let handler = GetConnector::new(deps.connectors, deps.keys)
        .with_settings(&config.read)
        .with_history(deps.history);
    let handler = &handler;
    run(service_fn(move |req| async move {
        Ok::<_, Infallible>(handler.handle(req).await)
    }))
    .await
}
