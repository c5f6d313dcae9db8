//! A warm container makes one Secrets Manager call for 1,000 requests: the real
//! `list-connectors` binary, driven through the Runtime API stub against the emulator, its
//! AWS calls counted by a proxy (`infra/bench`'s `sm-count`, as a test).

use benchkit::sm_count;
use testkit::binaries::binary;

#[tokio::test(flavor = "multi_thread")]
async fn one_thousand_requests_on_a_warm_container_fetch_the_keys_once() {
    let Some(endpoint) = testkit::endpoint() else {
        return;
    };
    let binary = binary("list-connectors");

    let report = sm_count::run(&binary, &endpoint, 1000).await.unwrap();

    assert_eq!(report.statuses.get(&200), Some(&1000), "{report:?}");
    assert_eq!(report.get_secret_value_calls(), 1, "{report:?}");
    // The proxy did see the function's traffic: one table read per request.
    assert_eq!(
        report.aws_calls.get("DynamoDB_20120810.Scan"),
        Some(&1000),
        "{report:?}"
    );
}
