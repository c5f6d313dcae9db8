//! The shared test support itself: the fake registry, the demo CA and the benchmark
//! statistics behave as the tests that rely on them assume.

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
