//! The AWS SDK configuration every binary uses: one TLS stack (rustls with ring, roots
//! compiled in: [`https`]) and bounded timeouts, so an unreachable dependency becomes a
//! prompt, retryable error instead of a request that hangs until the Lambda timeout.
//!
//! `AWS_ENDPOINT_URL` (the local emulator) and the usual credential/region variables are
//! honoured by the SDK itself. Building the configuration makes no network call and reads
//! no certificate file; where Lambda's environment credentials and region are present
//! (always, in a function), no credential or region chain is built either.
//!
//! [`dependency_error`] turns a failed SDK call of any service into the typed
//! [`DependencyError`] the handlers, the logs and the admin tool work from.

pub mod https;
mod lazy;

pub use lazy::LazyClient;

use crate::ports::DependencyError;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::time::Duration;

/// Whether a variable is set to something.
fn set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// Loads the shared SDK configuration from the environment.
pub async fn sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https::client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(4))
                .operation_timeout(Duration::from_secs(10))
                .build(),
        );
    // Lambda puts the function's credentials and region in the environment. The default
    // chains would find them there too, first; naming them directly skips building the
    // rest of each chain (profile files, SSO, web identity, container and instance
    // metadata) at cold start.
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    if let Some(region) = std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()) {
        loader = loader.region(Region::new(region));
    }
    loader.load().await
}

/// Error codes with which AWS services refuse a request for its rate.
const THROTTLING_CODES: [&str; 6] = [
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "LimitExceededException",
];

/// Error codes with which AWS services reject the caller's credentials.
const CREDENTIAL_CODES: [&str; 6] = [
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredTokenException",
    "MissingAuthenticationToken",
];

/// Error codes with which AWS services refuse an action to valid credentials.
const DENIED_CODES: [&str; 2] = ["AccessDeniedException", "AccessDenied"];

/// Whether the error, or anything in its source chain, is a failure to load credentials.
fn credentials_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<aws_credential_types::provider::error::CredentialsError>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// What a failed AWS SDK call reports, classified by the SDK's error kinds and the
/// service's error code (never by matching message text). `resource` names what the call
/// was about (`table connectors`, `secret api-keys`), for a missing one.
pub fn dependency_error<E, R>(
    service: &'static str,
    resource: &str,
    err: SdkError<E, R>,
) -> DependencyError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&err).to_string();
    if credentials_failure(&err) {
        return DependencyError::Credentials { service, detail };
    }
    match &err {
        SdkError::TimeoutError(_) => DependencyError::TimedOut { service, detail },
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            DependencyError::TimedOut { service, detail }
        }
        SdkError::ServiceError(s) => match s.err().code() {
            Some("ResourceNotFoundException") => DependencyError::Missing {
                service,
                resource: resource.to_owned(),
            },
            Some(code) if THROTTLING_CODES.contains(&code) => {
                DependencyError::Throttled { service, detail }
            }
            Some(code) if CREDENTIAL_CODES.contains(&code) => {
                DependencyError::Credentials { service, detail }
            }
            Some(code) if DENIED_CODES.contains(&code) => {
                DependencyError::Denied { service, detail }
            }
            _ => DependencyError::Other { service, detail },
        },
        _ => DependencyError::Other { service, detail },
    }
}

/// Whether an endpoint URL points at this machine: an `http(s)://` URL whose host is
/// `localhost`, 127.0.0.0/8 or `[::1]`, with no user-info. What the tools and the tests
/// require before they create or delete anything on an endpoint, so they never reach AWS.
pub fn is_local_endpoint(url: &str) -> bool {
    let url = url.trim();
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or("");
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::error::CredentialsError;
    use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
    use aws_credential_types::Credentials;
    use aws_sdk_dynamodb::config::Region;

    /// A credentials chain that finds nothing, as on a laptop with no profile.
    #[derive(Debug)]
    struct NoCredentials;

    impl ProvideCredentials for NoCredentials {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
                "no credentials in this test",
            )))
        }
    }

    /// A DynamoDB client for a local endpoint, with the given credentials and timeouts.
    async fn client(
        endpoint: &str,
        credentials: SharedCredentialsProvider,
        attempt: Duration,
    ) -> aws_sdk_dynamodb::Client {
        let sdk = sdk_config().await;
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .region(Region::new("us-east-1"))
                .credentials_provider(credentials)
                .endpoint_url(endpoint)
                .timeout_config(
                    TimeoutConfig::builder()
                        .operation_attempt_timeout(attempt)
                        .operation_timeout(attempt * 2)
                        .build(),
                )
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
                .build(),
        )
    }

    fn test_credentials() -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "test"))
    }

    async fn scan(client: &aws_sdk_dynamodb::Client) -> DependencyError {
        let err = client.scan().table_name("t").send().await.unwrap_err();
        dependency_error("DynamoDB", "table t", err)
    }

    #[tokio::test]
    async fn no_credentials_is_a_credentials_error_without_any_request() {
        // Nothing listens on the endpoint: the call must fail before it is sent.
        let c = client(
            "http://127.0.0.1:9",
            SharedCredentialsProvider::new(NoCredentials),
            Duration::from_secs(2),
        )
        .await;
        let e = scan(&c).await;
        assert!(matches!(e, DependencyError::Credentials { .. }), "{e:?}");
        assert_eq!((e.service(), e.kind()), ("DynamoDB", "credentials"));
    }

    #[tokio::test]
    async fn an_endpoint_that_never_answers_is_a_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        // Accepts and holds connections without ever answering.
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let c = client(&endpoint, test_credentials(), Duration::from_millis(300)).await;
        let e = scan(&c).await;
        held.abort();
        assert!(matches!(e, DependencyError::TimedOut { .. }), "{e:?}");
    }

    #[tokio::test]
    async fn a_tls_handshake_that_stalls_is_cut_off_by_the_connect_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("https://{}", listener.local_addr().unwrap());
        // Accepts TCP connections and never says a word of TLS.
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let sdk = sdk_config().await;
        let c = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .region(Region::new("us-east-1"))
                .credentials_provider(test_credentials())
                .endpoint_url(&endpoint)
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_millis(200))
                        .operation_attempt_timeout(Duration::from_secs(30))
                        .operation_timeout(Duration::from_secs(60))
                        .build(),
                )
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
                .build(),
        );
        let e = scan(&c).await;
        held.abort();
        assert!(matches!(e, DependencyError::TimedOut { .. }), "{e:?}");
        // The connect timeout, not the 30 s attempt timeout, ended it.
        assert!(e.to_string().contains("no connection within 200ms"), "{e}");
    }

    #[tokio::test]
    async fn a_refused_connection_is_another_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let c = client(&endpoint, test_credentials(), Duration::from_secs(2)).await;
        let e = scan(&c).await;
        assert!(matches!(e, DependencyError::Other { .. }), "{e:?}");
        assert!(
            e.to_string().starts_with("DynamoDB request failed: "),
            "{e}"
        );
    }

    #[test]
    fn only_loopback_endpoints_are_local() {
        for ok in [
            "http://127.0.0.1:4566",
            "http://localhost:8000/",
            "http://[::1]:9000",
            "http://[::1]:9/",
            "https://127.0.0.1",
            "https://127.1.2.3",
        ] {
            assert!(is_local_endpoint(ok), "{ok}");
        }
        for bad in [
            "",
            "127.0.0.1:4566",
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://127.0.0.1.example.com:80",
            "http://localhost.example.com",
            "http://localhost@evil.example",
            "http://10.0.0.1:4566",
        ] {
            assert!(!is_local_endpoint(bad), "{bad}");
        }
    }
}
