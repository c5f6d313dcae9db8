//! A counting HTTP proxy on 127.0.0.1:0 in front of the AWS emulator. It forwards every
//! request unchanged and counts them by their `X-Amz-Target` header (the operation of a
//! JSON-protocol AWS call, e.g. `secretsmanager.GetSecretValue`).

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::response::Response;
use http::header::{CONNECTION, HOST, TRANSFER_ENCODING};
use http::StatusCode;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// The operation a request whose `X-Amz-Target` is this asks Secrets Manager for.
pub const GET_SECRET_VALUE: &str = "secretsmanager.GetSecretValue";
/// The key under which requests without `X-Amz-Target` are counted.
pub const NO_TARGET: &str = "(no X-Amz-Target)";

struct Shared {
    upstream: String,
    client: reqwest::Client,
    counts: Mutex<BTreeMap<String, u64>>,
}

/// The running proxy. Dropping it stops the server.
pub struct CountingProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl CountingProxy {
    /// Starts a proxy that forwards to `upstream` (e.g. `http://127.0.0.1:5000`).
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            counts: Mutex::new(BTreeMap::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    /// The URL to use as `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests seen so far, by `X-Amz-Target`.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.shared
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Requests seen so far with this `X-Amz-Target`.
    pub fn count(&self, target: &str) -> u64 {
        self.counts().get(target).copied().unwrap_or(0)
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn bad_gateway() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::BAD_GATEWAY;
    r
}

async fn forward(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(NO_TARGET)
        .to_owned();
    *shared
        .counts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(target)
        .or_default() += 1;

    let Ok(body) = to_bytes(body, usize::MAX).await else {
        return bad_gateway();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers;
    for h in [HOST, CONNECTION, TRANSFER_ENCODING] {
        headers.remove(h);
    }
    let sent = shared
        .client
        .request(parts.method, format!("{}{path}", shared.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(upstream) = sent else {
        return bad_gateway();
    };
    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    for h in [CONNECTION, TRANSFER_ENCODING] {
        headers.remove(h);
    }
    let Ok(bytes) = upstream.bytes().await else {
        return bad_gateway();
    };
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}
