//! `chadmin`: parse the command line, run the command, report an error as one line.

use clap::Parser;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,chadmin=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = chadmin::cli::Cli::parse();
    match chadmin::commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = e.to_string().replace(['\n', '\r'], " ");
            eprintln!("error: {text}");
            ExitCode::FAILURE
        }
    }
}
