//! `chadmin`: the connector-health admin tool and local API server, as a library so the
//! tests can reuse its pieces.
//!
//! - [`cli`]: the command line (clap).
//! - [`target`]: which table, secret and AWS endpoint a command works on.
//! - [`stack`]: `--stack`: those settings from a deployed stack's outputs.
//! - [`key_secret`]: the API key secret, updated with a compare-and-swap on its version.
//! - [`commands`]: what each subcommand does.
//! - [`demo`]: the static demo connectors of `seed-demo`.
//! - [`demo_upstreams`]: the demo registries `chadmin dev` starts on 127.0.0.1 and their connectors.
//! - [`probe_loop`]: `chadmin dev`'s probe run on an interval (the probe function's run code).
//! - [`output`]: writing to stdout (a closed pipe is not a failure).
//! - [`server`]: the local HTTP server over the Lambda handlers.

pub mod cli;
pub mod commands;
pub mod demo;
pub mod demo_upstreams;
pub mod error;
pub mod key_secret;
pub mod output;
pub mod probe_loop;
pub mod server;
pub mod stack;
pub mod target;
pub mod text_table;

pub use error::AdminError;
