//! TLS to the database servers, by rustls on the aws-lc-rs provider (the one the AWS SDK links):
//! the modes of a URL's `sslmode=` (PostgreSQL, libpq's names) or `ssl-mode=` (MySQL/MariaDB,
//! the MySQL client's names), what each mode verifies, and the errors that say what to change.
//!
//! | mode                                | TLS                         | verifies                   |
//! |-------------------------------------|-----------------------------|----------------------------|
//! | `disable` / `DISABLED`              | never                       | -                          |
//! | `prefer` / `PREFERRED` (default)    | when the server offers it   | the CA, if a CA file given |
//! | `require` / `REQUIRED`              | always                      | the CA, if a CA file given |
//! | `verify-ca` / `VERIFY_CA`           | always                      | the CA (file required)     |
//! | `verify-full` / `VERIFY_IDENTITY`   | always                      | the CA and the host name   |
//!
//! `prefer` falls back to a plain connection only when the server answers that it does not
//! offer TLS, never after a failed handshake (a refused certificate is an error, as it would be
//! with `require`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::DbError;
use crate::transform::Dialect;

/// Where RDS and Aurora publish the CA bundle that signs every region's database certificates.
pub const RDS_CA_BUNDLE_URL: &str =
    "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";

/// How a connection uses TLS: one mode for both engines, spelled in each engine's own words in
/// URLs ([`TlsMode::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, else plain (libpq's and the MySQL client's default).
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is checked against the CA file when one is given,
    /// else not at all (encryption without authentication).
    Require,
    /// TLS, the certificate signed by the CA file; any host name.
    VerifyCa,
    /// TLS, the certificate signed by the CA file and valid for the host name of the URL.
    VerifyFull,
}

impl TlsMode {
    pub const ALL: [TlsMode; 5] = [
        TlsMode::Disable,
        TlsMode::Prefer,
        TlsMode::Require,
        TlsMode::VerifyCa,
        TlsMode::VerifyFull,
    ];

    /// The mode's value in the engine's URL parameter ([`mode_param`]).
    pub fn name(self, dialect: Dialect) -> &'static str {
        match (dialect, self) {
            (Dialect::Postgres, TlsMode::Disable) => "disable",
            (Dialect::Postgres, TlsMode::Prefer) => "prefer",
            (Dialect::Postgres, TlsMode::Require) => "require",
            (Dialect::Postgres, TlsMode::VerifyCa) => "verify-ca",
            (Dialect::Postgres, TlsMode::VerifyFull) => "verify-full",
            (Dialect::MySql, TlsMode::Disable) => "DISABLED",
            (Dialect::MySql, TlsMode::Prefer) => "PREFERRED",
            (Dialect::MySql, TlsMode::Require) => "REQUIRED",
            (Dialect::MySql, TlsMode::VerifyCa) => "VERIFY_CA",
            (Dialect::MySql, TlsMode::VerifyFull) => "VERIFY_IDENTITY",
        }
    }

    /// The mode a URL names (either case).
    pub fn parse(dialect: Dialect, value: &str) -> Option<TlsMode> {
        TlsMode::ALL
            .into_iter()
            .find(|m| m.name(dialect).eq_ignore_ascii_case(value))
    }

    /// Every value of the engine's parameter, for error messages.
    pub fn names(dialect: Dialect) -> String {
        TlsMode::ALL.map(|m| m.name(dialect)).join("|")
    }
}

/// The URL parameter that sets the TLS mode: `sslmode` (PostgreSQL) or `ssl-mode` (MySQL).
pub fn mode_param(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "sslmode",
        Dialect::MySql => "ssl-mode",
    }
}

/// The URL parameter that names the CA file: `sslrootcert` (PostgreSQL) or `ssl-ca` (MySQL).
pub fn ca_param(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "sslrootcert",
        Dialect::MySql => "ssl-ca",
    }
}

/// A URL's TLS settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tls {
    pub mode: TlsMode,
    /// The CA certificates (PEM) to trust; no others are (no built-in roots).
    pub ca_file: Option<PathBuf>,
}

/// What the handshake checks of the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verification {
    /// Nothing: the connection is encrypted, the server not authenticated.
    Nothing,
    /// Signed by the CA file; any name.
    Chain,
    /// Signed by the CA file and valid for the host name.
    Full,
}

impl Tls {
    pub(crate) fn verification(&self) -> Verification {
        match (self.mode, self.ca_file.is_some()) {
            (TlsMode::VerifyFull, _) => Verification::Full,
            (TlsMode::VerifyCa, _) | (_, true) => Verification::Chain,
            _ => Verification::Nothing,
        }
    }

    /// The settings that do not go together, as a URL error.
    pub(crate) fn check(&self, dialect: Dialect) -> Result<(), String> {
        let (mode, ca) = (mode_param(dialect), ca_param(dialect));
        match (self.mode, &self.ca_file) {
            (TlsMode::VerifyCa | TlsMode::VerifyFull, None) => Err(format!(
                "{mode}={} verifies the server's certificate and needs the CA that signed it: add \
                 {ca}=<file> (for RDS and Aurora the global bundle, {RDS_CA_BUNDLE_URL})",
                self.mode.name(dialect)
            )),
            (TlsMode::Disable, Some(_)) => Err(format!(
                "{ca}= with {mode}={}: a plain connection verifies nothing; drop {ca}= or choose \
                 another {mode}",
                self.mode.name(dialect)
            )),
            _ => Ok(()),
        }
    }
}

/// The process-wide rustls provider: aws-lc-rs, installed once before any rustls configuration
/// is built (mysql_async builds its own with the process default). Another part of the process
/// (the AWS SDK) may have installed it first: that is fine, it is the same provider.
pub(crate) fn install_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _already_installed = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The CA file's certificates, read and parsed here so that a missing or wrong file is an error
/// that names it (rather than a driver's handshake error).
pub fn read_ca_file(path: &Path, dialect: Dialect) -> Result<Vec<u8>, DbError> {
    let param = ca_param(dialect);
    let bytes = std::fs::read(path).map_err(|source| DbError::CaFileUnreadable {
        path: path.to_path_buf(),
        param,
        source,
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DbError::CaFileInvalid {
            path: path.to_path_buf(),
            param,
            why: format!("it is not PEM ({e})"),
        })?;
    if certs.is_empty() {
        return Err(DbError::CaFileInvalid {
            path: path.to_path_buf(),
            param,
            why: "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        });
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| DbError::CaFileInvalid {
            path: path.to_path_buf(),
            param,
            why: format!("a certificate in it is not a usable CA certificate ({e})"),
        })?;
    }
    Ok(bytes)
}

/// The rustls configuration of a PostgreSQL connection with these settings.
pub(crate) fn client_config(tls: &Tls, dialect: Dialect) -> Result<rustls::ClientConfig, DbError> {
    install_provider();
    let provider = provider();
    let webpki = match (&tls.ca_file, tls.verification()) {
        (Some(path), v) if v != Verification::Nothing => {
            let pem = read_ca_file(path, dialect)?;
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
                let _ = roots.add(cert);
            }
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| DbError::CaFileInvalid {
                        path: path.clone(),
                        param: ca_param(dialect),
                        why: e.to_string(),
                    })?,
            )
        }
        _ => None,
    };
    let verifier = Verifier {
        verification: tls.verification(),
        webpki,
        provider: provider.clone(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Other(format!("TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(config)
}

/// Checks the server's certificate as [`Verification`] says; the handshake's signatures are
/// always checked (even a connection that authenticates nothing proves the server holds the
/// key of the certificate it sent).
#[derive(Debug)]
struct Verifier {
    verification: Verification,
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = self.webpki.as_ref() else {
            return match self.verification {
                Verification::Nothing => Ok(ServerCertVerified::assertion()),
                // (client_config builds the verifier whenever it verifies)
                _ => Err(CertificateError::UnknownIssuer.into()),
            };
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            // webpki checks the chain before the name: a wrong name means the chain is good.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.verification == Verification::Chain => Ok(ServerCertVerified::assertion()),
            r => r,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Why a connection's TLS failed, each with the fix in the URL.
#[derive(Debug, thiserror::Error)]
pub enum TlsProblem {
    /// The certificate is signed by the CA but names other hosts.
    #[error(
        "the server's certificate is not valid for the name {name} (it names {presented}): \
         connect by a name the certificate carries (on RDS and Aurora the cluster or instance \
         endpoint, not an IP address or a CNAME of it), or set {param}={verify_ca} to verify \
         only that the CA signed it"
    )]
    WrongName {
        name: String,
        presented: String,
        param: &'static str,
        verify_ca: &'static str,
    },
    /// The certificate is not signed by a CA of the CA file.
    #[error(
        "the server's certificate is not signed by a CA in {ca_file}: give the CA bundle that \
         signed it with {param}=<file> (for RDS and Aurora the global bundle, {RDS_CA_BUNDLE_URL})"
    )]
    UnknownCa {
        ca_file: String,
        param: &'static str,
    },
    /// Another certificate problem (expired, not a server certificate, ...).
    #[error("the server's certificate was refused: {0}")]
    BadCertificate(String),
    /// The mode wants TLS and the server does not offer it.
    #[error(
        "the server does not offer TLS and {param}={mode} requires it: enable TLS on the server, \
         or (only on a network you trust) set {param}={prefer}"
    )]
    NotOffered {
        param: &'static str,
        mode: &'static str,
        prefer: &'static str,
    },
    /// The server refused a plain connection (it requires TLS).
    #[error(
        "{server_said}; the connection was not encrypted ({param}={mode}) and the server may \
         require TLS: set {param}={verify_full} with {ca}=<CA file> (or {param}={require} to \
         encrypt without verifying the server)"
    )]
    PlainRefused {
        server_said: String,
        param: &'static str,
        mode: &'static str,
        verify_full: &'static str,
        require: &'static str,
        ca: &'static str,
    },
    /// The handshake failed otherwise.
    #[error("the TLS handshake failed: {0}")]
    Handshake(String),
}

impl TlsProblem {
    pub(crate) fn not_offered(tls: &Tls, dialect: Dialect) -> TlsProblem {
        TlsProblem::NotOffered {
            param: mode_param(dialect),
            mode: tls.mode.name(dialect),
            prefer: TlsMode::Prefer.name(dialect),
        }
    }

    pub(crate) fn plain_refused(server_said: String, tls: &Tls, dialect: Dialect) -> TlsProblem {
        TlsProblem::PlainRefused {
            server_said,
            param: mode_param(dialect),
            mode: tls.mode.name(dialect),
            verify_full: TlsMode::VerifyFull.name(dialect),
            require: TlsMode::Require.name(dialect),
            ca: ca_param(dialect),
        }
    }

    /// The problem a rustls error in `e`'s chain names, if any.
    pub(crate) fn from_error(
        e: &(dyn std::error::Error + 'static),
        tls: &Tls,
        dialect: Dialect,
    ) -> Option<TlsProblem> {
        let rustls_error = find_rustls_error(e)?;
        Some(match rustls_error {
            rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                expected,
                presented,
            }) => TlsProblem::WrongName {
                name: expected.to_str().into_owned(),
                presented: if presented.is_empty() {
                    "no host name".into()
                } else {
                    presented
                        .iter()
                        .map(|p| presented_name(p).unwrap_or_else(|| p.clone()))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                param: mode_param(dialect),
                verify_ca: TlsMode::VerifyCa.name(dialect),
            },
            rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => {
                TlsProblem::WrongName {
                    name: String::from("of the URL"),
                    presented: "other names".into(),
                    param: mode_param(dialect),
                    verify_ca: TlsMode::VerifyCa.name(dialect),
                }
            }
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                TlsProblem::UnknownCa {
                    ca_file: tls
                        .ca_file
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "the CA file".into()),
                    param: ca_param(dialect),
                }
            }
            rustls::Error::InvalidCertificate(c) => TlsProblem::BadCertificate(c.to_string()),
            other => TlsProblem::Handshake(other.to_string()),
        })
    }
}

/// The host names the certificate presents, as a rustls name-mismatch error in `e`'s chain lists
/// them (`DnsName("a.example")`, `IpAddress(10.0.0.1)`).
pub(crate) fn presented_names(e: &(dyn std::error::Error + 'static)) -> Option<Vec<String>> {
    match find_rustls_error(e)? {
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            presented,
            ..
        }) => Some(presented.iter().filter_map(|p| presented_name(p)).collect()),
        _ => None,
    }
}

/// `DnsName("a.example")` -> `a.example`, `IpAddress(10.0.0.1)` -> `10.0.0.1`.
fn presented_name(p: &str) -> Option<String> {
    if let Some(dns) = p.strip_prefix("DnsName(\"") {
        return dns.strip_suffix("\")").map(str::to_string);
    }
    p.strip_prefix("IpAddress(")?
        .strip_suffix(')')
        .map(str::to_string)
}

/// The first rustls error in the chain of causes, looking into `io::Error`s too (their
/// `source()` skips the error they wrap, which is where TLS streams put rustls's).
fn find_rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(r) = find_rustls_error(inner) {
                return Some(r);
            }
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_and_print_in_each_engines_words() {
        for m in TlsMode::ALL {
            for d in [Dialect::MySql, Dialect::Postgres] {
                assert_eq!(TlsMode::parse(d, m.name(d)), Some(m));
            }
        }
        assert_eq!(
            TlsMode::parse(Dialect::MySql, "verify_identity"),
            Some(TlsMode::VerifyFull)
        );
        assert_eq!(TlsMode::parse(Dialect::Postgres, "VERIFY_IDENTITY"), None);
        assert_eq!(TlsMode::parse(Dialect::MySql, "verify-full"), None);
    }

    #[test]
    fn a_ca_file_makes_prefer_and_require_verify_the_chain() {
        let with = |mode, ca: Option<&str>| Tls {
            mode,
            ca_file: ca.map(PathBuf::from),
        };
        assert_eq!(
            with(TlsMode::Require, None).verification(),
            Verification::Nothing
        );
        assert_eq!(
            with(TlsMode::Require, Some("ca.pem")).verification(),
            Verification::Chain
        );
        assert_eq!(
            with(TlsMode::Prefer, Some("ca.pem")).verification(),
            Verification::Chain
        );
        assert_eq!(
            with(TlsMode::VerifyFull, Some("ca.pem")).verification(),
            Verification::Full
        );
        let e = with(TlsMode::VerifyFull, None)
            .check(Dialect::MySql)
            .unwrap_err();
        assert!(
            e.contains("ssl-ca=<file>") && e.contains(RDS_CA_BUNDLE_URL),
            "{e}"
        );
    }

    #[test]
    fn presented_names_read_back() {
        assert_eq!(
            presented_name("DnsName(\"*.cluster-x.rds.amazonaws.com\")").as_deref(),
            Some("*.cluster-x.rds.amazonaws.com")
        );
        assert_eq!(
            presented_name("IpAddress(127.0.0.1)").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(presented_name("DirectoryName"), None);
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let e =
            read_ca_file(Path::new("/nonexistent/kirikae-ca.pem"), Dialect::Postgres).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.contains("/nonexistent/kirikae-ca.pem") && shown.contains("sslrootcert="),
            "{shown}"
        );
        let dir = std::env::temp_dir().join(format!("kirikae-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate\n").unwrap();
        let e = read_ca_file(&dir, Dialect::MySql).unwrap_err().to_string();
        let _ = std::fs::remove_file(&dir);
        assert!(
            e.contains("no PEM certificate") && e.contains("ssl-ca="),
            "{e}"
        );
    }
}
