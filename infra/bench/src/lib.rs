//! Performance tools for the function binaries (see `docs/performance.md`), driving them
//! through testkit's Lambda Runtime API stub (`testkit::runtime_api`):
//!
//! - [`cold_start`]: spawn → first `invocation/next`, repeated;
//! - [`fanout`]: one probe cycle of a large fleet through the probe function, its queue
//!   and its workers, simulated in virtual time;
//! - [`proxy`]: a counting HTTP proxy put in front of the AWS emulator;
//! - [`sm_count`]: Secrets Manager calls made by N requests on one warm container;
//! - [`soak`]: one warm container for many invocations: answers, handler times, memory.
//!
//! `probe-run` (one probe run against testkit's fake registries) is a binary only.

pub mod cold_start;
pub mod fanout;
pub mod proxy;
pub mod sm_count;
pub mod soak;

use std::path::Path;
use std::time::Duration;

/// The emulator the tools run against: `AWS_ENDPOINT_URL`, which must be a local endpoint
/// (`infra/devstack/scripts/with-emulators.sh` sets it); otherwise the line to print.
pub fn local_endpoint() -> Result<String, String> {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if shared::aws::is_local_endpoint(&url) => Ok(url),
        _ => Err("AWS_ENDPOINT_URL must point at the local emulator: run under infra/devstack/scripts/with-emulators.sh".into()),
    }
}

/// How a tool names a binary in its tables: the file name, with the target triple when the
/// binary was built for one other than the host's (`target/<triple>/release/...`), so that a
/// musl build and a glibc build of the same function can be told apart.
pub fn binary_label(binary: &Path) -> String {
    let name = binary.file_name().map_or_else(
        || binary.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let triple = binary
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .map(|t| t.to_string_lossy().into_owned())
        .filter(|t| t.matches('-').count() >= 2);
    match triple {
        Some(triple) => format!("{name} ({triple})"),
        None => name,
    }
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

/// The `p` quantile (0 < p ≤ 1, nearest rank) of durations sorted in ascending order;
/// zero when there are none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::binary_label;
    use std::path::Path;

    #[test]
    fn a_binary_built_for_a_target_is_named_with_it() {
        assert_eq!(
            binary_label(Path::new(
                "target/x86_64-unknown-linux-musl/release/list-connectors"
            )),
            "list-connectors (x86_64-unknown-linux-musl)"
        );
        assert_eq!(
            binary_label(Path::new("target/release/list-connectors")),
            "list-connectors"
        );
        assert_eq!(
            binary_label(Path::new("/work/main/target/release/hello-lambda")),
            "hello-lambda"
        );
        assert_eq!(binary_label(Path::new("bootstrap")), "bootstrap");
    }
}
