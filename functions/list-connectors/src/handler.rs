//! The list handler, generic over where connectors come from and who judges keys.

use lambda_http::{Body, Request, Response};
use shared::http::serve_read;
use shared::ports::{Authorizer, ConnectorReader};

/// Answers `GET`/`HEAD /api/connector-health`.
pub struct ListConnectors<R, A> {
    pub connectors: R,
    pub auth: A,
}

impl<R: ConnectorReader, A: Authorizer> ListConnectors<R, A> {
    pub fn new(connectors: R, auth: A) -> Self {
        Self { connectors, auth }
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        serve_read(&self.auth, &req, || async {
            self.connectors.list().await.map(Some)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use shared::adapters::memory::{InMemoryConnectors, InMemoryKeySource};
    use shared::auth::KeyDigest;
    use shared::auth::{CachePolicy, KeyCache};
    use shared::domain::{Connector, ConnectorId, Diagnostics, Health};
    use std::sync::Arc;

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
        let h = ListConnectors::new(
            store.clone(),
            KeyCache::new(source.clone(), CachePolicy::default()),
        );
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
}
