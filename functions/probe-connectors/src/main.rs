//! Lambda entry point: wiring only. The logic is in `handler` and `shared::runner`.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use probe_connectors::handler::{deadline_instant, ProbeConnectors};
use serde_json::Value;
use shared::wiring::ProbeDependencies;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let (config, deps) = ProbeDependencies::from_env().await?;
    let cycles = deps.cycles_from_env()?;
    let handler = ProbeConnectors::new(deps.store, deps.ports, config.run, cycles);
    let handler = &handler;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = deadline_instant(event.context.deadline());
        handler.handle(&event.payload, deadline).await
    }))
    .await
}
