//! The one error type of the admin tool. Each variant renders as one line for stderr; a
//! failed AWS call is worded for a person by what failed ([`DependencyError`]'s kind),
//! never by its text.

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
    /// DynamoDB, Secrets Manager, CloudFormation or Lambda failed.
    #[error("{}", describe(.0))]
    Dependency(#[from] DependencyError),
    /// The key secret holds something this tool will not overwrite.
    #[error("the key secret is not a valid key document ({0}); fix or remove it by hand first")]
    BadKeyDocument(String),
    /// Writing, reading a file, or talking to the API failed.
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

/// What to do when no credentials could be loaded or AWS rejected them.
pub const NO_CREDENTIALS: &str =
    "no AWS credentials found: set AWS_PROFILE (and run `aws sso login` \
     if it uses SSO) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";

/// A failed AWS call in one sentence, by its kind. (A missing table or secret is worded
/// once more by `commands::explain`, which knows the region.)
pub fn describe(e: &DependencyError) -> String {
    match e {
        DependencyError::Missing { service, resource } => {
            format!("{service} request failed: {resource} does not exist")
        }
        DependencyError::Credentials { .. } => NO_CREDENTIALS.to_owned(),
        DependencyError::Denied { service, detail } => format!(
            "{service} request failed: access denied; the AWS credentials in use may not do \
             this, check their IAM policy ({})",
            concise(detail)
        ),
        DependencyError::Throttled { service, .. } => format!(
            "{service} request failed: AWS is throttling these requests; wait a little and try again"
        ),
        DependencyError::TimedOut { service, .. } => format!(
            "{service} request failed: no answer in time; check the network, the region and \
             AWS_ENDPOINT_URL, then try again"
        ),
        DependencyError::Other { service, detail } => {
            format!("{service} request failed: {}", concise(detail))
        }
    }
}

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
        let e = AdminError::Dependency(DependencyError::other(
            "Secrets Manager",
            "service error: ResourceExistsException: it exists (ServiceError(ServiceError { raw: .. }))",
        ));
        assert_eq!(
            e.to_string(),
            "Secrets Manager request failed: service error: ResourceExistsException: it exists"
        );
        assert_eq!(
            concise("dispatch failure: io: refused"),
            "dispatch failure: io: refused"
        );
    }

    #[test]
    fn each_kind_of_failure_is_one_plain_line_without_the_sdk_dump() {
        let dump = "service error: X: why (ServiceError(ServiceError { raw: .. }))";
        let kinds = [
            DependencyError::Missing {
                service: "DynamoDB",
                resource: "table t".into(),
            },
            DependencyError::Throttled {
                service: "DynamoDB",
                detail: dump.into(),
            },
            DependencyError::TimedOut {
                service: "DynamoDB",
                detail: dump.into(),
            },
            DependencyError::Credentials {
                service: "DynamoDB",
                detail: dump.into(),
            },
            DependencyError::Denied {
                service: "DynamoDB",
                detail: dump.into(),
            },
            DependencyError::other("DynamoDB", dump),
        ];
        let texts: Vec<String> = kinds
            .iter()
            .map(|k| AdminError::Dependency(k.clone()).to_string())
            .collect();
        for text in &texts {
            assert!(
                !text.contains('\n') && !text.contains("ServiceError {"),
                "{text}"
            );
        }
        assert_eq!(texts[0], "DynamoDB request failed: table t does not exist");
        assert!(texts[1].contains("throttling"), "{}", texts[1]);
        assert!(texts[2].contains("no answer in time"), "{}", texts[2]);
        assert_eq!(texts[3], NO_CREDENTIALS);
        assert!(
            texts[4].contains("access denied") && texts[4].ends_with("(service error: X: why)")
        );
        assert_eq!(texts[5], "DynamoDB request failed: service error: X: why");
    }
}
