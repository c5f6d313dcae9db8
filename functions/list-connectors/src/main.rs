//! Lambda entry point: wiring only. The logic is in `handler`.

use lambda_http::{run, service_fn, Error};
use list_connectors::handler::ListConnectors;
use shared::wiring::ReadDependencies;
use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let (config, deps) = ReadDependencies::from_env().await?;
    let handler = ListConnectors::new(deps.connectors, deps.keys).with_settings(&config.read);
    let handler = &handler;
    run(service_fn(move |req| async move {
        Ok::<_, Infallible>(handler.handle(req).await)
    }))
    .await
}
