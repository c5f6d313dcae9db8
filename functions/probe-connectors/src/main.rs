//! Lambda entry point: wiring only. The logic is in `handler` and `run`.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use probe_connectors::config::ProbeConfig;
use probe_connectors::handler::{deadline_instant, ProbeConnectors};
use serde_json::Value;
use shared::adapters::dynamodb::DynamoConnectorStore;
use shared::adapters::eventbridge::EventBridgePublisher;
use shared::adapters::http_prober::{tls, HttpProber, SystemResolver};
use shared::ports::SystemClock;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = ProbeConfig::from_env().map_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
        Error::from(e.to_string())
    })?;
    let aws = shared::aws::sdk_config().await;
    let store = Arc::new(DynamoConnectorStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.table.clone(),
    ));
    let prober = HttpProber::new(
        config.prober_settings(),
        tls::system_client_config().map_err(|e| {
            tracing::error!(error = %e, "TLS client setup failed");
            Error::from(e.to_string())
        })?,
        Arc::new(SystemResolver),
    );
    let events = config
        .event_bus
        .as_deref()
        .map(|bus| EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&aws), bus));
    let handler = ProbeConnectors::new(
        store.clone(),
        store,
        Arc::new(prober),
        Arc::new(SystemClock),
        Arc::new(events),
        config.run,
    );
    let handler = &handler;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = deadline_instant(event.context.deadline());
        handler.handle(&event.payload, deadline).await
    }))
    .await
}
