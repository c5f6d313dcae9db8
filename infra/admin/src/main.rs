//! `chadmin`: parse the command line, run the command, report an error as one line.
//! `dev`, `serve` and `seed-demo` are handed to the development stack's `chadmin-dev`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    chadmin::process::init_logging("warn,chadmin=info");
    let cli = chadmin::cli::Cli::parse();
    if let Some((name, args)) = cli.command.dev_stack() {
        return chadmin::dev_stack::forward(name, args, &cli.target);
    }
    // Still single-threaded: the runtime starts in `run`.
    cli.target.export_to_env();
    chadmin::process::run(chadmin::commands::run(cli))
}
