//! Cold start: from spawning a function binary to its first Runtime API
//! `GET /invocation/next`, i.e. the whole init phase (tracing, configuration, AWS SDK
//! configuration and clients). The binary is killed once it asks for work.

use std::path::Path;
use std::time::{Duration, Instant};
use testkit::runtime_api::RuntimeApi;

/// The function's own variables for a cold start: AWS clients point at a port nothing
/// answers on (http://127.0.0.1:9), since init must not call the network.
pub const FUNCTION_VARS: [(&str, &str); 4] = [
    ("CONNECTORS_TABLE", "bench-connectors"),
    ("API_KEYS_SECRET_ID", "bench-keys"),
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ("RUST_LOG", "warn"),
];

/// Why a measurement failed.
#[derive(Debug)]
pub enum ColdStartError {
    Spawn(std::io::Error),
    /// The process exited (with this status) before asking for work.
    Exited(String),
    TimedOut,
}

impl std::fmt::Display for ColdStartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Spawn(e) => write!(f, "could not start the binary: {e}"),
            Self::Exited(s) => write!(f, "the binary exited before asking for work: {s}"),
            Self::TimedOut => write!(f, "the binary did not ask for work within 10 s"),
        }
    }
}

impl std::error::Error for ColdStartError {}

/// One measurement: spawns `binary` against `api` with the Lambda environment and `vars`
/// (and nothing else in its environment) and returns the time until its first
/// `invocation/next` reaches `api`.
pub async fn once(
    api: &RuntimeApi,
    binary: &Path,
    vars: &[(&str, &str)],
) -> Result<Duration, ColdStartError> {
    let first = api.next_calls();
    let started = Instant::now();
    let mut process = api.spawn(binary, vars).map_err(ColdStartError::Spawn)?;
    let result = tokio::select! {
        at = api.next_call_at(first) => Ok(at.saturating_duration_since(started)),
        status = process.exited() => Err(ColdStartError::Exited(
            status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string()),
        )),
        () = tokio::time::sleep(Duration::from_secs(10)) => Err(ColdStartError::TimedOut),
    };
    process.kill().await;
    result
}
