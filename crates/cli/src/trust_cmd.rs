//! `keyhold trust`: one CA bundle that tools can trust for keyhold *and* the rest of the
//! internet. Pointing `SSL_CERT_FILE` or `REQUESTS_CA_BUNDLE` at keyhold's `tls/ca.pem` alone
//! makes the openai SDK trust keyhold but breaks pip and everything else; the bundle is the
//! system's CA certificates followed by keyhold's development CA, and the command prints the
//! `export` lines for the variables Python (requests, httpx), Node and curl read.
//!
//! The system certificates are read from the distribution's bundle file (Debian's
//! `/etc/ssl/certs/ca-certificates.crt` first), never from `SSL_CERT_FILE`: that variable may
//! already point at keyhold's CA alone, or at an older bundle.

use std::path::{Path, PathBuf};

use clap::Args;
use keyhold_client::{Credentials, default_credentials_path};

use crate::atomic_file::write_atomic;
use crate::common::shell_quote;

/// The distributions' CA bundle files, in the order they are tried.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The variables the bundle is exported as.
pub const VARIABLES: &[&str] = &[
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "NODE_EXTRA_CA_CERTS",
    "CURL_CA_BUNDLE",
];

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// `keyhold trust`.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// Write the bundle to this file (replaced atomically) and print the `export` lines;
    /// without it the bundle itself is printed.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The server's data directory, whose tls/ca.pem is keyhold's CA (default: the CA named by
    /// the saved credentials, else ./keyhold-data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The system CA bundle to start from (default: the distribution's, e.g.
    /// /etc/ssl/certs/ca-certificates.crt).
    #[arg(long, value_name = "FILE")]
    system_roots: Option<PathBuf>,
}

/// Where keyhold's CA certificate is.
fn keyhold_ca(args: &TrustArgs) -> PathBuf {
    if let Some(dir) = &args.data_dir {
        return dir.join("tls").join("ca.pem");
    }
    Credentials::load(&default_credentials_path())
        .ok()
        .and_then(|c| c.ca_certificate.clone())
        .unwrap_or_else(|| PathBuf::from("keyhold-data").join("tls").join("ca.pem"))
}

fn system_bundle(args: &TrustArgs) -> Result<PathBuf, String> {
    if let Some(path) = &args.system_roots {
        return Ok(path.clone());
    }
    SYSTEM_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "no system CA bundle found (looked for {}); install ca-certificates or pass \
                 --system-roots FILE",
                SYSTEM_BUNDLES.join(", ")
            )
        })
}

/// The PEM certificates in `text`, each from BEGIN to END.
fn certificates(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            break;
        };
        let end = start + len + END.len();
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

/// A certificate's base64 body without line breaks, to compare two PEM renderings.
fn body(pem: &str) -> String {
    pem.trim_start_matches(BEGIN)
        .trim_end_matches(END)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn read(path: &Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// The bundle: the system's certificates, then keyhold's (unless the system already has it).
fn bundle(system_path: &Path, ca_path: &Path) -> Result<(String, usize), String> {
    let system_text = read(system_path, "the system CA bundle")?;
    let ca_text = read(ca_path, "keyhold's CA").map_err(|e| {
        format!("{e}\nhint: give the server's data directory with --data-dir (it holds tls/ca.pem)")
    })?;
    let system = certificates(&system_text);
    let ca = certificates(&ca_text);
    if ca.is_empty() {
        return Err(format!("{} holds no PEM certificate", ca_path.display()));
    }
    let known: Vec<String> = system.iter().map(|c| body(c)).collect();
    let mut text = format!(
        "# CA bundle made by `keyhold trust`: the system's CA certificates ({}), then keyhold's\n\
         # development CA ({}).\n",
        system_path.display(),
        ca_path.display()
    );
    for cert in &system {
        text.push_str(cert);
        text.push('\n');
    }
    let mut count = system.len();
    for cert in ca {
        if !known.contains(&body(cert)) {
            text.push_str(&format!(
                "# keyhold development CA: {}\n{cert}\n",
                ca_path.display()
            ));
            count += 1;
        }
    }
    Ok((text, count))
}

/// The `export` lines for a bundle at `path`.
pub fn export_lines(path: &Path) -> String {
    let quoted = shell_quote(&path.to_string_lossy());
    VARIABLES
        .iter()
        .map(|v| format!("export {v}={quoted}\n"))
        .collect()
}

/// Runs `keyhold trust`.
pub fn run(args: TrustArgs) -> Result<(), String> {
    let system_path = system_bundle(&args)?;
    let ca_path = keyhold_ca(&args);
    let (text, count) = bundle(&system_path, &ca_path)?;
    match &args.out {
        Some(out) => {
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            write_atomic(out, text.as_bytes(), 0o644, true)?;
            let absolute = std::fs::canonicalize(out)
                .map_err(|e| format!("cannot resolve {}: {e}", out.display()))?;
            eprintln!(
                "# wrote {count} CA certificates to {} (the system's and keyhold's); for your \
                 shell:",
                absolute.display()
            );
            print!("{}", export_lines(&absolute));
        }
        None => {
            print!("{text}");
            eprintln!(
                "# {count} CA certificates (the system's and keyhold's). Save them with \
                 `keyhold trust --out FILE`, which prints the lines to export: {}",
                VARIABLES.join(", ")
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "-----BEGIN CERTIFICATE-----\nAAAA\nAAAA\n-----END CERTIFICATE-----";
    const B: &str = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----";

    #[test]
    fn splits_pem_and_compares_bodies() {
        let text = format!("# comment\n{A}\njunk\n{B}\n-----BEGIN CERTIFICATE-----\ncut");
        assert_eq!(certificates(&text), vec![A, B]);
        assert_eq!(body(A), "AAAAAAAA");
        assert_eq!(
            body("-----BEGIN CERTIFICATE-----\nAAAA AAAA\n-----END CERTIFICATE-----"),
            body(A)
        );
    }

    #[test]
    fn system_first_then_keyhold_once() {
        let dir = tempfile::tempdir().unwrap();
        let system = dir.path().join("system.pem");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&system, format!("{A}\n")).unwrap();
        std::fs::write(&ca, format!("{B}\n")).unwrap();
        let (text, count) = bundle(&system, &ca).unwrap();
        assert_eq!(count, 2);
        assert!(
            text.find("AAAA").unwrap() < text.find("BBBB").unwrap(),
            "{text}"
        );
        // keyhold's CA already among the system's: not added twice.
        std::fs::write(&system, format!("{A}\n{B}\n")).unwrap();
        let (text, count) = bundle(&system, &ca).unwrap();
        assert_eq!((count, text.matches("BBBB").count()), (2, 1));
        std::fs::write(&ca, "not a certificate").unwrap();
        assert!(
            bundle(&system, &ca)
                .unwrap_err()
                .contains("no PEM certificate")
        );
        let err = bundle(&system, &dir.path().join("missing.pem")).unwrap_err();
        assert!(err.contains("--data-dir"), "{err}");
    }

    #[test]
    fn exports_every_variable() {
        let lines = export_lines(Path::new("/tmp/my bundle.pem"));
        for v in VARIABLES {
            assert!(
                lines.contains(&format!("export {v}='/tmp/my bundle.pem'\n")),
                "{lines}"
            );
        }
    }
}
