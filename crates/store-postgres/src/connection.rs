//! Connection settings from a libpq-style URL, and TLS for them.
//!
//! keyhold talks to PostgreSQL through rustls (aws-lc-rs), and a TLS session is always
//! verified: the certificate must chain to a trusted CA and name the host. libpq's modes map
//! onto that as follows:
//!
//! | `sslmode` | keyhold |
//! |---|---|
//! | `disable` | plain TCP |
//! | `prefer` (the default) | TLS when the server offers it, verified; plain when it does not |
//! | `require`, `verify-ca`, `verify-full` | TLS, verified (no plain fallback) |
//!
//! Unlike libpq, `prefer` and `require` never accept an unverified certificate: a session that
//! is encrypted but unauthenticated protects against nothing an active attacker does, and
//! these connections carry the whole store. The trusted CAs are the file named by
//! `sslrootcert=` (PEM, as in libpq) or else the system's roots. `sslrootcert` is read here and
//! removed before the rest of the URL goes to tokio-postgres, which does not know it.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

/// A parsed connection URL: tokio-postgres settings plus where the trusted CAs come from.
pub struct ConnectionUrl {
    /// Everything but the CA file.
    pub config: tokio_postgres::Config,
    /// `sslrootcert`: the trusted CAs (PEM); `None`: the system's roots.
    pub root_cert: Option<PathBuf>,
}

impl ConnectionUrl {
    /// Parses `url`; the message never repeats the URL (it may hold a password).
    pub fn parse(url: &str) -> Result<Self, String> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut root_cert = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslrootcert" => {
                    let path = percent_encoding::percent_decode_str(value)
                        .decode_utf8()
                        .map_err(|_| "sslrootcert is not UTF-8 once decoded".to_owned())?;
                    if path.is_empty() {
                        return Err("sslrootcert names no file".into());
                    }
                    root_cert = Some(PathBuf::from(path.as_ref()));
                }
                // Always verified here, so both are `require` for tokio-postgres.
                "sslmode" if value == "verify-ca" || value == "verify-full" => {
                    kept.push("sslmode=require".to_owned());
                }
                _ => kept.push(pair.to_owned()),
            }
        }
        let rebuilt = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let config = tokio_postgres::Config::from_str(&rebuilt).map_err(|e| {
            format!(
                "not a valid PostgreSQL URL (postgres://user@host[:port]/database[?sslmode=…&sslrootcert=…]): {e}"
            )
        })?;
        Ok(Self { config, root_cert })
    }

    /// The TLS connector: rustls over aws-lc-rs, trusting `sslrootcert` or the system roots.
    /// With no system roots at all (a minimal container) it trusts nothing: a server that
    /// offers no TLS is still reached under `prefer`, and one that does fails verification
    /// with a message naming `sslrootcert`.
    pub fn tls(&self) -> Result<MakeRustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS for PostgreSQL: {e}"))?;
        let roots = match &self.root_cert {
            Some(path) => load_roots(path)?,
            None => system_roots(),
        };
        let config = builder.with_root_certificates(roots).with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

fn load_roots(path: &Path) -> Result<rustls::RootCertStore, String> {
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("sslrootcert {shown}: cannot read it: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("sslrootcert {shown}: not PEM certificates: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!(
            "sslrootcert {shown}: holds no usable CA certificate"
        ));
    }
    Ok(roots)
}

fn system_roots() -> rustls::RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "reading the system's CA certificates");
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    roots
}

/// A hint for a failed connection whose cause is an untrusted server certificate (rustls'
/// `InvalidCertificate`, which tokio-rustls hands up inside an I/O error).
pub(crate) fn certificate_hint(err: &tokio_postgres::Error) -> Option<&'static str> {
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        let tls = e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(_)) = tls {
            return Some(
                "the server's TLS certificate is not trusted: name its CA with \
                 sslrootcert=/path/to/ca.pem in the URL (the host must match the certificate)",
            );
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::SslMode;

    #[test]
    fn libpq_urls_map_onto_verified_tls() {
        let table: &[(&str, SslMode, Option<&str>)] = &[
            ("postgres://u@h/db", SslMode::Prefer, None),
            ("postgres://u@h/db?sslmode=disable", SslMode::Disable, None),
            ("postgres://u@h/db?sslmode=require", SslMode::Require, None),
            (
                "postgres://u@h/db?sslmode=verify-ca",
                SslMode::Require,
                None,
            ),
            (
                "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fpg%20ca.pem",
                SslMode::Require,
                Some("/etc/pg ca.pem"),
            ),
            (
                "postgres://u@h/db?sslrootcert=/ca.pem&connect_timeout=3",
                SslMode::Prefer,
                Some("/ca.pem"),
            ),
        ];
        for (url, mode, root) in table {
            let parsed = ConnectionUrl::parse(url).unwrap();
            assert_eq!(parsed.config.get_ssl_mode(), *mode, "{url}");
            assert_eq!(parsed.root_cert.as_deref(), root.map(Path::new), "{url}");
            assert_eq!(parsed.config.get_dbname(), Some("db"));
        }
    }

    #[test]
    fn bad_settings_are_refused_without_repeating_the_url() {
        for url in [
            "postgres://u:hunter2@h/db?sslmode=sometimes",
            "postgres://u:hunter2@h/db?sslrootcert=",
            "postgres://u:hunter2@h/db?nonsense=1",
        ] {
            let err = ConnectionUrl::parse(url).err().unwrap();
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.pem");
        let url = format!("postgres://u@h/db?sslrootcert={}", missing.display());
        let err = ConnectionUrl::parse(&url).unwrap().tls().err().unwrap();
        assert!(
            err.contains("none.pem") && err.contains("cannot read"),
            "{err}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let url = format!("postgres://u@h/db?sslrootcert={}", empty.display());
        let err = ConnectionUrl::parse(&url).unwrap().tls().err().unwrap();
        assert!(err.contains("no usable CA"), "{err}");
    }
}
