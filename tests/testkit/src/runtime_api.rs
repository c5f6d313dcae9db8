//! A Lambda Runtime API server, enough of the protocol to drive the real function
//! binaries the way the Lambda service does:
//!
//! - `GET  /2018-06-01/runtime/invocation/next` hands out queued events (long-polls until
//!   one is queued) with the `Lambda-Runtime-*` headers;
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `.../{id}/error` complete the
//!   invocation;
//! - `POST /2018-06-01/runtime/init/error` records an initialisation failure.
//!
//! [`RuntimeApi::spawn`] starts a binary against such a server with the environment Lambda
//! sets and captures everything it prints; [`Function`] is the two together, with
//! [`Function::invoke`]. The end-to-end tests and the cold-start and call-count tools
//! (`infra/bench`) all drive binaries through this one stub.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use shared::aws::is_local_endpoint;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch};

/// How long [`Function::invoke`] waits for the function's answer.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// The function timeout the runtime announces by default: each invocation's deadline is
/// this long after the function picks it up.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);
const ARN_PREFIX: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum InvocationResult {
    /// The function posted a response (the API Gateway proxy response object).
    Response(Value),
    /// The function posted an invocation error.
    Error {
        error_type: Option<String>,
        payload: Value,
    },
}

impl InvocationResult {
    /// The response, or a panic describing the error.
    pub fn response(self) -> Value {
        match self {
            InvocationResult::Response(v) => v,
            InvocationResult::Error {
                error_type,
                payload,
            } => panic!("the function reported an error {error_type:?}: {payload}"),
        }
    }
}

struct Event {
    request_id: String,
    payload: String,
    /// The deadline is this long after the function picks the event up.
    function_timeout: Duration,
}

struct Shared {
    function_name: String,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<InvocationResult>>>,
    init_error: watch::Sender<Option<Value>>,
    /// When each `invocation/next` request arrived, in order.
    next_seen: watch::Sender<Vec<Instant>>,
}

/// The Runtime API server of one function.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    queue: mpsc::UnboundedSender<Event>,
    server: tokio::task::JoinHandle<()>,
}

fn payload_value(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn deadline_ms(function_timeout: Duration) -> u128 {
    (SystemTime::now() + function_timeout)
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let arrived = Instant::now();
    shared.next_seen.send_modify(|seen| seen.push(arrived));
    // `recv` is cancel-safe: if the function goes away mid-poll the event stays queued.
    let event = shared.events.lock().await.recv().await;
    let Some(event) = event else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let deadline = deadline_ms(event.function_timeout);
    Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", "application/json")
        .header("Lambda-Runtime-Aws-Request-Id", &event.request_id)
        .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
        .header(
            "Lambda-Runtime-Invoked-Function-Arn",
            format!("{ARN_PREFIX}{}", shared.function_name),
        )
        .header(
            "Lambda-Runtime-Trace-Id",
            format!(
                "Root=1-{:08x}-{};Parent=53995c3f42cd8ad8;Sampled=0",
                (deadline / 1000) as u32,
                &event.request_id.replace('-', "")[..24]
            ),
        )
        .body(Body::from(event.payload))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn complete(shared: &Shared, request_id: &str, result: InvocationResult) -> StatusCode {
    let waiter = shared
        .waiting
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(request_id);
    match waiter {
        Some(tx) => {
            let _ = tx.send(result);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> StatusCode {
    complete(
        &shared,
        &request_id,
        InvocationResult::Response(payload_value(&body)),
    )
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    complete(
        &shared,
        &request_id,
        InvocationResult::Error {
            error_type: error_type(&headers),
            payload: payload_value(&body),
        },
    )
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut payload = payload_value(&body);
    if let (Some(t), Value::Object(map)) = (error_type(&headers), &mut payload) {
        map.entry("errorTypeHeader").or_insert(Value::String(t));
    }
    shared.init_error.send_replace(Some(payload));
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    /// Starts the server on 127.0.0.1, on a port the kernel picks.
    pub async fn start(function_name: &str) -> Self {
        let (queue, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_name: function_name.to_owned(),
            events: tokio::sync::Mutex::new(events),
            waiting: Mutex::new(HashMap::new()),
            init_error: watch::channel(None).0,
            next_seen: watch::channel(Vec::new()).0,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Runtime API server");
        let addr = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            shared,
            queue,
            server,
        }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// How many times a function asked for its next event.
    pub fn next_calls(&self) -> usize {
        self.shared.next_seen.borrow().len()
    }

    /// When the `invocation/next` request number `index` (from 0) arrived; waits for it.
    /// `next_calls()` taken before starting a binary is the index of its first request:
    /// the end of its cold start.
    pub async fn next_call_at(&self, index: usize) -> Instant {
        let mut rx = self.shared.next_seen.subscribe();
        let seen = rx
            .wait_for(|seen| seen.len() > index)
            .await
            .expect("the sender lives as long as the server");
        seen[index]
    }

    /// Starts `binary` against this server with the environment Lambda gives a function
    /// (its name, memory, version, log group, region, credentials,
    /// `AWS_LAMBDA_RUNTIME_API`) plus `vars`; nothing else is inherited from this
    /// process's environment. Everything it prints is captured.
    pub fn spawn(
        &self,
        binary: &std::path::Path,
        vars: &[(&str, &str)],
    ) -> std::io::Result<FunctionProcess> {
        let name = &self.shared.function_name;
        let mut cmd = Command::new(binary);
        cmd.env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", self.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2025/11/05/[$LATEST]0123456789abcdef",
            )
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_SESSION_TOKEN", "testing")
            .env("TZ", ":UTC");
        for (k, v) in vars {
            if *k == "AWS_ENDPOINT_URL" {
                assert!(is_local_endpoint(v), "refusing a non-local endpoint {v:?}");
            }
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(capture(out, output.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(capture(err, output.clone()));
        }
        Ok(FunctionProcess {
            child,
            output,
            readers,
        })
    }

    /// Queues an event and waits for the function to answer it (up to `timeout`); the
    /// invocation's deadline is [`FUNCTION_TIMEOUT`] after the function picks it up.
    pub async fn invoke(
        &self,
        event: &Value,
        timeout: Duration,
    ) -> Result<InvocationResult, String> {
        self.invoke_with_deadline(event, timeout, FUNCTION_TIMEOUT)
            .await
    }

    /// [`RuntimeApi::invoke`] announcing a deadline `function_timeout` after the function
    /// picks the event up, as a function with that timeout gets.
    pub async fn invoke_with_deadline(
        &self,
        event: &Value,
        timeout: Duration,
        function_timeout: Duration,
    ) -> Result<InvocationResult, String> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        self.shared
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(request_id.clone(), tx);
        self.queue
            .send(Event {
                request_id: request_id.clone(),
                payload: event.to_string(),
                function_timeout,
            })
            .map_err(|_| "the Runtime API server is gone".to_owned())?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(_)) => Err("the Runtime API server dropped the invocation".into()),
            Err(_) => {
                self.shared
                    .waiting
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&request_id);
                Err(format!(
                    "no answer to invocation {request_id} within {timeout:?}"
                ))
            }
        }
    }

    /// Waits until the function reports an initialisation error, or `timeout` passes.
    pub async fn init_error(&self, timeout: Duration) -> Option<Value> {
        let mut rx = self.shared.init_error.subscribe();
        let found = match tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await {
            Ok(Ok(value)) => value.clone(),
            _ => None,
        };
        found
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A function binary running against a [`RuntimeApi`], its output captured.
pub struct FunctionProcess {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

fn capture<R>(mut from: R, into: Arc<Mutex<Vec<u8>>>) -> tokio::task::JoinHandle<()>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut buf = [0u8; 8192];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(&buf[..n]);
        }
    })
}

impl FunctionProcess {
    /// Everything the process has printed so far (stdout and stderr interleaved).
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Waits for the process to exit (and its output to be read), up to `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(timeout, self.exited()).await.ok()?
    }

    /// Waits for the process to exit (and its output to be read); `None` when its status
    /// cannot be had.
    pub async fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.wait().await.ok()?;
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        Some(status)
    }

    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// The process id while it runs (to read its `/proc/<pid>/status`, say).
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }
}

/// A function binary and its Runtime API server.
pub struct Function {
    pub api: RuntimeApi,
    pub process: FunctionProcess,
}

impl Function {
    /// Starts `binary` against a Runtime API server of its own, as
    /// [`RuntimeApi::spawn`] does, with `vars`.
    pub async fn start(binary: &std::path::Path, vars: &[(&str, &str)]) -> Self {
        let name = binary
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("function");
        let api = RuntimeApi::start(name).await;
        let process = api
            .spawn(binary, vars)
            .unwrap_or_else(|e| panic!("could not start {}: {e}", binary.display()));
        Self { api, process }
    }

    /// Sends one event and returns how the function answered; panics (showing what the
    /// function printed) when it does not answer within [`INVOKE_TIMEOUT`].
    pub async fn invoke(&self, event: &Value) -> InvocationResult {
        self.invoke_with_deadline(event, FUNCTION_TIMEOUT).await
    }

    /// [`Function::invoke`] with the deadline `function_timeout` after the function picks
    /// the event up (the Lambda context's deadline), instead of [`FUNCTION_TIMEOUT`].
    pub async fn invoke_with_deadline(
        &self,
        event: &Value,
        function_timeout: Duration,
    ) -> InvocationResult {
        match self
            .api
            .invoke_with_deadline(event, INVOKE_TIMEOUT, function_timeout)
            .await
        {
            Ok(result) => result,
            Err(e) => panic!("{e}; the function printed:\n{}", self.process.output()),
        }
    }

    pub fn output(&self) -> String {
        self.process.output()
    }
}

/// The API Gateway proxy response a function answered with, read leniently so tests can
/// assert its exact shape separately.
#[derive(Debug, Clone)]
pub struct ProxyResponse {
    pub status: u16,
    /// Lower-cased names; values from `headers` and `multiValueHeaders` together.
    pub headers: HashMap<String, Vec<String>>,
    pub body: Option<String>,
    pub is_base64_encoded: bool,
    pub raw: Value,
}

impl ProxyResponse {
    pub fn parse(raw: Value) -> Self {
        let status = raw["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_else(|| panic!("no numeric statusCode in {raw}"));
        let mut headers: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(map) = raw["headers"].as_object() {
            for (k, v) in map {
                if let Some(v) = v.as_str() {
                    headers
                        .entry(k.to_ascii_lowercase())
                        .or_default()
                        .push(v.to_owned());
                }
            }
        }
        if let Some(map) = raw["multiValueHeaders"].as_object() {
            for (k, vs) in map {
                for v in vs
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    let entry = headers.entry(k.to_ascii_lowercase()).or_default();
                    if !entry.iter().any(|e| e == v) {
                        entry.push(v.to_owned());
                    }
                }
            }
        }
        Self {
            status,
            headers,
            body: raw["body"].as_str().map(str::to_owned),
            is_base64_encoded: raw["isBase64Encoded"].as_bool().unwrap_or(false),
            raw,
        }
    }

    /// The single value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self
            .headers
            .get(&name.to_ascii_lowercase())
            .map(Vec::as_slice)
        {
            Some([one]) => Some(one),
            Some([]) | None => None,
            Some(many) => panic!("header {name} has several values: {many:?}"),
        }
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        let body = self
            .body
            .as_deref()
            .unwrap_or_else(|| panic!("no body in {}", self.raw));
        serde_json::from_str(body).unwrap_or_else(|e| panic!("body {body:?} is not JSON: {e}"))
    }
}
