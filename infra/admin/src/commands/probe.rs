//! `chadmin probe`: probe now. Against a deployment it invokes the probe function
//! (`RequestResponse`); against the local stack (`--local`, or `AWS_ENDPOINT_URL` on a
//! loopback address) it runs the probe function's own code in this process.

use super::connectors::{list, list_text};
use crate::error::{AdminError, Result};
use crate::output::stdout;
use crate::target::Target;
use probe_connectors::config::{ProbeConfig, ALLOW_PRIVATE_VAR, TABLE_VAR};
use probe_connectors::run::RunPorts;
use serde_json::{json, Value};
use shared::adapters::http_prober::{tls, HttpProber, SystemResolver};
use shared::domain::ConnectorId;
use shared::ports::SystemClock;
use shared::probe::ports::{NoEvents, ProbeTargetReader};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest an in-process run may take (the probe function's own limit).
const LOCAL_RUN_LIMIT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// Probe only this connector.
    #[arg(long, value_parser = crate::cli::parse_id)]
    pub id: Option<ConnectorId>,
    /// Run the probe in this process against the table (default when AWS_ENDPOINT_URL
    /// is a loopback address).
    #[arg(long, conflicts_with = "function")]
    pub local: bool,
    /// The probe function's name or ARN (default: the stack's ProbeFunctionName output).
    #[arg(long, env = "PROBE_FUNCTION_NAME", value_name = "NAME")]
    pub function: Option<String>,
    /// Print the run's summary as JSON.
    #[arg(long)]
    pub json: bool,
}

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
    if let Ok(store) = target.connectors() {
        let mut rows = list(&store).await?;
        if let Some(id) = args.id {
            rows.retain(|r| r.connector.id == id);
        }
        stdout(&list_text(&rows))?;
    }
    Ok(())
}

/// `probed 14 connectors: 9 healthy, 5 error, 0 skipped in 2.6 s`.
pub fn describe(s: &Value) -> String {
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
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

async fn local(target: &Target, args: &ProbeArgs) -> Result<Value> {
    let table = target.table_name()?.to_owned();
    // The probe function's settings from the same variables; private addresses allowed,
    // as the local stack's registries run on 127.0.0.1.
    let config = ProbeConfig::from_lookup(|name| match name {
        TABLE_VAR => Some(table.clone()),
        ALLOW_PRIVATE_VAR => Some("true".to_owned()),
        other => std::env::var(other).ok(),
    })
    .map_err(|e| AdminError::Config(e.to_string()))?;
    let store = Arc::new(target.connectors()?);
    let tls = tls::system_client_config().map_err(|e| AdminError::Io(e.to_string()))?;
    let prober = HttpProber::new(config.prober_settings(), tls, Arc::new(SystemResolver));
    // The function's steps without its report (whose metrics line would go to stdout).
    let targets = match args.id {
        None => store.targets().await?,
        Some(id) => vec![store
            .target(id)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("no connector with id {id}")))?],
    };
    let ports = RunPorts {
        writer: store,
        prober: Arc::new(prober),
        clock: Arc::new(SystemClock),
        events: Arc::new(NoEvents),
    };
    let summary = probe_connectors::run::run(
        targets,
        ports,
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
    let client = aws_sdk_lambda::Client::new(&target.aws);
    let out = client
        .invoke()
        .function_name(&function)
        .invocation_type(aws_sdk_lambda::types::InvocationType::RequestResponse)
        .payload(aws_sdk_lambda::primitives::Blob::new(
            event(args.id).to_string(),
        ))
        .send()
        .await
        .map_err(|e| {
            let text = aws_sdk_lambda::error::DisplayErrorContext(&e).to_string();
            if text.contains("ResourceNotFoundException") {
                AdminError::NotFound(format!("probe function {function} does not exist"))
            } else {
                AdminError::Dependency(shared::ports::DependencyError {
                    service: "Lambda",
                    detail: text,
                })
            }
        })?;
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
    }
}
