//! `chadmin`: the connector-health operator tool, as a library so the development stack
//! (`chadmin-dev`) and the tests can reuse its pieces. It links no demo or test code.
//!
//! - [`cli`]: the command line (clap): every argument type; it uses nothing else of this crate.
//! - [`target`]: which table, secret and AWS endpoint a command works on.
//! - [`stack`]: `--stack`: those settings from a deployed stack's outputs.
//! - [`key_secret`]: the API key secret, updated with a compare-and-swap on its version.
//! - [`commands`]: what each subcommand does.
//! - [`dev_stack`]: `dev`, `serve` and `seed-demo`, handed to the `chadmin-dev` executable.
//! - [`error`]: the one error type, and how a failed AWS call is worded.
//! - [`output`]: writing to stdout (a closed pipe is not a failure).
//! - [`process`]: logging, the runtime and the exit status, for `chadmin` and `chadmin-dev`.
//! - [`text_table`]: the aligned tables of the `list` commands.

pub mod cli;
pub mod commands;
pub mod dev_stack;
pub mod error;
pub mod key_secret;
pub mod output;
pub mod process;
pub mod stack;
pub mod target;
pub mod text_table;

pub use error::{AdminError, Result};
