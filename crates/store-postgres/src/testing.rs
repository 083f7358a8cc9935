//! A real PostgreSQL for tests, from the machine's Debian packages: `initdb` into a temporary
//! directory, started on a free loopback port, stopped and removed when dropped. As root it
//! runs as the `postgres` user (initdb refuses root). Nothing is mocked.
// Test support: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running PostgreSQL server.
pub struct TestPostgres {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    port: u16,
    as_postgres_user: bool,
    /// Serves TLS only (`ssl=on`, `hostssl` lines alone in `pg_hba.conf`).
    tls: bool,
}

fn bindir() -> PathBuf {
    if let Ok(dir) = std::env::var("KEYHOLD_PG_BINDIR") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|p| p.join("initdb").exists());
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries not found under /usr/lib/postgresql (install the Debian \
             package: apt-get install -y postgresql), or set KEYHOLD_PG_BINDIR"
        )
    })
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestPostgres {
    /// Initialises and starts a server (a few seconds).
    pub fn start() -> Self {
        Self::start_configured(None)
    }

    /// Like [`TestPostgres::start`], but the server accepts TLS connections only, with this
    /// certificate and key (PEM) for 127.0.0.1.
    pub fn start_with_tls(cert_pem: &str, key_pem: &str) -> Self {
        Self::start_configured(Some((cert_pem, key_pem)))
    }

    fn start_configured(tls: Option<(&str, &str)>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("keyhold-pg-")
            .tempdir()
            .unwrap();
        let server = Self {
            bindir: bindir(),
            port: free_port(),
            as_postgres_user: is_root(),
            tls: tls.is_some(),
            dir,
        };
        server.give_to_server_user(&[server.dir.path().to_path_buf()]);
        server.run(
            "initdb",
            &[
                "-D",
                &server.data().to_string_lossy(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        if let Some((cert_pem, key_pem)) = tls {
            server.install_tls(cert_pem, key_pem);
        }
        server.start_server();
        server
    }

    /// Writes the certificate and key into the data directory (the key `0600` and owned by
    /// the server's user, as PostgreSQL demands) and allows TLS connections only.
    fn install_tls(&self, cert_pem: &str, key_pem: &str) {
        use std::os::unix::fs::PermissionsExt;
        let data = self.data();
        std::fs::write(data.join("server.crt"), cert_pem).unwrap();
        std::fs::write(data.join("server.key"), key_pem).unwrap();
        std::fs::set_permissions(
            data.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        self.give_to_server_user(&[
            data.join("server.crt"),
            data.join("server.key"),
            data.join("pg_hba.conf"),
        ]);
    }

    /// When we are root, hands `paths` (recursively) to the `postgres` user the server runs as.
    fn give_to_server_user(&self, paths: &[PathBuf]) {
        if !self.as_postgres_user {
            return;
        }
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .args(paths)
            .status()
            .unwrap();
        assert!(status.success(), "chown of {paths:?} to postgres failed");
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of PostgreSQL's programs (as `postgres` when we are root); panics with its
    /// output if it fails.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bindir.join(program);
        let output = if self.as_postgres_user {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .current_dir(self.dir.path())
                .output()
        } else {
            Command::new(&path)
                .args(args)
                .current_dir(self.dir.path())
                .output()
        }
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
        assert!(
            output.status.success(),
            "{program} {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn start_server(&self) {
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=on -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        if self.tls {
            options.push_str(" -c ssl=on");
        }
        let log = self.dir.path().join("postgres.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "start",
            ],
        );
    }

    /// Stops the server (fast shutdown: connections are closed).
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().to_string_lossy(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// Starts it again after [`TestPostgres::stop`], on the same port.
    pub fn restart(&self) {
        self.start_server();
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` (see [`TestPostgres::create_database`]).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        self.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ],
        );
        self.url(name)
    }

    /// The server's directory (its log is `postgres.log` there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let _ = if self.as_postgres_user {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bindir.join("pg_ctl"))
                .args([
                    "-D",
                    &self.data().to_string_lossy(),
                    "-m",
                    "immediate",
                    "stop",
                ])
                .output()
        } else {
            Command::new(self.bindir.join("pg_ctl"))
                .args([
                    "-D",
                    &self.data().to_string_lossy(),
                    "-m",
                    "immediate",
                    "stop",
                ])
                .output()
        };
    }
}
