//! TLS for the one HTTPS listener: a development CA generated on first start, or the
//! operator's own certificate.
//!
//! Azure SDKs refuse bearer tokens over plain HTTP, so keyhold always speaks TLS. On first start
//! a development CA is generated into `<data-dir>/tls/ca.pem` (the file users trust) and its
//! private key is stored only **sealed under the master key** (`tls/ca.key.sealed`), so a copy of
//! the data directory cannot mint certificates for `*.vault.localhost` without the master key.
//! The server certificate is re-issued from that CA at every start (it is cheap), so its SANs
//! always match the current configuration (`--vault-domain`, `--public-host`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyhold_crypto::{CryptoError, Sealer};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::Config;
use crate::data_dir::{DataDirError, create_private_dir, write_private_file};

/// Seal purpose of the dev CA key. DO NOT CHANGE: existing data directories depend on it.
pub(crate) const CA_SEAL_PURPOSE: &str = "tls.dev-ca.v1";
/// The sealed dev CA key, in the tls directory.
pub(crate) const CA_KEY_FILE: &str = "ca.key.sealed";

/// TLS set-up problems; each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A user-supplied certificate or key file is unreadable or not PEM of the right kind.
    #[error("cannot use TLS {what} {path}: {reason}")]
    UserFile {
        /// "certificate" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The stored development CA is unreadable or damaged.
    #[error(
        "development CA in {path} is unusable: {reason}; move the tls directory away to generate a new CA"
    )]
    DevCa {
        /// The tls directory.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The development CA was sealed with another master key.
    #[error(
        "the development CA key in {0} was sealed with a different master key (after \
         `keyhold master-key rotate` on a cluster, run it on this node too: it re-seals the \
         node's own files)"
    )]
    WrongMasterKey(PathBuf),
    /// Generating or signing a certificate failed.
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
    /// rustls rejected the certificate/key pair.
    #[error("TLS configuration rejected: {0}")]
    Rustls(String),
    /// Writing the CA files failed.
    #[error(transparent)]
    Write(#[from] DataDirError),
}

/// The TLS configuration to serve, plus files still to be written (a new dev CA).
pub struct PreparedTls {
    /// The rustls configuration (ALPN h2 and http/1.1).
    pub server_config: Arc<ServerConfig>,
    /// Path of the CA certificate users should trust, when keyhold generated it.
    pub ca_pem: Option<PathBuf>,
    pending: Option<PendingCa>,
}

struct PendingCa {
    dir: PathBuf,
    cert_pem: String,
    sealed_key: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct SealedCa {
    common_name: String,
    key_pem: String,
}

impl PreparedTls {
    /// Writes a newly generated CA (certificate and sealed key). Call once every start-up check
    /// has passed.
    pub fn persist(&mut self) -> Result<(), TlsError> {
        if let Some(pending) = self.pending.take() {
            create_private_dir(&pending.dir)?;
            write_private_file(&pending.dir.join(CA_KEY_FILE), &pending.sealed_key)?;
            write_private_file(&pending.dir.join("ca.pem"), pending.cert_pem.as_bytes())?;
        }
        Ok(())
    }
}

/// Builds the TLS configuration: the operator's files if configured, else the dev CA (loaded
/// or generated in memory) and a fresh server certificate for `names`.
pub fn prepare(config: &Config, tls_dir: &Path, sealer: &Sealer) -> Result<PreparedTls, TlsError> {
    if let Some((cert, key)) = &config.tls_files {
        let server_config = user_supplied(cert, key)?;
        return Ok(PreparedTls {
            server_config,
            ca_pem: None,
            pending: None,
        });
    }
    let (issuer_params, ca_key, pending) = match load_dev_ca(tls_dir, sealer)? {
        Some((params, key)) => (params, key, None),
        None => {
            let (params, key, cert_pem, sealed_key) = generate_dev_ca(sealer)?;
            let pending = PendingCa {
                dir: tls_dir.to_path_buf(),
                cert_pem,
                sealed_key,
            };
            (params, key, Some(pending))
        }
    };
    let issuer = Issuer::new(issuer_params, ca_key);
    let (cert_der, key_der) = issue_server_cert(&server_names(config), &issuer)?;
    let server_config = build_server_config(vec![cert_der], key_der)?;
    Ok(PreparedTls {
        server_config,
        ca_pem: Some(tls_dir.join("ca.pem")),
        pending,
    })
}

/// The names the server certificate must cover.
pub fn server_names(config: &Config) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
        format!("*.{}", config.vault_domain),
        format!("*.{}", config.ai_domain),
    ];
    // The Microsoft Graph audience's host (`graph.localhost`): the Azure CLI calls Graph at the
    // URL it asks tokens for.
    if let Some(host) = config
        .graph_audience
        .strip_prefix("https://")
        .and_then(|rest| rest.split(['/', ':']).next())
        .filter(|h| !h.is_empty())
    {
        names.push(host.to_owned());
    }
    let listen_ip = config.listen.ip();
    if !listen_ip.is_unspecified() && !listen_ip.is_loopback() {
        names.push(listen_ip.to_string());
    }
    names.extend(config.public_hosts.iter().cloned());
    names.dedup();
    names
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "keyhold development");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn generate_dev_ca(
    sealer: &Sealer,
) -> Result<(CertificateParams, KeyPair, String, Vec<u8>), TlsError> {
    let generate = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let id = keyhold_crypto::random_bytes(6).map_err(|e| TlsError::Generate(e.to_string()))?;
    let common_name = format!("keyhold development CA {}", hex::encode(id));
    let mut params = ca_params(&common_name);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    let key = KeyPair::generate().map_err(generate)?;
    let cert = params.self_signed(&key).map_err(generate)?;
    let sealed = SealedCa {
        common_name,
        key_pem: key.serialize_pem(),
    };
    let json =
        Zeroizing::new(serde_json::to_vec(&sealed).map_err(|e| TlsError::Generate(e.to_string()))?);
    drop(Zeroizing::new(sealed.key_pem));
    let sealed_key = sealer
        .seal(CA_SEAL_PURPOSE, &json)
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok((ca_params(&sealed.common_name), key, cert.pem(), sealed_key))
}

fn load_dev_ca(
    tls_dir: &Path,
    sealer: &Sealer,
) -> Result<Option<(CertificateParams, KeyPair)>, TlsError> {
    let key_path = tls_dir.join(CA_KEY_FILE);
    let cert_path = tls_dir.join("ca.pem");
    let damaged = |reason: String| TlsError::DevCa {
        path: tls_dir.to_path_buf(),
        reason,
    };
    match (key_path.exists(), cert_path.exists()) {
        (false, false) => return Ok(None),
        (true, true) => {}
        (true, false) => return Err(damaged("ca.pem is missing".into())),
        (false, true) => return Err(damaged("ca.key.sealed is missing".into())),
    }
    let sealed =
        crate::data_dir::read_private_file(&key_path).map_err(|e| damaged(e.to_string()))?;
    let opened = sealer.open(CA_SEAL_PURPOSE, &sealed).map_err(|e| match e {
        CryptoError::WrongSealingKey => TlsError::WrongMasterKey(tls_dir.to_path_buf()),
        _ => damaged("ca.key.sealed failed authentication".into()),
    })?;
    let ca: SealedCa = serde_json::from_slice(opened.expose_secret())
        .map_err(|_| damaged("ca.key.sealed has an unknown layout".into()))?;
    let key_pem = Zeroizing::new(ca.key_pem);
    let key = KeyPair::from_pem(&key_pem).map_err(|e| damaged(e.to_string()))?;
    Ok(Some((ca_params(&ca.common_name), key)))
}

fn issue_server_cert(
    names: &[String],
    issuer: &Issuer<'_, KeyPair>,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
    let generate = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "keyhold");
    for name in names {
        let san = match name.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(name.clone().try_into().map_err(generate)?),
        };
        params.subject_alt_names.push(san);
    }
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(90);
    let key = KeyPair::generate().map_err(generate)?;
    let cert = params.signed_by(&key, issuer).map_err(generate)?;
    let key_der = PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok((cert.der().clone(), key_der))
}

fn user_supplied(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let user_err = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |reason: String| TlsError::UserFile { what, path, reason }
    };
    let cert_pem = std::fs::read(cert).map_err(|e| user_err("certificate", cert)(e.to_string()))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| user_err("certificate", cert)(e.to_string()))?;
    if chain.is_empty() {
        return Err(user_err("certificate", cert)(
            "no PEM CERTIFICATE block found".into(),
        ));
    }
    let key_pem = Zeroizing::new(
        std::fs::read(key).map_err(|e| user_err("private key", key)(e.to_string()))?,
    );
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| user_err("private key", key)(e.to_string()))?;
    build_server_config(chain, key_der)
}

fn build_server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigLayer};

    fn sealer() -> Sealer {
        Sealer::new(keyhold_crypto::Aes256Key::from_bytes(&[9u8; 32]).unwrap())
    }

    #[test]
    fn dev_ca_generated_persisted_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let tls_dir = dir.path().join("tls");
        let config = Config::validate(ConfigLayer::default()).unwrap();
        let mut first = prepare(&config, &tls_dir, &sealer()).unwrap();
        assert!(!tls_dir.exists(), "nothing is written before persist");
        first.persist().unwrap();
        let ca_pem = std::fs::read_to_string(tls_dir.join("ca.pem")).unwrap();
        let mut second = prepare(&config, &tls_dir, &sealer()).unwrap();
        second.persist().unwrap();
        assert_eq!(
            ca_pem,
            std::fs::read_to_string(tls_dir.join("ca.pem")).unwrap(),
            "the CA is reused, not regenerated"
        );
        let sealed = std::fs::read(tls_dir.join("ca.key.sealed")).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("PRIVATE KEY"));
    }

    #[test]
    fn wrong_master_key_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let tls_dir = dir.path().join("tls");
        let config = Config::validate(ConfigLayer::default()).unwrap();
        prepare(&config, &tls_dir, &sealer())
            .unwrap()
            .persist()
            .unwrap();
        let other = Sealer::new(keyhold_crypto::Aes256Key::from_bytes(&[1u8; 32]).unwrap());
        assert!(matches!(
            prepare(&config, &tls_dir, &other),
            Err(TlsError::WrongMasterKey(_))
        ));
    }

    #[test]
    fn user_files_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, b"not pem").unwrap();
        std::fs::write(&key, b"not pem").unwrap();
        let config = Config::validate(ConfigLayer {
            tls_cert: Some(cert.clone()),
            tls_key: Some(key),
            ..Default::default()
        })
        .unwrap();
        let err = prepare(&config, dir.path(), &sealer()).err().unwrap();
        assert!(err.to_string().contains("cert.pem"), "{err}");
    }

    #[test]
    fn names_include_domains_and_public_hosts() {
        let config = Config::validate(ConfigLayer {
            public_host: Some(vec!["kh.example".into(), "10.1.2.3".into()]),
            ..Default::default()
        })
        .unwrap();
        let names = server_names(&config);
        for expected in [
            "localhost",
            "127.0.0.1",
            "*.vault.localhost",
            "*.openai.localhost",
            "graph.localhost",
            "kh.example",
            "10.1.2.3",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected} missing");
        }
    }
}
