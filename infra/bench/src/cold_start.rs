//! Cold start: from spawning a function binary to its first Runtime API
//! `GET /invocation/next`, i.e. the whole init phase (tracing, configuration, AWS SDK
//! configuration and clients). The binary is killed once it asks for work.

use std::path::Path;
use std::time::{Duration, Instant};
use testkit::runtime_api::{InvocationResult, RuntimeApi};

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
    /// An invocation got no answer, or not the expected one.
    Invocation(String),
}

impl std::fmt::Display for ColdStartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Spawn(e) => write!(f, "could not start the binary: {e}"),
            Self::Exited(s) => write!(f, "the binary exited before asking for work: {s}"),
            Self::TimedOut => write!(f, "the binary did not ask for work within 10 s"),
            Self::Invocation(e) => write!(f, "invocation failed: {e}"),
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

/// The phases of one container's start: init (spawn → first `next`), the first invocation
/// (event given → response posted) and a second one (warm) for comparison.
#[derive(Debug, Clone, Copy)]
pub struct Phases {
    pub init: Duration,
    pub first: Duration,
    pub second: Duration,
}

/// Like [`once`], then gives the started process `event` twice and times each answer. An
/// answer that is not a success (an invocation error) fails the measurement: a function
/// that failed early would look fast.
pub async fn with_invocations(
    api: &RuntimeApi,
    binary: &Path,
    vars: &[(&str, &str)],
    event: &serde_json::Value,
    accept: impl Fn(&serde_json::Value) -> bool,
) -> Result<Phases, ColdStartError> {
    let first_next = api.next_calls();
    let started = Instant::now();
    let mut process = api.spawn(binary, vars).map_err(ColdStartError::Spawn)?;
    let result = async {
        let init = tokio::select! {
            at = api.next_call_at(first_next) => at.saturating_duration_since(started),
            status = process.exited() => return Err(ColdStartError::Exited(
                status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string()),
            )),
            () = tokio::time::sleep(Duration::from_secs(10)) => return Err(ColdStartError::TimedOut),
        };
        let mut timed = Vec::with_capacity(2);
        for _ in 0..2 {
            let given = Instant::now();
            let answer = api
                .invoke(event, Duration::from_secs(30))
                .await
                .map_err(ColdStartError::Invocation)?;
            let took = given.elapsed();
            let value = match answer {
                InvocationResult::Response(value) => value,
                InvocationResult::Error { payload, .. } => {
                    return Err(ColdStartError::Invocation(format!("error: {payload}")))
                }
            };
            if !accept(&value) {
                return Err(ColdStartError::Invocation(format!(
                    "unexpected answer: {value}"
                )));
            }
            timed.push(took);
        }
        Ok(Phases {
            init,
            first: timed[0],
            second: timed[1],
        })
    }
    .await;
    if result.is_err() {
        eprintln!("{}", process.output());
    }
    process.kill().await;
    result
}
