//! HTTP responses and the request pipeline both read functions share:
//! method check (405), API key (403 / 503), then the read (404 / 503 / 200).
//!
//! Expected failures are ordinary responses; nothing here returns `Err`, so the Lambda
//! runtime never turns a failure into a bare 500.

use crate::auth::presented_key;
use crate::ports::{AuthError, Authorizer, DependencyError};
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::future::Future;

pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
pub const ALLOWED_METHODS: &str = "GET, HEAD";
/// Seconds a client should wait after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 5;
/// The most a request may spend on the key check and the read together. It stays below
/// the functions' Lambda timeout (10 s in template.yaml), so a slow dependency gets a 503
/// from the function rather than a Lambda timeout, which API Gateway would turn into a 500.
pub const REQUEST_BUDGET: std::time::Duration = std::time::Duration::from_secs(7);

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
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
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

/// The pipeline both read functions share. `read` returns `Ok(None)` for "not found".
pub async fn serve_read<A, F, Fut, T>(auth: &A, req: &Request, read: F) -> Response<Body>
where
    A: Authorizer,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Option<T>, DependencyError>>,
    T: Serialize,
{
    let Some(method) = ReadMethod::of(req.method()) else {
        return method_not_allowed();
    };
    let answer = async {
        if let Err(e) = auth.authorize(&presented_key(req)).await {
            return auth_failure(e, method);
        }
        match read().await {
            Ok(Some(value)) => json(StatusCode::OK, &value, method),
            Ok(None) => not_found(method),
            Err(e) => {
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
}
