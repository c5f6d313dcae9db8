//! What the connector-health functions have in common.
//!
//! - [`domain`]: connector ids, health states and the JSON shape of the API (no AWS, no HTTP).
//! - [`keys`]: the API key document, how keys are presented on a request and how one is judged.
//! - [`key_cache`]: the in-memory cache of the key document, with its refresh rules.
//! - [`ports`]: the narrow traits the handlers are generic over.
//! - [`adapters`]: DynamoDB, Secrets Manager and in-memory implementations of the ports.
//! - [`http`]: response helpers (JSON, HEAD, 403/404/405/503) and the shared request pipeline.
//! - [`config`]: typed configuration read from the environment at cold start.
//! - [`aws`]: the lean AWS SDK configuration (rustls + ring, bounded timeouts).
//! - `demo_pki` (feature `demo-pki`): a throwaway CA for TLS on 127.0.0.1 in tests and `make dev`.

pub mod adapters;
pub mod aws;
pub mod config;
#[cfg(feature = "demo-pki")]
pub mod demo_pki;
pub mod domain;
pub mod http;
pub mod key_cache;
pub mod keys;
pub mod ports;
pub mod probe;

pub mod wiring;
