//! Secrets Manager calls made by N requests (default 1,000) on one warm container of the
//! real `list-connectors` binary, counted by a proxy in front of the emulator.
//!
//!     infra/devstack/scripts/with-emulators.sh cargo run --release -p connector-health-bench --bin sm-count -- [--requests 1000] [BINARY]
//!
//! Exits non-zero unless every answer is 200 and exactly one `GetSecretValue` was made.

use std::path::PathBuf;
use std::process::ExitCode;
use testkit::binaries::in_profile;

#[tokio::main]
async fn main() -> ExitCode {
    let mut requests = 1000usize;
    let mut binary = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--requests" {
            match args.next().and_then(|v| v.parse().ok()) {
                Some(n) if n > 0 => requests = n,
                _ => {
                    eprintln!("--requests needs a positive number");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            binary = Some(PathBuf::from(arg));
        }
    }
    let endpoint = match benchkit::local_endpoint() {
        Ok(url) => url,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(binary) = binary.or_else(|| in_profile("release", "list-connectors")) else {
        eprintln!("target/release/list-connectors not found: run `cargo build --release -p list-connectors` first, or name the binary");
        return ExitCode::FAILURE;
    };
    let report = match benchkit::sm_count::run(&binary, &endpoint, requests).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sm-count failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("binary: {}", binary.display());
    println!(
        "requests: {} in {:.2} s on one container",
        report.requests,
        report.elapsed.as_secs_f64()
    );
    println!("answers by status: {:?}", report.statuses);
    println!("AWS calls by X-Amz-Target: {:?}", report.aws_calls);
    println!("GetSecretValue calls: {}", report.get_secret_value_calls());
    let all_ok = report.statuses.get(&200).copied() == Some(requests as u64);
    if all_ok && report.get_secret_value_calls() == 1 {
        ExitCode::SUCCESS
    } else {
        eprintln!("FAIL: expected {requests} answers of 200 and exactly 1 GetSecretValue call");
        ExitCode::FAILURE
    }
}
