//! Performance tools for the function binaries (see `PERFORMANCE.md`):
//!
//! - [`runtime_api`]: a Lambda Runtime API stub on 127.0.0.1:0 that records when a binary
//!   first asks for work and feeds it queued events;
//! - [`proxy`]: a counting HTTP proxy put in front of the AWS emulator;
//! - [`cold_start`]: spawn → first `invocation/next`, repeated;
//! - [`sm_count`]: Secrets Manager calls made by N requests on one warm container.

pub mod cold_start;
pub mod proxy;
pub mod runtime_api;
pub mod sm_count;

use std::path::PathBuf;
use std::time::Duration;

/// The environment a Lambda function binary needs besides the Runtime API address:
/// the Lambda variables `lambda_runtime` reads, the function's own configuration and
/// dummy AWS credentials. `aws_endpoint` is where every AWS client is pointed.
pub fn function_env(
    runtime_api: &str,
    aws_endpoint: &str,
    table: &str,
    secret_id: &str,
) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "bench"),
        ("CONNECTORS_TABLE", table),
        ("API_KEYS_SECRET_ID", secret_id),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ENDPOINT_URL", aws_endpoint),
        ("RUST_LOG", "warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// `target/<profile>/<name>` next to the running executable (a test or a tool in the
/// same target dir), whatever `CARGO_TARGET_DIR` is.
pub fn sibling_binary(profile: &str, name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/<p>/<tool> or target/<p>/deps/<test>
    let target = exe.ancestors().find(|dir| {
        dir.file_name()
            .is_some_and(|n| n == "debug" || n == "release")
    })?;
    let candidate = target.parent()?.join(profile).join(name);
    candidate.is_file().then_some(candidate)
}

/// Median and 90th percentile (nearest rank) of a set of durations.
pub fn median_p90(samples: &[Duration]) -> (Duration, Duration) {
    let mut s = samples.to_vec();
    s.sort();
    if s.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    let rank = |p: f64| s[((p * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1];
    let median = if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2
    };
    (median, rank(0.9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p90() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            median_p90(&ms(&[5, 1, 3])),
            (Duration::from_millis(3), Duration::from_millis(5))
        );
        let ten = ms(&[10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(
            median_p90(&ten),
            (Duration::from_micros(5500), Duration::from_millis(9))
        );
    }
}
