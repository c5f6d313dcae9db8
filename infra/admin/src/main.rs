//! `chadmin`: parse the command line, run the command, report an error as one line.
//! `dev`, `serve` and `seed-demo` are handed to the development stack's `chadmin-dev`.

use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,chadmin=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = chadmin::cli::Cli::parse();
    if let Some((name, args)) = cli.command.dev_stack() {
        return chadmin::dev_stack::forward(name, args, &cli.target);
    }
    // Still single-threaded: the runtime starts below.
    cli.target.export_to_env();
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| chadmin::AdminError::Io(format!("cannot start the async runtime: {e}")))
        .and_then(|runtime| runtime.block_on(chadmin::commands::run(cli)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(chadmin::AdminError::Unhealthy) => ExitCode::from(1),
        Err(e) => {
            let text = e.to_string().replace(['\n', '\r'], " ");
            eprintln!("error: {text}");
            ExitCode::from(e.exit_status())
        }
    }
}
