//! Probing connectors, without any I/O:
//!
//! - [`target`]: what a stored row asks to be checked (URL, feed type, per-row timeout and
//!   probe detail) and what it recorded last time.
//! - [`outcome`]: what one check found, why a failure is transient, and the record written
//!   back (state, message, diagnostics, consecutive failures, when the state changed).
//! - [`events`]: the event published when a connector's state changes.
//! - [`ports`]: the narrow capabilities the probe function is generic over.
//!
//! The HTTP prober is an adapter: [`crate::adapters::http_prober`]; so is the EventBridge
//! publisher: [`crate::adapters::eventbridge`].

pub mod events;
pub mod outcome;
pub mod ports;
pub mod target;
