//! Secrets Manager calls made by N requests on one warm container: the real function
//! binary, driven through testkit's Runtime API stub, with its AWS endpoint pointed at a
//! counting proxy in front of the emulator.

use crate::proxy::CountingProxy;
use shared::aws::is_local_endpoint;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use testkit::fixtures::{event, Payload};
use testkit::runtime_api::{Function, InvocationResult};
use testkit::world::{fresh_key, key_document, sample_connectors, World};

pub use crate::proxy::GET_SECRET_VALUE;

/// How long all the requests of a run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

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

/// Runs `binary` (a read function: `list-connectors`) against a fresh table and key
/// secret in the emulator at `endpoint` and sends it `requests` list requests (the stored
/// HTTP API event) with a valid key, one after another, as Lambda does on one warm
/// container. Refuses an endpoint that is not on this machine.
pub async fn run(binary: &Path, endpoint: &str, requests: usize) -> Result<Report, BoxError> {
    if !is_local_endpoint(endpoint) {
        return Err(format!("{endpoint} is not a local emulator").into());
    }
    // Given a table with a few connectors and a key secret, in the emulator ...
    let key = fresh_key();
    let world = World::create(endpoint, &key_document(&[("bench", &key)])).await;
    world.seed(&sample_connectors()).await;

    // ... and the function, on one container, reaching AWS through the counting proxy.
    let proxy = CountingProxy::start(endpoint).await?;
    let mut function = Function::start(
        binary,
        &[
            ("AWS_ENDPOINT_URL", &proxy.url()),
            ("CONNECTORS_TABLE", &world.table),
            ("API_KEYS_SECRET_ID", &world.secret_id),
            ("RUST_LOG", "warn"),
            // Every request reads the table, so the count shows the proxy saw its traffic.
            ("LIST_CACHE_SECONDS", "0"),
        ],
    )
    .await;
    let list = event(Payload::V2, "list", &key, "");

    // When it answers every request.
    let started = Instant::now();
    let deadline = started + RUN_TIMEOUT;
    let mut statuses = BTreeMap::new();
    for _ in 0..requests {
        let left = deadline.saturating_duration_since(Instant::now());
        let answer = tokio::select! {
            answer = function.api.invoke(&list, left) => answer,
            status = function.process.exited() => {
                return Err(format!(
                    "the function exited early ({status:?}):\n{}",
                    function.output()
                )
                .into())
            }
        };
        let response = match answer? {
            InvocationResult::Response(response) => response,
            other => return Err(format!("the function reported an error: {other:?}").into()),
        };
        let code = response["statusCode"]
            .as_u64()
            .ok_or("a response without statusCode")?;
        *statuses.entry(u16::try_from(code)?).or_default() += 1;
    }
    let elapsed = started.elapsed();
    function.process.kill().await;
    Ok(Report {
        requests,
        statuses,
        aws_calls: proxy.counts(),
        elapsed,
    })
}
