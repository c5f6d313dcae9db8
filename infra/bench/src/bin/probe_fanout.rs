//! One probe cycle of a large fleet through the fan-out, simulated in virtual time (figures
//! for docs/performance.md): the real probe function and run, in-memory table and queue,
//! fake upstreams (log-normal answer times, a share hanging, a share answering HTTP 429),
//! and a simulated SQS event source mapping at each `MaximumConcurrency` asked for.
//!
//!     make probe-fanout
//!     cargo run --release -p connector-health-bench --bin probe-fanout -- \
//!         [--connectors 100000] [--concurrency 2,5,10,20,50,100] [--batch-size 256] \
//!         [--hanging 0.02] [--rate-limited 0.01] [--retry-after 30] [--median-ms 150] \
//!         [--public-registries-down 0] [--no-ramp] [--seed 1]
//!
//! A quarter of the connectors are spread over 4 public registries, the rest over private
//! hosts of about 20 connectors each; `--public-registries-down N` makes every connector on N
//! of the public registries hang (an outage).
//!
//! The function prints its own log's EMF lines on stdout; the table goes to stderr
//! (`make probe-fanout` keeps only the table).

use benchkit::fanout::{simulate, Deployment, Fleet, Report};
use benchkit::percentile;
use std::process::ExitCode;
use std::time::Duration;

struct Options {
    fleet: Fleet,
    concurrency: Vec<usize>,
    batch_size: usize,
    ramp: bool,
}

fn value<T: std::str::FromStr>(value: Option<String>, flag: &str) -> Result<T, String> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{flag} needs a number"))
}

fn share(value: Option<String>, flag: &str) -> Result<f64, String> {
    self::value::<f64>(value, flag)
        .ok()
        .filter(|s| (0.0..=1.0).contains(s))
        .ok_or_else(|| format!("{flag} needs a share from 0 to 1"))
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        fleet: Fleet::of(100_000),
        concurrency: vec![2, 5, 10, 20, 50, 100],
        batch_size: 256,
        ramp: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let f = &mut options.fleet;
        match arg.as_str() {
            "--connectors" => f.connectors = value(args.next(), "--connectors")?,
            "--concurrency" => {
                options.concurrency = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|c| c.trim().parse().ok().filter(|&c: &usize| c > 0))
                    .collect::<Option<Vec<_>>>()
                    .filter(|c| !c.is_empty())
                    .ok_or("--concurrency needs positive numbers separated by commas")?
            }
            "--batch-size" => options.batch_size = value(args.next(), "--batch-size")?,
            "--hanging" => f.hanging = share(args.next(), "--hanging")?,
            "--rate-limited" => f.rate_limited = share(args.next(), "--rate-limited")?,
            "--retry-after" => {
                f.retry_after = Duration::from_secs(value(args.next(), "--retry-after")?)
            }
            "--median-ms" => f.median = Duration::from_millis(value(args.next(), "--median-ms")?),
            "--seed" => f.seed = value(args.next(), "--seed")?,
            "--public-registries-down" => {
                f.popular_hosts_down = value(args.next(), "--public-registries-down")?
            }
            "--no-ramp" => options.ramp = false,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if options.fleet.connectors == 0 || options.batch_size == 0 {
        return Err("--connectors and --batch-size must be at least 1".into());
    }
    Ok(options)
}

fn secs(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64())
}

fn row(c: usize, r: &Report) -> String {
    let done = r
        .completed_after
        .map_or_else(|| format!("never ({} left)", r.never_written), secs);
    let within = r
        .completed_after
        .is_some_and(|d| d <= Duration::from_secs(300));
    let d = &r.worker_durations;
    format!(
        "| {c} | {done} | {} | {} | {} | {} | {} | {} / {} / {} | {:.0} |",
        if within { "yes" } else { "no" },
        r.worker_invocations,
        r.redeliveries,
        r.dead_lettered,
        r.peak_concurrency,
        secs(percentile(d, 0.5)),
        secs(percentile(d, 0.9)),
        secs(d.last().copied().unwrap_or_default()),
        r.gb_seconds,
    )
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("probe-fanout: {e}");
            return ExitCode::from(2);
        }
    };
    let f = &options.fleet;
    eprintln!(
        "{} connectors: answer median {} ms (log-normal, σ {}), {}% hanging, {}% HTTP 429 (Retry-After {} s), {} of {} public registries down; batches of {}; ramp {}",
        f.connectors,
        f.median.as_millis(),
        f.sigma,
        f.hanging * 100.0,
        f.rate_limited * 100.0,
        f.retry_after.as_secs(),
        f.popular_hosts_down,
        benchkit::fanout::POPULAR_HOSTS,
        options.batch_size,
        if options.ramp { "5 + 300 a minute" } else { "none" },
    );
    eprintln!();
    eprintln!("| C | every connector written after (s) | within 5 min | worker invocations | redeliveries | dead-lettered | peak workers | worker duration p50 / p90 / max (s) | GB-s |");
    eprintln!("|---|---|---|---|---|---|---|---|---|");
    let mut ok = true;
    for &c in &options.concurrency {
        let deployment = Deployment {
            batch_size: options.batch_size,
            ramp: options.ramp,
            ..Deployment::with_max_concurrency(c)
        };
        let started = std::time::Instant::now();
        let report = simulate(f, &deployment);
        eprintln!("{}", row(c, &report));
        if report.written_more_than_once > 0 {
            eprintln!(
                "  {} connectors were written more than once in the cycle",
                report.written_more_than_once
            );
            ok = false;
        }
        eprintln!(
            "  (scheduled invocation {} s, {} batches, {} claims, {} result writes, {} timed out; {:.1} s real time)",
            secs(report.schedule_duration),
            report.batches,
            report.claims,
            report.write_calls,
            report.timed_out,
            started.elapsed().as_secs_f64(),
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
