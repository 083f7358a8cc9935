"""Several keyhold nodes over one PostgreSQL (accepting only TLS, its certificate verified) and
one S3 bucket, driven with the official SDKs: any node answers any request; a key disabled or
an access policy removed on one node takes effect on the others within a second (PostgreSQL
LISTEN/NOTIFY, not a timer); a node killed with SIGKILL in the middle of an upload, while all
three nodes are under upload load, loses nothing acknowledged and leaves nothing half-visible;
a node killed mid-job has its job taken over; a PostgreSQL restart and an object-store outage
give clear 503s with Retry-After, then service resumes by itself.

The nodes listen on 127.0.0.1, 127.0.0.2 and 127.0.0.3 with one port, as nodes behind a load
balancer would, so tokens (whose issuer names the port) and vault URLs are the same on all;
``via(address)`` picks the node a client talks to. They share the master key file, the TLS
files and ``bootstrap.json`` of the first node."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import threading
import time

import openai
import pytest
import requests
from azure.core.exceptions import HttpResponseError

from conftest import KEYHOLD_BIN, ROOT, S3S_FS, STORE, start_keyhold, via
from helpers import (admin_headers, create_resource_group, create_service_principal, create_vault, credential,
                     key_client, mgmt, policy)
from postgres_harness import Postgres, S3Server, free_port
from test_accounts import account_url, cmk, grant, put_account, set_encryption, wait_for
from test_files import GOOD, ai_client, upload

RG = "cluster-rg"
NODES = ("127.0.0.1", "127.0.0.2", "127.0.0.3")

# These tests start their own PostgreSQL; once per run is enough.
pytestmark = pytest.mark.skipif(STORE == "postgres", reason="runs in the embedded pass (own PostgreSQL)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    pg = Postgres(tls=True)  # TLS only, verified: as a database on another machine would be
    s3 = S3Server(S3S_FS)
    url = pg.create_database()
    master = tmp / "master.key"
    master.write_text(subprocess.run([KEYHOLD_BIN, "master-key", "generate"], check=True,
                                     capture_output=True, text=True).stdout)
    master.chmod(0o600)
    args = ("--store", url, "--master-key-file", str(master), "--blob", "s3://keyhold/cluster",
            "--trainer-command", "python3", str(ROOT / "interop" / "slow_trainer.py"))
    nodes = {}
    saved = {k: os.environ.get(k) for k in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", *s3.env())}
    os.environ.update(s3.env())  # the nodes' object-store settings (inherited)
    try:
        first = start_keyhold(tmp / "node1", *args)
        nodes[NODES[0]] = first
        os.environ["REQUESTS_CA_BUNDLE"] = first.ca
        os.environ["SSL_CERT_FILE"] = first.ca
        for i, address in enumerate(NODES[1:], start=2):
            data = tmp / f"node{i}"
            data.mkdir(mode=0o700)
            shutil.copytree(first.data_dir / "tls", data / "tls")
            shutil.copy2(first.data_dir / "bootstrap.json", data / "bootstrap.json")
            nodes[address] = start_keyhold(data, *args, listen=f"{address}:{first.port}")
        yield {"nodes": nodes, "pg": pg, "s3": s3, "args": args, "tmp": tmp}
    finally:
        for node in nodes.values():
            node.stop()
        pg.destroy()
        s3.destroy()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_any_node_serves_and_changes_reach_every_node_within_a_second(cluster):
    nodes = cluster["nodes"]
    a, b, c = (nodes[n] for n in NODES)
    with via(NODES[0]):
        create_resource_group(a, RG)
        create_vault(a, RG, "cl-kv", enablePurgeProtection=True)
        key_client(a, "cl-kv").create_rsa_key("cmk", size=2048)
        account = put_account(a, "cl-ai", rg=RG)
        grant(a, "cl-kv", account["identity"]["principalId"], rg=RG)
        assert set_encryption(a, "cl-ai", cmk(a, "cl-kv", "cmk"), rg=RG).status_code == 200
    # Upload on the second node, read back on the third (shared records and blobs).
    with via(NODES[1]):
        created = upload(ai_client(b, "cl-ai", rg=RG), GOOD.encode())
    with via(NODES[2]):
        assert ai_client(c, "cl-ai", rg=RG).files.content(created.id).read() == GOOD.encode()
        reader = key_client(c, "cl-kv")
        assert reader.get_key("cmk").properties.enabled is True  # now cached on the third node

    # Disabled on the first node: the third node's cached lookup is dropped at once.
    with via(NODES[0]):
        key_client(a, "cl-kv").update_key_properties("cmk", enabled=False)
    started = time.time()
    with via(NODES[2]):
        wait_for(lambda: reader.get_key("cmk").properties.enabled is False, timeout=2)
        seen = time.time() - started
        print(f"key disabled on node 1, seen disabled on node 3 after {1000 * seen:.0f} ms")
        with pytest.raises(openai.PermissionDeniedError):
            ai_client(c, "cl-ai", rg=RG).files.content(created.id).read()
    assert seen < 1.0, seen
    with via(NODES[0]):
        key_client(a, "cl-kv").update_key_properties("cmk", enabled=True)
    with via(NODES[2]):
        wait_for(lambda: reader.get_key("cmk").properties.enabled is True, timeout=2)

    # An access policy removed on one node stops the principal on every node.
    with via(NODES[0]):
        sp = create_service_principal(a, "cl-user")
        mgmt(a).vaults.update_access_policy(RG, "cl-kv", "add", {"properties": {
            "accessPolicies": [policy(a, sp["id"], ["get"])]}})
    with via(NODES[1]):
        user = key_client(b, "cl-kv", credential(b, sp["appId"], sp["clientSecret"]))
        user.get_key("cmk")  # the vault and its policies are now cached on node 2
    with via(NODES[0]):
        mgmt(a).vaults.update_access_policy(RG, "cl-kv", "remove", {"properties": {
            "accessPolicies": [policy(a, sp["id"], [])]}})
    started = time.time()

    def denied():
        try:
            user.get_key("cmk")
            return False
        except HttpResponseError as err:
            return err.status_code == 403

    with via(NODES[1]):
        wait_for(denied, timeout=2)
    seen = time.time() - started
    print(f"policy removed on node 1, enforced on node 2 after {1000 * seen:.0f} ms")
    assert seen < 1.0, seen


class UploadLoad:
    """One thread per node uploading small files to `account` until stopped; remembers what
    each node acknowledged and what failed, so a test can check that nothing acknowledged is
    lost and that the nodes left alive never fail."""

    def __init__(self, nodes: dict, account: str, key: str):
        self.stopped = threading.Event()
        self.acknowledged: list[tuple[str, str, bytes]] = []
        self.failures: dict[str, list[str]] = {address: [] for address in nodes}
        self.threads = [threading.Thread(target=self._run, args=(address, node, account, key))
                        for address, node in nodes.items()]

    def _run(self, address, node, account, key):
        with via(address):
            client = ai_client(node, account, rg=RG, api_key=key)
            n = 0
            while not self.stopped.is_set():
                content = f"{account} via {address} #{n}".encode()
                n += 1
                try:
                    created = upload(client, content, purpose="assistants", name=f"{n}.txt")
                    self.acknowledged.append((address, created.id, content))
                except Exception as err:  # noqa: BLE001 - every failure is recorded and judged
                    self.failures[address].append(repr(err))
                    time.sleep(0.05)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        for thread in self.threads:
            thread.join(30)


def test_a_node_killed_mid_upload_leaves_nothing_half_visible(cluster):
    nodes = cluster["nodes"]
    a, b = nodes[NODES[0]], nodes[NODES[1]]
    with via(NODES[0]):
        put_account(a, "cl-kill", rg=RG)
        before = {f.id for f in ai_client(a, "cl-kill", rg=RG).files.list()}
        key = requests.post(account_url(a, "cl-kill", RG).replace("?", "/listKeys?"),
                            headers=admin_headers(a), timeout=10).json()["key1"]
    chunk = b"x" * (1 << 20)
    outcome = {}

    def slow_body():
        yield (b'--B\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
               b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
               b"Content-Type: application/octet-stream\r\n\r\n")
        for _ in range(400):
            yield chunk
            time.sleep(0.01)
        yield b"\r\n--B--\r\n"

    def send():
        try:
            with via(NODES[1]):  # per thread
                outcome["response"] = requests.post(
                    f"https://cl-kill.openai.localhost:{b.port}/openai/files?api-version=2024-10-21",
                    headers={"api-key": key, "Content-Type": "multipart/form-data; boundary=B"},
                    data=slow_body(), timeout=60)
        except requests.RequestException as err:
            outcome["error"] = err

    # All three nodes are under upload load (their own account) while node 2 is killed.
    with via(NODES[0]):
        put_account(a, "cl-load", rg=RG)
        load_key = requests.post(account_url(a, "cl-load", RG).replace("?", "/listKeys?"),
                                 headers=admin_headers(a), timeout=10).json()["key1"]
    with UploadLoad(dict(nodes), "cl-load", load_key) as load:
        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(1.0)
        acknowledged_before_kill = len(load.acknowledged)
        b.process.send_signal(signal.SIGKILL)
        b.process.wait()
        sender.join(60)
        assert "error" in outcome, outcome  # the client saw the failure: nothing was acknowledged
        # The other nodes keep serving, and no trace of the upload is visible.
        for address in (NODES[0], NODES[2]):
            with via(address):
                assert {f.id for f in ai_client(nodes[address], "cl-kill", rg=RG).files.list()} == before
        # The killed node comes back on the same address and serves again.
        restarted = start_keyhold(b.data_dir, *cluster["args"], listen=f"{NODES[1]}:{a.port}")
        nodes[NODES[1]] = restarted
        with via(NODES[1]):
            again = upload(ai_client(restarted, "cl-kill", rg=RG), b"after the restart", purpose="assistants")
        with via(NODES[2]):
            assert ai_client(nodes[NODES[2]], "cl-kill", rg=RG).files.content(again.id).read() == \
                b"after the restart"
        time.sleep(0.5)
    # Only the killed node's clients saw failures; every acknowledged upload, the killed node's
    # included, is whole on another node; files stored but never acknowledged are whole too.
    assert not load.failures[NODES[0]] and not load.failures[NODES[2]], load.failures
    by_node = {address: sum(1 for node, _, _ in load.acknowledged if node == address) for address in NODES}
    print(f"under load: {acknowledged_before_kill} uploads acknowledged before the kill, "
          f"{len(load.acknowledged)} in all {by_node}, {len(load.failures[NODES[1]])} failed on the killed node")
    assert by_node[NODES[0]] > 0 and by_node[NODES[2]] > 0 and acknowledged_before_kill > 0
    with via(NODES[2]):
        reader = ai_client(nodes[NODES[2]], "cl-load", rg=RG)
        listed = {f.id for f in reader.files.list(limit=10000)}
        for _, file_id, content in load.acknowledged:
            assert file_id in listed
            assert reader.files.content(file_id).read() == content
        for file_id in listed - {file_id for _, file_id, _ in load.acknowledged}:
            assert reader.files.content(file_id).read().startswith(b"cl-load via ")


def _node_running_a_trainer(nodes: dict) -> str | None:
    """The address of the node whose process is the parent of a running trainer."""
    parents = {node.process.pid: address for address, node in nodes.items()}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) in parents and b"slow_trainer.py" in cmdline:
            return parents[int(fields[1])]
    return None


def test_losing_the_first_node_stops_no_key_operation_on_the_others(cluster):
    """Each node calls its own vaults in process: with the node on 127.0.0.1 (where
    `*.vault.localhost` resolves) killed, the others still wrap, unwrap and re-check keys."""
    nodes = cluster["nodes"]
    a, b, c = (nodes[n] for n in NODES)
    with via(NODES[1]):
        create_resource_group(b, RG)
        create_vault(b, RG, "cl-kv-solo", enablePurgeProtection=True)
        key_client(b, "cl-kv-solo").create_rsa_key("cmk", size=2048)
        principal = put_account(b, "cl-solo", rg=RG)["identity"]["principalId"]
        grant(b, "cl-kv-solo", principal, rg=RG)
    a.process.send_signal(signal.SIGKILL)
    a.process.wait()
    try:
        with via(NODES[1]):
            # A new CMK (probe: get, wrap, unwrap) and a first upload (a new KEK wrapped).
            assert set_encryption(b, "cl-solo", cmk(b, "cl-kv-solo", "cmk"), rg=RG).status_code == 200
            stored = upload(ai_client(b, "cl-solo", rg=RG), GOOD.encode())
        with via(NODES[2]):
            # A cold KEK on the third node: unwrapped through its own vault gate.
            assert ai_client(c, "cl-solo", rg=RG).files.content(stored.id).read() == GOOD.encode()
            mgmt(c).vaults.update_access_policy(RG, "cl-kv-solo", "remove", {"properties": {
                "accessPolicies": [policy(c, principal, [])]}})
            wait_for(lambda: requests.get(account_url(c, "cl-solo", RG), headers=admin_headers(c), timeout=10)
                     .json()["properties"]["encryption"]["status"] == "KeyInaccessible", timeout=5)
            grant(c, "cl-kv-solo", principal, rg=RG)
            wait_for(lambda: requests.get(account_url(c, "cl-solo", RG), headers=admin_headers(c), timeout=10)
                     .json()["properties"]["encryption"]["status"] == "Active", timeout=5)
    finally:
        nodes[NODES[0]] = start_keyhold(a.data_dir, *cluster["args"], listen=f"{NODES[0]}:{a.port}")


def test_a_node_killed_mid_job_has_its_job_taken_over(cluster):
    from test_finetune import BASE, FACTS, finish, jsonl
    nodes = cluster["nodes"]
    a = nodes[NODES[0]]
    with via(NODES[0]):
        put_account(a, "cl-ft", rg=RG)
        client = ai_client(a, "cl-ft", rg=RG)
        training = upload(client, jsonl(FACTS))
        job = client.fine_tuning.jobs.create(model=BASE, training_file=training.id,
                                             hyperparameters={"n_epochs": 8})
        wait_for(lambda: client.fine_tuning.jobs.retrieve(job.id).status == "running", timeout=20)
    runner = wait_for(lambda: _node_running_a_trainer(nodes), timeout=10)
    victim = nodes[runner]
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait()
    print(f"killed node {runner} while it ran {job.id}")
    survivor = next(address for address in NODES if address != runner)
    with via(survivor):
        client = ai_client(nodes[survivor], "cl-ft", rg=RG)
        # The lease (10 s) expires, another node takes the job and restarts it from its files.
        done = finish(client, job.id, timeout=60)
        assert done.status == "succeeded", done.error
        assert any("restarts from its files" in e.message
                   for e in client.fine_tuning.jobs.list_events(job.id, limit=100))
    nodes[runner] = start_keyhold(victim.data_dir, *cluster["args"], listen=f"{runner}:{a.port}")


def test_a_postgresql_restart_is_a_clear_retryable_outage(cluster):
    nodes, pg = cluster["nodes"], cluster["pg"]
    a, c = nodes[NODES[0]], nodes[NODES[2]]
    with via(NODES[0]):
        headers = admin_headers(a)
        reader = key_client(a, "cl-kv")
        assert reader.get_key("cmk").properties.enabled is True
    pg.stop()
    try:
        with via(NODES[0]):
            response = requests.get(account_url(a, "cl-ai", RG), headers=headers, timeout=30)
        assert response.status_code == 503, response.text
        assert response.headers.get("Retry-After") == "1", response.headers
        assert response.json()["error"]["code"] == "ServiceUnavailable", response.text
        assert "postgres" not in response.text.lower()  # no engine details on the wire
    finally:
        pg.start()
    with via(NODES[0]):
        wait_for(lambda: requests.get(account_url(a, "cl-ai", RG), headers=headers,
                                      timeout=30).status_code == 200, timeout=20)
    # The change feed reconnected: a change on node 3 reaches node 1's cache again.
    with via(NODES[2]):
        key_client(c, "cl-kv").update_key_properties("cmk", enabled=False)
    with via(NODES[0]):
        wait_for(lambda: reader.get_key("cmk").properties.enabled is False, timeout=5)
    with via(NODES[2]):
        key_client(c, "cl-kv").update_key_properties("cmk", enabled=True)


def test_every_route_family_answers_only_success_or_503_through_a_postgresql_restart(cluster):
    """Clients retry a 503, never a 404: while PostgreSQL stops and comes back, requests of
    every plane keep being answered, each with a success or a 503 with Retry-After — never a
    404, 400 or 500 for something that exists (the data plane once answered 404 at the tail
    of a restart)."""
    nodes, pg = cluster["nodes"], cluster["pg"]
    a = nodes[NODES[0]]
    sub = a.bootstrap["subscriptionId"]
    with via(NODES[0]):
        headers = admin_headers(a)
        vault_headers = {"Authorization": "Bearer " + credential(a).get_token(a.bootstrap["vaultScope"]).token}
        key = requests.post(account_url(a, "cl-ai", RG).replace("?", "/listKeys?"), headers=headers,
                            timeout=10).json()["key1"]
        stored = upload(ai_client(a, "cl-ai", rg=RG), GOOD.encode())
    arm = f"{a.endpoint}/subscriptions/{sub}"
    ai = f"https://cl-ai.openai.localhost:{a.port}/openai"
    calls = [
        ("ARM account", lambda: requests.get(account_url(a, "cl-ai", RG), headers=headers, timeout=30)),
        ("ARM resource group", lambda: requests.get(f"{arm}/resourcegroups/{RG}?api-version=2024-11-01",
                                                    headers=headers, timeout=30)),
        ("ARM deployments", lambda: requests.get(account_url(a, "cl-ai", RG).replace("?", "/deployments?"),
                                                 headers=headers, timeout=30)),
        ("ARM role assignments", lambda: requests.get(
            f"{arm}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", headers=headers,
            timeout=30)),
        ("vault key", lambda: requests.get(f"{a.vault_url('cl-kv')}/keys/cmk?api-version=7.6",
                                           headers=vault_headers, timeout=30)),
        ("AI files", lambda: requests.get(f"{ai}/files?api-version=2024-10-21", headers={"api-key": key},
                                          timeout=30)),
        ("AI file", lambda: requests.get(f"{ai}/files/{stored.id}?api-version=2024-10-21",
                                         headers={"api-key": key}, timeout=30)),
        ("directory", lambda: requests.get(f"{a.endpoint}/keyhold/v1/whoami", headers=headers, timeout=30)),
    ]
    seen, stop = [], threading.Event()

    def hammer():
        with via(NODES[0]):
            while not stop.is_set():
                for name, call in calls:
                    try:
                        response = call()
                    except requests.RequestException as err:
                        seen.append((name, "transport", repr(err)))
                        continue
                    retry = response.headers.get("Retry-After")
                    seen.append((name, response.status_code, retry if response.status_code == 503 else ""))

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    time.sleep(0.5)
    pg.stop()
    time.sleep(2)
    pg.start()
    with via(NODES[0]):
        wait_for(lambda: requests.get(account_url(a, "cl-ai", RG), headers=headers,
                                      timeout=30).status_code == 200, timeout=20)
    time.sleep(1)
    stop.set()
    thread.join(60)
    bad = [s for s in seen if not (isinstance(s[1], int) and (200 <= s[1] < 300 or (s[1] == 503 and s[2])))]
    statuses = {}
    for name, status, _ in seen:
        statuses.setdefault(name, set()).add(status)
    print(f"{len(seen)} answers through the restart: {statuses}")
    assert not bad, bad[:20]
    assert any(s[1] == 503 for s in seen), "the outage was seen"


def test_an_object_store_outage_is_a_clear_retryable_outage(cluster):
    nodes, s3 = cluster["nodes"], cluster["s3"]
    b = nodes[NODES[1]]
    with via(NODES[1]):
        client = ai_client(b, "cl-kill", rg=RG)
        kept = upload(client, b"stored before the outage", purpose="assistants")
        before = {f.id for f in client.files.list()}
        s3.stop()
        try:
            for attempt in (lambda: client.files.content(kept.id).read(),
                            lambda: upload(client, b"during the outage", purpose="assistants")):
                with pytest.raises(openai.APIStatusError) as err:
                    attempt()
                assert err.value.status_code == 503, err.value
                assert err.value.response.headers.get("Retry-After") == "1"
                assert "keyhold-secret" not in err.value.response.text
            # The failed upload left no file behind (records live in PostgreSQL, still up).
            assert {f.id for f in client.files.list()} == before
        finally:
            s3.start()
        # Nothing half-visible, and service resumes by itself.
        assert client.files.content(kept.id).read() == b"stored before the outage"
        after = upload(client, b"after the outage", purpose="assistants")
        assert client.files.content(after.id).read() == b"after the outage"
        assert {f.id for f in client.files.list()} == before | {after.id}


def test_nodes_started_together_on_an_empty_database_set_it_up_once(cluster):
    """Three nodes started at the same moment on a new database: one makes the default tenant
    and admin (only it writes bootstrap.json), the others wait for it, and its admin works on
    every node."""
    pg, tmp = cluster["pg"], cluster["tmp"]
    url, port = pg.create_database(), free_port()
    args = ("--store", url, "--master-key-file", str(tmp / "master.key"), "--blob", "s3://keyhold/fresh")
    started, failures = {}, []

    def start(address, i):
        try:
            started[address] = start_keyhold(tmp / f"fresh{i}", *args, listen=f"{address}:{port}")
        except Exception as err:  # noqa: BLE001 - reported below
            failures.append(repr(err))

    starters = [threading.Thread(target=start, args=(address, i)) for i, address in enumerate(NODES)]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join(90)
    saved = {k: os.environ.get(k) for k in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    try:
        assert not failures and len(started) == 3, failures
        creators = [node for node in started.values() if (node.data_dir / "bootstrap.json").exists()]
        assert len(creators) == 1, "exactly one node made the defaults"
        creator = creators[0]
        assert "clientSecret" in creator.bootstrap
        # Each node made its own development TLS CA; trust all three.
        bundle = tmp / "fresh-cas.pem"
        bundle.write_text("".join(pathlib.Path(node.ca).read_text() for node in started.values()))
        os.environ["REQUESTS_CA_BUNDLE"] = os.environ["SSL_CERT_FILE"] = str(bundle)
        for address in NODES:
            with via(address):
                response = requests.get(f"{creator.endpoint}/keyhold/v1/tenants",
                                        headers=admin_headers(creator), timeout=10)
                assert response.status_code == 200, response.text
                assert [t["tenantId"] for t in response.json()["value"]] == [creator.bootstrap["tenantId"]]
    finally:
        for node in started.values():
            node.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
