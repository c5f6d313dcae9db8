//! Lambda entry point: wiring only. The logic is in `handler`.

use lambda_http::{run, service_fn, Error};
use shared::config::history::history_table_from_env;
use shared::config::StatusPageConfig;
use shared::wiring::ReadDependencies;
use status_page::handler::{PageSettings, StatusPage};
use status_page::trend::HistoryTrends;
use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let config = StatusPageConfig::from_env().map_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
        Error::from(e.to_string())
    })?;
    let aws = shared::aws::sdk_config().await;
    // The read functions' clients, and the history table when there is one.
    let deps = ReadDependencies::new(&config.api, &aws).with_history(history_table_from_env());
    let handler = StatusPage::new(deps.connectors, deps.keys)
        .with_trends(HistoryTrends {
            history: deps.history,
        })
        .with_settings(
            PageSettings::new(&config.api.read, config.public)
                .with_history_cache(config.history_cache),
        );
    let handler = &handler;
    run(service_fn(move |req| async move {
        Ok::<_, Infallible>(handler.handle(req).await)
    }))
    .await
}
