//! The AWS SDK configuration every binary uses: one TLS stack (rustls with ring) and
//! bounded timeouts, so an unreachable dependency becomes a prompt, retryable error
//! instead of a request that hangs until the Lambda timeout.
//!
//! `AWS_ENDPOINT_URL` (the local emulator) and the usual credential/region variables are
//! honoured by the SDK itself. Building the configuration makes no network call.

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use std::time::Duration;

/// Loads the shared SDK configuration from the environment.
pub async fn sdk_config() -> SdkConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(4))
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .load()
        .await
}
