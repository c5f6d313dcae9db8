//! The development stack: what only `make dev` and the tests use. Production code
//! (the functions, `chadmin`) links none of it.
//!
//! - [`cli`]: `chadmin-dev`'s command line (`chadmin dev`, `serve` and `seed-demo` run it).
//! - [`commands`]: `dev`, `serve`, `seed-demo`.
//! - [`server`]: the local HTTP server over the Lambda handlers.
//! - [`demo`]: the static demo rows of `seed-demo`, in every state.
//! - [`demo_history`]: 30 days of made-up history (marked demo) for `dev`'s connectors.
//! - [`demo_upstreams`]: the demo registries `dev` starts on 127.0.0.1 (testkit's fake
//!   registry and demo PKI) and their connectors.
//! - [`probe_loop`]: `dev`'s probe run on an interval (the probe function's run code).

pub mod cli;
pub mod commands;
pub mod demo;
pub mod demo_history;
pub mod demo_upstreams;
pub mod probe_loop;
pub mod server;
