//! Cold-start timing: spawn → first Runtime API `invocation/next`, for the hello-world
//! baseline and each function binary, interleaved, after warm-up runs.
//!
//!     cargo build --release -p list-connectors -p get-connector -p probe-connectors -p status-page -p hello-lambda
//!     cargo run --release -p connector-health-bench --bin cold-start -- [--runs 30] [--env K=V]... [BINARY...]
//!     infra/devstack/scripts/with-emulators.sh target/release/cold-start --first-invocation [--runs 30] [BINARY...]
//!
//! Without BINARY arguments it measures `hello-lambda`, `list-connectors`, `get-connector`,
//! `probe-connectors` and `status-page` from the release target dir. The first binary is the baseline of
//! the ratio column. AWS clients point at http://127.0.0.1:9: init must not call the
//! network. `--env NAME=VALUE` adds a variable to every binary's (otherwise fixed)
//! environment.
//!
//! `--first-invocation` also times each container's first two invocations, against the
//! local emulator (`AWS_ENDPOINT_URL`): a table with three connectors and one that points
//! at a registry on 127.0.0.1, and a key secret. Each binary gets the event it serves:
//! a list request, a get request, a probe of the local connector, `GET /status` for the
//! status page, `{}` for hello-lambda.
//! The difference between the first and the second invocation is what the first request
//! pays for work put off at init.

#[path = "cold_start/first_invocations.rs"]
mod first_invocations;

use benchkit::cold_start;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use testkit::binaries::in_profile;
use testkit::runtime_api::RuntimeApi;

const WARM_UP_ROUNDS: usize = 3;
const DEFAULT_BINARIES: [&str; 5] = [
    "hello-lambda",
    "list-connectors",
    "get-connector",
    "probe-connectors",
    "status-page",
];

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut runs = 30usize;
    let mut binaries = Vec::new();
    let mut extra_env = Vec::new();
    let mut first_invocation = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--first-invocation" {
            first_invocation = true;
        } else if arg == "--runs" {
            match args.next().and_then(|v| v.parse().ok()) {
                Some(n) if n > 0 => runs = n,
                _ => {
                    eprintln!("--runs needs a positive number");
                    return ExitCode::FAILURE;
                }
            }
        } else if arg == "--env" {
            match args.next().as_deref().and_then(|kv| kv.split_once('=')) {
                Some((k, v)) => extra_env.push((k.to_owned(), v.to_owned())),
                None => {
                    eprintln!("--env needs NAME=VALUE");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            binaries.push(PathBuf::from(arg));
        }
    }
    if binaries.is_empty() {
        for name in DEFAULT_BINARIES {
            match in_profile("release", name) {
                Some(path) => binaries.push(path),
                None => {
                    eprintln!("target/release/{name} not found: run `cargo build --release -p list-connectors -p get-connector -p probe-connectors -p status-page -p hello-lambda` first");
                    return ExitCode::FAILURE;
                }
            }
        }
    }

    if first_invocation {
        return match first_invocations::measure(&binaries, runs, &extra_env).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }

    let api = RuntimeApi::start("bench").await;
    let mut vars: Vec<(&str, &str)> = cold_start::FUNCTION_VARS.to_vec();
    vars.extend(extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut samples = vec![Vec::with_capacity(runs); binaries.len()];
    for round in 0..WARM_UP_ROUNDS + runs {
        for (i, binary) in binaries.iter().enumerate() {
            match cold_start::once(&api, binary, &vars).await {
                Ok(d) if round >= WARM_UP_ROUNDS => samples[i].push(d),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("{}: {e}", binary.display());
                    return ExitCode::FAILURE;
                }
            }
        }
    }

    println!("cold start (spawn -> first invocation/next), {runs} runs each after {WARM_UP_ROUNDS} warm-up rounds, interleaved");
    println!(
        "{:<46} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "binary", "min ms", "median ms", "p90 ms", "max ms", "ratio"
    );
    let base = benchkit::median_p90(&samples[0]).0;
    for (binary, s) in binaries.iter().zip(&samples) {
        let (median, p90) = benchkit::median_p90(s);
        println!(
            "{:<46} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>7.2}x",
            benchkit::binary_label(binary),
            ms(s.iter().copied().min().unwrap_or_default()),
            ms(median),
            ms(p90),
            ms(s.iter().copied().max().unwrap_or_default()),
            median.as_secs_f64() / base.as_secs_f64().max(f64::MIN_POSITIVE),
        );
    }
    ExitCode::SUCCESS
}
