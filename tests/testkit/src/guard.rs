//! Tests that create and delete AWS resources only ever talk to the emulators on this
//! machine ([`shared::aws::is_local_endpoint`]), never to whatever account the environment
//! happens to point at.
//!
//! Where the emulators are not running (plain `cargo test`), such a test prints one line
//! saying how to run it and returns. With `CONNECTOR_HEALTH_REQUIRE_EMULATORS=1` (what
//! `make integration` and `make test` set) a missing or non-local endpoint is a failure
//! with that same line instead. Every test that needs something only `make` provides
//! (the emulators, the expanded template) goes through [`cannot_run`].

use shared::aws::is_local_endpoint;
use std::io::Write as _;

/// The one line a test that needs the emulators says when they are not there.
pub const HOW: &str = "needs the AWS emulators: run make integration, or \
infra/devstack/scripts/with-emulators.sh cargo test -p connector-health-integration";

/// Set to `1`, a test that cannot run here fails instead of returning.
pub const REQUIRE_VAR: &str = "CONNECTOR_HEALTH_REQUIRE_EMULATORS";

/// Whether a test that cannot run here must fail (`CONNECTOR_HEALTH_REQUIRE_EMULATORS=1`).
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| v.trim() == "1")
}

/// This test cannot run here, for the reason `line` gives: a failure with that line when
/// [`required`], otherwise the line (after the test's name) on stderr, past the test
/// harness's capture so plain `cargo test` shows it. Always `None`, for `let ... else`.
pub fn cannot_run<T>(line: &str) -> Option<T> {
    assert!(!required(), "{line}");
    let thread = std::thread::current();
    let mut err = std::io::stderr().lock();
    let _ = match thread.name() {
        Some(test) if test != "main" => writeln!(err, "{test}: {line}"),
        _ => writeln!(err, "{line}"),
    };
    None
}

/// The value of `name` when it is a local endpoint.
fn local_endpoint(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(url) if is_local_endpoint(&url) => Some(url),
        _ => cannot_run(HOW),
    }
}

/// The moto endpoint (`AWS_ENDPOINT_URL`), checked to be local.
pub fn endpoint() -> Option<String> {
    local_endpoint("AWS_ENDPOINT_URL")
}

/// The dynalite endpoint (`DYNALITE_ENDPOINT_URL`), checked to be local.
pub fn dynalite_endpoint() -> Option<String> {
    local_endpoint("DYNALITE_ENDPOINT_URL")
}

/// A variable `with-emulators.sh` exports besides the endpoints (`EMULATOR_PYTHON`,
/// `EMULATOR_SCRIPT`).
pub fn emulator_var(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => cannot_run(HOW),
    }
}
