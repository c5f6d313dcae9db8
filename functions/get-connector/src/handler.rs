//! The single-connector handler, generic over where connectors come from, who judges keys
//! and where history is read: one connector (`/api/connector-health/{id}`), its history
//! (`.../{id}/history`) and its badges (`.../{id}/badge.svg`, `.../{id}/badge.json`).

use lambda_http::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Serialize, Serializer};
use shared::auth::{presented_key, query_values};
use shared::badge::{Badge, CACHE_SECONDS};
use shared::config::api::ReadSettings;
use shared::domain::{Connector, ConnectorId, Shown, Staleness};
use shared::history::{first_day, summarize, History, Window};
use shared::http::{
    auth_failure, message, method_not_allowed, not_found, serve_read, unavailable, ReadFailure,
    ReadMethod, ResponseLimit, JSON_CONTENT_TYPE, REQUEST_BUDGET,
};
use shared::ports::{
    Authorizer, Clock, ConnectorReader, DependencyError, HistoryReader, NoHistory, SystemClock,
};
use std::sync::Arc;

/// The route's path parameter.
pub const ID_PARAM: &str = "id";

/// The `?uptime=` parameter of the badges.
pub const UPTIME_PARAM: &str = "uptime";
pub const MSG_BAD_UPTIME: &str = "Unknown ?uptime= value; use 24h, 7d, 30d or 90d.";
pub const SVG_CONTENT_TYPE: &str = "image/svg+xml; charset=utf-8";

/// What a request under `/api/connector-health/{id}` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// `/{id}`: the connector.
    Connector,
    /// `/{id}/history`.
    History,
    /// `/{id}/badge.svg`.
    BadgeSvg,
    /// `/{id}/badge.json`: shields.io's endpoint badge.
    BadgeJson,
}

impl View {
    /// The path segment after `{id}` that names this view.
    pub fn segment(self) -> Option<&'static str> {
        match self {
            View::Connector => None,
            View::History => Some("history"),
            View::BadgeSvg => Some("badge.svg"),
            View::BadgeJson => Some("badge.json"),
        }
    }

    /// The view of a request path: a known segment after `connector-health/{id}/`, else
    /// the connector itself.
    pub fn of_path(path: &str) -> Self {
        let mut segments = path.rsplit('/');
        let (Some(last), Some(_id), Some(parent)) =
            (segments.next(), segments.next(), segments.next())
        else {
            return View::Connector;
        };
        if parent != "connector-health" {
            return View::Connector;
        }
        [View::History, View::BadgeSvg, View::BadgeJson]
            .into_iter()
            .find(|v| v.segment() == Some(last))
            .unwrap_or(View::Connector)
    }
}

/// Who may see a badge: by default whoever presents an API key, like every route (`?key=`
/// works, so a badge URL can carry a read-only key); everyone when the status page is
/// public (`STATUS_PAGE_PUBLIC`), since the page shows the same states to everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BadgeAccess {
    #[default]
    WithKey,
    Public,
}

impl BadgeAccess {
    /// Public badges when the status page is public.
    pub fn of_status_page(public: bool) -> Self {
        if public {
            BadgeAccess::Public
        } else {
            BadgeAccess::WithKey
        }
    }
}

/// Answers `GET`/`HEAD /api/connector-health/{id}`, its history and its badges.
pub struct GetConnector<R, A, H = NoHistory> {
    pub connectors: R,
    pub auth: A,
    pub history: H,
    limit: ResponseLimit,
    staleness: Staleness,
    clock: Arc<dyn Clock>,
    badge_access: BadgeAccess,
}

/// The connector id of a request: the `{id}` path parameter of the API Gateway route, or
/// (without one, as on the local server) the path segment that holds it. `None` when it
/// is not a positive 32-bit integer, which the caller answers with 404.
pub fn connector_id(req: &Request) -> Option<ConnectorId> {
    match req.path_parameters_ref().and_then(|p| p.first(ID_PARAM)) {
        Some(raw) => ConnectorId::parse(raw),
        None => {
            let path = req.uri().path();
            let mut segments = path.rsplit('/');
            if View::of_path(path) != View::Connector {
                segments.next();
            }
            ConnectorId::parse(segments.next()?)
        }
    }
}

/// What the history route answers: the connector's id and its history.
#[derive(Serialize)]
struct HistoryOf {
    id: u32,
    #[serde(flatten)]
    history: History,
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
    /// probe interval for staleness), the system clock and no history.
    pub fn new(connectors: R, auth: A) -> Self {
        Self {
            connectors,
            auth,
            history: NoHistory,
            limit: ResponseLimit::LAMBDA,
            staleness: Staleness::default(),
            clock: Arc::new(SystemClock),
            badge_access: BadgeAccess::default(),
        }
        .with_settings(&ReadSettings::default())
    }
}

impl<R: ConnectorReader, A: Authorizer, H: HistoryReader> GetConnector<R, A, H> {
    /// The handler reading history from `history`.
    pub fn with_history<H2: HistoryReader>(self, history: H2) -> GetConnector<R, A, H2> {
        GetConnector {
            connectors: self.connectors,
            auth: self.auth,
            history,
            limit: self.limit,
            staleness: self.staleness,
            clock: self.clock,
            badge_access: self.badge_access,
        }
    }

    /// The handler reading the time from `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The handler with badges open to `access`.
    pub fn with_badge_access(mut self, access: BadgeAccess) -> Self {
        self.badge_access = access;
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
        match View::of_path(req.uri().path()) {
            View::Connector => self.connector(req).await,
            View::History => self.history(req).await,
            View::BadgeSvg => self.badge(req, BadgeFormat::Svg).await,
            View::BadgeJson => self.badge(req, BadgeFormat::Json).await,
        }
    }

    /// The connector's history: uptime, hourly and daily series, the last checks.
    async fn history(&self, req: Request) -> Response<Body> {
        let id = connector_id(&req);
        serve_read(&self.auth, &req, &self.limit, || async {
            let Some(id) = id else { return Ok(None) };
            if self.connectors.get(id).await?.is_none() {
                return Ok(None);
            }
            let now = self.clock.now();
            let days = self
                .history
                .days(id, first_day(now), now.date_naive())
                .await?;
            Ok::<_, DependencyError>(Some(HistoryOf {
                id: id.get(),
                history: summarize(&days, now),
            }))
        })
        .await
    }

    /// A badge: the connector's state, or with `?uptime=` its uptime over that window.
    /// Errors are the API's JSON messages (403, 404, 400, 405, 503); a badge may be kept
    /// for [`CACHE_SECONDS`].
    async fn badge(&self, req: Request, format: BadgeFormat) -> Response<Body> {
        let Some(method) = ReadMethod::of(req.method()) else {
            return method_not_allowed();
        };
        let answer = async {
            match self.badge_access {
                BadgeAccess::WithKey => {
                    if let Err(e) = self.auth.authorize(&presented_key(&req)).await {
                        return auth_failure(e, method);
                    }
                }
                BadgeAccess::Public => {}
            }
            match self.badge_of(&req).await {
                Ok(Some(badge)) => badge_response(&badge, format, method),
                Ok(None) => not_found(method),
                Err(ReadFailure::BadRequest(text)) => {
                    message(StatusCode::BAD_REQUEST, &text, method)
                }
                Err(ReadFailure::Dependency(e)) => {
                    tracing::error!(
                        service = e.service(),
                        kind = e.kind(),
                        error = %e,
                        "badge read failed; answering 503"
                    );
                    unavailable(method)
                }
            }
        };
        match tokio::time::timeout(REQUEST_BUDGET, answer).await {
            Ok(response) => response,
            Err(_) => {
                tracing::error!(
                    budget_s = REQUEST_BUDGET.as_secs(),
                    "badge read did not finish within the request budget; answering 503"
                );
                unavailable(method)
            }
        }
    }

    async fn badge_of(&self, req: &Request) -> Result<Option<Badge>, ReadFailure> {
        let window = match query_values(req, UPTIME_PARAM).as_slice() {
            [] => None,
            [one] => Some(
                Window::parse(one).ok_or_else(|| ReadFailure::BadRequest(MSG_BAD_UPTIME.into()))?,
            ),
            _ => return Err(ReadFailure::BadRequest(MSG_BAD_UPTIME.into())),
        };
        let Some(id) = connector_id(req) else {
            return Ok(None);
        };
        let Some(connector) = self.connectors.get(id).await? else {
            return Ok(None);
        };
        Ok(Some(match window {
            None => Badge::state(&connector.name, connector.health.state()),
            Some(window) => {
                let now = self.clock.now();
                let days = self
                    .history
                    .days(id, first_day(now), now.date_naive())
                    .await?;
                Badge::uptime(window, &summarize(&days, now).totals(window))
            }
        }))
    }

    async fn connector(&self, req: Request) -> Response<Body> {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadgeFormat {
    Svg,
    Json,
}

/// A badge's `200`: the SVG or the endpoint JSON, kept for [`CACHE_SECONDS`]. For HEAD
/// the same headers without the body.
fn badge_response(badge: &Badge, format: BadgeFormat, method: ReadMethod) -> Response<Body> {
    let (content_type, text) = match format {
        BadgeFormat::Svg => (SVG_CONTENT_TYPE, badge.svg()),
        BadgeFormat::Json => match serde_json::to_string(&badge.endpoint_json()) {
            Ok(text) => (JSON_CONTENT_TYPE, text),
            Err(e) => {
                tracing::error!(error = %e, "could not serialise a badge");
                return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.", method);
            }
        },
    };
    let mut response = Response::new(Body::Empty);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(text.len()));
    if let Ok(v) = HeaderValue::from_str(&format!("max-age={CACHE_SECONDS}")) {
        headers.insert(CACHE_CONTROL, v);
    }
    if method == ReadMethod::Get {
        *response.body_mut() = Body::Text(text);
    }
    response
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

#[cfg(test)]
mod history_and_badges {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use shared::adapters::memory::{InMemoryConnectors, InMemoryHistory, InMemoryKeySource};
    use shared::auth::{CachePolicy, KeyCache};
    use shared::domain::{Diagnostics, Health, State};
    use shared::history::{Check, DayUpdate};
    use shared::ports::HistoryRecorder;

    const KEY: &str = "k-history";

    struct At(chrono::DateTime<Utc>);

    impl Clock for At {
        fn now(&self) -> chrono::DateTime<Utc> {
            self.0
        }
        fn instant(&self) -> std::time::Instant {
            std::time::Instant::now()
        }
    }

    fn now() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 5, 12, 0, 30).unwrap()
    }

    type Handler =
        GetConnector<Arc<InMemoryConnectors>, KeyCache<InMemoryKeySource>, Arc<InMemoryHistory>>;

    /// Connector 3 (`<nuget> & co`, in error), checked every 5 minutes for the last 10
    /// hours: healthy but one check in ten.
    async fn handler() -> (Arc<InMemoryHistory>, Handler) {
        let store = Arc::new(InMemoryConnectors::new(vec![Connector {
            id: ConnectorId::new(3).unwrap(),
            name: "<nuget> & co".into(),
            url: "https://www.nuget.org/api/v2".into(),
            health: Health::Error {
                message: "HTTP 503 Service Unavailable.".into(),
                last_checked: now(),
            },
            diagnostics: Diagnostics::default(),
        }]));
        let history = Arc::new(InMemoryHistory::default());
        // Recorded in time order, as the probe writes them.
        for i in (0..120).rev() {
            let at = now() - Duration::minutes(5 * i);
            let check = if i % 10 == 0 {
                Check::new(
                    at,
                    State::Error,
                    None,
                    Some("HTTP 503 Service Unavailable."),
                )
            } else {
                Check::new(at, State::Healthy, Some(100), None)
            };
            history
                .record(ConnectorId::new(3).unwrap(), &DayUpdate::of(&check))
                .await
                .unwrap();
        }
        let keys = InMemoryKeySource::new(format!(
            r#"{{"keys":[{{"name":"t","key":"{KEY}","impersonate":{{"user":"ops","privileges":["Feeds_Manage"]}}}}]}}"#
        ));
        let h = GetConnector::new(store, KeyCache::new(keys, CachePolicy::default()))
            .with_clock(Arc::new(At(now())))
            .with_history(history.clone());
        (history, h)
    }

    fn request(method: &str, path: &str, key: Option<&str>) -> Request {
        let mut b = http::Request::builder().method(method).uri(path);
        if let Some(key) = key {
            b = b.header("X-ApiKey", key);
        }
        b.body(Body::Empty).unwrap()
    }

    fn text(r: &Response<Body>) -> String {
        match r.body() {
            Body::Text(t) => t.clone(),
            Body::Empty => String::new(),
            Body::Binary(b) => String::from_utf8(b.clone()).unwrap(),
            _ => panic!(),
        }
    }

    #[test]
    fn views_are_told_by_the_segment_after_the_id() {
        for (path, view) in [
            ("/api/connector-health/3", View::Connector),
            ("/api/connector-health/3/history", View::History),
            ("/prod/api/connector-health/3/badge.svg", View::BadgeSvg),
            ("/api/connector-health/3/badge.json", View::BadgeJson),
            ("/api/connector-health/history", View::Connector),
            ("/api/connector-health/3/other", View::Connector),
        ] {
            assert_eq!(View::of_path(path), view, "{path}");
        }
        let r = request("GET", "/api/connector-health/7/badge.svg", None);
        assert_eq!(connector_id(&r), ConnectorId::new(7));
        let r = request("GET", "/api/connector-health/history", None);
        assert_eq!(connector_id(&r), None);
    }

    #[tokio::test]
    async fn the_history_route_answers_the_summary() {
        let (_, h) = handler().await;
        let r = h
            .handle(request("GET", "/api/connector-health/3/history", Some(KEY)))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], JSON_CONTENT_TYPE);
        assert!(r.headers().contains_key("etag"));
        let v: serde_json::Value = serde_json::from_str(&text(&r)).unwrap();
        assert_eq!(v["id"], 3);
        assert_eq!(v["uptime"]["24h"], 90.0);
        assert_eq!(v["hourly"].as_array().unwrap().len(), 24);
        assert_eq!(v["daily"].as_array().unwrap().len(), 90);
        assert_eq!(v["daily"][89]["checks"], 120);
        let recent = v["recentChecks"].as_array().unwrap();
        assert_eq!(recent.len(), 50);
        assert_eq!(recent[0]["checkedAt"], "2025-11-05T12:00:30.000Z");
        assert_eq!(recent[0]["message"], "HTTP 503 Service Unavailable.");
        assert_eq!(recent[1]["state"], "healthy");
        assert!(v.get("demo").is_none());
    }

    #[tokio::test]
    async fn history_and_badges_have_the_same_403_404_and_503() {
        let (history, h) = handler().await;
        for path in [
            "/api/connector-health/3/history",
            "/api/connector-health/3/badge.svg",
            "/api/connector-health/3/badge.json",
        ] {
            let r = h.handle(request("GET", path, None)).await;
            assert_eq!(r.status(), 403, "{path}");
            assert_eq!(text(&r), r#"{"message":"API key missing."}"#);
            let r = h.handle(request("GET", path, Some("wrong"))).await;
            assert_eq!(r.status(), 403, "{path}");
            let missing = path.replace("/3/", "/4/");
            let r = h.handle(request("GET", &missing, Some(KEY))).await;
            assert_eq!(r.status(), 404, "{missing}");
            assert_eq!(text(&r), r#"{"message":"Connector not found."}"#);
            let bad = path.replace("/3/", "/x/");
            assert_eq!(
                h.handle(request("GET", &bad, Some(KEY))).await.status(),
                404
            );
            let r = h.handle(request("POST", path, Some(KEY))).await;
            assert_eq!(r.status(), 405);
        }
        history.fail(true);
        let r = h
            .handle(request("GET", "/api/connector-health/3/history", Some(KEY)))
            .await;
        assert_eq!(r.status(), 503);
        let r = h
            .handle(request(
                "GET",
                "/api/connector-health/3/badge.svg?uptime=7d",
                Some(KEY),
            ))
            .await;
        assert_eq!(r.status(), 503);
        // The state badge does not need history.
        let r = h
            .handle(request(
                "GET",
                "/api/connector-health/3/badge.svg",
                Some(KEY),
            ))
            .await;
        assert_eq!(r.status(), 200);
    }

    #[tokio::test]
    async fn badges_need_no_key_only_when_the_status_page_is_public() {
        let (_, h) = handler().await;
        let h = h.with_badge_access(BadgeAccess::of_status_page(true));
        for path in [
            "/api/connector-health/3/badge.svg",
            "/api/connector-health/3/badge.json",
            "/api/connector-health/3/badge.json?uptime=7d",
        ] {
            let r = h.handle(request("GET", path, None)).await;
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(r.headers()["cache-control"], "max-age=300");
        }
        // An unknown connector is still 404, and the JSON routes still need a key.
        let r = h
            .handle(request("GET", "/api/connector-health/4/badge.svg", None))
            .await;
        assert_eq!(r.status(), 404);
        for path in ["/api/connector-health/3", "/api/connector-health/3/history"] {
            let r = h.handle(request("GET", path, None)).await;
            assert_eq!(r.status(), 403, "{path}");
        }
        let private = h.with_badge_access(BadgeAccess::of_status_page(false));
        let r = private
            .handle(request("GET", "/api/connector-health/3/badge.svg", None))
            .await;
        assert_eq!(r.status(), 403);
    }

    #[tokio::test]
    async fn badges_show_the_state_or_the_uptime_and_may_be_kept_five_minutes() {
        let (_, h) = handler().await;
        let r = h
            .handle(request(
                "GET",
                &format!("/api/connector-health/3/badge.svg?key={KEY}"),
                None,
            ))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], SVG_CONTENT_TYPE);
        assert_eq!(r.headers()["cache-control"], "max-age=300");
        let svg = text(&r);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains(">&lt;nuget&gt; &amp; co</text>"), "{svg}");
        assert!(svg.contains(">error</text>"), "{svg}");
        assert_eq!(r.headers()["content-length"], svg.len().to_string());

        let r = h
            .handle(request(
                "GET",
                "/api/connector-health/3/badge.json",
                Some(KEY),
            ))
            .await;
        assert_eq!(r.headers()["cache-control"], "max-age=300");
        let v: serde_json::Value = serde_json::from_str(&text(&r)).unwrap();
        assert_eq!(
            (&v["schemaVersion"], &v["label"], &v["message"], &v["color"]),
            (
                &1.into(),
                &"<nuget> & co".into(),
                &"error".into(),
                &"red".into()
            )
        );

        let r = h
            .handle(request(
                "GET",
                "/api/connector-health/3/badge.json?uptime=24h",
                Some(KEY),
            ))
            .await;
        let v: serde_json::Value = serde_json::from_str(&text(&r)).unwrap();
        assert_eq!(
            (&v["label"], &v["message"]),
            (&"uptime 24h".into(), &"90%".into())
        );

        // HEAD: the GET's headers, no body.
        let get = h
            .handle(request(
                "GET",
                "/api/connector-health/3/badge.svg?uptime=7d",
                Some(KEY),
            ))
            .await;
        let head = h
            .handle(request(
                "HEAD",
                "/api/connector-health/3/badge.svg?uptime=7d",
                Some(KEY),
            ))
            .await;
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers(), get.headers());
        assert_eq!(head.body(), &Body::Empty);
        assert!(text(&get).contains(">uptime 7d</text>"));
    }

    #[tokio::test]
    async fn an_unknown_uptime_window_is_400_with_a_message() {
        let (_, h) = handler().await;
        for q in ["uptime=1h", "uptime=", "uptime=7D", "uptime=7d&uptime=24h"] {
            for badge in ["badge.svg", "badge.json"] {
                let r = h
                    .handle(request(
                        "GET",
                        &format!("/api/connector-health/3/{badge}?{q}"),
                        Some(KEY),
                    ))
                    .await;
                assert_eq!(r.status(), 400, "{q}");
                assert_eq!(
                    text(&r),
                    format!(r#"{{"message":"{MSG_BAD_UPTIME}"}}"#),
                    "{q}"
                );
            }
        }
    }
}
