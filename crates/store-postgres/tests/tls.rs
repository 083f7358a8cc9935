//! The PostgreSQL engine over TLS against a real server that accepts TLS connections only:
//! with the server's CA named by `sslrootcert` it connects and works; with the system's roots
//! (which do not hold that CA) or another CA it refuses to start, saying what to fix;
//! `sslmode=disable` is refused by the server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyhold_store::{Precondition, RecordStore, RecordStoreExt};
use keyhold_store_postgres::testing::TestPostgres;
use keyhold_store_postgres::{PgRecordStore, PgSettings};
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, SanType,
};

/// A CA (PEM) and a server certificate for 127.0.0.1 it signed (PEM cert, PEM key).
fn ca_and_server_cert() -> (String, String, String) {
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let mut server = CertificateParams::default();
    server.subject_alt_names = vec![SanType::IpAddress([127, 0, 0, 1].into())];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = server.signed_by(&key, &issuer).unwrap();
    (ca_pem, cert.pem(), key.serialize_pem())
}

async fn connect(url: String) -> Result<PgRecordStore, String> {
    let mut settings = PgSettings::new(url);
    settings.wait_timeout = std::time::Duration::from_secs(5);
    PgRecordStore::connect(&settings)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn verified_tls_only() {
    let (ca_pem, cert_pem, key_pem) = ca_and_server_cert();
    let pg = TestPostgres::start_with_tls(&cert_pem, &key_pem);
    let base = pg.create_database("tls");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &ca_pem).unwrap();

    let store = connect(format!(
        "{base}?sslmode=verify-full&sslrootcert={}",
        ca.display()
    ))
    .await
    .expect("the server's CA is trusted");
    store
        .put_with("tls", "k", b"v".to_vec(), Precondition::Absent)
        .await
        .unwrap();
    assert_eq!(store.get("tls", "k").await.unwrap().unwrap().value, b"v");
    // The change feed's own connection uses TLS too.
    let mut feed = store.listen();
    assert!(
        tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv())
            .await
            .expect("the listener connects over TLS")
            .is_ok()
    );

    // The default mode (prefer) takes TLS when offered, and verifies it.
    connect(format!("{base}?sslrootcert={}", ca.display()))
        .await
        .expect("prefer with the CA");
    for url in [
        format!("{base}?sslmode=require"),
        base.clone(),
        format!("{base}?sslmode=verify-ca&sslrootcert={}", {
            let other = dir.path().join("other.pem");
            std::fs::write(&other, ca_and_server_cert().0).unwrap();
            other.display().to_string()
        }),
    ] {
        let err = connect(url).await.err().expect("an untrusted certificate");
        assert!(err.contains("sslrootcert"), "says what to fix: {err}");
    }
    let err = connect(format!("{base}?sslmode=disable"))
        .await
        .err()
        .expect("the server accepts TLS only");
    assert!(
        err.to_lowercase().contains("pg_hba") || err.contains("28000"),
        "{err}"
    );
}
