//! `chadmin-dev`'s command line (clap). `chadmin dev`, `chadmin serve` and
//! `chadmin seed-demo` run this binary with their arguments.

use chadmin::cli::TargetArgs;
use clap::{Args, Parser, Subcommand};
use std::net::IpAddr;

/// The development stack: serve the API locally, seed demo rows, or run everything
/// `make dev` needs. Works only against a local emulator or a table you name.
#[derive(Debug, Parser)]
#[command(name = "chadmin-dev", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add demo connectors modelled on public feeds, in every state (skips those present).
    SeedDemo,
    /// Serve the API locally: /api/connector-health and /api/connector-health/{id}.
    Serve(ServeArgs),
    /// For `make dev`: init, start demo upstreams on 127.0.0.1 and register them as
    /// connectors, (re)create the key `demo`, print it, serve, and probe every connector
    /// at once and then every --probe-interval seconds.
    Dev(DevArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
}

#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Seconds between probe runs (the first runs at once). The probe settings are the
    /// probe function's variables (PROBE_TIMEOUT_SECONDS, PROBE_RETRIES, ...).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::probe_loop::DEFAULT_INTERVAL_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub probe_interval: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dev_takes_the_serve_flags_and_an_interval() {
        let cli = Cli::try_parse_from([
            "chadmin-dev",
            "dev",
            "--port",
            "0",
            "--probe-interval",
            "10",
        ])
        .unwrap();
        match cli.command {
            Command::Dev(a) => assert_eq!((a.serve.port, a.probe_interval), (0, 10)),
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["chadmin-dev", "dev", "--probe-interval", "0"]).is_err());
    }
}
