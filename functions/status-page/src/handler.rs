//! `GET`/`HEAD /status` and `/status/{id}`: the method check, the key check, the reads, and
//! the page with its headers.
//!
//! The page takes the same API keys as the JSON API (`X-ApiKey`, `?key=`, Basic with the
//! user `api`). Unlike the JSON API, which keeps ProGet's `403` for a missing key, the
//! page answers a request without a key `401` with a Basic challenge, so that a browser
//! asks for one. In public mode (`STATUS_PAGE_PUBLIC`) it asks for none.
//!
//! Expected failures are pages too (401, 403, 404, 405, 400, 503); nothing returns `Err`.

use crate::page::{self, Context, Links, Listed, Place};
use crate::trend::Trend;
pub use crate::trend::{NoHistory, Trends};
use chrono::{DateTime, Utc};
use http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    REFERRER_POLICY, RETRY_AFTER, VARY, WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use shared::auth::{presented_key, query_values};
use shared::cache::TtlCache;
use shared::config::api::ReadSettings;
use shared::config::status_page::DEFAULT_HISTORY_CACHE;
use shared::domain::{ConnectorId, Staleness, State, StatusRow};
use shared::http::{
    encoded_body_len, negotiate, ReadMethod, ENVELOPE_MARGIN, LAMBDA_RESPONSE_LIMIT,
    REQUEST_BUDGET, RETRY_AFTER_SECONDS,
};
use shared::ports::{AuthError, Authorizer, Clock, DependencyError, StatusReader, SystemClock};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The route's path parameter.
pub const ID_PARAM: &str = "id";
/// The page's Basic challenge: a browser asks for a user name and password for this realm.
pub const CHALLENGE: &str = "Basic realm=\"connector-health\", charset=\"UTF-8\"";
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// How the page answers, beyond where it reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSettings {
    /// No key needed (`STATUS_PAGE_PUBLIC`).
    pub public: bool,
    /// When a connector's last check is too old to trust.
    pub staleness: Staleness,
    /// The most bytes the invocation response may take.
    pub max_response_bytes: usize,
    /// How long a container lists the rows of its last `Scan` (`LIST_CACHE_SECONDS`).
    pub list_cache: Duration,
    /// How long a container shows the list's history from its last reads
    /// (`STATUS_PAGE_HISTORY_CACHE_SECONDS`).
    pub history_cache: Duration,
}

impl Default for PageSettings {
    fn default() -> Self {
        Self {
            public: false,
            staleness: Staleness::default(),
            max_response_bytes: LAMBDA_RESPONSE_LIMIT,
            list_cache: Duration::ZERO,
            history_cache: Duration::ZERO,
        }
    }
}

impl PageSettings {
    /// The read functions' settings, and whether the page is public.
    pub fn new(read: &ReadSettings, public: bool) -> Self {
        Self {
            public,
            staleness: read.staleness,
            max_response_bytes: read.max_response_bytes,
            list_cache: read.list_cache,
            history_cache: DEFAULT_HISTORY_CACHE,
        }
    }

    /// With the list's history kept this long per container.
    pub fn with_history_cache(self, history_cache: Duration) -> Self {
        Self {
            history_cache,
            ..self
        }
    }
}

/// Which page a path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    List,
    /// `None`: not a connector id (404).
    Detail(Option<ConnectorId>),
    Unknown,
}

fn route(req: &Request) -> Route {
    if let Some(raw) = req.path_parameters_ref().and_then(|p| p.first(ID_PARAM)) {
        return Route::Detail(ConnectorId::parse(raw));
    }
    let path = req.uri().path();
    if path.ends_with("/status") {
        return Route::List;
    }
    match path.rsplit_once('/') {
        Some((head, id)) if head.ends_with("/status") => Route::Detail(ConnectorId::parse(id)),
        _ => Route::Unknown,
    }
}

/// Answers `GET`/`HEAD /status` and `/status/{id}`.
pub struct StatusPage<R, A, T = NoHistory, C = SystemClock> {
    pub rows: R,
    pub auth: A,
    pub trends: T,
    pub clock: C,
    pub settings: PageSettings,
    /// The list's rows and history, kept per [`PageSettings`] (the detail page reads).
    cached: Cached,
}

/// What the list page keeps between views.
struct Cached {
    rows: TtlCache<Vec<StatusRow>>,
    trends: TtlCache<HashMap<ConnectorId, Trend>>,
}

impl Cached {
    fn new(settings: &PageSettings) -> Self {
        Self {
            rows: TtlCache::new(settings.list_cache),
            trends: TtlCache::new(settings.history_cache),
        }
    }
}

impl<R: StatusReader, A: Authorizer> StatusPage<R, A> {
    /// The page without history, on the system clock, with the default settings.
    pub fn new(rows: R, auth: A) -> Self {
        Self {
            rows,
            auth,
            trends: NoHistory,
            clock: SystemClock,
            settings: PageSettings::default(),
            cached: Cached::new(&PageSettings::default()),
        }
    }
}

impl<R: StatusReader, A: Authorizer, T: Trends, C: Clock> StatusPage<R, A, T, C> {
    /// The page with these settings; empties what the list kept.
    pub fn with_settings(mut self, settings: PageSettings) -> Self {
        self.cached = Cached::new(&settings);
        self.settings = settings;
        self
    }

    /// The page with this history.
    pub fn with_trends<U: Trends>(self, trends: U) -> StatusPage<R, A, U, C> {
        StatusPage {
            rows: self.rows,
            auth: self.auth,
            trends,
            clock: self.clock,
            settings: self.settings,
            cached: Cached::new(&self.settings),
        }
    }

    /// The page on this clock.
    pub fn with_clock<D: Clock>(self, clock: D) -> StatusPage<R, A, T, D> {
        StatusPage {
            rows: self.rows,
            auth: self.auth,
            trends: self.trends,
            clock,
            settings: self.settings,
            cached: Cached::new(&self.settings),
        }
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let Some(method) = ReadMethod::of(req.method()) else {
            let mut r = Answer::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
                "This page answers GET and HEAD only.",
            )
            .send(&req, ReadMethod::Get, &self.settings);
            r.headers_mut().insert(
                ALLOW,
                HeaderValue::from_static(shared::http::ALLOWED_METHODS),
            );
            return r;
        };
        let answer = match tokio::time::timeout(REQUEST_BUDGET, self.answer(&req)).await {
            Ok(answer) => answer,
            Err(_) => {
                tracing::error!(
                    budget_s = REQUEST_BUDGET.as_secs(),
                    "key check and reads did not finish within the request budget; answering 503"
                );
                Answer::unavailable()
            }
        };
        answer.send(&req, method, &self.settings)
    }

    async fn answer(&self, req: &Request) -> Answer {
        let route = route(req);
        if !self.settings.public {
            match self.auth.authorize(&presented_key(req)).await {
                Ok(()) => {}
                Err(AuthError::Missing) => {
                    let mut a = Answer::error(
                        StatusCode::UNAUTHORIZED,
                        "API key required",
                        "Log in with the user name api and an API key as the password, or open this page with ?key= and a key.",
                    );
                    a.challenge = true;
                    return a;
                }
                Err(AuthError::NotAuthorized) => {
                    return Answer::error(
                        StatusCode::FORBIDDEN,
                        "API key not authorized",
                        "The API key given does not open the connector health pages.",
                    )
                }
                Err(AuthError::Unavailable) => return Answer::unavailable(),
            }
        }
        // The key goes on into the page's own links only when it came in the URL.
        let key = match self.settings.public {
            true => None,
            false => query_values(req, "key").into_iter().find(|k| !k.is_empty()),
        };
        let ctx = Context {
            now: self.clock.now(),
            links: Links::new(key),
            history_unavailable: false,
        };
        match route {
            Route::List => self.list(req, ctx).await,
            Route::Detail(Some(id)) => self.detail(id, ctx).await,
            Route::Detail(None) => Answer::not_found(&ctx),
            Route::Unknown => {
                Answer::error(StatusCode::NOT_FOUND, "Not found", "There is no page here.")
            }
        }
    }

    async fn list(&self, req: &Request, mut ctx: Context) -> Answer {
        let filter = match state_filter(req) {
            Ok(f) => f,
            Err(text) => {
                return Answer {
                    html: page::error_page(
                        "Unknown state",
                        &text,
                        Some(ctx.links.list(Place::List, None)),
                    ),
                    ..Answer::error(StatusCode::BAD_REQUEST, "", "")
                };
            }
        };
        let rows = match self.cached.rows.get(&self.clock, || self.rows.rows()).await {
            Ok(rows) => rows,
            Err(e) => return failed_read(&e),
        };
        let ids: Vec<ConnectorId> = rows.iter().map(|r| r.connector.id).collect();
        let now = ctx.now;
        let read = self
            .cached
            .trends
            .get(&self.clock, || self.trends.trends(&ids, false, now))
            .await;
        let trends = history_or_none(read, &mut ctx);
        let listed = self.listed(&rows, &trends, ctx.now);
        Answer::page(page::list_page(&ctx, &listed, filter.as_deref()))
    }

    async fn detail(&self, id: ConnectorId, mut ctx: Context) -> Answer {
        let row = match self.rows.row(id).await {
            Ok(Some(row)) => row,
            Ok(None) => return Answer::not_found(&ctx),
            Err(e) => return failed_read(&e),
        };
        let read = self.trends.trends(&[id], true, ctx.now).await;
        let trends = history_or_none(read.map(Arc::new), &mut ctx);
        let rows = [row];
        let listed = self.listed(&rows, &trends, ctx.now);
        Answer::page(page::detail_page(&ctx, &listed[0]))
    }

    fn listed<'a>(
        &self,
        rows: &'a [StatusRow],
        trends: &'a HashMap<ConnectorId, Trend>,
        now: DateTime<Utc>,
    ) -> Vec<Listed<'a>> {
        rows.iter()
            .map(|row| Listed {
                row,
                stale: self.settings.staleness.is_stale(&row.connector.health, now),
                trend: trends.get(&row.connector.id),
            })
            .collect()
    }
}

/// History is an addition: when it cannot be read the page says so and shows the rows.
fn history_or_none(
    read: Result<Arc<HashMap<ConnectorId, Trend>>, DependencyError>,
    ctx: &mut Context,
) -> Arc<HashMap<ConnectorId, Trend>> {
    read.unwrap_or_else(|e| {
        tracing::warn!(
            service = e.service(),
            kind = e.kind(),
            error = %e,
            "history read failed; the page shows the rows without it"
        );
        ctx.history_unavailable = true;
        Arc::default()
    })
}

fn failed_read(e: &DependencyError) -> Answer {
    tracing::error!(
        service = e.service(),
        kind = e.kind(),
        error = %e,
        "connector read failed; answering 503"
    );
    Answer::unavailable()
}

/// The states `?state=` asks for (see [`shared::http::state_filter`]); an empty or unknown
/// state is an error naming it.
pub fn state_filter(req: &Request) -> Result<Option<Vec<State>>, String> {
    shared::http::state_filter(req).map_err(|shared::http::UnknownState(shown)| {
        format!("Unknown state \u{201c}{shown}\u{201d}; use healthy, error or unknown.")
    })
}

/// A page to send, before the method and the client's encodings are applied.
struct Answer {
    status: StatusCode,
    html: String,
    /// Send the Basic challenge (`401`).
    challenge: bool,
    /// Send `Retry-After` (`503`).
    retry: bool,
}

impl Answer {
    fn page(html: String) -> Self {
        Self {
            status: StatusCode::OK,
            html,
            challenge: false,
            retry: false,
        }
    }

    fn error(status: StatusCode, title: &str, text: &str) -> Self {
        Self {
            status,
            html: page::error_page(title, text, None),
            challenge: false,
            retry: false,
        }
    }

    fn not_found(ctx: &Context) -> Self {
        Self {
            html: page::error_page(
                "Connector not found",
                "No connector has this id.",
                Some(ctx.links.list(Place::Detail, None)),
            ),
            ..Self::error(StatusCode::NOT_FOUND, "", "")
        }
    }

    fn unavailable() -> Self {
        Self {
            retry: true,
            ..Self::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The connectors could not be read just now; retry in a few seconds.",
            )
        }
    }

    /// The response: the page's security headers on every answer, gzip when the client
    /// takes it, and for HEAD the GET response's headers without the body.
    fn send(self, req: &Request, method: ReadMethod, settings: &PageSettings) -> Response<Body> {
        self.encode(negotiate::accepts_gzip(req.headers()), method, settings)
    }

    fn encode(self, gzip: bool, method: ReadMethod, settings: &PageSettings) -> Response<Body> {
        let html = self.html;
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        security_headers(headers);
        if self.challenge {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
        }
        if self.retry {
            headers.insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        let compressed = (html.len() >= negotiate::MIN_COMPRESSED_LENGTH && gzip)
            .then(|| negotiate::gzip(&html))
            .flatten();
        let body = match compressed {
            Some(bytes) => {
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                Body::Binary(bytes)
            }
            None => Body::Text(html),
        };
        if encoded_body_len(&body) + ENVELOPE_MARGIN > settings.max_response_bytes {
            tracing::warn!("page too large for the invocation response; answering 406");
            let mut r = Self::error(
                StatusCode::NOT_ACCEPTABLE,
                "Too many connectors to show",
                "The page is too large to send; open it in a browser that accepts gzip, or show fewer connectors with ?state=error.",
            )
            .encode(false, method, settings);
            r.headers_mut()
                .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
            return r;
        }
        let length = match &body {
            Body::Text(t) => t.len(),
            Body::Binary(b) => b.len(),
            _ => 0,
        };
        let headers = response.headers_mut();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
        if method == ReadMethod::Get {
            *response.body_mut() = body;
        }
        response
    }
}

/// What every answer of the page carries: HTML, never cached by anyone (it may be opened
/// with `?key=`), nothing loaded from elsewhere, never framed, no referrer sent on.
pub fn security_headers(headers: &mut HeaderMap) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(HTML_CONTENT_TYPE));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(csp) = HeaderValue::from_str(page::csp()) {
        headers.insert(CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::{CheckRow, DayBar};
    use chrono::TimeZone;
    use shared::adapters::memory::{InMemoryConnectors, InMemoryKeySource, InMemoryStatusRows};
    use shared::auth::{CachePolicy, KeyCache};
    use shared::domain::{Connector, Diagnostics, Health};
    use std::sync::Arc;
    use std::time::Instant;

    const KEY: &str = "k-page";

    struct Fixed(DateTime<Utc>);
    impl Clock for Fixed {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
        fn instant(&self) -> Instant {
            Instant::now()
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    fn minutes_ago(m: i64) -> DateTime<Utc> {
        now() - chrono::Duration::minutes(m)
    }

    fn connector(id: u32, name: &str, health: Health) -> Connector {
        Connector {
            id: ConnectorId::new(id).unwrap(),
            name: name.into(),
            url: format!("https://{id}.example.org/feed"),
            health,
            diagnostics: Diagnostics::default(),
        }
    }

    fn healthy(id: u32, name: &str) -> Connector {
        let mut c = connector(
            id,
            name,
            Health::Healthy {
                last_checked: minutes_ago(3),
            },
        );
        c.diagnostics.response_time_ms = Some(120);
        c.diagnostics.state_changed_at = Some(minutes_ago(60 * 26));
        c
    }

    fn failing(id: u32, name: &str, message: &str) -> Connector {
        let mut c = connector(
            id,
            name,
            Health::Error {
                message: message.into(),
                last_checked: minutes_ago(1),
            },
        );
        c.diagnostics.state_changed_at = Some(minutes_ago(10));
        c
    }

    type Page = StatusPage<Arc<InMemoryStatusRows>, KeyCache<InMemoryKeySource>, NoHistory, Fixed>;

    fn page(rows: Vec<Connector>) -> (Arc<InMemoryStatusRows>, Page) {
        let store = Arc::new(InMemoryStatusRows::new(Arc::new(InMemoryConnectors::new(
            rows,
        ))));
        let keys = KeyCache::new(InMemoryKeySource::granting(&[KEY]), CachePolicy::default());
        let page = StatusPage::new(store.clone(), keys).with_clock(Fixed(now()));
        (store, page)
    }

    fn fleet() -> Vec<Connector> {
        vec![
            healthy(1, "npmjs.org"),
            failing(2, "nuget.org", "Connection timed out after 10 s."),
            connector(3, "maven", Health::Unknown),
            healthy(4, "Alpha"),
            failing(5, "pypi", "HTTP 503."),
        ]
    }

    fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::Empty).unwrap()
    }

    fn get(uri: &str) -> Request {
        request("GET", uri, &[("X-ApiKey", KEY)])
    }

    fn html(r: &Response<Body>) -> &str {
        match r.body() {
            Body::Text(t) => t,
            Body::Empty => "",
            _ => panic!("binary body"),
        }
    }

    #[tokio::test]
    async fn the_list_puts_failing_connectors_first_under_a_banner() {
        let (_, p) = page(fleet());
        let r = p.handle(get("/status")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[CONTENT_TYPE], HTML_CONTENT_TYPE);
        let body = html(&r);
        assert!(body.starts_with("<!DOCTYPE html>"));
        assert!(
            body.contains(
                r#"<p class="banner bad" role="status">2 of 5 failing, 1 not checked yet</p>"#
            ),
            "{body}"
        );
        // Failing (by name), then unknown, then healthy (by name, any case).
        let order: Vec<usize> = [
            "id=\"c2\"",
            "id=\"c5\"",
            "id=\"c3\"",
            "id=\"c4\"",
            "id=\"c1\"",
        ]
        .iter()
        .map(|id| body.find(id).unwrap_or_else(|| panic!("{id} missing")))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        // State as text, not only colour; the message; when; since when.
        assert!(body.contains("<span class=\"badge error\">Failing</span>"));
        assert!(body.contains("Connection timed out after 10 s."));
        assert!(
            body.contains("<dt>Checked</dt><dd>1 min ago</dd>"),
            "{body}"
        );
        assert!(
            body.contains("<dt>Down since</dt><dd>11:50 UTC (10 min)</dd>"),
            "{body}"
        );
        assert!(
            body.contains("<dt>Up since</dt><dd>2026-11-26 10:00 UTC (1 d 2 h)</dd>"),
            "{body}"
        );
        // On the connector's page, the moments are <time> elements.
        let detail = html(&p.handle(get("/status/2")).await).to_owned();
        assert!(detail.contains("<dt>Down since</dt><dd><time datetime=\"2026-11-27T11:50Z\">11:50 UTC</time> (10 min)</dd>"), "{detail}");
        assert!(body.contains("no history yet"));
    }

    #[test]
    fn banners_count_the_states() {
        let b = |healthy, error, unknown| {
            page::banner(&page::Counts {
                healthy,
                error,
                unknown,
            })
        };
        assert_eq!(b(14, 0, 0), ("All 14 connectors healthy".into(), "good"));
        assert_eq!(b(11, 3, 0), ("3 of 14 failing".into(), "bad"));
        assert_eq!(
            b(12, 0, 2),
            ("12 of 14 healthy, 2 not checked yet".into(), "warn")
        );
        assert_eq!(b(1, 0, 0), ("The connector is healthy".into(), "good"));
        assert_eq!(b(0, 0, 0), ("No connectors yet".into(), "warn"));
    }

    #[tokio::test]
    async fn user_data_is_escaped_and_urls_lose_their_credentials() {
        let mut evil = failing(
            7,
            "<script>alert(1)</script>",
            "Bad \"answer\" <b>here</b> & there",
        );
        evil.url = "https://user:s3cret@feeds.example.org/v3?token=abc&x=<i>".into();
        let (store, p) = page(vec![evil]);
        store.set_feed_type(ConnectorId::new(7).unwrap(), "\"><img src=x>");
        for path in ["/status", "/status/7"] {
            let body = html(&p.handle(get(path)).await).to_owned();
            assert!(!body.contains("<script>alert"), "{path}");
            assert!(
                body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{path}"
            );
            assert!(
                body.contains("Bad &quot;answer&quot; &lt;b&gt;here&lt;/b&gt; &amp; there"),
                "{path}: {body}"
            );
            assert!(body.contains("&quot;&gt;&lt;img src=x&gt;"), "{path}");
            assert!(!body.contains("<img"), "{path}");
            for secret in ["s3cret", "user", "abc"] {
                assert!(!body.contains(secret), "{path}: {secret} shown: {body}");
            }
            // Host, path and the parameter's name stay; its value is replaced.
            assert!(
                body.contains("https://feeds.example.org/v3?token="),
                "{path}: {body}"
            );
            // The only script is the page's own.
            assert_eq!(body.matches("<script>").count(), 1, "{path}");
        }
    }

    #[tokio::test]
    async fn filter_links_keep_a_key_from_the_url_and_only_then() {
        let (_, p) = page(fleet());
        let body = html(&p.handle(get("/status?key=k-page&state=error")).await).to_owned();
        assert!(
            body.contains(r#"<a href="status?key=k-page">All (5)</a>"#),
            "{body}"
        );
        assert!(
            body.contains(
                r#"<a href="status?state=error&amp;key=k-page" aria-current="page">Failing (2)</a>"#
            ),
            "{body}"
        );
        assert!(body.contains(r#"<a href="status?state=healthy&amp;key=k-page">Healthy (2)</a>"#));
        assert!(body.contains(r#"<a href="status/2?key=k-page">nuget.org</a>"#));
        // Filtered: only the failing connectors are listed; the banner still counts all.
        assert!(body.contains("id=\"c2\"") && body.contains("id=\"c5\""));
        assert!(!body.contains("id=\"c1\"") && !body.contains("id=\"c3\""));
        assert!(body.contains("2 of 5 failing"));
        // A key given in a header never reaches the page.
        let body = html(&p.handle(get("/status")).await).to_owned();
        assert!(!body.contains("key="), "{body}");
        assert!(!body.contains(KEY));
        assert!(body.contains(r#"<a href="status" aria-current="page">All (5)</a>"#));
        // The detail page links back the same way.
        let body = html(&p.handle(get("/status/2?key=k-page")).await).to_owned();
        assert!(
            body.contains(r#"<a href="../status?key=k-page">"#),
            "{body}"
        );
    }

    #[tokio::test]
    async fn an_unknown_state_is_a_400_page() {
        let (_, p) = page(fleet());
        let r = p.handle(get("/status?state=%3Cb%3E")).await;
        assert_eq!(r.status(), 400);
        assert!(html(&r).contains("Unknown state \u{201c}&lt;b&gt;\u{201d}"));
        assert_eq!(
            p.handle(get("/status?state=error,unknown")).await.status(),
            200
        );
    }

    #[tokio::test]
    async fn every_answer_carries_the_security_headers_and_the_csp_allows_only_the_page_own() {
        let (_, p) = page(fleet());
        for (req, status) in [
            (get("/status"), 200),
            (get("/status/2"), 200),
            (get("/status/99"), 404),
            (request("GET", "/status", &[]), 401),
            (request("GET", "/status", &[("X-ApiKey", "wrong")]), 403),
            (request("POST", "/status", &[]), 405),
        ] {
            let r = p.handle(req).await;
            assert_eq!(r.status(), status);
            let h = r.headers();
            assert_eq!(h[CONTENT_TYPE], HTML_CONTENT_TYPE, "{status}");
            assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(h[REFERRER_POLICY], "no-referrer");
            assert_eq!(h[CACHE_CONTROL], "no-store");
            let csp = h[CONTENT_SECURITY_POLICY].to_str().unwrap();
            assert!(
                csp.starts_with("default-src 'none'; style-src 'sha256-"),
                "{csp}"
            );
            for part in [
                "frame-ancestors 'none'",
                "base-uri 'none'",
                "form-action 'none'",
            ] {
                assert!(csp.contains(part), "{csp}");
            }
            assert!(!csp.contains("unsafe"));
        }
        // The hashes are those of the inline stylesheet and script as sent.
        let body = html(&p.handle(get("/status")).await).to_owned();
        let inline = |open: &str, close: &str| {
            let start = body.find(open).unwrap() + open.len();
            let end = start + body[start..].find(close).unwrap();
            body[start..end].to_owned()
        };
        use base64::Engine as _;
        use sha2::Digest as _;
        let hash = |t: String| {
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(t))
            )
        };
        let csp = page::csp();
        assert!(csp.contains(&format!(
            "style-src {}",
            hash(inline("<style>", "</style>"))
        )));
        assert!(csp.contains(&format!(
            "script-src {}",
            hash(inline("<script>", "</script>"))
        )));
    }

    #[tokio::test]
    async fn without_a_key_the_page_asks_for_basic_and_a_wrong_key_is_403() {
        let (_, p) = page(fleet());
        let r = p.handle(request("GET", "/status", &[])).await;
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()[WWW_AUTHENTICATE],
            "Basic realm=\"connector-health\", charset=\"UTF-8\""
        );
        assert!(html(&r).contains("<h1>API key required</h1>"));
        // The detail page too, whatever the id.
        let r = p.handle(request("GET", "/status/abc", &[])).await;
        assert_eq!(r.status(), 401);
        for wrong in [
            ("X-ApiKey", "nope"),
            ("Authorization", "Basic YXBpOm5vcGU="),
        ] {
            let r = p.handle(request("GET", "/status", &[wrong])).await;
            assert_eq!(r.status(), 403, "{wrong:?}");
            assert!(r.headers().get(WWW_AUTHENTICATE).is_none());
            assert!(html(&r).contains("<h1>API key not authorized</h1>"));
        }
        let r = p.handle(request("GET", "/status?key=nope", &[])).await;
        assert_eq!(r.status(), 403);
        // Every way the JSON API takes a key opens the page.
        use base64::Engine as _;
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("api:{KEY}"))
        );
        for r in [
            request("GET", "/status", &[("X-ApiKey", KEY)]),
            request("GET", &format!("/status?key={KEY}"), &[]),
            request("GET", "/status", &[("Authorization", &basic)]),
        ] {
            assert_eq!(p.handle(r).await.status(), 200);
        }
    }

    #[tokio::test]
    async fn a_public_page_needs_no_key_and_carries_none() {
        let (_, p) = page(fleet());
        let p = p.with_settings(PageSettings {
            public: true,
            ..PageSettings::default()
        });
        let r = p.handle(request("GET", "/status", &[])).await;
        assert_eq!(r.status(), 200);
        assert!(r.headers().get(WWW_AUTHENTICATE).is_none());
        let r = p.handle(request("GET", "/status?key=whatever", &[])).await;
        assert_eq!(r.status(), 200);
        assert!(!html(&r).contains("whatever"));
        assert_eq!(
            p.handle(request("GET", "/status/2", &[])).await.status(),
            200
        );
    }

    #[tokio::test]
    async fn unknown_ids_are_404_pages_and_head_has_the_get_headers() {
        let (_, p) = page(fleet());
        for path in ["/status/99", "/status/abc", "/status/0", "/status/-1"] {
            let r = p.handle(get(path)).await;
            assert_eq!(r.status(), 404, "{path}");
            assert!(html(&r).contains("<h1>Connector not found</h1>"));
        }
        assert_eq!(p.handle(get("/elsewhere")).await.status(), 404);
        let g = p.handle(get("/status")).await;
        let h = p
            .handle(request("HEAD", "/status", &[("X-ApiKey", KEY)]))
            .await;
        assert_eq!(h.status(), 200);
        assert_eq!(g.headers(), h.headers());
        assert_eq!(h.body(), &Body::Empty);
        let r = p.handle(request("DELETE", "/status/1", &[])).await;
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()[ALLOW], "GET, HEAD");
    }

    #[tokio::test]
    async fn a_table_outage_is_a_503_page() {
        let (store, p) = page(fleet());
        store.connectors.fail(true);
        for path in ["/status", "/status/1"] {
            let r = p.handle(get(path)).await;
            assert_eq!(r.status(), 503);
            assert_eq!(r.headers()[RETRY_AFTER], "5");
            assert!(html(&r).contains("Temporarily unavailable"));
        }
    }

    #[tokio::test]
    async fn gzip_when_the_browser_takes_it() {
        let (_, p) = page(fleet());
        let r = p
            .handle(request(
                "GET",
                "/status",
                &[("X-ApiKey", KEY), ("Accept-Encoding", "gzip, br")],
            ))
            .await;
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
        let Body::Binary(bytes) = r.body() else {
            panic!()
        };
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        assert!(text.contains("2 of 5 failing"));
    }

    #[tokio::test]
    async fn stale_checks_and_expiring_certificates_are_flagged() {
        let mut old = healthy(1, "old");
        old.health = Health::Healthy {
            last_checked: minutes_ago(16),
        };
        old.diagnostics.certificate_expires_at = Some(now() + chrono::Duration::days(5));
        let mut expired = failing(2, "expired", "TLS certificate expired.");
        expired.diagnostics.certificate_expires_at = Some(now() - chrono::Duration::days(2));
        let mut fine = healthy(3, "fine");
        fine.diagnostics.certificate_expires_at = Some(now() + chrono::Duration::days(60));
        let (_, p) = page(vec![old, expired, fine]);
        let body = html(&p.handle(get("/status")).await).to_owned();
        assert_eq!(body.matches(r#"<span class="tag">stale</span>"#).count(), 1);
        assert!(body.contains("Certificate expires in 5 d ("), "{body}");
        assert!(body.contains("Certificate expired <time"), "{body}");
        assert_eq!(body.matches("Certificate exp").count(), 2);
    }

    #[tokio::test]
    async fn credentials_about_to_expire_or_past_their_date_are_flagged() {
        let mut soon = healthy(1, "soon");
        soon.diagnostics.credentials_expire_at = Some(now() + chrono::Duration::days(3));
        let mut past = healthy(2, "past");
        past.diagnostics.credentials_expire_at = Some(now() - chrono::Duration::days(1));
        let mut later = healthy(3, "later");
        later.diagnostics.credentials_expire_at = Some(now() + chrono::Duration::days(90));
        let (_, p) = page(vec![soon, past, later]);
        let body = html(&p.handle(get("/status")).await).to_owned();
        assert!(body.contains("Credentials expire in 3 d ("), "{body}");
        assert!(body.contains("Credentials expired <time"), "{body}");
        assert_eq!(body.matches("Credentials exp").count(), 2);
    }

    struct Canned(Result<Trend, DependencyError>);
    impl Trends for Canned {
        async fn trends(
            &self,
            ids: &[ConnectorId],
            _: bool,
            _: DateTime<Utc>,
        ) -> Result<HashMap<ConnectorId, Trend>, DependencyError> {
            let t = self.0.clone()?;
            Ok(ids.iter().map(|id| (*id, t.clone())).collect())
        }
    }

    fn trend() -> Trend {
        let hour = |h: i64| now() - chrono::Duration::hours(23 - h);
        Trend {
            uptime: [Some(100.0), Some(99.5), None],
            hourly: (0..24)
                .map(|h| (hour(h), (h % 5 != 0).then_some(100 + h as u64)))
                .collect(),
            daily: (0..90)
                .map(|d| DayBar {
                    date: now().date_naive() - chrono::Duration::days(89 - d),
                    checks: 288,
                    uptime: Some(if d == 80 { 90.0 } else { 100.0 }),
                })
                .collect(),
            recent: (0..50)
                .map(|i| CheckRow {
                    at: minutes_ago(i * 5),
                    state: if i == 3 { State::Error } else { State::Healthy },
                    response_time_ms: Some(120),
                    message: (i == 3).then(|| "HTTP <503>.".to_owned()),
                })
                .collect(),
            demo: false,
        }
    }

    #[tokio::test]
    async fn made_up_history_is_marked_as_demo_data_in_the_footer() {
        let (_, p) = page(fleet());
        let p = p.with_trends(Canned(Ok(trend())));
        for path in ["/status", "/status/1"] {
            let body = html(&p.handle(get(path)).await).to_owned();
            assert!(!body.contains("Demo data"), "{path}");
        }
        let p = p.with_trends(Canned(Ok(Trend {
            demo: true,
            ..trend()
        })));
        for path in ["/status", "/status/1"] {
            let body = html(&p.handle(get(path)).await).to_owned();
            let footer = &body[body.find("<footer>").expect("a footer")..];
            assert!(
                footer.contains("Demo data: the history shown was made up"),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn history_shows_as_uptime_sparklines_and_charts_and_its_absence_is_said() {
        let (_, p) = page(fleet());
        let bare = html(&p.handle(get("/status/1")).await).to_owned();
        assert_eq!(bare.matches("No history yet").count(), 3, "{bare}");
        assert!(!bare.contains("<svg"));
        let p = p.with_trends(Canned(Ok(trend())));
        let list = html(&p.handle(get("/status")).await).to_owned();
        assert!(
            list.contains("24 h <b>100%</b> · 7 d <b>99.5%</b> · 30 d –"),
            "{list}"
        );
        assert_eq!(list.matches(r#"<svg class="spark""#).count(), 5);
        let detail = html(&p.handle(get("/status/1")).await).to_owned();
        assert!(!detail.contains("No history yet"));
        assert_eq!(detail.matches(r#"<svg class="bars""#).count(), 2);
        assert_eq!(detail.matches("<rect class=").count(), 90 + 19);
        assert_eq!(detail.matches("<tr>").count(), 51);
        assert!(detail.contains("HTTP &lt;503&gt;."));
        assert!(
            detail.contains("<span>slowest hour 123 ms</span>"),
            "{detail}"
        );
        // A history outage leaves the rows, and says so.
        let p = p.with_trends(Canned(Err(DependencyError::other("DynamoDB", "down"))));
        let r = p.handle(get("/status")).await;
        assert_eq!(r.status(), 200);
        assert!(html(&r).contains("History could not be read just now"));
    }

    /// Counts its reads; fails while told to.
    #[derive(Default)]
    struct Counted {
        reads: std::sync::atomic::AtomicUsize,
        failing: std::sync::atomic::AtomicBool,
    }
    impl Trends for Arc<Counted> {
        async fn trends(
            &self,
            ids: &[ConnectorId],
            _: bool,
            _: DateTime<Utc>,
        ) -> Result<HashMap<ConnectorId, Trend>, DependencyError> {
            use std::sync::atomic::Ordering::SeqCst;
            self.reads.fetch_add(1, SeqCst);
            if self.failing.load(SeqCst) {
                return Err(DependencyError::other("DynamoDB", "down"));
            }
            Ok(ids.iter().map(|id| (*id, trend())).collect())
        }
    }

    #[tokio::test]
    async fn the_list_keeps_its_rows_and_history_for_their_intervals_and_the_detail_reads() {
        use shared::adapters::memory::ManualClock;
        use std::sync::atomic::Ordering::SeqCst;
        let (store, p) = page(fleet());
        let clock = ManualClock::new();
        let history = Arc::new(Counted::default());
        let settings = PageSettings {
            list_cache: Duration::from_secs(5),
            history_cache: Duration::from_secs(60),
            ..PageSettings::default()
        };
        let p = p
            .with_clock(clock.clone())
            .with_trends(history.clone())
            .with_settings(settings);
        let sparks = |body: &str| body.matches(r#"<svg class="spark""#).count();

        // Views within 5 s: one Scan and one history read between them.
        assert_eq!(sparks(html(&p.handle(get("/status")).await)), 5);
        store.connectors.set_rows(fleet()[..2].to_vec());
        clock.advance(Duration::from_secs(4));
        let second = html(&p.handle(get("/status")).await).to_owned();
        assert!(second.contains("Alpha"), "rows kept for 5 s");
        assert_eq!(history.reads.load(SeqCst), 1);
        // After 5 s the rows are read again; the history is kept for a minute.
        clock.advance(Duration::from_secs(2));
        let third = html(&p.handle(get("/status")).await).to_owned();
        assert!(!third.contains("Alpha"), "rows read again after 5 s");
        assert_eq!(sparks(&third), 2);
        assert_eq!(history.reads.load(SeqCst), 1);
        // The detail page reads its history each time.
        p.handle(get("/status/1")).await;
        p.handle(get("/status/1")).await;
        assert_eq!(history.reads.load(SeqCst), 3);
        // After a minute the history is read again; a failed read is said and not kept.
        clock.advance(Duration::from_secs(60));
        history.failing.store(true, SeqCst);
        let failed = html(&p.handle(get("/status")).await).to_owned();
        assert!(failed.contains("History could not be read just now"));
        assert_eq!(sparks(&failed), 0);
        history.failing.store(false, SeqCst);
        let back = html(&p.handle(get("/status")).await).to_owned();
        assert_eq!(sparks(&back), 2);
        assert_eq!(history.reads.load(SeqCst), 5);
    }

    #[tokio::test]
    async fn a_hundred_connectors_make_a_page_under_100_kb() {
        let rows: Vec<Connector> = (1..=100)
            .map(|i| match i % 10 {
                0 => failing(
                    i,
                    &format!("connector-{i}"),
                    "Connection refused by upstream.example.org:443.",
                ),
                _ => healthy(i, &format!("connector-{i}.example.org")),
            })
            .collect();
        let (_, p) = page(rows);
        let p = p.with_trends(Canned(Ok(trend())));
        // A key as long as chadmin makes them (64 hex digits), carried in every link.
        let key = "0123456789abcdef".repeat(4);
        let req = request("GET", &format!("/status?key={key}"), &[]);
        let p = StatusPage {
            auth: KeyCache::new(InMemoryKeySource::granting(&[&key]), CachePolicy::default()),
            ..p
        };
        let body = html(&p.handle(req).await).to_owned();
        assert_eq!(body.matches("<li class=\"c ").count(), 100);
        assert!(body.len() < 100 * 1024, "{} bytes", body.len());
    }
}
