//! Implementations of the ports, one folder or file per thing that backs them.
//!
//! - [`dynamodb`]: the connector table (the only code that knows the row schema).
//! - [`secrets_manager`]: the API key document.
//! - [`connector_credentials`]: connectors' own credentials for private feeds.
//! - [`eventbridge`]: state-change events.
//! - [`history_writer`]: the probe result writer that also records each check's history.
//! - [`sqs`]: the probe queue, where a large cycle's batches go.
//! - [`http_prober`]: the HTTP(S) prober.
//! - `memory` (feature `memory`): in-memory fakes of every port, for tests and benchmarks.

pub mod connector_credentials;
pub mod dynamodb;
pub mod eventbridge;
pub mod history_writer;
pub mod http_prober;
#[cfg(any(test, feature = "memory"))]
pub mod memory;
pub mod secrets_manager;
pub mod sqs;
