//! The prober's TLS: rustls with ring (the AWS SDK's stack), HTTP/1.1 only, and the
//! reading of what a handshake failure or a server certificate says.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, ClientConfig, RootCertStore};
use std::sync::Arc;

/// Building the TLS client failed (no usable root certificates).
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("no trusted root certificates could be loaded from the system")]
    NoRoots,
    #[error("TLS client configuration failed: {0}")]
    Config(#[from] rustls::Error),
}

/// A client configuration trusting `roots`.
pub fn client_config(roots: RootCertStore) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The system's root certificates (the bundle and the hashed files of the certificate
/// directory; `SSL_CERT_FILE` and `SSL_CERT_DIR` point elsewhere). Takes milliseconds:
/// call it once, and not at cold start.
pub fn system_roots() -> Result<RootCertStore, TlsSetupError> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        return Err(TlsSetupError::NoRoots);
    }
    Ok(roots)
}

/// A client configuration trusting the system's root certificates.
pub fn system_client_config() -> Result<Arc<ClientConfig>, TlsSetupError> {
    client_config(system_roots()?)
}

/// The operator-facing sentence for a rustls handshake error.
pub fn describe(err: &rustls::Error, host: &str) -> String {
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::ExpiredContext { not_after, .. } => {
                match DateTime::<Utc>::from_timestamp(not_after.as_secs() as i64, 0) {
                    Some(at) => format!(
                        "TLS certificate for {host} expired on {}.",
                        at.format("%Y-%m-%d")
                    ),
                    None => format!("TLS certificate for {host} has expired."),
                }
            }
            CertificateError::Expired => format!("TLS certificate for {host} has expired."),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("TLS certificate for {host} is not valid yet.")
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("TLS certificate is not valid for {host}.")
            }
            CertificateError::UnknownIssuer => {
                format!("TLS certificate for {host} is not trusted (unknown issuer).")
            }
            CertificateError::BadSignature => {
                format!("TLS certificate for {host} is not trusted (bad signature).")
            }
            CertificateError::Revoked => format!("TLS certificate for {host} has been revoked."),
            _ => format!("TLS certificate for {host} was rejected."),
        },
        rustls::Error::AlertReceived(_) => {
            format!("TLS handshake with {host} failed: the server aborted it.")
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            format!("TLS handshake with {host} failed: the server does not speak TLS on this port.")
        }
        rustls::Error::NoApplicationProtocol | rustls::Error::PeerIncompatible(_) => {
            format!("TLS handshake with {host} failed: no protocol version or cipher in common.")
        }
        _ => format!("TLS handshake with {host} failed."),
    }
}

fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn digits(text: &[u8]) -> Option<u32> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn der_time(tag: u8, value: &[u8]) -> Option<DateTime<Utc>> {
    let (year, rest) = match tag {
        0x17 if value.len() >= 12 => {
            let yy = digits(&value[..2])? as i32;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &value[2..])
        }
        0x18 if value.len() >= 14 => (digits(&value[..4])? as i32, &value[4..]),
        _ => return None,
    };
    let field = |i: usize| digits(rest.get(i..i + 2)?);
    let date = NaiveDate::from_ymd_opt(year, field(0)?, field(2)?)?;
    let time = NaiveTime::from_hms_opt(field(4)?, field(6)?, field(8)?)?;
    Some(NaiveDateTime::new(date, time).and_utc())
}

/// The `notAfter` of an X.509 certificate (a minimal DER walk: Certificate → TBSCertificate
/// → validity). `None` when the certificate cannot be read.
pub fn not_after(cert: &CertificateDer<'_>) -> Option<DateTime<Utc>> {
    let (0x30, certificate, _) = tlv(cert.as_ref())? else {
        return None;
    };
    let (0x30, tbs, _) = tlv(certificate)? else {
        return None;
    };
    let mut rest = tbs;
    let (tag, _, after) = tlv(rest)?;
    if tag == 0xa0 {
        rest = after; // explicit version
    }
    // serialNumber, signature, issuer
    for expected in [0x02, 0x30, 0x30] {
        let (tag, _, after) = tlv(rest)?;
        if tag != expected {
            return None;
        }
        rest = after;
    }
    let (0x30, validity, _) = tlv(rest)? else {
        return None;
    };
    let (_, _, after_not_before) = tlv(validity)?;
    let (tag, value, _) = tlv(after_not_before)?;
    der_time(tag, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cert_expiring(year: i32, month: u8, day: u8) -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["a.test".to_string()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(year, month, day);
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn reads_not_after_in_utc_time_and_generalized_time() {
        assert_eq!(
            not_after(&cert_expiring(2030, 6, 15)),
            Utc.with_ymd_and_hms(2030, 6, 15, 0, 0, 0).single()
        );
        assert_eq!(
            not_after(&cert_expiring(2051, 2, 3)),
            Utc.with_ymd_and_hms(2051, 2, 3, 0, 0, 0).single()
        );
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(
            not_after(&CertificateDer::from(vec![0x30, 0x03, 1, 2])),
            None
        );
        assert_eq!(not_after(&CertificateDer::from(Vec::new())), None);
    }

    #[test]
    fn handshake_errors_read_like_sentences() {
        let expired = rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
            time: rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                1_800_000_000,
            )),
            not_after: rustls::pki_types::UnixTime::since_unix_epoch(
                std::time::Duration::from_secs(1_767_225_600),
            ),
        });
        assert_eq!(
            describe(&expired, "registry.example.com"),
            "TLS certificate for registry.example.com expired on 2026-01-01."
        );
        assert_eq!(
            describe(
                &rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
                "registry.example.com"
            ),
            "TLS certificate is not valid for registry.example.com."
        );
    }
}
