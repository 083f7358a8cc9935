"""A real PostgreSQL for the interop tests' scale-out configuration.

Mirrors ``keyhold_store_postgres::testing``: ``initdb`` from the machine's Debian packages into
a temporary directory (as the ``postgres`` user when we are root, since initdb refuses root),
started on a free loopback port with ``fsync=on``, one database per keyhold server, removed at
the end. With ``tls=True`` it accepts TLS connections only, with a certificate for 127.0.0.1
from a CA of its own (``ca``), and hands out ``sslmode=verify-full`` URLs. Nothing is mocked.
"""
from __future__ import annotations

import itertools
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
import ipaddress


def _bindir() -> pathlib.Path:
    if os.environ.get("KEYHOLD_PG_BINDIR"):
        return pathlib.Path(os.environ["KEYHOLD_PG_BINDIR"])
    found = sorted(p / "bin" for p in pathlib.Path("/usr/lib/postgresql").glob("*")
                   if (p / "bin" / "initdb").exists())
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql "
                           "(apt-get install -y postgresql), or set KEYHOLD_PG_BINDIR")
    return found[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ca_and_server_certificate(directory: pathlib.Path) -> pathlib.Path:
    """Writes ``ca.pem`` (a CA) and ``server.crt``/``server.key`` (127.0.0.1, signed by it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(timezone.utc)

    def certificate(subject, key, issuer, issuer_key, extensions):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=2)))
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keyhold interop PostgreSQL CA")])
    ca = certificate(ca_name, ca_key, ca_name, ca_key, [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                       encipher_only=False, decipher_only=False), True),
    ])
    key = ec.generate_private_key(ec.SECP256R1())
    server = certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), key, ca_name, ca_key, [
        (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    ])
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.crt").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file = directory / "server.key"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return directory / "ca.pem"


class Postgres:
    """A running PostgreSQL server; ``create_database()`` hands out fresh databases."""

    def __init__(self, tls: bool = False) -> None:
        self.bindir = _bindir()
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="keyhold-interop-pg-"))
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self._names = itertools.count(1)
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres",
                  "--no-sync")
        self.ca = None
        if tls:
            data = self.dir / "data"
            self.ca = _ca_and_server_certificate(data)
            (data / "pg_hba.conf").write_text("local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
            if self.as_postgres:
                for name in ("ca.pem", "server.crt", "server.key", "pg_hba.conf"):
                    shutil.chown(data / name, "postgres", "postgres")
        self.start()

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, cwd=self.dir, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=on "
                   "-c max_connections=400" + (" -c ssl=on" if self.ca else ""))
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "postgres.log"),
                  "-w", "-t", "60", "-o", options, "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def create_database(self) -> str:
        name = f"keyhold_{next(self._names)}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        url = f"postgres://postgres@127.0.0.1:{self.port}/{name}"
        return f"{url}?sslmode=verify-full&sslrootcert={self.ca}" if self.ca else url

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class S3Server:
    """s3s-fs (an S3 server over a directory, from crates.io) on a free loopback port with
    bucket ``keyhold``; objects are plain files under ``bucket_dir``, so tests can look at (and
    tamper with) what keyhold stored, as they do with the local engine."""

    ACCESS_KEY = "keyhold"
    SECRET_KEY = "keyhold-secret"

    def __init__(self, program: str) -> None:
        if not pathlib.Path(program).exists():
            raise RuntimeError(f"{program} not found: run scripts/test (it installs s3s-fs into "
                               ".tools/) or set KEYHOLD_S3S_FS")
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="keyhold-interop-s3-"))
        self.bucket_dir = self.dir / "keyhold"
        self.bucket_dir.mkdir()
        self.port = free_port()
        self.program = program
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.program, "--host", "127.0.0.1", "--port", str(self.port), "--access-key",
             self.ACCESS_KEY, "--secret-key", self.SECRET_KEY, str(self.dir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("s3s-fs exited at start")
                time.sleep(0.05)
        raise RuntimeError("s3s-fs did not start")

    def env(self) -> dict:
        return {"AWS_ACCESS_KEY_ID": self.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": self.SECRET_KEY,
                "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}",
                "AWS_ALLOW_HTTP": "true"}

    def stop(self) -> None:
        """Kills the server (an outage)."""
        self.process.kill()
        self.process.wait()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
