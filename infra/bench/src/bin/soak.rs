//! Soak: one warm container of the real `list-connectors` binary for N invocations
//! (default 100,000) against the emulator: 100 connector rows; 80 % valid, 10 % unknown and
//! 10 % missing API keys (`--mix 80/10/10`), spread evenly through the run. Reports unexpected answers, the handler time (p50, p99, max) and
//! the process's VmRSS/VmHWM at the start, after the warm-up and at the end.
//!
//!     make soak                                  # the deployed (musl) build, 100,000 invocations
//!     make soak SOAK_INVOCATIONS=5000            # a quick run
//!     make soak SOAK_BINARY=target/release/list-connectors   # the glibc build
//!     infra/devstack/scripts/with-emulators.sh target/release/soak [--invocations N] [--warm-up N] [--mix V/U/M] [--max-minutes M] [--connectors N] [--dynamodb-on-dynalite] [BINARY]
//!
//! BINARY defaults to `target/release/list-connectors` (the glibc build); `make soak` passes
//! the musl build, `target/<arch>-unknown-linux-musl/release/list-connectors`.
//!
//! `--dynamodb-on-dynalite` puts the table on dynalite (the key secret stays on moto): moto's
//! Scan of 100 rows takes about 40 ms on the development machine, which limits a run on moto
//! to about 25 invocations a second.
//!
//! Exits non-zero when any answer is not the expected one (200 with every row for a
//! valid key, 403 otherwise) or the process fails.

use benchkit::soak::{self, KeyKind, Memory, Mix, Options, Report};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use testkit::binaries::in_profile;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn positive(value: Option<String>, flag: &str) -> Result<usize, String> {
    value
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .ok_or_else(|| format!("{flag} needs a positive number"))
}

fn parse_args() -> Result<(Options, Option<PathBuf>), String> {
    let mut invocations = 100_000;
    let mut warm_up = None;
    let mut time_limit = None;
    let mut mix = Mix::default();
    let mut binary = None;
    let mut dynamodb = None;
    let mut connectors = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--invocations" => invocations = positive(args.next(), "--invocations")?,
            "--warm-up" => {
                warm_up = Some(
                    args.next()
                        .and_then(|v| v.parse::<usize>().ok())
                        .ok_or("--warm-up needs a number")?,
                )
            }
            "--mix" => {
                mix = args
                    .next()
                    .as_deref()
                    .and_then(Mix::parse)
                    .ok_or("--mix needs VALID/UNKNOWN/MISSING percentages adding up to 100")?
            }
            "--max-minutes" => {
                let minutes = positive(args.next(), "--max-minutes")?;
                time_limit = Some(Duration::from_secs(60 * minutes as u64));
            }
            "--connectors" => {
                connectors = Some(
                    u32::try_from(positive(args.next(), "--connectors")?)
                        .map_err(|_| "--connectors is too large")?,
                )
            }
            "--dynamodb-on-dynalite" => {
                dynamodb = Some(std::env::var("DYNALITE_ENDPOINT_URL").map_err(|_| {
                    "--dynamodb-on-dynalite needs DYNALITE_ENDPOINT_URL (run under with-emulators.sh)"
                })?)
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ => binary = Some(PathBuf::from(arg)),
        }
    }
    let mut options = Options::new(invocations);
    if let Some(n) = warm_up {
        if n >= invocations {
            return Err("--warm-up must be below --invocations".into());
        }
        options.warm_up = n;
    }
    options.time_limit = time_limit;
    options.mix = mix;
    options.dynamodb_endpoint = dynamodb;
    if let Some(n) = connectors {
        options.connectors = n;
    }
    Ok((options, binary))
}

fn memory(m: Memory) -> String {
    format!("VmRSS {:>7} kB, VmHWM {:>7} kB", m.rss_kb, m.hwm_kb)
}

fn print(report: &Report, binary: &std::path::Path) {
    let o = &report.options;
    println!("binary: {}", binary.display());
    println!(
        "one container, {} connector rows, keys: {} % valid, {} % unknown, {} % missing",
        o.connectors, o.mix.valid, o.mix.unknown, o.mix.missing
    );
    println!(
        "table on: {}",
        o.dynamodb_endpoint
            .as_deref()
            .map_or("moto (with the key secret)", |_| {
                "dynalite (the key secret on moto)"
            })
    );
    let secs = report.elapsed.as_secs_f64();
    println!(
        "invocations: {} in {secs:.1} s ({:.0}/s){}",
        report.done,
        report.done as f64 / secs.max(f64::MIN_POSITIVE),
        if report.stopped_early() {
            format!(
                "; STOPPED by --max-minutes after {} of the {} asked for",
                report.done, o.invocations
            )
        } else {
            String::new()
        }
    );
    let answers: Vec<String> = report
        .answers
        .iter()
        .map(|((kind, status), n)| format!("{} {status}: {n}", kind.label()))
        .collect();
    println!("answers: {}", answers.join(", "));
    println!("unexpected answers: {}", report.unexpected);
    for example in &report.unexpected_examples {
        println!("  {example}");
    }
    println!(
        "handler time (event handed out through invocation/next -> response posted), after {} warm-up invocations, ms:",
        o.warm_up
    );
    println!(
        "  {:<12} {:>8} {:>9} {:>9} {:>9}",
        "key", "count", "p50", "p99", "max"
    );
    let row = |label: &str, times: &soak::Times| {
        let (p50, p99, max) = times.p50_p99_max();
        println!(
            "  {label:<12} {:>8} {:>9.3} {:>9.3} {:>9.3}",
            times.0.len(),
            ms(p50),
            ms(p99),
            ms(max)
        );
    };
    for kind in KeyKind::ALL {
        if let Some(times) = report.times.get(&kind) {
            row(kind.label(), times);
        }
    }
    row("all", &report.all_times());
    println!(
        "first invocation (loads the key document): {:.3} ms",
        ms(report.first)
    );
    println!("memory at start:          {}", memory(report.memory_start));
    println!("memory after warm-up:     {}", memory(report.memory_warm));
    println!("memory at the end:        {}", memory(report.memory_end));
    let growth = report.memory_end.rss_kb as i64 - report.memory_warm.rss_kb as i64;
    println!(
        "VmRSS change after warm-up: {growth:+} kB ({:+.1} %)",
        growth as f64 * 100.0 / report.memory_warm.rss_kb.max(1) as f64
    );
}

#[tokio::main]
async fn main() -> ExitCode {
    let (options, binary) = match parse_args() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!(
                "{e}\nusage: soak [--invocations N] [--warm-up N] [--mix V/U/M] [--max-minutes M] [--connectors N] [--dynamodb-on-dynalite] [BINARY]"
            );
            return ExitCode::FAILURE;
        }
    };
    let endpoint = match benchkit::local_endpoint() {
        Ok(url) => url,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(binary) = binary.or_else(|| in_profile("release", "list-connectors")) else {
        eprintln!("target/release/list-connectors not found: run `make soak`, or name the binary");
        return ExitCode::FAILURE;
    };
    let report = match soak::run(&binary, &endpoint, options).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("soak failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    print(&report, &binary);
    if report.unexpected == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("FAIL: {} unexpected answers", report.unexpected);
        ExitCode::FAILURE
    }
}
