//! HTTP responses and the request pipeline both read functions share:
//! method check (405), API key (403 / 503), then the read (400 / 404 / 503 / 200 / 304),
//! and `406` for an answer too large for Lambda to return.
//! A successful read is negotiated in [`negotiate`]: gzip, `ETag`, `If-None-Match`.
//!
//! Expected failures are ordinary responses; nothing here returns `Err`, so the Lambda
//! runtime never turns a failure into a bare 500.

pub mod negotiate;

use crate::auth::{presented_key, query_values};
use crate::domain::State;
use crate::ports::{AuthError, Authorizer, DependencyError};
use http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, RETRY_AFTER, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::future::Future;

pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
pub const ALLOWED_METHODS: &str = "GET, HEAD";
/// Errors are never kept; a successful read may be kept by the client (never by a shared
/// cache), and must be revalidated with its `ETag` before reuse.
pub const NO_STORE: &str = "no-store";
pub const REVALIDATE: &str = "private, no-cache";
/// Seconds a client should wait after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 5;
/// The most a request may spend on the key check and the read together. It stays below
/// the functions' Lambda timeout (10 s in template.yaml), so a slow dependency gets a 503
/// from the function rather than a Lambda timeout, which API Gateway would turn into a 500.
pub const REQUEST_BUDGET: std::time::Duration = std::time::Duration::from_secs(7);

/// Lambda's limit on a synchronous invocation's whole response (6 MB): the API Gateway
/// proxy object lambda_http sends, with the body as a JSON string (base64 for gzip).
pub const LAMBDA_RESPONSE_LIMIT: usize = 6 * 1024 * 1024;
/// What the proxy object adds to the encoded body (status, headers, member names), with
/// room to spare: the read functions' headers come to well under 1 KiB even when a REST API
/// (payload 1.0) gets each twice.
pub const ENVELOPE_MARGIN: usize = 8 * 1024;

pub const MSG_KEY_MISSING: &str = "API key missing.";
pub const MSG_KEY_NOT_AUTHORIZED: &str = "API key not authorized.";
pub const MSG_NOT_FOUND: &str = "Connector not found.";
pub const MSG_METHOD_NOT_ALLOWED: &str = "Method not allowed; use GET or HEAD.";
pub const MSG_UNAVAILABLE: &str = "Service temporarily unavailable; retry later.";

/// The two methods these endpoints answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMethod {
    Get,
    Head,
}

impl ReadMethod {
    pub fn of(method: &Method) -> Option<Self> {
        match *method {
            Method::GET => Some(Self::Get),
            Method::HEAD => Some(Self::Head),
            _ => None,
        }
    }
}

#[derive(Serialize)]
struct Message<'a> {
    message: &'a str,
}

/// A JSON response. For HEAD the headers (including `Content-Length`) are those of the
/// GET response and the body is empty.
pub fn json<T: Serialize + ?Sized>(
    status: StatusCode,
    value: &T,
    method: ReadMethod,
) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(text) => with_body(status, text, method),
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a response");
            with_body(
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"message":"Internal error."}"#.to_owned(),
                method,
            )
        }
    }
}

fn with_body(status: StatusCode, text: String, method: ReadMethod) -> Response<Body> {
    let mut response = Response::new(match method {
        ReadMethod::Get => Body::Text(String::new()),
        ReadMethod::Head => Body::Empty,
    });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(text.len()));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    if method == ReadMethod::Get {
        *response.body_mut() = Body::Text(text);
    }
    response
}

/// `{"message": ...}` with the given status.
pub fn message(status: StatusCode, text: &str, method: ReadMethod) -> Response<Body> {
    json(status, &Message { message: text }, method)
}

pub fn method_not_allowed() -> Response<Body> {
    let mut r = message(
        StatusCode::METHOD_NOT_ALLOWED,
        MSG_METHOD_NOT_ALLOWED,
        ReadMethod::Get,
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
    r
}

pub fn not_found(method: ReadMethod) -> Response<Body> {
    message(StatusCode::NOT_FOUND, MSG_NOT_FOUND, method)
}

pub fn unavailable(method: ReadMethod) -> Response<Body> {
    let mut r = message(StatusCode::SERVICE_UNAVAILABLE, MSG_UNAVAILABLE, method);
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    r
}

pub fn auth_failure(error: AuthError, method: ReadMethod) -> Response<Body> {
    match error {
        AuthError::Missing => message(StatusCode::FORBIDDEN, MSG_KEY_MISSING, method),
        AuthError::NotAuthorized => message(StatusCode::FORBIDDEN, MSG_KEY_NOT_AUTHORIZED, method),
        AuthError::Unavailable => unavailable(method),
    }
}

/// How large an answer may be, and how a client can ask for less.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseLimit {
    /// The most bytes the whole invocation response may take ([`LAMBDA_RESPONSE_LIMIT`]
    /// in production; lower in tests).
    pub max_bytes: usize,
    /// How the client can narrow the answer (`?state=` on the list), named in the `406`.
    pub narrowing: Option<&'static str>,
}

impl ResponseLimit {
    /// Lambda's limit, with no way to narrow the answer.
    pub const LAMBDA: Self = Self {
        max_bytes: LAMBDA_RESPONSE_LIMIT,
        narrowing: None,
    };
}

impl Default for ResponseLimit {
    fn default() -> Self {
        Self::LAMBDA
    }
}

/// The bytes `body` takes in the invocation response: a text body as a JSON string
/// (each `"` and `\` escaped, control characters as `\u00XX`), a binary one as base64.
pub fn encoded_body_len(body: &Body) -> usize {
    match body {
        Body::Text(text) => text
            .bytes()
            .map(|b| match b {
                b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
                0..=0x1f => 6,
                _ => 1,
            })
            .sum(),
        Body::Binary(bytes) => bytes.len().div_ceil(3) * 4,
        _ => 0,
    }
}

/// The `406` for an answer that would not fit in the invocation response, telling the
/// client what to change: accept gzip (when it did not), and narrow the answer.
pub fn too_large(method: ReadMethod, gzipped: bool, limit: &ResponseLimit) -> Response<Body> {
    let text = match (gzipped, limit.narrowing) {
        (false, Some(narrow)) => format!(
            "The answer is too large to send uncompressed; send Accept-Encoding: gzip, or ask for less with {narrow}."
        ),
        (false, None) => {
            "The answer is too large to send uncompressed; send Accept-Encoding: gzip.".to_owned()
        }
        (true, Some(narrow)) => format!(
            "The answer is too large to send even compressed; ask for less with {narrow}."
        ),
        (true, None) => "The answer is too large to send.".to_owned(),
    };
    let mut r = message(StatusCode::NOT_ACCEPTABLE, &text, method);
    r.headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    r
}

/// Why a read produced no value to show.
#[derive(Debug)]
pub enum ReadFailure {
    /// The table (or another dependency) failed: `503`, cause logged.
    Dependency(DependencyError),
    /// The request asks for something that cannot be given: `400` with this message.
    BadRequest(String),
}

impl From<DependencyError> for ReadFailure {
    fn from(e: DependencyError) -> Self {
        Self::Dependency(e)
    }
}

/// A successful read's answer to a request with `request` headers: `304` when
/// `If-None-Match` names the current `ETag`, else `200` with the JSON body, gzip-compressed
/// when the client accepts it and the body is at least
/// [`negotiate::MIN_COMPRESSED_LENGTH`] long. For HEAD the headers (including
/// `Content-Length` and `Content-Encoding`) are those of the GET response. An answer whose
/// invocation response would exceed `limit` is a [`too_large`] `406` instead, for HEAD too.
pub fn representation<T: Serialize + ?Sized>(
    request: &HeaderMap,
    value: &T,
    method: ReadMethod,
    limit: &ResponseLimit,
) -> Response<Body> {
    let text = match serde_json::to_string(value) {
        Ok(text) => text,
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a response");
            return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.", method);
        }
    };
    let etag = negotiate::etag_of(&text);
    let mut response = Response::new(Body::Empty);
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, value);
    }
    if negotiate::not_modified(request, &etag) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    let compressed = (text.len() >= negotiate::MIN_COMPRESSED_LENGTH
        && negotiate::accepts_gzip(request))
    .then(|| negotiate::gzip(&text))
    .flatten();
    let plain_bytes = text.len();
    let gzipped = compressed.is_some();
    let body = match compressed {
        Some(bytes) => {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            Body::Binary(bytes)
        }
        None => {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(text.len()));
            Body::Text(text)
        }
    };
    let response_bytes = encoded_body_len(&body) + ENVELOPE_MARGIN;
    if response_bytes > limit.max_bytes {
        tracing::warn!(
            plain_bytes,
            gzip = gzipped,
            response_bytes,
            limit_bytes = limit.max_bytes,
            "answer too large for the invocation response; answering 406"
        );
        return too_large(method, gzipped, limit);
    }
    if method == ReadMethod::Get {
        *response.body_mut() = body;
    }
    response
}

/// The pipeline both read functions share. `read` runs only for a request with a valid
/// key; it returns `Ok(None)` for "not found". Its value is answered within `limit`.
pub async fn serve_read<A, F, Fut, T, E>(
    auth: &A,
    req: &Request,
    limit: &ResponseLimit,
    read: F,
) -> Response<Body>
where
    A: Authorizer,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
    E: Into<ReadFailure>,
    T: Serialize,
{
    let Some(method) = ReadMethod::of(req.method()) else {
        return method_not_allowed();
    };
    let answer = async {
        if let Err(e) = auth.authorize(&presented_key(req)).await {
            return auth_failure(e, method);
        }
        match read().await.map_err(Into::into) {
            Ok(Some(value)) => representation(req.headers(), &value, method, limit),
            Ok(None) => not_found(method),
            Err(ReadFailure::BadRequest(text)) => message(StatusCode::BAD_REQUEST, &text, method),
            Err(ReadFailure::Dependency(e)) => {
                tracing::error!(
                    service = e.service(),
                    kind = e.kind(),
                    error = %e,
                    "connector read failed; answering 503"
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
                "key check and read did not finish within the request budget; answering 503"
            );
            unavailable(method)
        }
    }
}

/// The query parameter that filters by state.
pub const STATE_PARAM: &str = "state";

/// An empty or unknown state in `?state=`: its first 40 characters, for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownState(pub String);

/// The states `?state=` asks for: a comma list, or the parameter repeated; `None` for
/// every state (no parameter). The list and the status page word the refusal each their way.
pub fn state_filter(req: &Request) -> Result<Option<Vec<State>>, UnknownState> {
    let values = query_values(req, STATE_PARAM);
    if values.is_empty() {
        return Ok(None);
    }
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .map(|name| State::parse(name).ok_or_else(|| UnknownState(name.chars().take(40).collect())))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: &Response<Body>) -> &str {
        match r.body() {
            Body::Text(t) => t,
            Body::Empty => "",
            Body::Binary(_) => panic!("binary body"),
            _ => panic!("unexpected body"),
        }
    }

    #[test]
    fn head_has_get_headers_and_no_body() {
        let get = json(StatusCode::OK, &[1, 2, 3], ReadMethod::Get);
        let head = json(StatusCode::OK, &[1, 2, 3], ReadMethod::Head);
        assert_eq!(text(&get), "[1,2,3]");
        assert_eq!(text(&head), "");
        assert_eq!(get.headers(), head.headers());
        assert_eq!(head.headers()[CONTENT_LENGTH], "7");
        assert_eq!(head.headers()[CONTENT_TYPE], JSON_CONTENT_TYPE);
    }

    #[test]
    fn error_responses_are_small_json_messages() {
        let r = method_not_allowed();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()[ALLOW], "GET, HEAD");
        assert_eq!(
            text(&r),
            r#"{"message":"Method not allowed; use GET or HEAD."}"#
        );
        let r = unavailable(ReadMethod::Get);
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[RETRY_AFTER], "5");
        let r = auth_failure(AuthError::Missing, ReadMethod::Get);
        assert_eq!(
            (r.status().as_u16(), text(&r)),
            (403, r#"{"message":"API key missing."}"#)
        );
        let r = auth_failure(AuthError::NotAuthorized, ReadMethod::Get);
        assert_eq!(
            (r.status().as_u16(), text(&r)),
            (403, r#"{"message":"API key not authorized."}"#)
        );
        assert_eq!(
            auth_failure(AuthError::Unavailable, ReadMethod::Head).status(),
            503
        );
    }

    #[test]
    fn an_encoded_body_is_counted_as_lambda_http_writes_it() {
        let text = "[{\"name\":\"a\\\\b\",\"m\":\"line\\nnext\"}]\u{1}\u{8}\t é";
        let as_json = serde_json::to_string(text).unwrap();
        assert_eq!(
            encoded_body_len(&Body::Text(text.to_owned())),
            as_json.len() - 2
        );
        use base64::Engine as _;
        for n in [0, 1, 2, 3, 4, 1000] {
            let bytes = vec![7u8; n];
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            assert_eq!(encoded_body_len(&Body::Binary(bytes)), b64.len(), "{n}");
        }
    }

    #[test]
    fn an_answer_over_the_limit_is_406_for_get_and_head_alike() {
        let value: Vec<String> = (0..100).map(|i| format!("connector-{i}")).collect();
        let json_text = serde_json::to_string(&value).unwrap();
        let escaped = encoded_body_len(&Body::Text(json_text.clone()));
        let fits = ResponseLimit {
            max_bytes: escaped + ENVELOPE_MARGIN,
            narrowing: Some("?state=error,unknown"),
        };
        let over = ResponseLimit {
            max_bytes: fits.max_bytes - 1,
            ..fits
        };
        let none = HeaderMap::new();
        assert_eq!(
            representation(&none, &value, ReadMethod::Get, &fits).status(),
            200
        );
        let get = representation(&none, &value, ReadMethod::Get, &over);
        let head = representation(&none, &value, ReadMethod::Head, &over);
        assert_eq!((get.status().as_u16(), head.status().as_u16()), (406, 406));
        assert_eq!(get.headers(), head.headers());
        assert_eq!(get.headers()[CACHE_CONTROL], NO_STORE);
        assert!(get.headers().get(ETAG).is_none());
        assert_eq!(
            text(&get),
            r#"{"message":"The answer is too large to send uncompressed; send Accept-Encoding: gzip, or ask for less with ?state=error,unknown."}"#
        );
        // Compressed, the same list fits.
        let mut gzip = HeaderMap::new();
        gzip.insert(
            http::header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip"),
        );
        let r = representation(&gzip, &value, ReadMethod::Get, &over);
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
        // Too large even compressed: only narrowing helps.
        let tiny = ResponseLimit {
            max_bytes: ENVELOPE_MARGIN + 10,
            ..fits
        };
        let r = representation(&gzip, &value, ReadMethod::Get, &tiny);
        assert_eq!(r.status(), 406);
        assert_eq!(
            text(&r),
            r#"{"message":"The answer is too large to send even compressed; ask for less with ?state=error,unknown."}"#
        );
        // Without a way to narrow, only gzip is named.
        let r = representation(
            &none,
            &value,
            ReadMethod::Get,
            &ResponseLimit {
                narrowing: None,
                ..over
            },
        );
        assert_eq!(
            text(&r),
            r#"{"message":"The answer is too large to send uncompressed; send Accept-Encoding: gzip."}"#
        );
        // A 304 has no body: the limit does not apply.
        let etag = negotiate::etag_of(&json_text);
        let mut inm = HeaderMap::new();
        inm.insert(
            http::header::IF_NONE_MATCH,
            HeaderValue::from_str(&etag).unwrap(),
        );
        assert_eq!(
            representation(&inm, &value, ReadMethod::Get, &tiny).status(),
            304
        );
    }
}
