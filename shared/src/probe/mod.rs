//! Probing connectors, without any I/O:
//!
//! - [`target`]: what a stored row asks to be checked (URL, feed type, per-row timeout and
//!   probe detail) and what it recorded last time.
//! - [`outcome`]: what one check found, why a failure is transient, and the record written
//!   back (state, message, diagnostics, consecutive failures, when the state changed).
//! - [`ports`]: the narrow capabilities the probe function is generic over.
//!
//! The HTTP prober is an adapter: [`crate::adapters::http_prober`].

pub mod outcome;
pub mod ports;
pub mod target;
