//! Secrets Manager calls made by N requests on one warm container: the real function
//! binary, driven through the Runtime API stub, with its AWS endpoint pointed at a
//! counting proxy in front of the emulator.

use crate::proxy::CountingProxy;
use crate::runtime_api::{http_api_get_event, Outcome, RuntimeApi};
use shared::adapters::dynamodb::DynamoConnectorStore;
use shared::domain::{Connector, ConnectorId, Diagnostics, Health};
use shared::keys::KeyDigest;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

pub use crate::proxy::GET_SECRET_VALUE;

/// What a run saw.
#[derive(Debug, Clone)]
pub struct Report {
    pub requests: usize,
    /// HTTP status codes of the function's answers, by code.
    pub statuses: BTreeMap<u16, u64>,
    /// AWS requests the function made, by `X-Amz-Target`.
    pub aws_calls: BTreeMap<String, u64>,
    pub elapsed: Duration,
}

impl Report {
    pub fn get_secret_value_calls(&self) -> u64 {
        self.aws_calls.get(GET_SECRET_VALUE).copied().unwrap_or(0)
    }
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The emulator endpoint from `AWS_ENDPOINT_URL`; refuses to run without one, so the
/// harness can never talk to real AWS.
pub fn emulator_endpoint() -> Result<String, BoxError> {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:") => Ok(url),
        _ => Err("AWS_ENDPOINT_URL must point at the local emulator (run under infra/dev/with-emulators.sh)".into()),
    }
}

/// Runs `binary` (a read function: `list-connectors`) against a fresh table and key
/// secret in the emulator and sends it `requests` list requests with a valid key, one
/// after another, as Lambda does on one warm container.
pub async fn run(binary: &Path, requests: usize) -> Result<Report, BoxError> {
    let emulator = emulator_endpoint()?;
    let aws = shared::aws::sdk_config().await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let table = format!("bench-connectors-{suffix}");
    let secret_id = format!("bench-keys-{suffix}");
    let api_key = format!("bench-{}", uuid::Uuid::new_v4().simple());

    // Given a table with a few connectors and a key secret, in the emulator.
    let store = DynamoConnectorStore::new(aws_sdk_dynamodb::Client::new(&aws), table.clone());
    store.create_table().await?;
    for i in 1..=5 {
        let connector = Connector {
            id: ConnectorId::new(i).ok_or("bad id")?,
            name: format!("connector-{i}"),
            url: format!("https://feeds-{i}.example.org/"),
            health: Health::Unknown,
            diagnostics: Diagnostics::default(),
        };
        store.put(&connector, None).await?;
    }
    aws_sdk_secretsmanager::Client::new(&aws)
        .create_secret()
        .name(&secret_id)
        .secret_string(format!(
            r#"{{"keys":[{{"name":"bench","sha256":"{}","grants":["connector-health"]}}]}}"#,
            KeyDigest::of(&api_key).to_hex()
        ))
        .send()
        .await?;

    // And the function, on one container, reaching AWS through the counting proxy.
    let proxy = CountingProxy::start(&emulator).await?;
    let mut api = RuntimeApi::start().await?;
    for n in 0..requests {
        let id = format!("req-{n}");
        api.push(
            id.clone(),
            http_api_get_event("/api/connector-health", &api_key, &id),
        );
    }
    let env = crate::function_env(&api.endpoint(), &proxy.url(), &table, &secret_id);
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;

    // When it answers every request.
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let mut statuses = BTreeMap::new();
    for _ in 0..requests {
        let outcome = tokio::select! {
            o = api.outcomes.recv() => o.ok_or("the Runtime API stub stopped")?,
            s = child.wait() => return Err(format!("the function exited early: {s:?}").into()),
            () = tokio::time::sleep_until(deadline) => return Err("timed out waiting for the function".into()),
        };
        let body = match outcome {
            Outcome::Response { body, .. } => body,
            other => return Err(format!("the function reported an error: {other:?}").into()),
        };
        let value: serde_json::Value = serde_json::from_slice(&body)?;
        let code = value["statusCode"]
            .as_u64()
            .ok_or("a response without statusCode")?;
        *statuses.entry(u16::try_from(code)?).or_default() += 1;
    }
    let elapsed = started.elapsed();
    let _ = child.kill().await;
    Ok(Report {
        requests,
        statuses,
        aws_calls: proxy.counts(),
        elapsed,
    })
}
