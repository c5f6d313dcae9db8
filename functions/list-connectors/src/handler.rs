//! The list handler, generic over where connectors come from and who judges keys.

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::{Serialize, Serializer};
use shared::cache::TtlCache;
use shared::config::api::ReadSettings;
use shared::domain::{Connector, Shown, Staleness, State};
use shared::http::{serve_read, ReadFailure, ResponseLimit, UnknownState};
use shared::ports::{Authorizer, Clock, ConnectorReader, SystemClock};
use std::sync::Arc;

/// The query-string parameter that filters the list by state.
pub use shared::http::STATE_PARAM;

/// What a `406` (a list too large to send) suggests to narrow it.
pub const NARROWING: &str = "?state= (for example ?state=error,unknown)";

/// Answers `GET`/`HEAD /api/connector-health`.
pub struct ListConnectors<R, A> {
    pub connectors: R,
    pub auth: A,
    limit: ResponseLimit,
    cache: TtlCache<Vec<Connector>>,
    staleness: Staleness,
    clock: Arc<dyn Clock>,
}

/// The states `?state=` asks for (see [`shared::http::state_filter`]); an empty or unknown
/// state is a `400` naming it.
pub fn state_filter(req: &Request) -> Result<Option<Vec<State>>, ReadFailure> {
    shared::http::state_filter(req).map_err(|UnknownState(shown)| {
        ReadFailure::BadRequest(format!(
            "Unknown state {shown:?} in ?state=; use a comma list of healthy, error and unknown."
        ))
    })
}

/// What the list answers: the (cached) rows, those in `states` only when given, each
/// marked stale as of `now`.
struct Listed {
    rows: Arc<Vec<Connector>>,
    states: Option<Vec<State>>,
    staleness: Staleness,
    now: DateTime<Utc>,
}

impl Serialize for Listed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.rows
                .iter()
                .filter(|c| {
                    self.states
                        .as_ref()
                        .is_none_or(|states| states.contains(&c.health.state()))
                })
                .map(|c| Shown::at(c, &self.staleness, self.now)),
        )
    }
}

impl<R: ConnectorReader, A: Authorizer> ListConnectors<R, A> {
    /// The handler with Lambda's response limit, no list cache (every request scans), a
    /// 300 s probe interval for staleness and the system clock; [`Self::with_settings`]
    /// applies the configured ones.
    pub fn new(connectors: R, auth: A) -> Self {
        Self {
            connectors,
            auth,
            limit: ResponseLimit {
                max_bytes: ResponseLimit::LAMBDA.max_bytes,
                narrowing: Some(NARROWING),
            },
            cache: TtlCache::new(std::time::Duration::ZERO),
            staleness: Staleness::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The handler with these settings (from `ApiConfig`). Empties the list cache.
    pub fn with_settings(mut self, settings: &ReadSettings) -> Self {
        self.limit = ResponseLimit {
            max_bytes: settings.max_response_bytes,
            narrowing: Some(NARROWING),
        };
        self.cache = TtlCache::new(settings.list_cache);
        self.staleness = settings.staleness;
        self
    }

    /// The handler reading the time from `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        serve_read(&self.auth, &req, &self.limit, || async {
            let filter = state_filter(&req)?;
            let rows = self
                .cache
                .get(self.clock.as_ref(), || self.connectors.list())
                .await?;
            Ok::<_, ReadFailure>(Some(Listed {
                rows,
                states: filter,
                staleness: self.staleness,
                now: self.clock.now(),
            }))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use shared::adapters::memory::{InMemoryConnectors, InMemoryKeySource, ManualClock};
    use shared::auth::KeyDigest;
    use shared::auth::{CachePolicy, KeyCache};
    use shared::domain::{ConnectorId, Diagnostics, Health};

    const KEY: &str = "test-key-1";

    fn connector(id: u32, health: Health) -> Connector {
        Connector {
            id: ConnectorId::new(id).unwrap(),
            name: format!("c{id}"),
            url: format!("https://c{id}.example/"),
            health,
            diagnostics: Diagnostics::default(),
        }
    }

    fn keys() -> Arc<InMemoryKeySource> {
        Arc::new(InMemoryKeySource::new(format!(
            r#"{{"keys":[{{"name":"t","sha256":"{}","grants":["connector-health"]}},{{"name":"feeds-only","key":"weak","grants":["feeds"]}}]}}"#,
            KeyDigest::of(KEY).to_hex()
        )))
    }

    type Handler = ListConnectors<Arc<InMemoryConnectors>, KeyCache<Arc<InMemoryKeySource>>>;

    fn handler(rows: Vec<Connector>) -> (Arc<InMemoryConnectors>, Arc<InMemoryKeySource>, Handler) {
        let store = Arc::new(InMemoryConnectors::new(rows));
        let source = keys();
        // The tests' checks (2026-01-02) lie after the clock (2026-01-01): never stale.
        let h = ListConnectors::new(
            store.clone(),
            KeyCache::new(source.clone(), CachePolicy::default()),
        )
        .with_clock(Arc::new(ManualClock::new()));
        (store, source, h)
    }

    fn req(method: &str, uri: &str, key: Option<&str>) -> Request {
        let mut b = http::Request::builder().method(method).uri(uri);
        if let Some(k) = key {
            b = b.header("X-ApiKey", k);
        }
        b.body(Body::Empty).unwrap()
    }

    fn body(r: &Response<Body>) -> serde_json::Value {
        match r.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("expected a text body, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn lists_every_connector_in_id_order() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let (_, _, h) = handler(vec![
            connector(10, Health::Unknown),
            connector(2, Health::Healthy { last_checked: at }),
            connector(
                7,
                Health::Error {
                    message: "HTTP 503 Service Unavailable.".into(),
                    last_checked: at,
                },
            ),
        ]);
        let r = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        let v = body(&r);
        let ids: Vec<u64> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, [2, 7, 10]);
        assert_eq!(v[1]["state"], "error");
        assert_eq!(v[1]["errorMessage"], "HTTP 503 Service Unavailable.");
        assert_eq!(v[0]["lastChecked"], "2026-01-02T03:04:05.000Z");
        assert!(v[2]["lastChecked"].is_null());
    }

    #[tokio::test]
    async fn an_empty_table_is_an_empty_array() {
        let (_, _, h) = handler(vec![]);
        let r = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.body(), &Body::Text("[]".into()));
    }

    #[tokio::test]
    async fn head_matches_get_without_a_body() {
        let (_, _, h) = handler(vec![connector(1, Health::Unknown)]);
        let get = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        let head = h
            .handle(req("HEAD", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(head.status(), 200);
        assert_eq!(get.headers(), head.headers());
        assert_eq!(head.body(), &Body::Empty);
        let Body::Text(text) = get.body() else {
            panic!()
        };
        assert_eq!(
            head.headers()["content-length"],
            text.len().to_string().as_str()
        );
    }

    #[tokio::test]
    async fn other_methods_are_405_with_allow() {
        let (_, source, h) = handler(vec![]);
        for m in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            let r = h.handle(req(m, "/api/connector-health", Some(KEY))).await;
            assert_eq!(r.status(), 405, "{m}");
            assert_eq!(r.headers()["allow"], "GET, HEAD");
        }
        assert_eq!(source.fetches(), 0);
    }

    #[tokio::test]
    async fn keys_are_checked_before_anything_is_read() {
        let (store, _, h) = handler(vec![connector(1, Health::Unknown)]);
        store.fail(true); // a read would answer 503: a 403 proves it never happened
        let r = h.handle(req("GET", "/api/connector-health", None)).await;
        assert_eq!(
            (r.status().as_u16(), body(&r)["message"].as_str()),
            (403, Some("API key missing."))
        );
        for bad in ["wrong", "weak"] {
            let r = h
                .handle(req("GET", "/api/connector-health", Some(bad)))
                .await;
            assert_eq!(r.status(), 403);
            assert_eq!(body(&r)["message"], "API key not authorized.");
        }
        let r = h
            .handle(req(
                "GET",
                &format!("/api/connector-health?key={KEY}"),
                Some("other"),
            ))
            .await;
        assert_eq!(body(&r)["message"], "API key not authorized.");
    }

    #[tokio::test]
    async fn every_key_form_is_accepted() {
        let (_, _, h) = handler(vec![]);
        let r = h
            .handle(req(
                "GET",
                &format!("/api/connector-health?key={KEY}"),
                None,
            ))
            .await;
        assert_eq!(r.status(), 200);
        let basic = base64_basic(KEY);
        let r = h
            .handle(
                http::Request::builder()
                    .uri("/api/connector-health")
                    .header("Authorization", basic)
                    .body(Body::Empty)
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status(), 200);
    }

    fn base64_basic(key: &str) -> String {
        // RFC 7617 by hand, to keep the test independent of the code under test.
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let input = format!("api:{key}").into_bytes();
        let mut out = String::new();
        for chunk in input.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        format!("Basic {out}")
    }

    #[tokio::test]
    async fn store_and_key_failures_are_503_with_retry_after() {
        let (store, source, h) = handler(vec![]);
        store.fail(true);
        let r = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "5");
        assert!(!format!("{:?}", r.body()).contains("told to fail"));

        let (_, _, h2) = handler(vec![]);
        let _ = source; // the first world's source is not used by h2
        let failing = Arc::new(InMemoryKeySource::new(String::new()));
        failing.fail(true);
        let h3 = ListConnectors::new(
            h2.connectors.clone(),
            KeyCache::new(failing, CachePolicy::default()),
        );
        let r = h3
            .handle(req("HEAD", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.body(), &Body::Empty);
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_slower_than_the_request_budget_is_503_not_a_lambda_timeout() {
        let (store, _, h) = handler(vec![connector(1, Health::Unknown)]);
        store.set_delay(std::time::Duration::from_secs(60));
        let started = tokio::time::Instant::now();
        let r = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "5");
        assert_eq!(started.elapsed(), shared::http::REQUEST_BUDGET);
    }

    fn with_header(mut r: Request, name: &'static str, value: &str) -> Request {
        r.headers_mut()
            .append(name, http::HeaderValue::from_str(value).unwrap());
        r
    }

    fn many(n: u32) -> Vec<Connector> {
        (1..=n).map(|i| connector(i, Health::Unknown)).collect()
    }

    #[tokio::test]
    async fn a_large_list_is_gzipped_for_clients_that_accept_it() {
        use std::io::Read;
        let (_, _, h) = handler(many(200));
        let plain = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        let Body::Text(text) = plain.body() else {
            panic!("a plain body for a client that did not ask for gzip")
        };
        assert!(plain.headers().get("content-encoding").is_none());
        assert_eq!(plain.headers()["vary"], "Accept-Encoding");

        let gz = h
            .handle(with_header(
                req("GET", "/api/connector-health", Some(KEY)),
                "accept-encoding",
                "br;q=1, gzip;q=0.8",
            ))
            .await;
        assert_eq!(gz.status(), 200);
        assert_eq!(gz.headers()["content-encoding"], "gzip");
        assert_eq!(gz.headers()["vary"], "Accept-Encoding");
        assert_eq!(gz.headers()["etag"], plain.headers()["etag"]);
        let Body::Binary(bytes) = gz.body() else {
            panic!("a binary body")
        };
        assert_eq!(
            gz.headers()["content-length"],
            bytes.len().to_string().as_str()
        );
        assert!(
            bytes.len() * 5 < text.len(),
            "{} vs {}",
            bytes.len(),
            text.len()
        );
        let mut back = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(&back, text);

        // HEAD: the same headers, no body.
        let head = h
            .handle(with_header(
                req("HEAD", "/api/connector-health", Some(KEY)),
                "accept-encoding",
                "gzip",
            ))
            .await;
        assert_eq!(head.headers(), gz.headers());
        assert_eq!(head.body(), &Body::Empty);

        // Refused, or a small body: plain.
        let refused = h
            .handle(with_header(
                req("GET", "/api/connector-health", Some(KEY)),
                "accept-encoding",
                "gzip;q=0, identity",
            ))
            .await;
        assert!(matches!(refused.body(), Body::Text(_)));
        let (_, _, small) = handler(many(1));
        let small = small
            .handle(with_header(
                req("GET", "/api/connector-health", Some(KEY)),
                "accept-encoding",
                "gzip",
            ))
            .await;
        assert!(matches!(small.body(), Body::Text(_)));
        assert!(small.headers().get("content-encoding").is_none());
    }

    #[tokio::test]
    async fn if_none_match_with_the_current_etag_is_304_until_the_list_changes() {
        let (store, _, h) = handler(many(3));
        let first = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with("W/\""), "{etag}");
        assert_eq!(first.headers()["cache-control"], "private, no-cache");
        for method in ["GET", "HEAD"] {
            let r = h
                .handle(with_header(
                    req(method, "/api/connector-health", Some(KEY)),
                    "if-none-match",
                    &etag,
                ))
                .await;
            assert_eq!(r.status(), 304, "{method}");
            assert_eq!(r.body(), &Body::Empty);
            assert_eq!(r.headers()["etag"], etag.as_str());
            assert!(r.headers().get("content-length").is_none());
        }
        // Without a valid key the tag gives nothing away: 403.
        let r = h
            .handle(with_header(
                req("GET", "/api/connector-health", None),
                "if-none-match",
                &etag,
            ))
            .await;
        assert_eq!(r.status(), 403);
        // A changed list has a new tag: 200 with the body.
        store.set_rows(many(4));
        let r = h
            .handle(with_header(
                req("GET", "/api/connector-health", Some(KEY)),
                "if-none-match",
                &etag,
            ))
            .await;
        assert_eq!(r.status(), 200);
        assert_ne!(r.headers()["etag"], etag.as_str());
        assert_eq!(body(&r).as_array().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn the_state_parameter_filters_and_an_unknown_state_is_400() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let failed = Health::Error {
            message: "HTTP 503 Service Unavailable.".into(),
            last_checked: at,
        };
        let (store, _, h) = handler(vec![
            connector(1, Health::Healthy { last_checked: at }),
            connector(2, failed.clone()),
            connector(3, Health::Unknown),
            connector(4, failed),
        ]);
        let ids = |r: &Response<Body>| -> Vec<u64> {
            body(r)
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_u64().unwrap())
                .collect()
        };
        let get = |q: &str| req("GET", &format!("/api/connector-health?{q}"), Some(KEY));
        assert_eq!(ids(&h.handle(get("state=error")).await), [2, 4]);
        assert_eq!(ids(&h.handle(get("state=error,unknown")).await), [2, 3, 4]);
        assert_eq!(
            ids(&h.handle(get("state=healthy&state=unknown")).await),
            [1, 3]
        );
        assert_eq!(ids(&h.handle(get("state=healthy")).await), [1]);

        for bad in ["state=broken", "state=", "state=error,", "state=ERROR"] {
            let r = h.handle(get(bad)).await;
            assert_eq!(r.status(), 400, "{bad}");
            assert_eq!(r.headers()["cache-control"], "no-store");
            let message = body(&r)["message"].as_str().unwrap().to_owned();
            assert!(
                message.contains("use a comma list of healthy, error and unknown"),
                "{message}"
            );
        }
        // The key is checked first, and a 400 reads nothing.
        let r = h
            .handle(req("GET", "/api/connector-health?state=broken", None))
            .await;
        assert_eq!(r.status(), 403);
        store.fail(true);
        assert_eq!(h.handle(get("state=broken")).await.status(), 400);
    }

    #[tokio::test]
    async fn a_list_too_large_for_the_response_limit_is_406_telling_what_to_do() {
        use shared::config::api::ReadSettings;
        let (_, _, h) = handler(many(400));
        let plain = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        let Body::Text(text) = plain.body() else {
            panic!("a plain body")
        };
        // A limit the plain list passes and its gzip body does not come near.
        let h = h.with_settings(&ReadSettings {
            max_response_bytes: text.len(),
            ..ReadSettings::default()
        });
        for method in ["GET", "HEAD"] {
            let r = h
                .handle(req(method, "/api/connector-health", Some(KEY)))
                .await;
            assert_eq!(r.status(), 406, "{method}");
            assert_eq!(r.headers()["cache-control"], "no-store");
            assert!(r.headers().get("etag").is_none());
            if method == "GET" {
                assert_eq!(
                    body(&r)["message"],
                    "The answer is too large to send uncompressed; send Accept-Encoding: gzip, \
                     or ask for less with ?state= (for example ?state=error,unknown)."
                );
            } else {
                assert_eq!(r.body(), &Body::Empty);
            }
            let gz = h
                .handle(with_header(
                    req(method, "/api/connector-health", Some(KEY)),
                    "accept-encoding",
                    "gzip",
                ))
                .await;
            assert_eq!(gz.status(), 200, "{method}");
            assert_eq!(gz.headers()["content-encoding"], "gzip");
        }
        // The filtered list is small enough to send as it is.
        let r = h
            .handle(req("GET", "/api/connector-health?state=error", Some(KEY)))
            .await;
        assert_eq!(
            (r.status().as_u16(), body(&r)),
            (200, serde_json::json!([]))
        );
    }

    /// The in-memory store, counting `Scan`s (lists) and `GetItem`s.
    #[derive(Default)]
    struct Counting {
        inner: InMemoryConnectors,
        lists: std::sync::atomic::AtomicUsize,
    }

    impl Counting {
        fn lists(&self) -> usize {
            self.lists.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    impl ConnectorReader for Counting {
        async fn list(&self) -> Result<Vec<Connector>, shared::ports::DependencyError> {
            self.lists.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.list().await
        }
        async fn get(
            &self,
            id: ConnectorId,
        ) -> Result<Option<Connector>, shared::ports::DependencyError> {
            self.inner.get(id).await
        }
    }

    type Cached = ListConnectors<Arc<Counting>, KeyCache<Arc<InMemoryKeySource>>>;

    fn cached(rows: Vec<Connector>, seconds: u64) -> (Arc<Counting>, Cached) {
        let store = Arc::new(Counting::default());
        store.inner.set_rows(rows);
        let h = ListConnectors::new(store.clone(), KeyCache::new(keys(), CachePolicy::default()))
            .with_settings(&ReadSettings {
                list_cache: std::time::Duration::from_secs(seconds),
                ..ReadSettings::default()
            });
        (store, h)
    }

    #[tokio::test(start_paused = true)]
    async fn the_table_is_scanned_at_most_once_per_cache_interval_for_get_and_head() {
        let (store, h) = cached(many(3), 5);
        let first = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        store.inner.set_rows(many(4));
        // Within the interval: HEAD, a filtered GET, a revalidation, all from the same rows.
        let head = h
            .handle(req("HEAD", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()["etag"], etag.as_str());
        assert_eq!(
            head.headers()["content-length"],
            first.headers()["content-length"]
        );
        let filtered = h
            .handle(req("GET", "/api/connector-health?state=unknown", Some(KEY)))
            .await;
        assert_eq!(body(&filtered).as_array().unwrap().len(), 3);
        tokio::time::advance(std::time::Duration::from_millis(4_999)).await;
        for method in ["GET", "HEAD"] {
            let r = h
                .handle(with_header(
                    req(method, "/api/connector-health", Some(KEY)),
                    "if-none-match",
                    &etag,
                ))
                .await;
            assert_eq!(r.status(), 304, "{method}");
        }
        assert_eq!(store.lists(), 1);

        // Past it: one new Scan, the new list and a new tag.
        tokio::time::advance(std::time::Duration::from_millis(1)).await;
        let r = h
            .handle(with_header(
                req("GET", "/api/connector-health", Some(KEY)),
                "if-none-match",
                &etag,
            ))
            .await;
        assert_eq!(r.status(), 200);
        assert_ne!(r.headers()["etag"], etag.as_str());
        assert_eq!(body(&r).as_array().unwrap().len(), 4);
        let head = h
            .handle(req("HEAD", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(head.headers()["etag"], r.headers()["etag"]);
        assert_eq!(store.lists(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_during_a_refresh_share_one_scan() {
        let (store, h) = cached(many(3), 5);
        store.inner.set_delay(std::time::Duration::from_millis(800));
        let h = Arc::new(h);
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..20 {
            let h = h.clone();
            let method = if i % 2 == 0 { "GET" } else { "HEAD" };
            requests.spawn(async move {
                h.handle(req(method, "/api/connector-health", Some(KEY)))
                    .await
            });
        }
        let mut etags = std::collections::HashSet::new();
        while let Some(r) = requests.join_next().await {
            let r = r.unwrap();
            assert_eq!(r.status(), 200);
            etags.insert(r.headers()["etag"].to_str().unwrap().to_owned());
        }
        assert_eq!(store.lists(), 1);
        assert_eq!(etags.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn zero_turns_the_cache_off_and_a_failed_scan_is_not_kept() {
        let (store, h) = cached(many(3), 0);
        for _ in 0..3 {
            h.handle(req("GET", "/api/connector-health", Some(KEY)))
                .await;
        }
        assert_eq!(store.lists(), 3);

        let (store, h) = cached(many(3), 5);
        store.inner.fail(true);
        let r = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(r.status(), 503);
        store.inner.fail(false);
        let r = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(store.lists(), 2);
    }

    /// A wall clock that jumps while the monotonic one stands still: a container thawed
    /// after Lambda froze it.
    #[derive(Debug)]
    struct Thawed(std::sync::Mutex<chrono::DateTime<Utc>>);

    impl Clock for Thawed {
        fn now(&self) -> chrono::DateTime<Utc> {
            *self.0.lock().unwrap()
        }
        fn instant(&self) -> std::time::Instant {
            tokio::time::Instant::now().into_std()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn rows_older_by_the_wall_clock_are_not_served_after_a_freeze() {
        let (store, h) = cached(many(3), 5);
        let clock = Arc::new(Thawed(std::sync::Mutex::new(
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        )));
        let h = h.with_clock(clock.clone());
        h.handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        *clock.0.lock().unwrap() += chrono::Duration::seconds(600);
        h.handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(store.lists(), 2);
        // A wall clock set back is no reason to trust old rows either.
        *clock.0.lock().unwrap() -= chrono::Duration::seconds(1200);
        h.handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(store.lists(), 3);
    }

    #[tokio::test]
    async fn connectors_checked_more_than_three_intervals_ago_are_marked_stale() {
        let clock = ManualClock::new();
        let now = ManualClock::start_utc();
        let ago = |s: i64| now - chrono::Duration::seconds(s);
        let (_, _, h) = handler(vec![
            connector(
                1,
                Health::Healthy {
                    last_checked: ago(900),
                },
            ),
            connector(
                2,
                Health::Healthy {
                    last_checked: ago(901),
                },
            ),
            connector(
                3,
                Health::Error {
                    message: "HTTP 503 Service Unavailable.".into(),
                    last_checked: ago(3_600),
                },
            ),
            connector(4, Health::Unknown),
        ]);
        let h = h
            .with_settings(&ReadSettings {
                list_cache: std::time::Duration::ZERO,
                ..ReadSettings::default()
            })
            .with_clock(Arc::new(clock.clone()));
        let stale = |v: &serde_json::Value| -> Vec<Option<bool>> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|c| c.get("stale").map(|s| s.as_bool().unwrap()))
                .collect()
        };
        let r = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(stale(&body(&r)), [None, Some(true), Some(true), None]);
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        // The filter is by state only; staleness comes along.
        let r = h
            .handle(req("GET", "/api/connector-health?state=error", Some(KEY)))
            .await;
        assert_eq!(stale(&body(&r)), [Some(true)]);
        // A second later the first is stale too: a new representation, a new tag.
        clock.advance(std::time::Duration::from_secs(1));
        let r = h
            .handle(with_header(
                req("GET", "/api/connector-health", Some(KEY)),
                "if-none-match",
                &etag,
            ))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(stale(&body(&r)), [Some(true), Some(true), Some(true), None]);
        // The probe interval comes from the settings.
        let h = h.with_settings(&ReadSettings {
            list_cache: std::time::Duration::ZERO,
            staleness: Staleness {
                probe_interval: std::time::Duration::from_secs(3_600),
            },
            ..ReadSettings::default()
        });
        let r = h
            .handle(req("GET", "/api/connector-health", Some(KEY)))
            .await;
        assert_eq!(stale(&body(&r)), [None, None, None, None]);
    }
}
