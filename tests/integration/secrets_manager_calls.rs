//! A warm container makes one Secrets Manager call for 1,000 requests: the real
//! `list-connectors` binary (built by `make test` before the tests run), driven through
//! the Runtime API stub against the emulator, its AWS calls counted by a proxy.
//!
//!     infra/dev/with-emulators.sh cargo test -p connector-health-bench

use benchkit::sm_count;

#[tokio::test]
async fn one_thousand_requests_on_a_warm_container_fetch_the_keys_once() {
    let endpoint = sm_count::emulator_endpoint();
    assert!(
        endpoint.is_ok(),
        "refusing to run without the local emulator: run under infra/dev/with-emulators.sh"
    );
    let binary = benchkit::sibling_binary("debug", "list-connectors")
        .or_else(|| benchkit::sibling_binary("release", "list-connectors"))
        .expect("the list-connectors binary is not built: run `cargo build -p list-connectors` (make test does)");

    let report = sm_count::run(&binary, 1000).await.unwrap();

    assert_eq!(report.statuses.get(&200), Some(&1000), "{report:?}");
    assert_eq!(report.get_secret_value_calls(), 1, "{report:?}");
    // The proxy did see the function's traffic: one table read per request.
    assert_eq!(
        report.aws_calls.get("DynamoDB_20120810.Scan"),
        Some(&1000),
        "{report:?}"
    );
}
