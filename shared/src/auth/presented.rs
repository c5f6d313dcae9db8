//! How a request presents an API key: the `X-ApiKey` header, the `key` query-string
//! parameter, or HTTP Basic authentication with the user `api` and the key as password.

use crate::domain::Presented;
use base64::Engine as _;
use http::HeaderMap;
use lambda_http::{Request, RequestExt};
use secrecy::SecretString;

/// The user name that HTTP Basic authentication must use to pass an API key.
pub const BASIC_USER: &str = "api";

impl Presented {
    /// Collects the key from the `X-ApiKey` header(s), the `key` query-string
    /// parameter(s) and HTTP Basic authentication (user `api`, key as password).
    /// Empty values count as absent. All given values must be equal.
    pub fn from_parts<'a>(
        headers: &HeaderMap,
        query_keys: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut candidates: Vec<String> = Vec::new();
        for value in headers.get_all("x-apikey") {
            match value.to_str() {
                Ok(v) if !v.trim().is_empty() => candidates.push(v.trim().to_owned()),
                Ok(_) => {}
                Err(_) => return Presented::Invalid,
            }
        }
        for value in query_keys {
            if !value.is_empty() {
                candidates.push(value.to_owned());
            }
        }
        for value in headers.get_all(http::header::AUTHORIZATION) {
            match basic_api_key(value.as_bytes()) {
                BasicKey::NotBasic => {}
                BasicKey::Invalid => return Presented::Invalid,
                BasicKey::Key(k) if k.is_empty() => {}
                BasicKey::Key(k) => candidates.push(k),
            }
        }
        let Some(first) = candidates.first() else {
            return Presented::Missing;
        };
        if candidates.iter().any(|c| c != first) {
            return Presented::Invalid;
        }
        Presented::Key(SecretString::from(first.clone()))
    }
}

enum BasicKey {
    NotBasic,
    Invalid,
    Key(String),
}

fn basic_api_key(value: &[u8]) -> BasicKey {
    let Ok(text) = std::str::from_utf8(value) else {
        return BasicKey::Invalid;
    };
    let text = text.trim();
    let Some((scheme, rest)) = text.split_once(' ') else {
        return if text.eq_ignore_ascii_case("basic") {
            BasicKey::Invalid
        } else {
            BasicKey::NotBasic
        };
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return BasicKey::NotBasic;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest.trim()) else {
        return BasicKey::Invalid;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return BasicKey::Invalid;
    };
    match decoded.split_once(':') {
        Some((user, key)) if user.eq_ignore_ascii_case(BASIC_USER) => BasicKey::Key(key.to_owned()),
        _ => BasicKey::Invalid,
    }
}

/// Every value of a query-string parameter: from the API Gateway event when there is
/// one, else from the request URI (the local server).
pub fn query_values(req: &Request, name: &str) -> Vec<String> {
    if let Some(values) = req.query_string_parameters_ref().and_then(|q| q.all(name)) {
        return values.into_iter().map(str::to_owned).collect();
    }
    req.uri()
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The key a request presents, reconciled over its header, query string and Basic auth.
pub fn presented_key(req: &Request) -> Presented {
    let query = query_values(req, "key");
    Presented::from_parts(req.headers(), query.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use lambda_http::Body;
    use secrecy::ExposeSecret;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    fn key_of(p: Presented) -> Option<String> {
        match p {
            Presented::Key(k) => Some(k.expose_secret().to_owned()),
            _ => None,
        }
    }

    #[test]
    fn each_source_alone_presents_the_key() {
        assert_eq!(
            key_of(Presented::from_parts(&headers(&[("X-ApiKey", "k1")]), [])),
            Some("k1".into())
        );
        assert_eq!(
            key_of(Presented::from_parts(&headers(&[("x-apikey", "k1")]), [])),
            Some("k1".into())
        );
        assert_eq!(
            key_of(Presented::from_parts(&HeaderMap::new(), ["k2"])),
            Some("k2".into())
        );
        assert_eq!(
            key_of(Presented::from_parts(
                &headers(&[("Authorization", &basic("api", "k3:with:colons"))]),
                []
            )),
            Some("k3:with:colons".into())
        );
    }

    #[test]
    fn nothing_or_empty_values_are_missing() {
        assert!(matches!(
            Presented::from_parts(&HeaderMap::new(), []),
            Presented::Missing
        ));
        assert!(matches!(
            Presented::from_parts(&headers(&[("X-ApiKey", "")]), [""]),
            Presented::Missing
        ));
        assert!(matches!(
            Presented::from_parts(&headers(&[("Authorization", "Bearer abc")]), []),
            Presented::Missing
        ));
    }

    #[test]
    fn sources_that_agree_are_accepted_and_disagreement_is_invalid() {
        let h = headers(&[("X-ApiKey", "k"), ("Authorization", &basic("api", "k"))]);
        assert_eq!(key_of(Presented::from_parts(&h, ["k"])), Some("k".into()));
        assert!(matches!(
            Presented::from_parts(&headers(&[("X-ApiKey", "a")]), ["b"]),
            Presented::Invalid
        ));
        assert!(matches!(
            Presented::from_parts(&headers(&[("X-ApiKey", "a"), ("X-ApiKey", "b")]), []),
            Presented::Invalid
        ));
        assert!(matches!(
            Presented::from_parts(&HeaderMap::new(), ["a", "b"]),
            Presented::Invalid
        ));
        let h = headers(&[("X-ApiKey", "a"), ("Authorization", &basic("api", "b"))]);
        assert!(matches!(Presented::from_parts(&h, []), Presented::Invalid));
    }

    #[test]
    fn basic_with_another_user_or_garbage_is_invalid() {
        for value in [
            basic("admin", "k"),
            "Basic !!!notbase64".to_owned(),
            "Basic".to_owned(),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("no-colon")
            ),
        ] {
            assert!(
                matches!(
                    Presented::from_parts(&headers(&[("Authorization", &value)]), []),
                    Presented::Invalid
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn query_values_come_from_the_uri_without_an_event() {
        let req: Request = http::Request::builder()
            .uri("http://localhost/api/connector-health?key=a%2Bb&x=1&key=c")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(query_values(&req, "key"), vec!["a+b", "c"]);
        assert!(query_values(&req, "nope").is_empty());
    }
}
