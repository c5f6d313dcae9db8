//! The HTTP prober against real servers on 127.0.0.1 (plain and TLS with certificates made
//! here): for each case, the verdict and the exact message an operator would read.
//! Host names are mapped to 127.0.0.1 by the injected resolver; no test uses real DNS.

use rustls::RootCertStore;
use shared::adapters::http_prober::{HttpProber, StaticResolver};
use shared::domain::{ConnectorId, FeedType};
use shared::ports::Prober;
use shared::probe::outcome::{FailureKind, ProbeOutcome};
use shared::probe::schedule::HostKey;
use shared::probe::target::ProbeTarget;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use testkit::pki::{Date, DemoPki};
use testkit::registry::{
    feeds, loopback_prober as prober, prober as prober_with, refused_port, reply, Action,
    FakeRegistry, FEEDS,
};
use tokio::net::{TcpSocket, TcpStream};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const TIMEOUT: Duration = Duration::from_millis(500);

fn target(url: &str, feed: FeedType) -> ProbeTarget {
    ProbeTarget::new(ConnectorId::new(1).unwrap(), url, feed)
}

async fn probe(p: &HttpProber, url: &str, feed: FeedType) -> ProbeOutcome {
    p.probe(&target(url, feed), TIMEOUT).await
}

fn message(outcome: &ProbeOutcome) -> &str {
    match &outcome.verdict {
        Ok(()) => panic!("expected a failure, got healthy: {outcome:?}"),
        Err(f) => &f.message,
    }
}

/// Probes `server` as the npm registry `https://registry.test:PORT/npm`.
async fn probe_npm(p: &HttpProber, server: &FakeRegistry) -> ProbeOutcome {
    probe(p, &server.https_url("registry.test", "/npm"), FeedType::Npm).await
}

fn assert_healthy(outcome: &ProbeOutcome) {
    assert!(outcome.verdict.is_ok(), "expected healthy, got {outcome:?}");
}

#[tokio::test]
async fn a_healthy_registry_of_each_feed_type_is_healthy() {
    let server = FakeRegistry::feeds().await;
    let p = prober();
    for feed_type in FeedType::ALL {
        assert!(
            FEEDS.iter().any(|f| f.feed_type == feed_type),
            "{feed_type:?} is served"
        );
    }
    for f in FEEDS {
        let (path, feed) = (f.path, f.feed_type);
        let outcome = probe(&p, &server.url(path), feed).await;
        assert!(outcome.verdict.is_ok(), "{feed:?} at {path}: {outcome:?}");
        assert!(outcome.observed.response_time.is_some());
    }
    let seen = server.requests();
    assert!(seen.iter().all(|h| h.contains(&format!(
        "user-agent: connector-health/{}\r\n",
        env!("CARGO_PKG_VERSION")
    ))));
    let pypi = seen.iter().find(|h| h.contains("/pypi/")).unwrap();
    assert!(pypi.contains("accept: application/vnd.pypi.simple.v1+json"));
    assert!(seen.iter().any(|h| h.starts_with("HEAD /maven2/ ")));
}

#[tokio::test]
async fn wrong_answers_are_named_per_feed_type() {
    let server = FakeRegistry::start(|r| match r.path() {
        "/v3/index.json" => reply("200 OK", &[], "<html>maintenance</html>"),
        _ => reply("404 Not Found", &[], ""),
    })
    .await;
    let p = prober();
    let o = probe(&p, &server.url("/v3/index.json"), FeedType::NuGet).await;
    assert_eq!(message(&o), "Response is not a NuGet v3 service index.");
    let o = probe(&p, &server.url("/"), FeedType::Docker).await;
    assert_eq!(
        message(&o),
        format!(
            "Registry at http://127.0.0.1:{}/ does not implement the Docker registry v2 API (HTTP 404).",
            server.port()
        )
    );
    // Neither the default project nor the index.
    let o = probe(&p, &server.url("/"), FeedType::PyPi).await;
    assert_eq!(
        message(&o),
        "PyPI project sampleproject is not on this feed (HTTP 404); the index /simple/ failed: HTTP 404 Not Found."
    );
    assert_eq!(o.observed.http_status, Some(404));
}

#[tokio::test]
async fn an_unavailable_registry_reports_its_status() {
    let server = FakeRegistry::start(|_| reply("503 Service Unavailable", &[], "down")).await;
    let o = probe(&prober(), &server.url("/"), FeedType::Generic).await;
    assert_eq!(message(&o), "HTTP 503 Service Unavailable.");
    assert_eq!(o.observed.http_status, Some(503));
    assert!(o.is_transient_failure());
}

#[tokio::test]
async fn a_registry_that_never_answers_times_out() {
    let server = FakeRegistry::hanging().await;
    let started = Instant::now();
    let o = probe(&prober(), &server.url("/"), FeedType::Generic).await;
    assert_eq!(
        message(&o),
        format!("No response from 127.0.0.1:{} within 0.5 s.", server.port())
    );
    assert!(o.is_transient_failure());
    assert!(started.elapsed() < TIMEOUT + Duration::from_secs(2));
}

#[tokio::test]
async fn a_refused_connection_names_host_and_port() {
    let port = refused_port().await.unwrap();
    let o = probe(
        &prober(),
        &format!("http://127.0.0.1:{port}/"),
        FeedType::Generic,
    )
    .await;
    assert_eq!(
        message(&o),
        format!("Connection refused by 127.0.0.1:{port}.")
    );
    assert!(!o.is_transient_failure());
}

#[tokio::test]
async fn a_listener_whose_accept_queue_is_full_times_out_while_connecting() {
    // Given a listener with a backlog of 1 that never accepts, its queue filled with plain
    // connections until one more stalls: Linux drops further SYNs, so a connect hangs.
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(LOCALHOST, 0)).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => queued.push(stream),
            Ok(Err(e)) => panic!("filling the accept queue: {e}"),
            Err(_) => break,
        }
        assert!(queued.len() < 16, "the accept queue never filled");
    }

    // When it is probed
    let started = Instant::now();
    let o = probe(
        &prober(),
        &format!("http://127.0.0.1:{}/", addr.port()),
        FeedType::Generic,
    )
    .await;

    // Then the timeout names the connect phase
    assert_eq!(message(&o), "Connection timed out after 0.5 s.");
    assert!(o.is_transient_failure());
    assert!(started.elapsed() < TIMEOUT + Duration::from_secs(2));
    drop(listener);
}

#[tokio::test]
async fn a_body_that_stops_dripping_times_out() {
    let server = FakeRegistry::start(|_| {
        Action::Stall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"vers".to_vec())
    })
    .await;
    let o = probe(&prober(), &server.url("/v3/index.json"), FeedType::NuGet).await;
    assert_eq!(
        message(&o),
        "Timed out after 0.5 s reading the response from 127.0.0.1."
    );
    assert_eq!(o.observed.http_status, Some(200));
}

#[tokio::test]
async fn a_reset_mid_response_is_a_reset() {
    let server = FakeRegistry::start(|_| {
        Action::ResetAfter(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"version\":".to_vec())
    })
    .await;
    let o = probe(&prober(), &server.url("/v3/index.json"), FeedType::NuGet).await;
    assert_eq!(
        message(&o),
        format!("Connection reset by 127.0.0.1:{}.", server.port())
    );
    assert!(o.is_transient_failure());
}

#[tokio::test]
async fn a_reset_before_any_response_is_a_reset() {
    let server = FakeRegistry::start(|_| Action::ResetAfter(Vec::new())).await;
    let o = probe(&prober(), &server.url("/"), FeedType::Generic).await;
    assert_eq!(
        message(&o),
        format!("Connection reset by 127.0.0.1:{}.", server.port())
    );
}

#[tokio::test]
async fn a_redirect_loop_stops_after_five_redirects_and_keeps_no_cookies() {
    let server = FakeRegistry::start(|_| {
        reply(
            "302 Found",
            &[("Location", "/loop"), ("Set-Cookie", "session=abc")],
            "",
        )
    })
    .await;
    let o = probe(&prober(), &server.url("/loop"), FeedType::Generic).await;
    assert_eq!(message(&o), "Too many redirects (more than 5).");
    let seen = server.requests();
    assert_eq!(seen.len(), 6, "the first request and five redirects");
    assert!(seen
        .iter()
        .all(|h| !h.to_ascii_lowercase().contains("cookie")));
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_cap() {
    let server = FakeRegistry::start(|r| match r.path() {
        "/5" => reply("200 OK", &[], "ok"),
        p => {
            let next: u32 = p.trim_start_matches('/').parse().unwrap_or(0) + 1;
            reply(
                "301 Moved Permanently",
                &[("Location", &format!("/{next}"))],
                "",
            )
        }
    })
    .await;
    let o = probe(&prober(), &server.url("/0"), FeedType::Generic).await;
    assert_healthy(&o);
    assert_eq!(server.requests().len(), 6);
}

#[tokio::test]
async fn a_huge_body_is_not_read_past_the_limit() {
    let server = FakeRegistry::start(|_| {
        Action::Endless(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
                .to_vec(),
        )
    })
    .await;
    let o = probe(&prober(), &server.url("/v3/index.json"), FeedType::NuGet).await;
    assert_eq!(message(&o), "Response from 127.0.0.1 is larger than 1 MiB.");
    // A check that needs no body does not read it at all.
    let o = probe(&prober(), &server.url("/"), FeedType::Generic).await;
    assert_healthy(&o);
}

#[tokio::test]
async fn a_declared_huge_body_is_refused_without_reading_it() {
    let server = FakeRegistry::start(|_| {
        Action::Stall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\n\r\n".to_vec())
    })
    .await;
    let o = probe(&prober(), &server.url("/v3/index.json"), FeedType::NuGet).await;
    assert_eq!(message(&o), "Response from 127.0.0.1 is larger than 1 MiB.");
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_a_dns_failure() {
    let o = probe(&prober(), "https://registry.nowhere.test/", FeedType::Npm).await;
    assert_eq!(message(&o), "DNS lookup failed for registry.nowhere.test.");
    assert_eq!(o.verdict.as_ref().unwrap_err().kind, FailureKind::Dns);
}

#[tokio::test]
async fn metadata_and_link_local_addresses_are_never_probed() {
    let p = prober_with(
        StaticResolver::new().with("metadata.test", ["169.254.169.254".parse().unwrap()]),
        RootCertStore::empty(),
        true,
    );
    let o = probe(
        &p,
        "http://metadata.test/latest/meta-data/",
        FeedType::Generic,
    )
    .await;
    assert_eq!(
        message(&o),
        "Refused to probe metadata.test: it resolves to 169.254.169.254, a link-local or instance-metadata address, which is never probed."
    );
    let o = probe(&p, "http://[fd00:ec2::254]/", FeedType::Generic).await;
    assert_eq!(
        message(&o),
        "Refused to probe fd00:ec2::254: the instance-metadata address, which is never probed."
    );
    // Not even through a redirect from an allowed registry.
    let server = FakeRegistry::start(|_| {
        reply(
            "302 Found",
            &[("Location", "http://169.254.169.254/latest/meta-data/")],
            "",
        )
    })
    .await;
    let o = probe(&p, &server.url("/"), FeedType::Generic).await;
    assert_eq!(
        message(&o),
        "Refused to probe 169.254.169.254: a link-local or instance-metadata address, which is never probed."
    );
}

#[tokio::test]
async fn loopback_is_probed_only_when_allowed() {
    let server = FakeRegistry::start(|_| reply("200 OK", &[], "")).await;
    let p = prober_with(
        StaticResolver::new().with("local.test", [LOCALHOST]),
        RootCertStore::empty(),
        false,
    );
    let o = probe(
        &p,
        &format!("http://local.test:{}/", server.port()),
        FeedType::Generic,
    )
    .await;
    assert_eq!(
        message(&o),
        "Refused to probe local.test: it resolves to 127.0.0.1, a loopback address; set PROBE_ALLOW_PRIVATE_NETWORKS to probe loopback and private addresses."
    );
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn credentials_in_the_url_are_sent_but_never_shown() {
    let server = FakeRegistry::start(|_| reply("404 Not Found", &[], "")).await;
    let url = format!(
        "http://deploy:s3cret@127.0.0.1:{}/?token=t0ken",
        server.port()
    );
    let o = probe(&prober(), &url, FeedType::Docker).await;
    let text = message(&o);
    assert!(
        !text.contains("s3cret") && !text.contains("deploy") && !text.contains("t0ken"),
        "{text}"
    );
    assert!(text.starts_with(&format!("Registry at http://127.0.0.1:{}/ ", server.port())));
    // deploy:s3cret, Basic-encoded
    assert!(server.requests()[0].contains("authorization: Basic ZGVwbG95OnMzY3JldA=="));
}

/// A CA (testkit's demo CA), TLS servers signed by it, and a prober trusting it that
/// maps `registry.test` to 127.0.0.1.
struct Pki {
    roots: RootCertStore,
    ca: DemoPki,
}

impl Pki {
    fn new(ca_name: &str) -> Self {
        let ca = DemoPki::new(ca_name).unwrap();
        Self {
            roots: ca.roots(),
            ca,
        }
    }

    /// A registry of every feed type over TLS, presenting a certificate for `name`.
    async fn registry(&self, name: &str, not_before: Date, not_after: Date) -> FakeRegistry {
        let acceptor = self.ca.acceptor(name, not_before, not_after).unwrap();
        FakeRegistry::start_tls(acceptor, feeds).await
    }

    fn prober(&self) -> HttpProber {
        prober_with(
            StaticResolver::new().with("registry.test", [LOCALHOST]),
            self.roots.clone(),
            true,
        )
    }
}

#[tokio::test]
async fn a_valid_certificate_is_healthy_and_its_expiry_recorded() {
    let pki = Pki::new("connector-health test CA");
    let server = pki
        .registry("registry.test", (2020, 1, 1), (2099, 3, 4))
        .await;
    let o = probe_npm(&pki.prober(), &server).await;
    assert_healthy(&o);
    assert_eq!(
        o.observed.certificate_expires_at.map(|t| t.to_rfc3339()),
        Some("2099-03-04T00:00:00+00:00".to_string())
    );
}

#[tokio::test]
async fn an_expired_certificate_says_when_it_expired() {
    let pki = Pki::new("connector-health test CA");
    let server = pki
        .registry("registry.test", (2019, 1, 1), (2020, 1, 1))
        .await;
    let o = probe_npm(&pki.prober(), &server).await;
    assert_eq!(
        message(&o),
        "TLS certificate for registry.test expired on 2020-01-01."
    );
    assert!(!o.is_transient_failure());
}

#[tokio::test]
async fn a_certificate_for_another_host_is_rejected() {
    let pki = Pki::new("connector-health test CA");
    let server = pki.registry("other.test", (2020, 1, 1), (2099, 1, 1)).await;
    let o = probe_npm(&pki.prober(), &server).await;
    assert_eq!(
        message(&o),
        "TLS certificate is not valid for registry.test."
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_rejected() {
    let pki = Pki::new("connector-health test CA");
    let server = pki
        .registry("registry.test", (2020, 1, 1), (2099, 1, 1))
        .await;
    let stranger = prober_with(
        StaticResolver::new().with("registry.test", [LOCALHOST]),
        Pki::new("a stranger's CA").roots,
        true,
    );
    let o = probe_npm(&stranger, &server).await;
    assert_eq!(
        message(&o),
        "TLS certificate for registry.test is not trusted (unknown issuer)."
    );
}

#[tokio::test]
async fn plain_http_on_a_tls_url_is_named() {
    // A plain HTTP registry answers a TLS ClientHello 400 and closes.
    let server = FakeRegistry::feeds().await;
    let p = prober_with(
        StaticResolver::new().with("registry.test", [LOCALHOST]),
        RootCertStore::empty(),
        true,
    );
    let o = probe_npm(&p, &server).await;
    assert_eq!(
        message(&o),
        "TLS handshake with registry.test failed: the server does not speak TLS on this port."
    );
}

/// A registry answering every request `429 Too Many Requests`, with these headers.
async fn rate_limiting(headers: &[(&str, &str)]) -> FakeRegistry {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    FakeRegistry::start(move |_| {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        reply("429 Too Many Requests", &headers, "slow down")
    })
    .await
}

#[tokio::test]
async fn a_rate_limit_names_the_host_and_its_retry_after_in_seconds() {
    let server = rate_limiting(&[("Retry-After", "30")]).await;
    let o = probe(&prober(), &server.url("/"), FeedType::Generic).await;
    assert_eq!(
        message(&o),
        "Rate limited by 127.0.0.1 (HTTP 429); retry after 30 s."
    );
    assert_eq!(o.observed.http_status, Some(429));
    assert!(!o.is_transient_failure(), "not retried within the run");
    let limit = o.rate_limit().expect("a typed rate limit");
    assert_eq!(
        limit.key,
        HostKey::Host("127.0.0.1".into(), server.port()),
        "the run holds back this host"
    );
    assert_eq!(limit.retry_after, Some(Duration::from_secs(30)));
}

#[tokio::test]
async fn a_rate_limit_until_an_http_date_counts_the_seconds_to_it() {
    let in_two_minutes = (chrono::Utc::now() + chrono::Duration::seconds(120))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let server = rate_limiting(&[("Retry-After", &in_two_minutes)]).await;
    let o = probe(&prober(), &server.url("/"), FeedType::Npm).await;
    let after = o.rate_limit().and_then(|l| l.retry_after).expect("parsed");
    assert!(
        (Duration::from_secs(115)..=Duration::from_secs(120)).contains(&after),
        "{after:?}"
    );
    assert_eq!(
        message(&o),
        format!(
            "Rate limited by 127.0.0.1 (HTTP 429); retry after {} s.",
            after.as_secs_f64().ceil()
        )
    );
}

#[tokio::test]
async fn a_rate_limit_without_a_usable_retry_after_says_so_and_names_the_host() {
    let p = prober_with(
        StaticResolver::new().with("registry.test", [LOCALHOST]),
        RootCertStore::empty(),
        true,
    );
    for headers in [&[][..], &[("Retry-After", "whenever")][..]] {
        let server = rate_limiting(headers).await;
        let url = format!("http://Registry.test:{}/feed", server.port());
        let o = probe(&p, &url, FeedType::Generic).await;
        assert_eq!(message(&o), "Rate limited by registry.test (HTTP 429).");
        let limit = o.rate_limit().expect("a typed rate limit");
        assert_eq!(limit.retry_after, None);
        assert_eq!(
            limit.key,
            HostKey::Host("registry.test".into(), server.port())
        );
    }
}

/// A PyPI simple page: PEP 691 JSON or PEP 503 HTML, of a project or of the index.
fn simple_page(json: bool, project: Option<&str>) -> Action {
    match (json, project) {
        (true, Some(p)) => reply(
            "200 OK",
            &[("Content-Type", "application/vnd.pypi.simple.v1+json")],
            &format!(r#"{{"meta":{{"api-version":"1.1"}},"name":"{p}","files":[]}}"#),
        ),
        (true, None) => reply(
            "200 OK",
            &[("Content-Type", "application/vnd.pypi.simple.v1+json")],
            r#"{"meta":{"api-version":"1.1"},"projects":[{"name":"acme-tools"}]}"#,
        ),
        (false, Some(p)) => reply(
            "200 OK",
            &[("Content-Type", "text/html")],
            &format!("<!DOCTYPE html><html><body><a href=\"../../packages/{p}-1.0.tar.gz\">{p}-1.0.tar.gz</a></body></html>"),
        ),
        (false, None) => reply(
            "200 OK",
            &[("Content-Type", "text/html; charset=utf-8")],
            "<html><head><title>Simple Index</title></head><body><a href=\"acme-tools/\">acme-tools</a></body></html>",
        ),
    }
}

/// A prober resolving `private.test` and `pypi.test` to 127.0.0.1.
fn two_host_prober() -> HttpProber {
    prober_with(
        StaticResolver::new()
            .with("private.test", [LOCALHOST])
            .with("pypi.test", [LOCALHOST]),
        RootCertStore::empty(),
        true,
    )
}

#[tokio::test]
async fn a_private_pypi_index_sending_unknown_projects_elsewhere_is_judged_by_its_own_index() {
    // Given pypi.org's stand-in, healthy for every project ...
    let public = FakeRegistry::start(|r| simple_page(true, r.path().split('/').nth(2))).await;
    let elsewhere = format!("http://pypi.test:{}/simple/sampleproject/", public.port());
    let p = two_host_prober();
    // ... and private indexes that redirect an unknown project there (as pypiserver does),
    // whose own index answers HTML, JSON, or 503.
    for (index, verdict) in [
        (simple_page(false, None), None),
        (simple_page(true, None), None),
        (
            reply("503 Service Unavailable", &[], "down"),
            Some("HTTP 503 Service Unavailable."),
        ),
        (
            reply("200 OK", &[("Content-Type", "text/plain")], "ok"),
            Some("Response is not a PyPI simple index page."),
        ),
    ] {
        let (to, index) = (elsewhere.clone(), index.clone());
        let private = FakeRegistry::start(move |r| match r.path() {
            "/simple/" => index.clone(),
            _ => reply("303 See Other", &[("Location", &to)], ""),
        })
        .await;
        // When it is probed with its root URL
        let url = format!("http://private.test:{}/", private.port());
        let o = probe(&p, &url, FeedType::PyPi).await;
        // Then its own index decides, and the other host was never asked.
        match verdict {
            None => assert_healthy(&o),
            Some(why) => {
                assert_eq!(
                    message(&o),
                    format!("PyPI project sampleproject redirects to pypi.test (another host); the index /simple/ on private.test failed: {why}")
                );
            }
        }
        let asked: Vec<String> = private
            .requests()
            .iter()
            .map(|h| h.lines().next().unwrap_or("").to_owned())
            .collect();
        assert_eq!(
            asked,
            [
                "GET /simple/sampleproject/ HTTP/1.1",
                "GET /simple/ HTTP/1.1"
            ]
        );
    }
    assert_eq!(public.request_count(), 0, "pypi.org never judges the feed");
}

#[tokio::test]
async fn a_hosted_pypi_index_without_the_default_project_is_judged_by_its_index() {
    // Given private indexes that hold only their own projects (Nexus, Artifactory, devpi,
    // pypiserver without fallback): any other project is a 404; the index answers HTML,
    // JSON, 404 or a redirect to another host.
    for (index, verdict) in [
        (simple_page(false, None), None),
        (simple_page(true, None), None),
        (
            reply("404 Not Found", &[], ""),
            Some("PyPI project sampleproject is not on this feed (HTTP 404); the index /simple/ failed: HTTP 404 Not Found."),
        ),
        (
            reply("302 Found", &[("Location", "https://pypi.test/simple/")], ""),
            Some("PyPI project sampleproject is not on this feed (HTTP 404) and the index /simple/ redirects to pypi.test (another host); a feed is judged by its own server."),
        ),
    ] {
        let hosted = FakeRegistry::start(move |r| match r.path() {
            "/simple/" => index.clone(),
            "/simple/acme-tools/" => simple_page(true, Some("acme-tools")),
            _ => reply("404 Not Found", &[], "Not Found"),
        })
        .await;
        // When it is probed without a probe package, at its root and at /simple/
        for url in [hosted.url("/"), hosted.url("/simple/")] {
            let o = probe(&prober(), &url, FeedType::PyPi).await;
            // Then its index decides
            match verdict {
                None => assert_healthy(&o),
                Some(why) => assert_eq!(message(&o), why, "{url}"),
            }
        }
        let asked: Vec<String> = hosted
            .requests()
            .iter()
            .map(|h| h.lines().next().unwrap_or("").to_owned())
            .collect();
        assert_eq!(
            asked[..2],
            [
                "GET /simple/sampleproject/ HTTP/1.1",
                "GET /simple/ HTTP/1.1"
            ]
        );
        // A project the connector names is judged by itself: a 404 is named.
        let mut named = ProbeTarget::new(ConnectorId::new(1).unwrap(), hosted.url("/"), FeedType::PyPi);
        named.package = Some("acme-widgets".into());
        let o = prober().probe(&named, TIMEOUT).await;
        assert_eq!(
            message(&o),
            "Project acme-widgets was not found on this PyPI feed (HTTP 404)."
        );
        named.package = Some("acme-tools".into());
        assert_healthy(&prober().probe(&named, TIMEOUT).await);
    }
}

#[tokio::test]
async fn a_pypi_fallback_to_the_index_keeps_a_rate_limit_and_names_two_other_hosts() {
    // The default project not held, then the index rate-limited: the 429 stays a rate
    // limit (the run holds the host back), not a failed fallback.
    let limited = FakeRegistry::start(|r| match r.path() {
        "/simple/" => reply("429 Too Many Requests", &[("Retry-After", "30")], ""),
        _ => reply("404 Not Found", &[], ""),
    })
    .await;
    let o = probe(&prober(), &limited.url("/"), FeedType::PyPi).await;
    let f = o.verdict.as_ref().unwrap_err();
    assert_eq!(f.kind, FailureKind::RateLimited);
    assert_eq!(
        f.message,
        "Rate limited by 127.0.0.1 (HTTP 429); retry after 30 s."
    );
    // The same after the project was sent to another host.
    let sending = FakeRegistry::start(|r| match r.path() {
        "/simple/" => reply("429 Too Many Requests", &[("Retry-After", "30")], ""),
        _ => reply(
            "303 See Other",
            &[("Location", "http://pypi.test/simple/sampleproject/")],
            "",
        ),
    })
    .await;
    let url = format!("http://private.test:{}/", sending.port());
    let o = probe(&two_host_prober(), &url, FeedType::PyPi).await;
    assert_eq!(
        o.verdict.as_ref().unwrap_err().kind,
        FailureKind::RateLimited
    );
    // The project sent to one host, the index to another: both named.
    let two = FakeRegistry::start(|r| match r.path() {
        "/simple/" => reply(
            "302 Found",
            &[("Location", "http://mirror.test/simple/")],
            "",
        ),
        _ => reply(
            "303 See Other",
            &[("Location", "http://pypi.test/simple/sampleproject/")],
            "",
        ),
    })
    .await;
    let url = format!("http://private.test:{}/", two.port());
    let o = probe(&two_host_prober(), &url, FeedType::PyPi).await;
    assert_eq!(
        message(&o),
        "PyPI project sampleproject redirects to pypi.test and the index /simple/ to mirror.test (other hosts); a feed is judged by its own server."
    );
}

#[tokio::test]
async fn a_pypi_index_redirecting_its_index_elsewhere_too_is_an_error() {
    let private = FakeRegistry::start(|_| {
        reply(
            "302 Found",
            &[("Location", "https://pypi.test/simple/")],
            "",
        )
    })
    .await;
    let url = format!("http://private.test:{}/simple", private.port());
    let o = probe(&two_host_prober(), &url, FeedType::PyPi).await;
    assert_eq!(
        message(&o),
        "PyPI project sampleproject and the index /simple/ redirect to pypi.test (another host); a feed is judged by its own server."
    );
    assert_eq!(o.verdict.as_ref().unwrap_err().kind, FailureKind::Redirect);
    assert_eq!(private.request_count(), 2);
}

#[tokio::test]
async fn pypi_project_pages_in_html_or_json_and_redirects_on_the_same_host_are_healthy() {
    for json in [true, false] {
        let server = FakeRegistry::start(move |r| match r.path() {
            "/simple/six" => reply("301 Moved Permanently", &[("Location", "/simple/six/")], ""),
            "/simple/six/" => simple_page(json, Some("six")),
            _ => reply("404 Not Found", &[], ""),
        })
        .await;
        let mut t = target(&server.url("/"), FeedType::PyPi);
        t.package = Some("six".into());
        let o = prober().probe(&t, TIMEOUT).await;
        assert_healthy(&o);
        // The index of the same server is a healthy answer too.
        let index = FakeRegistry::start(move |_| simple_page(json, None)).await;
        let mut t = target(&index.url("/"), FeedType::PyPi);
        t.package = Some("six".into());
        assert_healthy(&prober().probe(&t, TIMEOUT).await);
    }
}

#[tokio::test]
async fn the_npm_probe_fetches_the_probe_package_with_the_connectors_credentials() {
    let server = FakeRegistry::start(|r| match r.path() {
        "/npm/@acme%2fwidget" => reply("200 OK", &[("Content-Type", "application/json")], "{}"),
        "/npm/private-pkg" => reply("401 Unauthorized", &[], ""),
        "/npm/hidden-pkg" => reply("403 Forbidden", &[], ""),
        "/npm/teapot" => reply("500 Internal Server Error", &[], ""),
        _ => reply("404 Not Found", &[], ""),
    })
    .await;
    let url = format!("http://ci:s3cret@127.0.0.1:{}/npm/", server.port());
    let p = prober();
    let outcome = |package: Option<&str>| {
        let mut t = target(&url, FeedType::Npm);
        t.package = package.map(Into::into);
        let p = p.clone();
        async move { p.probe(&t, TIMEOUT).await }
    };
    // A package that is there, and one that is not: the registry is up and accepted us.
    assert_healthy(&outcome(Some("@acme/widget")).await);
    assert_healthy(&outcome(Some("left-pad")).await);
    let o = outcome(Some("private-pkg")).await;
    // Credentials in the URL are named as the connector's own are.
    assert_eq!(
        message(&o),
        "Credentials were rejected by 127.0.0.1 (HTTP 401): the connector's user name, password or token is wrong or expired."
    );
    let o = outcome(Some("hidden-pkg")).await;
    assert_eq!(
        message(&o),
        "The connector's credentials may not read this feed (HTTP 403)."
    );
    assert_eq!(
        message(&outcome(Some("teapot")).await),
        "HTTP 500 Internal Server Error."
    );
    // Without a probe package but with credentials, the default package: `/-/ping` (a 404
    // here) is not asked, since it would not show whether the credentials open the feed.
    assert_healthy(&outcome(None).await);
    let seen = server.requests();
    let lines: Vec<&str> = seen
        .iter()
        .map(|h| h.lines().next().unwrap_or(""))
        .collect();
    assert_eq!(
        lines,
        [
            "GET /npm/@acme%2fwidget HTTP/1.1",
            "GET /npm/left-pad HTTP/1.1",
            "GET /npm/private-pkg HTTP/1.1",
            "GET /npm/hidden-pkg HTTP/1.1",
            "GET /npm/teapot HTTP/1.1",
            "GET /npm/left-pad HTTP/1.1",
        ]
    );
    // Every request logged in with the URL's user-info.
    assert!(seen.iter().all(|h| h
        .to_ascii_lowercase()
        .contains("authorization: basic y2k6cznjcmv0")));
    // Without credentials or a probe package, the ping (a 404 here); with a probe package
    // but no credentials, a refusal says the connector has none.
    let open = |package: Option<&str>| {
        let mut t = target(&server.url("/npm/"), FeedType::Npm);
        t.package = package.map(Into::into);
        let p = p.clone();
        async move { p.probe(&t, TIMEOUT).await }
    };
    assert_eq!(message(&open(None).await), "HTTP 404 Not Found.");
    assert_eq!(
        message(&open(Some("private-pkg")).await),
        "127.0.0.1 requires credentials (HTTP 401) and the connector has none."
    );
    let seen = server.requests();
    assert_eq!(
        seen[seen.len() - 2].lines().next(),
        Some("GET /npm/-/ping HTTP/1.1")
    );
}
