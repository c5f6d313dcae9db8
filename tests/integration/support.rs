//! The shared test support itself: the fake registry, the demo CA, the benchmark
//! statistics and the probe fan-out simulation behave as the tests that rely on them assume.

use benchkit::fanout::{self, Answer, Deployment, Fleet};
use benchkit::soak::{KeyKind, Memory, Mix};
use benchkit::{median_p90, percentile};
use shared::adapters::http_prober::tls;
use std::time::Duration;
use testkit::pki::{DemoPki, PkiError};
use testkit::registry::{looks_like_http, FakeRegistry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[test]
fn only_a_method_token_starts_a_request() {
    for ok in [&b"GET / HTTP/1.1\r\n"[..], b"HEAD", b"G", b"OPTIONS *"] {
        assert!(looks_like_http(ok), "{ok:?}");
    }
    for bad in [&[0x16u8, 0x03, 0x01][..], b"get / HTTP/1.1", b"\r\nGET /"] {
        assert!(!looks_like_http(bad), "{bad:?}");
    }
}

async fn exchange(registry: &FakeRegistry, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(registry.addr()).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn head_gets_the_headers_only_and_each_request_is_kept_in_order() {
    let registry = FakeRegistry::feeds().await;
    let get = exchange(&registry, b"GET /generic/ HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let head = exchange(&registry, b"HEAD /generic/ HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(get.starts_with("HTTP/1.1 200 OK\r\n"), "{get}");
    assert!(get.ends_with("\r\n\r\nok\n"), "{get}");
    assert_eq!(head, get.trim_end_matches("ok\n"), "the same head, no body");
    assert!(head.contains("Content-Length: 3\r\n"), "{head}");
    let seen = registry.requests();
    assert_eq!(registry.request_count(), 2);
    assert!(seen[0].starts_with("GET /generic/ ") && seen[1].starts_with("HEAD /generic/ "));
}

#[tokio::test]
async fn bytes_that_are_not_http_get_400_and_are_not_a_request() {
    let registry = FakeRegistry::feeds().await;
    let answer = exchange(&registry, &[0x16, 0x03, 0x01, 0x02, 0x00]).await;
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert_eq!(registry.request_count(), 0);
}

#[test]
fn the_ca_is_the_only_root_and_names_must_be_dns_names_or_addresses() {
    let pki = DemoPki::new("test CA").unwrap();
    assert_eq!(pki.roots().len(), 1);
    assert!(tls::not_after(pki.ca_certificate()).is_some());
    for name in ["127.0.0.1", "registry.test"] {
        assert!(pki.server_config(name, (2020, 1, 1), (2099, 1, 1)).is_ok());
    }
    assert!(matches!(
        pki.server_config("é.test", (2020, 1, 1), (2099, 1, 1)),
        Err(PkiError::Certificate(_))
    ));
}

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

#[test]
fn percentiles_are_nearest_rank() {
    let sorted: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
    assert_eq!(percentile(&sorted, 0.5), Duration::from_millis(100));
    assert_eq!(percentile(&sorted, 0.99), Duration::from_millis(198));
    assert_eq!(percentile(&sorted, 1.0), Duration::from_millis(200));
    assert_eq!(
        percentile(&sorted[..1], 0.99),
        Duration::from_millis(1),
        "one sample is every percentile"
    );
    assert_eq!(percentile(&[], 0.5), Duration::ZERO);
}

#[test]
fn memory_is_read_from_proc_status() {
    let status = "Name:\tlist-connectors\nVmPeak:\t  30000 kB\nVmHWM:\t   19012 kB\nVmRSS:\t   18748 kB\nThreads:\t3\n";
    assert_eq!(
        Memory::parse(status),
        Some(Memory {
            rss_kb: 18748,
            hwm_kb: 19012
        })
    );
    assert_eq!(Memory::parse("VmRSS:\t1 kB\n"), None, "no VmHWM");
    let own = Memory::of(std::process::id()).expect("this process's own status");
    assert!(own.rss_kb > 0 && own.hwm_kb >= own.rss_kb, "{own:?}");
}

#[test]
fn the_soak_mix_is_spread_evenly_and_exact() {
    assert_eq!(Mix::parse("80/10/10"), Some(Mix::default()));
    for bad in ["80/10", "80/10/20", "a/b/c", "80/10/10/0"] {
        assert_eq!(Mix::parse(bad), None, "{bad}");
    }
    let run = |mix: Mix, n: usize| {
        let mut so_far = std::collections::BTreeMap::new();
        let mut order = Vec::new();
        for _ in 0..n {
            let kind = mix.next(&so_far);
            *so_far.entry(kind).or_insert(0u64) += 1;
            order.push(kind);
        }
        (so_far, order)
    };
    let (counts, order) = run(Mix::default(), 1_000);
    assert_eq!(counts[&KeyKind::Valid], 800);
    assert_eq!(counts[&KeyKind::Unknown], 100);
    assert_eq!(counts[&KeyKind::Missing], 100);
    for ten in order.chunks(10) {
        assert_eq!(
            ten.iter().filter(|k| **k == KeyKind::Valid).count(),
            8,
            "{ten:?}"
        );
    }
    let only = Mix::parse("0/100/0").unwrap();
    assert_eq!(
        run(only, 50).0.keys().collect::<Vec<_>>(),
        [&KeyKind::Unknown]
    );
}

#[test]
fn the_fanout_fleet_has_the_mix_asked_for() {
    let (answers, targets) = fanout::fleet(&Fleet::of(20_000));
    assert_eq!((answers.len(), targets.len()), (20_000, 20_000));
    let share = |p: fn(&Answer) -> bool| answers.iter().filter(|a| p(a)).count() as f64 / 20_000.0;
    let hanging = share(|a| matches!(a, Answer::Hang));
    let limited = share(|a| matches!(a, Answer::TooManyRequests(_)));
    assert!((0.017..0.023).contains(&hanging), "{hanging}");
    assert!((0.007..0.013).contains(&limited), "{limited}");
    let mut times: Vec<Duration> = answers
        .iter()
        .filter_map(|a| match a {
            Answer::Healthy(t) => Some(*t),
            _ => None,
        })
        .collect();
    times.sort();
    let median = percentile(&times, 0.5);
    assert!(
        (140..160).contains(&median.as_millis()),
        "median {median:?}"
    );
    assert_eq!(
        fanout::fleet(&Fleet::of(20_000)).0,
        answers,
        "one seed, one fleet"
    );
}

/// Every connector written exactly once in the cycle, nothing dead-lettered.
fn assert_each_written_once(r: &fanout::Report) {
    assert_eq!(r.written_once, u64::from(r.connectors), "{r:?}");
    assert_eq!((r.written_more_than_once, r.never_written), (0, 0), "{r:?}");
    assert_eq!(r.dead_lettered, 0, "{r:?}");
    assert!(r.completed_after.is_some(), "{r:?}");
}

#[test]
fn the_fanout_simulation_writes_each_connector_once_and_more_workers_finish_sooner() {
    let fleet = Fleet::of(2_000);
    let run = |c: usize| fanout::simulate(&fleet, &Deployment::with_max_concurrency(c));
    let (two, ten) = (run(2), run(10));
    for r in [&two, &ten] {
        assert_each_written_once(r);
        assert_eq!(r.batches, 8, "2,000 ids in batches of 256");
        assert_eq!(r.worker_invocations, 8 + r.redeliveries);
        assert_eq!(r.claims, 2_000);
        assert!(r.gb_seconds > 0.0);
    }
    assert!(two.peak_concurrency <= 2 && ten.peak_concurrency > 2);
    let (two_done, ten_done) = (two.completed_after.unwrap(), ten.completed_after.unwrap());
    assert!(
        ten_done * 2 < two_done,
        "C=10 {ten_done:?}, C=2 {two_done:?}"
    );
    // Each worker waits for its hanging connectors: two attempts of 10 s and the backoff.
    assert!(
        ten.worker_durations[0] >= Duration::from_millis(20_500),
        "{ten:?}"
    );
}

#[test]
fn the_fanout_simulation_delivers_an_unfinished_batch_again_after_the_visibility_timeout() {
    // Half the connectors hang, each on a host of its own: a batch of 1,000 cannot be
    // finished in 60 s (500 × 20.5 s over 128 slots), so its message comes back and the
    // rest is probed then.
    let fleet = Fleet {
        hanging: 0.5,
        popular_share: 0.0,
        connectors_per_private_host: 1,
        ..Fleet::of(2_000)
    };
    let deployment = Deployment {
        batch_size: 1_000,
        ..Deployment::with_max_concurrency(10)
    };
    let r = fanout::simulate(&fleet, &deployment);
    assert_each_written_once(&r);
    assert!(r.redeliveries >= 2, "{r:?}");
    assert_eq!(r.worker_invocations, 2 + r.redeliveries);
    assert!(
        r.completed_after.unwrap() > deployment.visibility_timeout,
        "{r:?}"
    );
    assert!(r.claims > 2_000, "a redelivery claims what was left: {r:?}");
    assert_eq!(
        r.timed_out, 0,
        "the run returns before the function's timeout"
    );
}
