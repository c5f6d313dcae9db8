//! The single-connector handler, generic over where connectors come from and who judges keys.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Serialize, Serializer};
use shared::config::api::ReadSettings;
use shared::domain::{Connector, ConnectorId, Shown, Staleness};
use shared::http::{serve_read, ResponseLimit};
use shared::ports::{Authorizer, Clock, ConnectorReader, SystemClock};
use std::sync::Arc;

/// The route's path parameter.
pub const ID_PARAM: &str = "id";

/// Answers `GET`/`HEAD /api/connector-health/{id}`.
pub struct GetConnector<R, A> {
    pub connectors: R,
    pub auth: A,
    limit: ResponseLimit,
    staleness: Staleness,
    clock: Arc<dyn Clock>,
}

/// The connector id of a request: the `{id}` path parameter of the API Gateway route, or
/// (without one, as on the local server) the last path segment. `None` when it is not a
/// positive 32-bit integer, which the caller answers with 404.
pub fn connector_id(req: &Request) -> Option<ConnectorId> {
    match req.path_parameters_ref().and_then(|p| p.first(ID_PARAM)) {
        Some(raw) => ConnectorId::parse(raw),
        None => ConnectorId::parse(req.uri().path().rsplit('/').next()?),
    }
}

/// What the single read answers: the connector, marked stale when it is.
struct One {
    connector: Connector,
    stale: bool,
}

impl Serialize for One {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Shown {
            connector: &self.connector,
            stale: self.stale,
        }
        .serialize(serializer)
    }
}

impl<R: ConnectorReader, A: Authorizer> GetConnector<R, A> {
    /// The handler with the default [`ReadSettings`] (Lambda's response limit, a 300 s
    /// probe interval for staleness) and the system clock.
    pub fn new(connectors: R, auth: A) -> Self {
        Self {
            connectors,
            auth,
            limit: ResponseLimit::LAMBDA,
            staleness: Staleness::default(),
            clock: Arc::new(SystemClock),
        }
        .with_settings(&ReadSettings::default())
    }

    /// The handler reading the time from `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The handler with these settings (from `ApiConfig`).
    pub fn with_settings(mut self, settings: &ReadSettings) -> Self {
        self.limit = ResponseLimit {
            max_bytes: settings.max_response_bytes,
            narrowing: None,
        };
        self.staleness = settings.staleness;
        self
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let id = connector_id(&req);
        serve_read(&self.auth, &req, &self.limit, || async {
            let found = match id {
                Some(id) => self.connectors.get(id).await?,
                None => None,
            };
            let now = self.clock.now();
            Ok::<_, shared::ports::DependencyError>(found.map(|connector| One {
                stale: self.staleness.is_stale(&connector.health, now),
                connector,
            }))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use lambda_http::RequestExt;
    use shared::adapters::memory::{InMemoryConnectors, InMemoryKeySource};
    use shared::auth::{CachePolicy, KeyCache};
    use shared::domain::{Diagnostics, Health};
    use std::collections::HashMap;

    const KEY: &str = "k-get";

    /// A clock standing at one moment (settable).
    #[derive(Debug)]
    struct Fixed(std::sync::Mutex<chrono::DateTime<Utc>>);

    impl Clock for Fixed {
        fn now(&self) -> chrono::DateTime<Utc> {
            *self.0.lock().unwrap()
        }
        fn instant(&self) -> std::time::Instant {
            std::time::Instant::now()
        }
    }

    fn checked_at() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2019, 3, 29, 17, 41, 55).unwrap()
    }

    fn handler() -> (
        Arc<InMemoryConnectors>,
        GetConnector<Arc<InMemoryConnectors>, KeyCache<InMemoryKeySource>>,
    ) {
        let at = checked_at();
        let store = Arc::new(InMemoryConnectors::new(vec![Connector {
            id: ConnectorId::new(3).unwrap(),
            name: "nuget.org".into(),
            url: "https://www.nuget.org/api/v2".into(),
            health: Health::Error {
                message: "Connection timed out after 10 s.".into(),
                last_checked: at,
            },
            diagnostics: Diagnostics::default(),
        }]));
        let keys = InMemoryKeySource::new(format!(
            r#"{{"keys":[{{"name":"t","key":"{KEY}","impersonate":{{"user":"ops","privileges":["Feeds_Manage"]}}}}]}}"#
        ));
        (
            store.clone(),
            GetConnector::new(store, KeyCache::new(keys, CachePolicy::default())).with_clock(
                Arc::new(Fixed(std::sync::Mutex::new(
                    at + chrono::Duration::minutes(1),
                ))),
            ),
        )
    }

    fn get(path: &str) -> Request {
        http::Request::builder()
            .uri(path)
            .header("X-ApiKey", KEY)
            .body(Body::Empty)
            .unwrap()
    }

    #[tokio::test]
    async fn returns_one_object_with_the_documented_members() {
        let (_, h) = handler();
        let r = h.handle(get("/api/connector-health/3")).await;
        assert_eq!(r.status(), 200);
        let Body::Text(text) = r.body() else { panic!() };
        assert_eq!(
            text,
            r#"{"id":3,"name":"nuget.org","url":"https://www.nuget.org/api/v2","state":"error","errorMessage":"Connection timed out after 10 s.","lastChecked":"2019-03-29T17:41:55.000Z"}"#
        );
    }

    #[tokio::test]
    async fn a_check_older_than_three_probe_intervals_is_marked_stale() {
        let (store, h) = handler();
        let clock = Arc::new(Fixed(std::sync::Mutex::new(checked_at())));
        let h = h
            .with_settings(&ReadSettings {
                staleness: Staleness {
                    probe_interval: std::time::Duration::from_secs(60),
                },
                ..ReadSettings::default()
            })
            .with_clock(clock.clone());
        let stale = |r: &Response<Body>| -> Option<serde_json::Value> {
            let Body::Text(text) = r.body() else { panic!() };
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            v.get("stale").cloned()
        };
        *clock.0.lock().unwrap() = checked_at() + chrono::Duration::seconds(180);
        let r = h.handle(get("/api/connector-health/3")).await;
        assert_eq!(stale(&r), None);
        *clock.0.lock().unwrap() = checked_at() + chrono::Duration::seconds(181);
        let r = h.handle(get("/api/connector-health/3")).await;
        assert_eq!(stale(&r), Some(serde_json::Value::Bool(true)));
        let Body::Text(text) = r.body() else { panic!() };
        assert!(text.ends_with(r#","lastChecked":"2019-03-29T17:41:55.000Z","stale":true}"#));
        // HEAD agrees with GET.
        let head = h
            .handle(
                http::Request::builder()
                    .method("HEAD")
                    .uri("/api/connector-health/3")
                    .header("X-ApiKey", KEY)
                    .body(Body::Empty)
                    .unwrap(),
            )
            .await;
        assert_eq!(head.headers(), r.headers());
        // Never checked: not stale.
        store.set_rows(vec![Connector {
            id: ConnectorId::new(3).unwrap(),
            name: "nuget.org".into(),
            url: "https://www.nuget.org/api/v2".into(),
            health: Health::Unknown,
            diagnostics: Diagnostics::default(),
        }]);
        let r = h.handle(get("/api/connector-health/3")).await;
        assert_eq!(stale(&r), None);
    }

    #[tokio::test]
    async fn unknown_and_malformed_ids_are_404() {
        let (_, h) = handler();
        for path in [
            "/api/connector-health/4",
            "/api/connector-health/abc",
            "/api/connector-health/-1",
            "/api/connector-health/0",
            "/api/connector-health/1.5",
            "/api/connector-health/99999999999999999999",
            "/api/connector-health/%33",
            "/api/connector-health/%ZZ",
            "/api/connector-health/3%00",
        ] {
            let r = h.handle(get(path)).await;
            assert_eq!(r.status(), 404, "{path}");
            assert_eq!(
                r.headers()["content-type"],
                "application/json; charset=utf-8"
            );
            let Body::Text(t) = r.body() else { panic!() };
            assert_eq!(t, r#"{"message":"Connector not found."}"#);
        }
    }

    #[tokio::test]
    async fn the_path_parameter_wins_over_the_path() {
        let (_, h) = handler();
        let req = get("/prod/api/connector-health/3")
            .with_path_parameters(HashMap::from([("id".to_owned(), "3".to_owned())]));
        assert_eq!(h.handle(req).await.status(), 200);
        let req = get("/api/connector-health/3")
            .with_path_parameters(HashMap::from([("id".to_owned(), "x".to_owned())]));
        assert_eq!(h.handle(req).await.status(), 404);
    }

    #[tokio::test]
    async fn a_missing_key_is_403_even_for_a_bad_id() {
        let (_, h) = handler();
        let req = http::Request::builder()
            .uri("/api/connector-health/abc")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(h.handle(req).await.status(), 403);
    }

    #[tokio::test]
    async fn head_and_405_and_503() {
        let (store, h) = handler();
        let head = h
            .handle(
                http::Request::builder()
                    .method("HEAD")
                    .uri("/api/connector-health/3")
                    .header("X-ApiKey", KEY)
                    .body(Body::Empty)
                    .unwrap(),
            )
            .await;
        let get_r = h.handle(get("/api/connector-health/3")).await;
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers(), get_r.headers());
        assert_eq!(head.body(), &Body::Empty);
        let head404 = h
            .handle(
                http::Request::builder()
                    .method("HEAD")
                    .uri("/api/connector-health/9")
                    .header("X-ApiKey", KEY)
                    .body(Body::Empty)
                    .unwrap(),
            )
            .await;
        assert_eq!(head404.status(), 404);
        assert_eq!(head404.body(), &Body::Empty);
        let del = h
            .handle(
                http::Request::builder()
                    .method("DELETE")
                    .uri("/api/connector-health/3")
                    .body(Body::Empty)
                    .unwrap(),
            )
            .await;
        assert_eq!(del.status(), 405);
        assert_eq!(del.headers()["allow"], "GET, HEAD");
        store.fail(true);
        let r = h.handle(get("/api/connector-health/3")).await;
        assert_eq!(r.status(), 503);
        assert!(r.headers().contains_key("retry-after"));
    }
}
