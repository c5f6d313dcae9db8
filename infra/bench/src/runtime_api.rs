//! A stub of the Lambda Runtime API (the `2018-06-01` protocol) on 127.0.0.1:0.
//!
//! Every `GET /invocation/next` is timestamped on arrival (the cold-start measurement) and
//! answered with the next queued event; with the queue empty it waits for one to be
//! queued. Responses and errors posted back are handed to the harness in order.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use http::{Method, StatusCode};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

const PREFIX: &str = "/2018-06-01/runtime/";

/// What a function posted back for an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Response { id: String, body: Bytes },
    Error { id: String, body: Bytes },
    InitError { body: Bytes },
}

struct Shared {
    queue: Mutex<VecDeque<(String, String)>>,
    queued: Notify,
    next_seen: mpsc::UnboundedSender<Instant>,
    outcomes: mpsc::UnboundedSender<Outcome>,
}

/// The running stub. Dropping it stops the server.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
    /// One instant per `invocation/next` request, taken when it arrives.
    pub next_seen: mpsc::UnboundedReceiver<Instant>,
    /// What the function posted back, in order.
    pub outcomes: mpsc::UnboundedReceiver<Outcome>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Self> {
        let (next_tx, next_seen) = mpsc::unbounded_channel();
        let (out_tx, outcomes) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            queued: Notify::new(),
            next_seen: next_tx,
            outcomes: out_tx,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .fallback(route)
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            shared,
            server,
            next_seen,
            outcomes,
        })
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API` (host:port, no scheme).
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// Queues one invocation.
    pub fn push(&self, request_id: impl Into<String>, event: impl Into<String>) {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back((request_id.into(), event.into()));
        self.shared.queued.notify_one();
    }

    /// Forgets every timestamp and outcome received so far.
    pub fn drain(&mut self) {
        while self.next_seen.try_recv().is_ok() {}
        while self.outcomes.try_recv().is_ok() {}
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn status(code: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = code;
    r
}

async fn route(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let arrived = Instant::now();
    let method = req.method().clone();
    let Some(rest) = req.uri().path().strip_prefix(PREFIX).map(str::to_owned) else {
        return status(StatusCode::NOT_FOUND);
    };
    match (method, rest.as_str()) {
        (Method::GET, "invocation/next") => {
            let _ = shared.next_seen.send(arrived);
            next(&shared).await
        }
        (Method::POST, "init/error") => {
            let body = to_bytes(req.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            let _ = shared.outcomes.send(Outcome::InitError { body });
            status(StatusCode::ACCEPTED)
        }
        (Method::POST, path) => {
            let Some((id, kind)) = path
                .strip_prefix("invocation/")
                .and_then(|p| p.rsplit_once('/'))
            else {
                return status(StatusCode::NOT_FOUND);
            };
            let id = id.to_owned();
            let body = to_bytes(req.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            let outcome = match kind {
                "response" => Outcome::Response { id, body },
                "error" => Outcome::Error { id, body },
                _ => return status(StatusCode::NOT_FOUND),
            };
            let _ = shared.outcomes.send(outcome);
            status(StatusCode::ACCEPTED)
        }
        _ => status(StatusCode::NOT_FOUND),
    }
}

async fn next(shared: &Shared) -> Response {
    loop {
        // Register interest before looking, so a push between the two is not missed.
        let notified = shared.queued.notified();
        let item = shared
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front();
        if let Some((id, event)) = item {
            let deadline_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + 300_000)
                .unwrap_or_default();
            let mut r = Response::new(Body::from(event));
            let h = r.headers_mut();
            h.insert(
                "content-type",
                http::HeaderValue::from_static("application/json"),
            );
            if let Ok(v) = http::HeaderValue::from_str(&id) {
                h.insert("lambda-runtime-aws-request-id", v);
            }
            h.insert(
                "lambda-runtime-deadline-ms",
                http::HeaderValue::from(deadline_ms as u64),
            );
            h.insert(
                "lambda-runtime-invoked-function-arn",
                http::HeaderValue::from_static(
                    "arn:aws:lambda:us-east-1:123456789012:function:bench",
                ),
            );
            h.insert(
                "lambda-runtime-trace-id",
                http::HeaderValue::from_static(
                    "Root=1-00000000-000000000000000000000000;Sampled=0",
                ),
            );
            return r;
        }
        notified.await;
    }
}

/// An API Gateway HTTP API (payload 2.0) `GET` event for `path` carrying `X-ApiKey`.
pub fn http_api_get_event(path: &str, api_key: &str, request_id: &str) -> String {
    serde_json::json!({
        "version": "2.0",
        "routeKey": format!("GET {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "host": "bench.execute-api.us-east-1.amazonaws.com",
            "user-agent": "bench",
            "x-apikey": api_key,
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "bench"
            },
            "requestId": request_id,
            "routeKey": format!("GET {path}"),
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000u64
        },
        "isBase64Encoded": false
    })
    .to_string()
}
