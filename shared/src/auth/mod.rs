//! API keys: the document stored in Secrets Manager ([`document`]), how a request
//! presents a key ([`presented`]), and the per-container cache that judges it ([`cache`]).

pub mod cache;
pub mod document;
pub mod presented;

pub use cache::{CachePolicy, KeyCache};
pub use document::{
    parse_document, DocumentError, Impersonation, KeyDigest, KeyDocument, KeyEntry, KeyRing,
    SkippedEntry, CONNECTOR_HEALTH_GRANT, FEEDS_MANAGE,
};
pub use presented::{presented_key, query_values, BASIC_USER};
