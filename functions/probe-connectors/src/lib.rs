//! The scheduled probe function: reads every connector, probes them concurrently and
//! records each result as soon as its probe ends.
//!
//! - [`handler`]: the Lambda event (schedule or one `connectorId`), and the run's report
//!   (one log line, one EMF line).
//!
//! The run itself is `shared::runner`, its configuration `shared::config::probe`, and its
//! wiring `shared::wiring::ProbeDependencies`, which the admin tool and the local stack use
//! too.
pub mod handler;
