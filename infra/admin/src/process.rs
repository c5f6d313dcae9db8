//! What `chadmin` and `chadmin-dev` do around their commands: log to stderr, run the
//! command on a runtime, and end with one `error: ...` line and the error's exit status.

use crate::error::{AdminError, Result};
use std::future::Future;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Logs to stderr, as `RUST_LOG` says, else as `default_filter` says; colour on a terminal.
pub fn init_logging(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Runs `command` on a new multi-threaded runtime; an error becomes one line on stderr
/// (none for [`AdminError::Unhealthy`], already reported) and the error's exit status.
pub fn run(command: impl Future<Output = Result<()>>) -> ExitCode {
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| AdminError::Io(format!("cannot start the async runtime: {e}")))
        .and_then(|runtime| runtime.block_on(command));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(AdminError::Unhealthy) => ExitCode::from(1),
        Err(e) => {
            let text = e.to_string().replace(['\n', '\r'], " ");
            eprintln!("error: {text}");
            ExitCode::from(e.exit_status())
        }
    }
}
