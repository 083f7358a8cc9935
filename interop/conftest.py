"""Harness for the official-SDK interop tests.

Starts the real ``keyhold`` binary on a free loopback port with a fresh data directory, trusts
its generated CA for every HTTPS client in this process, and resolves ``*.localhost`` names to
loopback (RFC 6761; Debian's resolver does not), exactly as docs/DESIGN.md section 8 describes.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass

import pytest

from postgres_harness import Postgres, S3Server

ROOT = pathlib.Path(__file__).resolve().parent.parent
KEYHOLD_BIN = os.environ.get("KEYHOLD_BIN", str(ROOT / "target" / "debug" / "keyhold"))

_system_getaddrinfo = socket.getaddrinfo
# Which loopback address `*.localhost` means in this thread: the cluster tests run nodes on
# 127.0.0.1, 127.0.0.2, … with one port (so their issuer and vault URLs are the same) and pick
# the node a client talks to with `via(address)`.
_route = threading.local()


def _getaddrinfo(host, *args, **kwargs):
    if isinstance(host, bytes):
        host = host.decode()
    if isinstance(host, str):
        name = host.rstrip(".").lower()
        if name == "localhost" or name.endswith(".localhost"):
            host = getattr(_route, "address", "127.0.0.1")
    return _system_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo


@contextlib.contextmanager
def via(address: str):
    """Connections opened in this block to `*.localhost` go to `address`. Create clients
    inside the block and do not reuse them elsewhere (their pooled connections stay put)."""
    previous = getattr(_route, "address", "127.0.0.1")
    _route.address = address
    try:
        yield
    finally:
        _route.address = previous


@dataclass
class Keyhold:
    """A running keyhold server."""

    process: subprocess.Popen
    data_dir: pathlib.Path
    port: int
    ready_line: str
    stderr_lines: list
    blob_dir: pathlib.Path | None = None

    @property
    def blobs(self) -> pathlib.Path:
        """Where this server's encrypted objects are files: its data directory's blob store,
        or its prefix in the S3 server's bucket directory (scale-out pass)."""
        return self.blob_dir or self.data_dir / "blobs"

    @property
    def endpoint(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def ca(self) -> str:
        return str(self.data_dir / "tls" / "ca.pem")

    @property
    def bootstrap(self) -> dict:
        return json.loads((self.data_dir / "bootstrap.json").read_text())

    def vault_url(self, name: str) -> str:
        return f"https://{name}.{self.bootstrap['vaultDomain']}:{self.port}"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


# The configuration the tests run against: "embedded" (the default) or "postgres" (the
# scale-out record engine; scripts/test runs the suite in both).
STORE = os.environ.get("KEYHOLD_INTEROP_STORE", "embedded")
_postgres: Postgres | None = None
_s3: S3Server | None = None
_databases: dict = {}
S3S_FS = os.environ.get("KEYHOLD_S3S_FS", str(ROOT / ".tools" / "bin" / "s3s-fs"))


def scale_out_args(data_dir: pathlib.Path, extra: tuple) -> list:
    """In the scale-out configuration: a PostgreSQL database of its own per data directory
    (the same one when a test restarts a server), the master key file every node of a cluster
    shares, and blobs in an S3 bucket under a prefix of its own."""
    global _postgres, _s3
    if STORE != "postgres" or "--store" in extra:
        return []
    if _postgres is None:
        _postgres = Postgres()
    if _s3 is None:
        _s3 = S3Server(S3S_FS)
    key = str(data_dir.resolve())
    if key not in _databases:
        master = data_dir.parent / f"{data_dir.name}.master-key"
        generated = subprocess.run([KEYHOLD_BIN, "master-key", "generate"], check=True,
                                   capture_output=True, text=True).stdout
        master.write_text(generated)
        master.chmod(0o600)
        _databases[key] = (_postgres.create_database(), master)
    url, master = _databases[key]
    prefix = url.rsplit("/", 1)[1]
    return ["--store", url, "--master-key-file", str(master), "--blob", f"s3://keyhold/{prefix}"]


def scale_out_blob_dir(args: list) -> pathlib.Path | None:
    if "--blob" not in args or _s3 is None:
        return None
    return _s3.bucket_dir / args[args.index("--blob") + 1].rsplit("/", 1)[1]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used the session's server shows what the server logged while it ran
    (key state changes, refused re-checks): timing failures are explained by the log, not
    guessed at afterwards."""
    report = (yield).get_result()
    server = getattr(item, "funcargs", {}).get("keyhold")
    if server is None:
        return
    if report.when == "setup":
        item.keyhold_log_start = len(server.stderr_lines)
    elif report.when == "call" and report.failed:
        lines = server.stderr_lines[getattr(item, "keyhold_log_start", 0):]
        text = re.sub(r"\x1b\[[0-9;]*m", "", "".join(lines[-300:]))
        report.sections.append(("keyhold server log during the test", text))


def pytest_sessionfinish(session, exitstatus):
    if _postgres is not None:
        _postgres.destroy()
    if _s3 is not None:
        _s3.destroy()


def start_keyhold(data_dir: pathlib.Path, *extra: str, env: dict | None = None,
                  listen: str = "127.0.0.1:0") -> Keyhold:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHOLD_")}
    scale_out = scale_out_args(data_dir, extra)
    if scale_out and _s3 is not None:
        full_env.update(_s3.env())
    full_env.update(env or {})
    process = subprocess.Popen(
        [KEYHOLD_BIN, "serve", "--listen", listen, "--data-dir", str(data_dir),
         *scale_out, *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )
    lines: "queue.Queue[str]" = queue.Queue()
    stderr_lines: list = []
    threading.Thread(target=lambda: [lines.put(l) for l in process.stdout], daemon=True).start()
    threading.Thread(target=lambda: [stderr_lines.append(l) for l in process.stderr], daemon=True).start()
    try:
        line = lines.get(timeout=60)
    except queue.Empty:
        process.kill()
        raise RuntimeError("keyhold did not become ready:\n" + "".join(stderr_lines))
    prefix = "keyhold ready on https://"
    assert line.startswith(prefix), line
    port = int(line[len(prefix):].split()[0].rsplit(":", 1)[1])
    return Keyhold(process, data_dir, port, line.strip(), stderr_lines, scale_out_blob_dir(scale_out))


@pytest.fixture(scope="session")
def keyhold():
    """One server for the whole session; tests isolate themselves by resource names."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="keyhold-interop-"))
    # One remote vault host is allowed (it does not resolve: the unreachable-vault case).
    server = start_keyhold(tmp / "data", "--remote-vault-host", "kv.example.invalid")
    os.environ["REQUESTS_CA_BUNDLE"] = server.ca
    os.environ["SSL_CERT_FILE"] = server.ca
    yield server
    code = server.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    assert code == 0, "keyhold did not shut down cleanly:\n" + "".join(server.stderr_lines)
