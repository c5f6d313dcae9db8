//! The local API server: the production paths, routed to the same handler code the Lambda
//! functions run, the way API Gateway routes them.
//!
//! - `/api/connector-health` → [`ListConnectors`], `/api/connector-health/{id}` →
//!   [`GetConnector`], for every method (the handlers answer 405 themselves).
//! - Each request is turned into a `lambda_http::Request` (method, URI with its query,
//!   headers, body, and the `{id}` path parameter as API Gateway passes it), and the
//!   handler's `Response<lambda_http::Body>` is sent back unchanged.
//! - `/status` and `/status/{id}` → [`StatusPage`] (merged in with [`status_routes`]).
//! - Any other path is 404 `{"message":"Not Found"}`, as API Gateway answers.

use axum::body::Body as AxumBody;
use axum::extract::Request as AxumRequest;
use axum::response::Response as AxumResponse;
use axum::routing::any;
use axum::Router;
use chadmin::error::{AdminError, Result};
use get_connector::handler::{GetConnector, ID_PARAM};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use lambda_http::{Body as LambdaBody, RequestExt};
use list_connectors::handler::ListConnectors;
use shared::ports::{Authorizer, Clock, ConnectorReader, HistoryReader, StatusReader};
use status_page::handler::{StatusPage, Trends};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;

pub const LIST_PATH: &str = "/api/connector-health";
pub const ITEM_ROUTE: &str = "/api/connector-health/{id}";
/// A connector's history and badges, served by the single-connector handler.
pub const VIEW_ROUTES: [&str; 3] = [
    "/api/connector-health/{id}/history",
    "/api/connector-health/{id}/badge.svg",
    "/api/connector-health/{id}/badge.json",
];
pub const STATUS_PATH: &str = "/status";
pub const STATUS_ITEM_ROUTE: &str = "/status/{id}";
/// API Gateway's own answer for a path without a route.
pub const NOT_FOUND_BODY: &str = r#"{"message":"Not Found"}"#;
/// Request bodies are read up to this size (API Gateway's payload limit is 10 MB).
pub const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;

/// The router over both handlers.
pub fn router<R, A, H>(list: ListConnectors<R, A>, get: GetConnector<R, A, H>) -> Router
where
    R: ConnectorReader + 'static,
    A: Authorizer + 'static,
    H: HistoryReader + 'static,
{
    let list = Arc::new(list);
    let get = Arc::new(get);
    let view_handler = Arc::clone(&get);
    let router = Router::new()
        .route(
            LIST_PATH,
            any(move |req: AxumRequest| {
                let list = Arc::clone(&list);
                async move {
                    match to_lambda(req, None).await {
                        Ok(req) => to_axum(list.handle(req).await),
                        Err(response) => response,
                    }
                }
            }),
        )
        .route(
            ITEM_ROUTE,
            any(move |req: AxumRequest| {
                let get = Arc::clone(&get);
                async move {
                    let id = id_segment(req.uri().path());
                    match to_lambda(req, Some(id)).await {
                        Ok(req) => to_axum(get.handle(req).await),
                        Err(response) => response,
                    }
                }
            }),
        )
        .fallback(|| async { json_response(StatusCode::NOT_FOUND, NOT_FOUND_BODY) })
        .layer(axum::middleware::from_fn(access_log));
    // A connector's history and badges: the same function, as in template.yaml.
    VIEW_ROUTES.iter().fold(router, |router, route| {
        let get = Arc::clone(&view_handler);
        router.route(
            route,
            any(move |req: AxumRequest| {
                let get = Arc::clone(&get);
                async move {
                    let id = id_segment(req.uri().path())
                        .split('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    match to_lambda(req, Some(id)).await {
                        Ok(req) => to_axum(get.handle(req).await),
                        Err(response) => response,
                    }
                }
            }),
        )
    })
}

/// The status page's routes, as API Gateway routes them to its function: to merge into
/// [`router`]'s (`router(..).merge(status_routes(..))`).
pub fn status_routes<S, A, T, C>(page: StatusPage<S, A, T, C>) -> Router
where
    S: StatusReader + 'static,
    A: Authorizer + 'static,
    T: Trends + 'static,
    C: Clock + 'static,
{
    let page = Arc::new(page);
    let item = Arc::clone(&page);
    Router::new()
        .route(
            STATUS_PATH,
            any(move |req: AxumRequest| {
                let page = Arc::clone(&page);
                async move {
                    match to_lambda(req, None).await {
                        Ok(req) => to_axum(page.handle(req).await),
                        Err(response) => response,
                    }
                }
            }),
        )
        .route(
            STATUS_ITEM_ROUTE,
            any(move |req: AxumRequest| {
                let page = Arc::clone(&item);
                async move {
                    let id = segment_after(STATUS_PATH, req.uri().path());
                    match to_lambda(req, Some(id)).await {
                        Ok(req) => to_axum(page.handle(req).await),
                        Err(response) => response,
                    }
                }
            }),
        )
        .layer(axum::middleware::from_fn(access_log))
}

/// The `{id}` segment as API Gateway passes it: percent-decoded when that gives UTF-8,
/// else as sent (the handler answers 404 for anything but a positive 32-bit integer).
pub fn id_segment(path: &str) -> String {
    segment_after(LIST_PATH, path)
}

/// The segment after `prefix` + `/`, percent-decoded as [`id_segment`] does.
fn segment_after(prefix: &str, path: &str) -> String {
    let raw = path
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or_default();
    match percent_encoding::percent_decode_str(raw).decode_utf8() {
        Ok(decoded) => decoded.into_owned(),
        Err(_) => raw.to_owned(),
    }
}

/// An axum request as the Lambda handler would receive it from API Gateway.
pub async fn to_lambda(
    req: AxumRequest,
    id: Option<String>,
) -> std::result::Result<lambda_http::Request, AxumResponse> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_REQUEST_BODY)
        .await
        .map_err(|_| {
            json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                r#"{"message":"Request Entity Too Large"}"#,
            )
        })?;
    let body = if bytes.is_empty() {
        LambdaBody::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => LambdaBody::Text(text),
            Err(e) => LambdaBody::Binary(e.into_bytes()),
        }
    };
    let mut req = http::Request::new(body);
    *req.method_mut() = parts.method;
    *req.uri_mut() = parts.uri;
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers;
    Ok(match id {
        Some(id) => req.with_path_parameters(HashMap::from([(ID_PARAM.to_owned(), id)])),
        None => req,
    })
}

/// The handler's response as axum sends it: status and headers unchanged.
pub fn to_axum(response: lambda_http::Response<LambdaBody>) -> AxumResponse {
    let (parts, body) = response.into_parts();
    let body = match body {
        LambdaBody::Text(text) => AxumBody::from(text),
        LambdaBody::Binary(bytes) => AxumBody::from(bytes),
        _ => AxumBody::empty(),
    };
    AxumResponse::from_parts(parts, body)
}

fn json_response(status: StatusCode, body: &'static str) -> AxumResponse {
    let mut response = AxumResponse::new(AxumBody::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    response
}

/// One line per request: method, path (never the query string, which may hold a key),
/// status and time taken.
async fn access_log(req: AxumRequest, next: axum::middleware::Next) -> AxumResponse {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// Binds the listener; the error names the address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| AdminError::Io(format!("cannot listen on {addr}: {e}")))
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| AdminError::Io(format!("the server stopped: {e}")))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::adapters::memory::{InMemoryConnectors, InMemoryKeySource, InMemoryStatusRows};
    use shared::auth::{CachePolicy, KeyCache};
    use shared::domain::{Connector, ConnectorId, Diagnostics, Health};

    /// Serves the router over in-memory ports on 127.0.0.1:0; stops when dropped.
    struct Running {
        base: String,
        _stop: tokio::sync::oneshot::Sender<()>,
    }

    async fn start() -> Running {
        let rows = vec![Connector {
            id: ConnectorId::new(7).unwrap(),
            name: "npmjs.org".into(),
            url: "https://registry.npmjs.org".into(),
            health: Health::Unknown,
            diagnostics: Diagnostics::default(),
        }];
        let keys = || {
            KeyCache::new(
                Arc::new(InMemoryKeySource::granting(&["k"])),
                CachePolicy::default(),
            )
        };
        let store = Arc::new(InMemoryConnectors::new(rows));
        let page = StatusPage::new(Arc::new(InMemoryStatusRows::new(store.clone())), keys());
        let app = router(
            ListConnectors::new(store.clone(), keys()),
            GetConnector::new(store, keys()),
        )
        .merge(status_routes(page));
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, app, async {
            let _ = stopped.await;
        }));
        Running { base, _stop: stop }
    }

    async fn call(s: &Running, method: &str, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .request(method.parse().unwrap(), format!("{}{path}", s.base))
            .header("X-ApiKey", "k")
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_status_page_is_served_beside_the_api() {
        let s = start().await;
        let r = call(&s, "GET", "/status").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert!(r.text().await.unwrap().contains("npmjs.org"));
        assert_eq!(call(&s, "GET", "/status/7").await.status(), 200);
        assert_eq!(call(&s, "HEAD", "/status/%37").await.status(), 200);
        assert_eq!(call(&s, "GET", "/status/8").await.status(), 404);
        let r = reqwest::get(format!("{}/status", s.base)).await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic realm=\"connector-health\""));
        // The API's own 404 for paths of neither.
        assert_eq!(call(&s, "GET", "/status/7/x").await.status(), 404);
    }

    #[test]
    fn the_id_segment_is_decoded_like_api_gateway_does() {
        assert_eq!(id_segment("/api/connector-health/7"), "7");
        assert_eq!(id_segment("/api/connector-health/%37"), "7");
        assert_eq!(id_segment("/api/connector-health/%ZZ"), "%ZZ");
        assert_eq!(id_segment("/api/connector-health/%FF"), "%FF");
    }

    #[tokio::test]
    async fn both_paths_reach_their_handlers_and_other_paths_are_404() {
        let s = start().await;
        let r = call(&s, "GET", "/api/connector-health").await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().starts_with(r#"[{"id":7,"#));
        let r = call(&s, "GET", "/api/connector-health/7").await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().starts_with(r#"{"id":7,"#));
        assert_eq!(
            call(&s, "GET", "/api/connector-health/8").await.status(),
            404
        );
        for path in [
            "/api/connector-health/7/x",
            "/abc",
            "/api/connector-health/",
            "/",
        ] {
            let r = call(&s, "GET", path).await;
            assert_eq!(r.status(), 404, "{path}");
            assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
            assert_eq!(r.text().await.unwrap(), NOT_FOUND_BODY);
        }
        let r = call(&s, "DELETE", "/api/connector-health/7").await;
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "GET, HEAD");
    }

    #[tokio::test]
    async fn head_keeps_the_get_content_length_over_real_http() {
        let s = start().await;
        for path in ["/api/connector-health", "/api/connector-health/7", "/nope"] {
            let get = call(&s, "GET", path).await;
            let head = call(&s, "HEAD", path).await;
            assert_eq!(get.status(), head.status());
            let length = get.headers()[CONTENT_LENGTH].clone();
            assert_ne!(length, "0");
            assert_eq!(head.headers()[CONTENT_LENGTH], length, "{path}");
            assert_eq!(head.headers()[CONTENT_TYPE], get.headers()[CONTENT_TYPE]);
            assert_eq!(
                get.text().await.unwrap().len().to_string(),
                length.to_str().unwrap()
            );
            assert_eq!(head.text().await.unwrap(), "");
        }
    }
}
