//! A throwaway certificate authority for TLS on 127.0.0.1: the prober's tests and the
//! demo upstreams of `make dev` make server certificates with chosen names and validity
//! dates, and trust the CA in the prober's root store.
//!
//! Test and dev-stack code only (rcgen); no production binary links it.

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{RootCertStore, ServerConfig};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// Making a certificate or a server configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("could not make a certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("could not configure TLS: {0}")]
    Tls(#[from] rustls::Error),
}

/// A calendar date, `(year, month, day)`, 00:00 UTC.
pub type Date = (i32, u8, u8);

/// A CA made on the spot; its certificate is the only root it offers to trust.
pub struct DemoPki {
    ca_params: rcgen::CertificateParams,
    ca_key: rcgen::KeyPair,
    ca_cert: CertificateDer<'static>,
}

impl std::fmt::Debug for DemoPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoPki").finish_non_exhaustive()
    }
}

impl DemoPki {
    /// A new CA whose certificate has the common name `ca_name`.
    pub fn new(ca_name: &str) -> Result<Self, PkiError> {
        let ca_key = rcgen::KeyPair::generate()?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, ca_name);
        let ca_cert = ca_params.self_signed(&ca_key)?.der().clone();
        Ok(Self {
            ca_params,
            ca_key,
            ca_cert,
        })
    }

    /// The CA's certificate.
    pub fn ca_certificate(&self) -> &CertificateDer<'static> {
        &self.ca_cert
    }

    /// A root store trusting only this CA.
    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        // A certificate this CA just made always parses.
        let _ = roots.add(self.ca_cert.clone());
        roots
    }

    /// A server configuration presenting a certificate for `name` (a DNS name or an IP
    /// address) valid from `not_before` to `not_after`, signed by this CA.
    pub fn server_config(
        &self,
        name: &str,
        not_before: Date,
        not_after: Date,
    ) -> Result<Arc<ServerConfig>, PkiError> {
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(vec![name.to_owned()])?;
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let issuer = rcgen::Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer)?;
        let chain = vec![cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// [`DemoPki::server_config`] as a tokio acceptor.
    pub fn acceptor(
        &self,
        name: &str,
        not_before: Date,
        not_after: Date,
    ) -> Result<TlsAcceptor, PkiError> {
        Ok(TlsAcceptor::from(
            self.server_config(name, not_before, not_after)?,
        ))
    }
}
