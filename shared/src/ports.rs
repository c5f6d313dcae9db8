//! The narrow capabilities the handlers are generic over. A read-only function only
//! gets [`ConnectorReader`], mirroring its read-only IAM policy.

use crate::domain::{Connector, ConnectorId};
use crate::keys::Presented;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use std::future::Future;
use std::time::Instant;

/// A dependency (DynamoDB, Secrets Manager) could not answer. Always retryable from the
/// caller's point of view; `detail` is for the log only, never for a response body.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{service} request failed: {detail}")]
pub struct DependencyError {
    pub service: &'static str,
    pub detail: String,
}

/// Reads connector rows.
pub trait ConnectorReader: Send + Sync {
    /// Every showable connector, ordered by id ascending.
    fn list(&self) -> impl Future<Output = Result<Vec<Connector>, DependencyError>> + Send;
    /// One connector, or `None` when no showable row has this id.
    fn get(
        &self,
        id: ConnectorId,
    ) -> impl Future<Output = Result<Option<Connector>, DependencyError>> + Send;
}

/// Fetches the text of the API key document.
pub trait KeySource: Send + Sync {
    fn fetch(&self) -> impl Future<Output = Result<SecretString, DependencyError>> + Send;
}

/// Why a request is not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No key was presented.
    Missing,
    /// A key was presented but does not open the Connector Health API (unknown,
    /// disabled, expired, lacking the grant or privilege, or presented inconsistently).
    NotAuthorized,
    /// The keys could not be loaded; the cause has already been logged.
    Unavailable,
}

/// Decides whether a presented key opens the Connector Health API.
pub trait Authorizer: Send + Sync {
    fn authorize(
        &self,
        presented: &Presented,
    ) -> impl Future<Output = Result<(), AuthError>> + Send;
}

/// Time, injectable so cache rules can be tested without sleeping.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    fn instant(&self) -> Instant;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn instant(&self) -> Instant {
        Instant::now()
    }
}

impl<T: ConnectorReader> ConnectorReader for std::sync::Arc<T> {
    fn list(&self) -> impl Future<Output = Result<Vec<Connector>, DependencyError>> + Send {
        (**self).list()
    }
    fn get(
        &self,
        id: ConnectorId,
    ) -> impl Future<Output = Result<Option<Connector>, DependencyError>> + Send {
        (**self).get(id)
    }
}

impl<T: KeySource> KeySource for std::sync::Arc<T> {
    fn fetch(&self) -> impl Future<Output = Result<SecretString, DependencyError>> + Send {
        (**self).fetch()
    }
}

impl<T: Authorizer> Authorizer for std::sync::Arc<T> {
    fn authorize(
        &self,
        presented: &Presented,
    ) -> impl Future<Output = Result<(), AuthError>> + Send {
        (**self).authorize(presented)
    }
}
