//! What a successful read answers, given the request's `Accept-Encoding` and
//! `If-None-Match`: the JSON body, gzip-compressed when the client accepts it and the body
//! is worth it, with a weak `ETag` of the JSON, or `304 Not Modified` when the client
//! already holds that version.
//!
//! API Gateway HTTP APIs do not compress responses, so the function does. The `ETag` is
//! weak (`W/"…"`): the plain and the compressed body are the same representation in
//! content, so one tag serves both and `If-None-Match` matches either.

use flate2::write::GzEncoder;
use flate2::Compression;
use http::header::{ACCEPT_ENCODING, IF_NONE_MATCH};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use std::io::Write;

/// Bodies shorter than this are sent as they are: compressing them saves little.
pub const MIN_COMPRESSED_LENGTH: usize = 1024;

/// The weak entity tag of a JSON body: `W/"` + 32 hex digits of its SHA-256 + `"`.
pub fn etag_of(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!("W/\"{}\"", hex::encode(&digest[..16]))
}

/// The opaque part of an entity tag, without the weakness prefix: weak comparison.
fn opaque(tag: &str) -> &str {
    tag.trim().strip_prefix("W/").unwrap_or(tag.trim())
}

/// Whether `If-None-Match` names `etag` (or is `*`), with the weak comparison
/// RFC 9110 requires for this header. Several headers and comma lists both count.
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let wanted = opaque(etag);
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || opaque(tag) == wanted
        })
}

/// The quality the client gives a content coding in `Accept-Encoding` (case-insensitive;
/// `*` stands for any coding not named); `None` when it names neither.
fn quality(headers: &HeaderMap, coding: &str) -> Option<f32> {
    let mut named = None;
    let mut any = None;
    for entry in headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = entry.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case(coding) {
            named = Some(q);
        } else if name == "*" {
            any = Some(q);
        }
    }
    named.or(any)
}

/// Whether the client accepts a gzip body (`gzip` or `*` with a quality above zero).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    quality(headers, "gzip")
        .or_else(|| quality(headers, "x-gzip"))
        .is_some_and(|q| q > 0.0)
}

/// The body gzip-compressed (fast level: lists are large and the time is the
/// request's). `None` if compression failed, so the plain body is sent instead.
pub fn gzip(body: &str) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4 + 64), Compression::fast());
    encoder.write_all(body.as_bytes()).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(name: http::header::HeaderName, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn gzip_is_accepted_unless_refused_or_unnamed() {
        let ae = |v: &[&str]| accepts_gzip(&headers(ACCEPT_ENCODING, v));
        assert!(ae(&["gzip"]));
        assert!(ae(&["br, gzip;q=0.5"]));
        assert!(ae(&["GZIP"]));
        assert!(ae(&["deflate", "gzip"]));
        assert!(ae(&["*"]));
        assert!(ae(&["x-gzip"]));
        assert!(!ae(&[]));
        assert!(!ae(&["identity"]));
        assert!(!ae(&["br"]));
        assert!(!ae(&["gzip;q=0"]));
        assert!(!ae(&["gzip; q=0.000"]));
        assert!(!ae(&["*;q=0"]));
        assert!(!ae(&["*, gzip;q=0"]));
    }

    #[test]
    fn if_none_match_uses_the_weak_comparison() {
        let tag = etag_of("[]");
        assert!(tag.starts_with("W/\"") && tag.ends_with('"') && tag.len() == 3 + 32 + 1);
        let inm = |v: &[&str]| not_modified(&headers(IF_NONE_MATCH, v), &tag);
        assert!(inm(&[&tag]));
        assert!(inm(&[tag.trim_start_matches("W/")]));
        assert!(inm(&["\"other\", ", &tag]));
        assert!(inm(&["\"other\"", &tag]));
        assert!(inm(&["*"]));
        assert!(!inm(&[]));
        assert!(!inm(&["\"other\""]));
        assert!(!inm(&[&etag_of("[1]")]));
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let body = "[".to_owned() + &"{\"id\":1},".repeat(500) + "{\"id\":2}]";
        let compressed = gzip(&body).unwrap();
        assert!(compressed.len() < body.len() / 10);
        let mut back = String::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, body);
    }
}
