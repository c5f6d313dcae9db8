//! The one error type of the admin tool. Each variant renders as one line for stderr.

use shared::ports::DependencyError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A required setting (table, secret id) was not given.
    #[error("{0}")]
    Config(String),
    /// The command line asked for something that cannot be done as asked.
    #[error("{0}")]
    Invalid(String),
    /// The thing to change or remove does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The thing to create already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// Someone else kept changing the same data while this command tried to update it.
    #[error("{0}")]
    Conflict(String),
    /// DynamoDB or Secrets Manager failed.
    #[error("{} request failed: {}", .0.service, concise(&.0.detail))]
    Dependency(#[from] DependencyError),
    /// The key secret holds something this tool will not overwrite.
    #[error("the key secret is not a valid key document ({0}); fix or remove it by hand first")]
    BadKeyDocument(String),
    /// The local server could not bind or serve.
    #[error("{0}")]
    Io(String),
    /// `health`: some connector is not healthy (already reported on stdout).
    #[error("some connectors are not healthy")]
    Unhealthy,
    /// An error that ends the process with a status other than 1 (`health`: 2).
    #[error("{1}")]
    WithStatus(u8, Box<AdminError>),
}

impl AdminError {
    /// The process exit status for this error.
    pub fn exit_status(&self) -> u8 {
        match self {
            AdminError::Unhealthy => 1,
            AdminError::WithStatus(code, _) => *code,
            _ => 1,
        }
    }
}

pub type Result<T, E = AdminError> = std::result::Result<T, E>;

/// The readable part of an AWS SDK error text. The SDK's `DisplayErrorContext` ends with a
/// `Debug` dump of the whole error (raw response, headers, request id); a person at a
/// terminal needs the message chain before it.
pub fn concise(detail: &str) -> &str {
    const DEBUG_DUMPS: [&str; 5] = [
        " (ConstructionFailure(",
        " (TimeoutError(",
        " (DispatchFailure(",
        " (ResponseError(",
        " (ServiceError(",
    ];
    let end = DEBUG_DUMPS
        .iter()
        .filter_map(|marker| detail.find(marker))
        .min()
        .unwrap_or(detail.len());
    detail[..end].trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_debug_dumps_are_cut_off() {
        let e = AdminError::Dependency(DependencyError {
            service: "Secrets Manager",
            detail: "service error: ResourceExistsException: it exists (ServiceError(ServiceError { raw: .. }))".into(),
        });
        assert_eq!(
            e.to_string(),
            "Secrets Manager request failed: service error: ResourceExistsException: it exists"
        );
        assert_eq!(
            concise("dispatch failure: io: refused"),
            "dispatch failure: io: refused"
        );
    }
}
