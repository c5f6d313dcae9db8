//! Cold start: from spawning a function binary to its first Runtime API
//! `GET /invocation/next`, i.e. the whole init phase (tracing, configuration, AWS SDK
//! configuration and clients). The binary is killed once it asks for work.

use crate::runtime_api::RuntimeApi;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

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

/// One measurement: spawns `binary` with `env` (and nothing else in its environment)
/// and returns the time until its first `invocation/next` reaches `api`.
pub async fn once(
    api: &mut RuntimeApi,
    binary: &Path,
    env: &[(String, String)],
) -> Result<Duration, ColdStartError> {
    api.drain();
    let mut cmd = tokio::process::Command::new(binary);
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(ColdStartError::Spawn)?;
    let result = tokio::select! {
        seen = api.next_seen.recv() => match seen {
            Some(at) => Ok(at.saturating_duration_since(started)),
            None => Err(ColdStartError::TimedOut),
        },
        status = child.wait() => Err(ColdStartError::Exited(
            status.map_or_else(|e| e.to_string(), |s| s.to_string()),
        )),
        () = tokio::time::sleep(Duration::from_secs(10)) => Err(ColdStartError::TimedOut),
    };
    let _ = child.kill().await;
    result
}
