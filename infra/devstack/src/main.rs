//! `chadmin-dev`: parse the command line, run the command, report an error as one line.

use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,chadmin=info,devstack=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = devstack::cli::Cli::parse();
    // Still single-threaded: the runtime starts below.
    cli.target.export_to_env();
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| chadmin::AdminError::Io(format!("cannot start the async runtime: {e}")))
        .and_then(|runtime| runtime.block_on(devstack::commands::run(cli)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = e.to_string().replace(['\n', '\r'], " ");
            eprintln!("error: {text}");
            ExitCode::from(e.exit_status())
        }
    }
}
