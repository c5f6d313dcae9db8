//! Probing connectors, as values and rules, without any I/O:
//!
//! - [`target`]: what a stored row asks to be checked (URL, feed type, per-row timeout and
//!   probe detail) and what it recorded last time.
//! - [`outcome`]: what one check found, why a failure is transient, and the record written
//!   back (state, message, diagnostics, consecutive failures, when the state changed).
//! - [`events`]: the event published when a connector's state changes.
//! - [`schedule`]: the order a run starts its probes in (most overdue first), and what it
//!   holds back (per-host limits, an upstream's HTTP 429).
//! - [`limits`]: the longest per-connector timeout a run can start.
//!
//! The run that drives them is [`crate::runner`]; the traits it is generic over are in
//! [`crate::ports`]; the HTTP prober and the EventBridge publisher are adapters
//! ([`crate::adapters::http_prober`], [`crate::adapters::eventbridge`]).

pub mod events;
pub mod limits;
pub mod outcome;
pub mod schedule;
pub mod target;
