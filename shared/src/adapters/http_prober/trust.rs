//! What the prober trusts: the system's root certificates, plus an optional extra CA
//! bundle for upstreams behind a private CA: a PEM file ([`EXTRA_CA_FILE_SETTING`]) or a
//! Secrets Manager secret whose `SecretString` is PEM ([`EXTRA_CA_SECRET_SETTING`]).
//!
//! Loaded on first use, never at cold start: reading the system store costs milliseconds
//! (the bundle and every hashed file in the certificate directory), and the secret is a
//! network call. The prober keeps what a [`TrustLoader`] gives it for the container's
//! life (see [`super::HttpProber::prepare`]). Errors name the setting to fix and never
//! quote the PEM.

use super::tls::{client_config, system_roots, TlsSetupError};
use crate::aws::dependency_error;
use crate::ports::DependencyError;
use aws_config::SdkConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

/// The setting naming a PEM file of extra CA certificates to trust.
pub const EXTRA_CA_FILE_SETTING: &str = "PROBE_EXTRA_CA_FILE";
/// The setting naming a Secrets Manager secret (name or ARN) whose `SecretString` is PEM.
pub const EXTRA_CA_SECRET_SETTING: &str = "PROBE_EXTRA_CA_SECRET_ID";

const SECRETS_MANAGER: &str = "Secrets Manager";

/// Where the extra CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraCa {
    /// A PEM file (bundled with the function or on a layer).
    File(PathBuf),
    /// A Secrets Manager secret (name or ARN) whose `SecretString` is PEM.
    Secret(String),
}

impl ExtraCa {
    /// The setting that chose this source.
    pub fn setting(&self) -> &'static str {
        match self {
            ExtraCa::File(_) => EXTRA_CA_FILE_SETTING,
            ExtraCa::Secret(_) => EXTRA_CA_SECRET_SETTING,
        }
    }

    /// `the file /opt/ca.pem`, `secret ops/private-ca`.
    fn describe(&self) -> String {
        match self {
            ExtraCa::File(path) => format!("the file {}", path.display()),
            ExtraCa::Secret(id) => format!("secret {id}"),
        }
    }
}

/// Why the extra CA bundle cannot be used. Never quotes its content.
#[derive(Debug, thiserror::Error)]
pub enum BundleProblem {
    #[error("cannot read {what}: {cause}")]
    Unreadable { what: String, cause: std::io::Error },
    #[error("cannot read {what}: {cause}")]
    SecretUnavailable {
        what: String,
        cause: DependencyError,
    },
    #[error("{what} has no SecretString; store the PEM as text")]
    NotText { what: String },
    #[error("{what} is not valid PEM")]
    NotPem { what: String },
    #[error("{what} holds no PEM certificate")]
    NoCertificate { what: String },
    #[error("certificate {number} in {what} cannot be used as a trusted root")]
    Unusable { what: String, number: usize },
}

/// The prober's trust could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The system store had no usable root, or the TLS configuration failed.
    #[error(transparent)]
    Setup(#[from] TlsSetupError),
    /// The extra CA bundle could not be had or used; `setting` says which one to fix.
    #[error("{setting}: {problem}")]
    ExtraCa {
        setting: &'static str,
        problem: BundleProblem,
    },
}

/// What [`TrustLoader::load`] returns: `Box::pin(async move { ... })`.
pub type TrustFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Arc<ClientConfig>, TrustError>> + Send + 'a>>;

/// Gives the prober its TLS client configuration, once per container (again only after a
/// failure).
pub trait TrustLoader: Send + Sync {
    fn load(&self) -> TrustFuture<'_>;
}

/// Adds every certificate of `pem` to `roots`; how many. `what` names the source in errors.
pub fn add_pem(roots: &mut RootCertStore, pem: &[u8], what: &str) -> Result<usize, BundleProblem> {
    let mut added = 0;
    for (i, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let cert = cert.map_err(|_| BundleProblem::NotPem {
            what: what.to_owned(),
        })?;
        roots.add(cert).map_err(|_| BundleProblem::Unusable {
            what: what.to_owned(),
            number: i + 1,
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(BundleProblem::NoCertificate {
            what: what.to_owned(),
        });
    }
    Ok(added)
}

/// The production trust: the system's root certificates and the extra CA bundle, if one
/// is configured. Building it reads nothing and builds no client; the Secrets Manager
/// client is built on the first load, and only for [`ExtraCa::Secret`].
#[derive(Debug, Clone)]
pub struct SystemTrust {
    extra: Option<ExtraCa>,
    aws: SdkConfig,
}

impl SystemTrust {
    pub fn new(extra: Option<ExtraCa>, aws: &SdkConfig) -> Self {
        Self {
            extra,
            aws: aws.clone(),
        }
    }

    /// The PEM text of the extra bundle.
    async fn read(&self, extra: &ExtraCa) -> Result<Vec<u8>, BundleProblem> {
        let what = extra.describe();
        match extra {
            ExtraCa::File(path) => tokio::fs::read(path)
                .await
                .map_err(|cause| BundleProblem::Unreadable { what, cause }),
            ExtraCa::Secret(id) => {
                let client = aws_sdk_secretsmanager::Client::new(&self.aws);
                let out = client
                    .get_secret_value()
                    .secret_id(id)
                    .send()
                    .await
                    .map_err(|e| BundleProblem::SecretUnavailable {
                        cause: dependency_error(SECRETS_MANAGER, &what, e),
                        what: what.clone(),
                    })?;
                out.secret_string
                    .map(String::into_bytes)
                    .ok_or(BundleProblem::NotText { what })
            }
        }
    }
}

impl TrustLoader for SystemTrust {
    fn load(&self) -> TrustFuture<'_> {
        Box::pin(self.load_now())
    }
}

impl SystemTrust {
    async fn load_now(&self) -> Result<Arc<ClientConfig>, TrustError> {
        let mut extra_roots = RootCertStore::empty();
        let mut extra_count = 0;
        if let Some(extra) = &self.extra {
            let problem = |problem| TrustError::ExtraCa {
                setting: extra.setting(),
                problem,
            };
            let pem = self.read(extra).await.map_err(problem)?;
            extra_count = add_pem(&mut extra_roots, &pem, &extra.describe()).map_err(problem)?;
        }
        let mut roots = system_roots()?;
        let system_count = roots.len();
        roots.roots.extend(extra_roots.roots);
        tracing::info!(
            system_roots = system_count,
            extra_roots = extra_count,
            "the prober's trusted certificates are loaded"
        );
        Ok(client_config(roots)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    fn add(pem: &str) -> Result<usize, BundleProblem> {
        add_pem(
            &mut RootCertStore::empty(),
            pem.as_bytes(),
            "the file ca.pem",
        )
    }

    #[test]
    fn every_certificate_of_a_bundle_is_added() {
        assert_eq!(add(&ca_pem()).unwrap(), 1);
        let two = format!("# two CAs\n{}\n{}", ca_pem(), ca_pem());
        assert_eq!(add(&two).unwrap(), 2);
    }

    #[test]
    fn a_bundle_without_a_usable_certificate_is_named_and_not_quoted() {
        let key = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n";
        for (pem, expected) in [
            ("", "the file ca.pem holds no PEM certificate"),
            ("just some text\n", "the file ca.pem holds no PEM certificate"),
            (key, "the file ca.pem holds no PEM certificate"),
            (
                "-----BEGIN CERTIFICATE-----\n@@not base64@@\n-----END CERTIFICATE-----\n",
                "the file ca.pem is not valid PEM",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END CERTIFICATE-----\n",
                "certificate 1 in the file ca.pem cannot be used as a trusted root",
            ),
        ] {
            let message = add(pem).unwrap_err().to_string();
            assert_eq!(message, expected);
            assert!(!message.contains("c2VjcmV0"), "{message}");
        }
    }

    #[tokio::test]
    async fn an_unreadable_file_names_the_setting_and_the_file() {
        let missing = std::env::temp_dir().join("connector-health-no-such-ca.pem");
        let trust = SystemTrust::new(
            Some(ExtraCa::File(missing.clone())),
            &aws_config::SdkConfig::builder().build(),
        );
        let message = trust.load().await.unwrap_err().to_string();
        assert!(
            message.starts_with(&format!(
                "PROBE_EXTRA_CA_FILE: cannot read the file {}: ",
                missing.display()
            )),
            "{message}"
        );
    }
}
