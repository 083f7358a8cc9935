"""The README, run as written: every `sh` and `python` block, in order, from the repository root
on a fresh data directory, as a newcomer would type them (issue 19).

How a block is run:
- `sh` blocks line by line (a trailing `\\` joins lines), each line by its own `bash` that
  starts from the shell state the previous line left (exported variables and the working
  directory), so `eval "$(keyhold trust …)"` and `export` carry over as in one terminal;
- `python` blocks in one interpreter session (the README says they continue each other), with
  the venv's Python and its pinned SDKs;
- `<placeholders>` are filled from what earlier commands printed (the `appId` that
  `keyhold identity sp create` printed, the `principalId` of the account `keyhold account create`
  made, …); an unknown placeholder fails the test, so a new one must be taught here;
- a block may be preceded by one directive, an HTML comment GitHub does not show:
  `<!-- readme-test: background -->` runs the block's last line as a server left running until
  it prints its ready line (stopping the previous one), `<!-- readme-test: stop -->` stops the
  server before the block (whose last line then starts one in the background, as `background`), `<!-- readme-test: output -->` (a block without a
  language) is compared with the running server's ready line, and
  `<!-- readme-test: skip REASON -->` leaves a block out, saying why (a skip needs a reason).

What the test changes around the commands, and only this: `HOME` is a fresh directory (so
`~/.config/keyhold` is new, and nothing of the user's is touched), `cargo install` installs into
a temporary root put first on `PATH` and reuses this checkout's `target/` (`CARGO_TARGET_DIR`),
`/run/secrets/` is a temporary directory, the Foundry sample the README has its reader download
is copied into the repository root, and `*.localhost` resolves to loopback for Python (the
harness's resolver override, `interop/az_resolver/sitecustomize.py`; curl since 7.78 and
keyhold's own client resolve the names themselves). The port
is the README's own, 8443: the test fails at once, naming it, if something listens there or
`./keyhold-data` exists. What the README made in the repository root (`MADE_BY_README`) is
removed afterwards.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass, field

import pytest

from conftest import ROOT, STORE

pytestmark = pytest.mark.skipif(STORE != "embedded", reason="the README's default is the embedded store")

README = ROOT / "README.md"
# Files the README has its reader fetch (Microsoft's Foundry customer-managed-key sample), put in
# the repository root for the run, from the project's copy of the sample.
TEMPLATES = ROOT.parent / "shared" / "reference" / "templates"
FETCHED = {
    "azuredeploy.json": TEMPLATES / "foundry-30-customer-managed-keys.azuredeploy.json",
    "deployment.parameters.json": TEMPLATES / "foundry-30-customer-managed-keys.deployment.parameters.json",
}
RESOLVER = pathlib.Path(__file__).resolve().parent / "az_resolver"
VENV_PYTHON = pathlib.Path(os.environ.get("KEYHOLD_VENV_PYTHON", ROOT / ".venv" / "bin" / "python"))
# What the README's commands make in the repository root, removed after the run.
MADE_BY_README = {"keyhold-data", "cmk.backup", "back.jsonl", "back.partial"}
PORT = 8443
RUN_LANGUAGES = ("sh", "python")
# A fresh release build of the server (the README's first block) on 2 cores.
BUILD_TIMEOUT = 45 * 60
COMMAND_TIMEOUT = 300
DIRECTIVE = re.compile(r"<!-- readme-test: (?P<kind>background|stop|output|skip)(?P<reason>[^>]*?) -->\n$")
FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```\n", re.S | re.M)
PLACEHOLDER = re.compile(r"<[A-Za-z][\w .-]*>|\bfile-…")


def encryption_status(session: "Session") -> str:
    shown = session.quiet("keyhold account encryption show -n ai1 -g rg1")
    return json.loads(shown).get("status", "")


def wait_for_status(session: "Session", wanted: str) -> None:
    deadline = time.monotonic() + 10
    while (status := encryption_status(session)) != wanted:
        assert time.monotonic() < deadline, f"the README says the account turns {wanted}; it is {status!r}"
        time.sleep(0.1)


def same_file(session: "Session") -> None:
    assert (ROOT / "back.jsonl").read_bytes() == (ROOT / "examples" / "train.jsonl").read_bytes()
    assert not (ROOT / "back.partial").exists()


def everything_readable(session: "Session") -> None:
    """After a master-key rotation: what the README made is there and usable under the new key
    (the vault key wraps, the CMK account is Active and lists its files, the login works)."""
    wait_for_status(session, "Active")
    session.quiet("keyhold key show --vault-name kv1 -n cmk")
    session.quiet("keyhold file list --account ai1 -g rg1")
    session.quiet("keyhold identity token --scope https://vault.localhost/.default")


# What the README says a command does, checked after it ran (by the command's first words); each
# must match a command of the README, so a check cannot outlive its step.
CHECKS = {
    "keyhold key set-attributes --vault-name kv1 -n cmk --enabled false":
        lambda session: wait_for_status(session, "KeyInaccessible"),
    "keyhold key set-attributes --vault-name kv1 -n cmk --enabled true":
        lambda session: wait_for_status(session, "Active"),
    "keyhold account encryption set": lambda session: wait_for_status(session, "Active"),
    "keyhold file download": same_file,
    "keyhold audit verify": lambda session: session.printed_by("keyhold audit verify")["verified"] > 0,
    "keyhold master-key rotate --new-key-file": lambda session: not (ROOT / "keyhold-data" / "master.key").exists(),
    "KEYHOLD_MASTER_KEY_FILE=/run/secrets/keyhold.key keyhold serve": lambda session: everything_readable(session),
    "KEYHOLD_MASTER_KEY_FILE=/run/secrets/keyhold-2.key keyhold serve": lambda session: everything_readable(session),
}


@dataclass
class Block:
    """One fenced block of the README."""

    line: int
    lang: str
    body: str
    directive: str | None
    reason: str

    def where(self) -> str:
        return f"README.md line {self.line}"


def readme_blocks() -> list[Block]:
    """Every fenced block, with the directive on the line before its fence."""
    text = README.read_text()
    blocks = []
    for fence in FENCE.finditer(text):
        before = text[:fence.start()]
        previous_line = before[before.rstrip("\n").rfind("\n") + 1:]
        directive = DIRECTIVE.search(previous_line)
        blocks.append(Block(
            line=before.count("\n") + 1,
            lang=fence["lang"],
            body=fence["body"],
            directive=directive["kind"] if directive else None,
            reason=directive["reason"].strip(" :—-") if directive else "",
        ))
    return blocks


def logical_lines(body: str) -> list[str]:
    """A shell block's commands: continued lines joined, blank lines dropped."""
    return [line for line in body.replace("\\\n", " ").splitlines() if line.strip()]


def port_is_taken(port: int) -> bool:
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            try:
                if probe.connect_ex((address, port)) == 0:
                    return True
            except OSError:
                continue  # no such loopback on this machine
    return False


@dataclass
class Session:
    """The terminal and the Python session the README's reader would have open."""

    work: pathlib.Path
    env: dict
    state: pathlib.Path
    secrets: pathlib.Path
    outputs: list = field(default_factory=list)
    transcript: list = field(default_factory=list)
    checked: set = field(default_factory=set)
    server: subprocess.Popen | None = None
    server_log: pathlib.Path | None = None
    python: subprocess.Popen | None = None

    # ---- placeholders -------------------------------------------------------------------

    def bootstrap(self) -> dict:
        return json.loads((ROOT / "keyhold-data" / "bootstrap.json").read_text())

    def printed_by(self, prefix: str) -> dict:
        """The JSON the latest command starting with `prefix` printed."""
        for command, stdout in reversed(self.outputs):
            if command.startswith(prefix):
                return json.loads(stdout)
        raise AssertionError(f"no earlier command `{prefix} …` to take a placeholder's value from")

    def placeholder(self, name: str) -> str:
        boot = self.bootstrap
        values = {
            "<tenantId>": lambda: boot()["tenantId"],
            "<subscriptionId>": lambda: boot()["subscriptionId"],
            "<clientId>": lambda: boot()["clientId"],
            "<clientSecret>": lambda: boot()["clientSecret"],
            "<objectId>": lambda: boot()["objectId"],
            "<your objectId>": lambda: boot()["objectId"],
            "<appId>": lambda: self.printed_by("keyhold identity sp create")["appId"],
            "<appId or objectId>": lambda: self.printed_by("keyhold identity sp create")["appId"],
            "<ci-pipeline id>": lambda: self.printed_by("keyhold identity sp create")["id"],
            "<identity.principalId>": lambda: self.printed_by("keyhold account create")["identity"]["principalId"],
            "file-…": lambda: self.printed_by("keyhold file upload")["id"],
        }
        if name not in values:
            raise AssertionError(f"the README uses the placeholder {name!r}, which interop/test_readme.py "
                                 "does not know how to fill: teach it where the value comes from")
        return values[name]()

    def fill(self, text: str) -> str:
        text = text.replace("/run/secrets/", f"{self.secrets}/")
        return PLACEHOLDER.sub(lambda m: self.placeholder(m.group(0)), text)

    # ---- shell --------------------------------------------------------------------------

    def shell_script(self, line: str, background: bool = False) -> str:
        save = (f'{{ export -p; printf "cd %q\\n" "$PWD"; }} > {shlex.quote(str(self.state))}.new '
                f'&& mv {shlex.quote(str(self.state))}.new {shlex.quote(str(self.state))}')
        if background:
            return f"source {shlex.quote(str(self.state))}\n{line}\n"
        return f"source {shlex.quote(str(self.state))}\n{line}\nstatus=$?\n{save}\nexit $status\n"

    def sh(self, line: str, timeout: float) -> None:
        command = self.fill(line)
        started = time.monotonic()
        done = subprocess.run(["bash", "-c", self.shell_script(command)], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        self.transcript.append(f"$ {command}  # exit {done.returncode}, {time.monotonic() - started:.1f} s\n"
                               f"{done.stdout}{done.stderr}")
        assert done.returncode == 0, (f"`{command}` exited {done.returncode}:\n--- stdout\n{done.stdout}"
                                      f"--- stderr\n{done.stderr}")
        self.outputs.append((command, done.stdout))
        self.check(line)

    def check(self, line: str) -> None:
        """The checks of what the README says `line` (as written) does."""
        for prefix, check in CHECKS.items():
            if line.startswith(prefix):
                self.checked.add(prefix)
                assert check(self) is not False, f"`{line}` did not do what the README says"

    def quiet(self, command: str) -> str:
        """A command of the test's own (not the README's), run in the same shell state."""
        done = subprocess.run(["bash", "-c", f"source {shlex.quote(str(self.state))}\n{command}"], cwd=ROOT,
                              env=self.env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=True)
        return done.stdout

    def start_server(self, line: str) -> None:
        self.stop_server()
        assert not port_is_taken(PORT), f"port {PORT}, which the README uses, is taken: stop what listens there"
        command = self.fill(line)
        self.server_log = self.work / f"server-{len(self.transcript)}.log"
        log = self.server_log.open("w")
        self.server = subprocess.Popen(["bash", "-c", self.shell_script(command, background=True)], cwd=ROOT,
                                       env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + BUILD_TIMEOUT
        while "keyhold ready on " not in self.server_log.read_text():
            if self.server.poll() is not None:
                raise AssertionError(f"`{command}` exited {self.server.returncode} before it was ready:\n"
                                     f"{self.server_log.read_text()[-6000:]}")
            assert time.monotonic() < deadline, f"`{command}` not ready in {BUILD_TIMEOUT} s"
            time.sleep(0.2)
        self.transcript.append(f"$ {command} &  # ready")
        self.check(line)

    def ready_line(self) -> str:
        assert self.server_log is not None, "no server is running for an output block to describe"
        line = next(line for line in self.server_log.read_text().splitlines() if "keyhold ready on " in line)
        return line[line.index("keyhold ready on "):]

    def stop_server(self) -> None:
        if self.server is None or self.server.poll() is not None:
            self.server = None
            return
        os.killpg(self.server.pid, signal.SIGTERM)
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
            raise AssertionError("the server did not stop within 30 s of SIGTERM")
        self.server = None

    # ---- python -------------------------------------------------------------------------

    def run_python(self, code: str) -> None:
        """Runs a block in the session's interpreter (started at the first block, with the
        environment the shell has at that moment)."""
        if self.python is None:
            env = dict(self.shell_environment())
            env["PYTHONPATH"] = str(RESOLVER)
            self.python = subprocess.Popen([str(VENV_PYTHON), "-u", "-c", PYTHON_SESSION], cwd=ROOT, env=env,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           text=True)
        code = self.fill(code)
        self.python.stdin.write(json.dumps(code) + "\n")
        self.python.stdin.flush()
        printed = []
        while True:
            line = self.python.stdout.readline()
            if not line:
                raise AssertionError("the Python session ended:\n" + "".join(printed))
            if line.startswith(SENTINEL):
                verdict = json.loads(line[len(SENTINEL):])
                break
            printed.append(line)
        self.transcript.append(">>> " + code.replace("\n", "\n... ") + "\n" + "".join(printed))
        assert verdict["ok"], f"the Python block failed:\n{code}\n{''.join(printed)}\n{verdict['error']}"

    def shell_environment(self) -> dict:
        """The exported variables of the shell state, as the next command would see them."""
        done = subprocess.run(["bash", "-c", f"source {shlex.quote(str(self.state))}; env -0"], cwd=ROOT,
                              env=self.env, capture_output=True, check=True)
        return dict(item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)

    def close(self) -> None:
        if self.python is not None:
            self.python.stdin.close()
            self.python.wait(timeout=30)
        self.stop_server()


SENTINEL = "\x00readme-test:"
PYTHON_SESSION = textwrap.dedent(f"""
    import json, sys, traceback
    scope = {{"__name__": "__main__"}}
    for request in sys.stdin:
        code = json.loads(request)
        try:
            exec(compile(code, "<README block>", "exec"), scope)
            verdict = {{"ok": True}}
        except BaseException:
            verdict = {{"ok": False, "error": traceback.format_exc()}}
        sys.stdout.flush()
        print({SENTINEL!r} + json.dumps(verdict), flush=True)
""")


def session_environment(work: pathlib.Path) -> dict:
    """The user's environment with a fresh home, keyhold's and Azure's variables removed, cargo
    installing into a temporary root that comes first on PATH, and no other `keyhold` on PATH."""
    home = work / "home"
    home.mkdir()
    install_root = work / "cargo-install"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KEYHOLD_", "AZURE_", "XDG_", "PYTEST_"))
           and k not in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
                         "PYTHONPATH", "VIRTUAL_ENV")}
    real_home = pathlib.Path(os.environ.get("HOME", "/root"))
    env.update({
        "HOME": str(home),
        "CARGO_HOME": os.environ.get("CARGO_HOME", str(real_home / ".cargo")),
        "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(real_home / ".rustup")),
        "CARGO_TARGET_DIR": str(ROOT / "target"),
        "CARGO_INSTALL_ROOT": str(install_root),
        "CARGO_TERM_COLOR": "never",
        "CARGO_TERM_PROGRESS_WHEN": "never",
    })
    directories = [d for d in env.get("PATH", "/usr/bin:/bin").split(":")
                   if d and not (pathlib.Path(d) / "keyhold").exists()]
    env["PATH"] = ":".join([str(install_root / "bin"), *directories])
    return env


def test_the_readme_runs_as_written():
    blocks = readme_blocks()
    assert blocks, "no fenced blocks found in README.md"
    for block in blocks:
        if block.directive == "skip":
            assert block.reason, f"{block.where()}: a skipped block says why"
        if block.lang not in RUN_LANGUAGES and block.directive not in (None, "output"):
            raise AssertionError(f"{block.where()}: a `{block.lang or 'plain'}` block is never run")
    assert not (ROOT / "keyhold-data").exists(), \
        "./keyhold-data exists: the README test runs the README in the repository root; move it away first"
    assert not port_is_taken(PORT), f"port {PORT}, which the README uses, is taken: stop what listens there"

    before = set(os.listdir(ROOT))
    work = pathlib.Path(tempfile.mkdtemp(prefix="keyhold-readme-"))
    secrets = work / "run-secrets"
    secrets.mkdir()
    state = work / "shell-state.sh"
    state.write_text("")
    session = Session(work=work, env=session_environment(work), state=state, secrets=secrets)
    ran = skipped = 0
    try:
        for name, source in FETCHED.items():
            shutil.copyfile(source, ROOT / name)
        for block in blocks:
            if block.directive == "skip":
                skipped += 1
                session.transcript.append(f"# {block.where()} skipped: {block.reason}")
                continue
            if block.directive == "output":
                expected = block.body.strip()
                actual = session.ready_line()
                if " and https://[::1]:" not in actual:  # a machine without the IPv6 loopback
                    expected = re.sub(r" and https://\[::1\]:\d+", "", expected)
                assert expected == actual, f"{block.where()} shows\n{expected}\nbut the server printed\n{actual}"
                continue
            if block.lang not in RUN_LANGUAGES:
                continue
            if block.directive == "stop":
                session.stop_server()
            ran += 1
            if block.lang == "python":
                session.run_python(block.body)
                continue
            lines = logical_lines(block.body)
            for index, line in enumerate(lines):
                if block.directive in ("background", "stop") and index == len(lines) - 1:
                    session.start_server(line)
                else:
                    session.sh(line, timeout=BUILD_TIMEOUT if line.startswith("cargo ") else COMMAND_TIMEOUT)
    finally:
        session.close()
        print("\n".join(session.transcript))
        # Only what the README makes is removed: anything else new in the root belongs to someone
        # else (scripts/test installs venvs there), and is only reported.
        for name in sorted(set(os.listdir(ROOT)) - before):
            path = ROOT / name
            if name not in MADE_BY_README and name not in FETCHED:
                print(f"left alone: {name} appeared in the repository root during the run")
            elif path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        shutil.rmtree(work, ignore_errors=True)
    assert session.checked == set(CHECKS), f"checks of no README command: {set(CHECKS) - session.checked}"
    print(f"README: {ran} blocks run, {skipped} skipped with their reasons")
