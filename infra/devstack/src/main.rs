//! `chadmin-dev`: parse the command line, run the command, report an error as one line.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    chadmin::process::init_logging("warn,chadmin=info,devstack=info");
    let cli = devstack::cli::Cli::parse();
    // Still single-threaded: the runtime starts in `run`.
    cli.target.export_to_env();
    chadmin::process::run(devstack::commands::run(cli))
}
