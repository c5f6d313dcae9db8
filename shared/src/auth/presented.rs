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

/// Property tests (`cargo test -p connector-health-shared --lib properties`).
#[cfg(test)]
mod properties {
    use super::*;
    use crate::auth::KeyDigest;
    use http::{HeaderName, HeaderValue};
    use lambda_http::Body;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    /// A key as a client may send it in any of the three ways: visible ASCII (what a
    /// header value may hold as text), no surrounding whitespace.
    fn key() -> impl Strategy<Value = String> {
        "[!-~]([ -~]{0,30}[!-~])?"
    }

    /// The user `api` in any case.
    fn api_user() -> impl Strategy<Value = String> {
        "[aA][pP][iI]"
    }

    fn header_name() -> impl Strategy<Value = HeaderName> {
        prop_oneof![
            Just(HeaderName::from_static("x-apikey")),
            Just(http::header::AUTHORIZATION),
            "[a-z][a-z0-9-]{0,12}".prop_map(|n| HeaderName::from_bytes(n.as_bytes()).unwrap()),
        ]
    }

    /// Header values: arbitrary bytes (those a header value may hold), `Basic` with
    /// arbitrary or `user:password` credentials, and other schemes.
    fn header_value() -> impl Strategy<Value = HeaderValue> {
        let text = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..48)
                .prop_map(|b| HeaderValue::from_bytes(&b).ok()),
            (any::<String>(), any::<String>())
                .prop_map(|(u, p)| HeaderValue::from_str(&basic(&u, &p)).ok()),
            (
                "[bB][aA][sS][iI][cC]",
                "[ \t]{0,2}",
                prop::collection::vec(any::<u8>(), 0..48)
            )
                .prop_map(|(scheme, space, raw)| {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                    HeaderValue::from_str(&format!("{scheme}{space}{encoded}")).ok()
                }),
            "(Basic|Bearer|basic)?[ -~]{0,40}".prop_map(|t| HeaderValue::from_str(&t).ok()),
        ];
        text.prop_map(|v| v.unwrap_or(HeaderValue::from_static("")))
    }

    fn header_map() -> impl Strategy<Value = HeaderMap> {
        prop::collection::vec((header_name(), header_value()), 0..6).prop_map(|pairs| {
            let mut h = HeaderMap::new();
            for (name, value) in pairs {
                h.append(name, value);
            }
            h
        })
    }

    /// A request to the list route carrying `query` (as written) and `headers`.
    fn request(query: &str, headers: &HeaderMap) -> Option<Request> {
        let mut req = http::Request::builder()
            .uri(format!("http://localhost/api/connector-health?{query}"))
            .body(Body::Empty)
            .ok()?;
        *req.headers_mut() = headers.clone();
        Some(req)
    }

    fn query_with_key(key: &str) -> String {
        format!(
            "key={}",
            form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>()
        )
    }

    proptest! {
        #[test]
        fn reconciling_never_panics(
            headers in header_map(),
            query in prop::collection::vec(any::<String>(), 0..4),
        ) {
            let _ = Presented::from_parts(&headers, query.iter().map(String::as_str));
        }

        #[test]
        fn reading_a_request_never_panics(
            headers in header_map(),
            query in prop_oneof![any::<String>(), "[!-~]{0,60}"],
        ) {
            if let Some(req) = request(&query, &headers) {
                let _ = query_values(&req, "key");
                let _ = presented_key(&req);
            }
        }

        /// The same key in the header, the query string (of the URI, or of the API Gateway
        /// event) or Basic authentication (any case of `api`), alone or together, is the same
        /// key: same digest as the key itself.
        #[test]
        fn every_way_of_presenting_a_key_gives_its_digest(
            key in key(),
            user in api_user(),
            padding in "[ \t]{0,3}",
            ways in 1u8..16,
        ) {
            let mut headers = HeaderMap::new();
            if ways & 1 != 0 {
                let value = format!("{padding}{key}{padding}");
                headers.append("x-apikey", HeaderValue::from_str(&value).unwrap());
            }
            if ways & 2 != 0 {
                let value = basic(&user, &key);
                headers.append(http::header::AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
            }
            let query = if ways & 4 != 0 { query_with_key(&key) } else { String::new() };
            let mut req = request(&query, &headers).unwrap();
            if ways & 8 != 0 {
                let event_query = HashMap::from([("key".to_owned(), vec![key.clone()])]);
                req = req.with_query_string_parameters(event_query);
            }
            let presented = presented_key(&req);
            prop_assert!(
                presented.digest() == Some(KeyDigest::of(&key)),
                "ways {}: {:?}",
                ways,
                presented
            );
            // And its Debug form, what a log line would show, is not the key.
            prop_assert_eq!(format!("{:?}", presented), "Key(..)");
        }

        /// Two different keys, in any two places (the same place twice included), are
        /// never taken as either of them.
        #[test]
        fn different_keys_are_invalid(
            a in key(),
            b in key(),
            places in (0u8..3, 0u8..3),
        ) {
            if a == b {
                return Ok(());
            }
            let mut headers = HeaderMap::new();
            let mut query = Vec::new();
            for (key, place) in [(&a, places.0), (&b, places.1)] {
                match place {
                    0 => { headers.append("x-apikey", HeaderValue::from_str(key).unwrap()); }
                    1 => {
                        headers.append(http::header::AUTHORIZATION, HeaderValue::from_str(&basic("api", key)).unwrap());
                    }
                    _ => query.push(key.as_str()),
                }
            }
            let presented = Presented::from_parts(&headers, query);
            prop_assert!(matches!(presented, Presented::Invalid), "{:?}", presented);
        }

        /// Basic authentication with any other user than `api` is refused, whatever the key.
        #[test]
        fn basic_with_another_user_is_invalid(user in "[^:]{0,12}", key in key()) {
            if user.eq_ignore_ascii_case(BASIC_USER) {
                return Ok(());
            }
            let mut headers = HeaderMap::new();
            let Ok(value) = HeaderValue::from_str(&basic(&user, &key)) else { return Ok(()) };
            headers.append(http::header::AUTHORIZATION, value);
            let presented = Presented::from_parts(&headers, []);
            prop_assert!(matches!(presented, Presented::Invalid), "{:?}", presented);
        }

        /// Any query-string value reads back as itself, among other parameters.
        #[test]
        fn query_values_read_back_what_was_sent(
            values in prop::collection::vec(any::<String>(), 0..4),
            other in "x[a-z]{0,5}=[a-z0-9]{0,6}",
        ) {
            let mut query = vec![other];
            query.extend(values.iter().map(|v| query_with_key(v)));
            let req = request(&query.join("&"), &HeaderMap::new()).unwrap();
            prop_assert_eq!(query_values(&req, "key"), values);
        }
    }
}
