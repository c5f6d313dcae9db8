//! The scheduled probe function: reads every connector, probes them concurrently and
//! records each result as soon as its probe ends.
//!
//! - [`config`]: typed settings from the environment.
//! - [`run`]: the concurrent run (bounded concurrency, deadline, retries, panics contained).
//! - [`handler`]: the Lambda event (schedule or one `connectorId`) and the run's report.
pub mod config;
pub mod handler;
pub mod run;
