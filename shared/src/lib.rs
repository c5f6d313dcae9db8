//! What the connector-health functions have in common, by capability:
//!
//! - [`domain`]: ids, states, the connector as the API shows it, feed types, URL redaction
//!   (no AWS, no HTTP).
//! - [`badge`]: a connector's state or uptime as a shields.io-style SVG or endpoint JSON.
//! - [`auth`]: the API key document, how a request presents a key, the key cache.
//! - [`config`]: typed configuration read from the environment at cold start.
//! - [`history`]: each connector's check history: what a check adds, what the days add up to.
//! - [`probe`]: probe targets, outcomes and state-change events, as values and rules.
//! - [`runner`]: one probe run (bounded concurrency, deadline, retries, contained panics).
//! - [`cycle`]: a schedule tick: who begins it, how its connectors are batched, claimed and
//!   measured for freshness.
//! - [`ports`]: every trait the handlers and the run are generic over.
//! - [`adapters`]: DynamoDB, Secrets Manager, EventBridge, the HTTP prober, and in-memory
//!   fakes (feature `memory`).
//! - [`cache`]: a value a read function keeps for a few seconds per container.
//! - [`http`]: JSON responses and the request pipeline both read functions share.
//! - [`aws`]: the lean AWS SDK configuration, and typed dependency errors.
//! - [`logging`]: the functions' log subscriber (the runtime's raw events never logged).
//! - [`wiring`]: one builder for the read functions and one for a probe run.

pub mod adapters;
pub mod auth;
pub mod aws;
pub mod badge;
pub mod cache;
pub mod config;
pub mod cycle;
pub mod domain;
pub mod history;
pub mod http;
pub mod logging;
pub mod ports;
pub mod probe;
pub mod runner;
pub mod wiring;
