//! `chadmin probe`: probe now. Against a deployment it invokes the probe function
//! (`RequestResponse`); against the local stack (`--local`, or `AWS_ENDPOINT_URL` on a
//! loopback address) it runs the probe function's own code in this process.

use super::connectors::{list, list_text};
use crate::cli::ProbeArgs;
use crate::error::{AdminError, Result};
use crate::output::stdout;
use crate::target::Target;
use aws_sdk_lambda::types::InvocationType;
use serde_json::{json, Value};
use shared::aws::dependency_error;
use shared::config::probe::{ALLOW_PRIVATE_VAR, EVENTS_ENABLED_VAR};
use shared::config::{ProbeConfig, TABLE_VAR};
use shared::domain::ConnectorId;
use shared::ports::{DependencyError, ProbeTargetReader};
use shared::wiring::ProbeDependencies;
use std::time::{Duration, Instant};

const SERVICE: &str = "Lambda";

/// The longest an in-process run may take (the probe function's own limit).
const LOCAL_RUN_LIMIT: Duration = Duration::from_secs(15 * 60);

/// The event: one connector, or a scheduled-event-like `{}` for all of them.
pub fn event(id: Option<ConnectorId>) -> Value {
    match id {
        Some(id) => json!({ "connectorId": id.get() }),
        None => json!({}),
    }
}

pub async fn run(target: &Target, args: &ProbeArgs) -> Result<()> {
    let explicit_function = args.function.is_some();
    let summary = if args.local || (!explicit_function && target.is_local()) {
        local(target, args).await?
    } else {
        invoke(target, args).await?
    };
    if args.json {
        let text =
            serde_json::to_string_pretty(&summary).map_err(|e| AdminError::Io(e.to_string()))?;
        return stdout(&format!("{text}\n"));
    }
    eprintln!("{}", describe(&summary));
    // With the table at hand, show what the run recorded.
    if target.table_name().is_ok() {
        let store = target.connectors().await?;
        let mut rows = list(&store).await?;
        if let Some(id) = args.id {
            rows.retain(|r| r.connector.id == id);
        }
        stdout(&list_text(&rows))?;
    }
    Ok(())
}

/// `probed 14 connectors: 9 healthy, 5 error, 0 skipped in 2.6 s`; for a cycle the probe
/// function sent to its queue, `sent 4 of 4 batches (1000 connectors) to the probe queue`.
pub fn describe(s: &Value) -> String {
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    if s["repeated"] == json!(true) {
        return "a probe cycle had already begun this second: nothing was done".to_owned();
    }
    if n("batches") > 0 && s.get("total").is_none() {
        return format!(
            "sent {} of {} batches ({} connectors) to the probe queue; the workers probe them",
            n("batchesSent"),
            n("batches"),
            n("due")
        );
    }
    let mut text = format!(
        "probed {} connectors: {} healthy, {} error, {} skipped in {:.1} s",
        n("total"),
        n("healthy"),
        n("error"),
        n("skipped"),
        n("durationMs") as f64 / 1000.0
    );
    if n("writeFailures") > 0 {
        text.push_str(&format!("; {} results not written", n("writeFailures")));
    }
    if n("eventsPublished") > 0 {
        text.push_str(&format!(
            "; {} state changes published",
            n("eventsPublished")
        ));
    }
    text
}

/// The probe function's settings for a run in this process: the table from the target,
/// private addresses allowed (the local stack's registries run on 127.0.0.1), no
/// state-change events, everything else from the function's own variables
/// (`PROBE_TIMEOUT_SECONDS`, `PROBE_EXTRA_CA_FILE`, ...).
pub fn local_config(target: &Target) -> Result<ProbeConfig> {
    target.require_local("a probe run in this process (chadmin probe --local, chadmin dev)")?;
    let table = target.table_name()?.to_owned();
    ProbeConfig::from_lookup(|name| match name {
        TABLE_VAR => Some(table.clone()),
        ALLOW_PRIVATE_VAR => Some("true".to_owned()),
        EVENTS_ENABLED_VAR => Some("false".to_owned()),
        other => std::env::var(other).ok(),
    })
    .map_err(|e| AdminError::Config(e.to_string()))
}

async fn local(target: &Target, args: &ProbeArgs) -> Result<Value> {
    let config = local_config(target)?;
    // Wired as the probe function wires itself, and made ready as its runs are.
    // Each result goes into the connector's history too, as the function records it (the
    // table is made here if `init` did not make it: this runs only against an emulator).
    let history = target.history().await?;
    history.create_table().await?;
    let deps = ProbeDependencies::trusting_system(&config, target.aws().await)
        .with_history(Some(history.table().to_owned()));
    deps.ports
        .prober
        .prepare()
        .await
        .map_err(|e| AdminError::Config(format!("cannot probe: {e}")))?;
    // The function's steps without its report (whose metrics line would go to stdout).
    let targets = match args.id {
        None => deps.store.targets().await?,
        Some(id) => vec![deps
            .store
            .target(id)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("no connector with id {id}")))?],
    };
    let summary = shared::runner::run(
        targets,
        deps.ports,
        &config.run,
        Instant::now() + LOCAL_RUN_LIMIT,
    )
    .await;
    serde_json::to_value(&summary).map_err(|e| AdminError::Io(e.to_string()))
}

async fn invoke(target: &Target, args: &ProbeArgs) -> Result<Value> {
    let function = args
        .function
        .clone()
        .or_else(|| {
            target
                .stack
                .as_ref()
                .and_then(|(_, o)| o.probe_function.clone())
        })
        .ok_or_else(|| {
            AdminError::Config(
                "no probe function given: pass --function or --stack, or --local for the \
                 local stack"
                    .into(),
            )
        })?;
    let client = aws_sdk_lambda::Client::new(target.aws().await);
    let out = client
        .invoke()
        .function_name(&function)
        .invocation_type(InvocationType::RequestResponse)
        .payload(aws_sdk_lambda::primitives::Blob::new(
            event(args.id).to_string(),
        ))
        .send()
        .await
        .map_err(
            |e| match dependency_error(SERVICE, &format!("probe function {function}"), e) {
                DependencyError::Missing { resource, .. } => {
                    AdminError::NotFound(format!("{resource} does not exist"))
                }
                other => other.into(),
            },
        )?;
    let payload: Value = out
        .payload()
        .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
        .unwrap_or(Value::Null);
    if let Some(kind) = out.function_error() {
        let message = payload["errorMessage"].as_str().unwrap_or("no message");
        return Err(AdminError::Invalid(format!(
            "the probe function failed ({kind}): {message}"
        )));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_names_one_connector_or_none() {
        assert_eq!(event(None), json!({}));
        assert_eq!(event(ConnectorId::new(7)), json!({"connectorId": 7}));
        let s = json!({"total": 3, "healthy": 2, "error": 1, "skipped": 0, "durationMs": 1500});
        assert_eq!(
            describe(&s),
            "probed 3 connectors: 2 healthy, 1 error, 0 skipped in 1.5 s"
        );
        let sent =
            json!({"cycle": 1, "repeated": false, "due": 1000, "batches": 4, "batchesSent": 3});
        assert_eq!(
            describe(&sent),
            "sent 3 of 4 batches (1000 connectors) to the probe queue; the workers probe them"
        );
        let repeated =
            json!({"cycle": 1, "repeated": true, "due": 0, "batches": 0, "batchesSent": 0});
        assert!(describe(&repeated).contains("already begun"));
    }
}
