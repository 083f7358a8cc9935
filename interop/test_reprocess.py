"""Reprocessing an account's files: a re-encryption killed with SIGKILL mid-job completes after a
restart with every file readable; a re-wrap moves every file to the newest key version so the
old version can be disabled."""
from __future__ import annotations

import os
import pathlib
import signal
import tempfile
import time

import pytest
import requests

from conftest import start_keyhold
from helpers import admin_headers, create_resource_group, create_vault, key_client
from test_accounts import account_url, cmk, grant, put_account, set_encryption, wait_for
from test_files import ai_client, upload

RG = "rp-rg"


@pytest.fixture
def server():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="keyhold-reprocess-"))
    saved = {k: os.environ.get(k) for k in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")}
    holder = {"server": start_keyhold(tmp / "data")}

    def use(s):
        os.environ["SSL_CERT_FILE"] = os.environ["REQUESTS_CA_BUNDLE"] = s.ca
        holder["server"] = s
        return s

    use(holder["server"])
    holder["use"] = use
    holder["dir"] = tmp / "data"
    yield holder
    for k, v in saved.items():
        if v is not None:
            os.environ[k] = v
    if holder["server"].process.poll() is None:
        holder["server"].stop()


def job_url(keyhold, name: str) -> str:
    return account_url(keyhold, name, RG).replace("?", "/reprocess?")


def test_reencrypt_survives_sigkill_and_rewrap_moves_to_the_new_version(server):
    keyhold = server["server"]
    create_resource_group(keyhold, RG, "westeurope")
    account = put_account(keyhold, "rp-ai", rg=RG)
    client = ai_client(keyhold, "rp-ai", rg=RG)
    payloads = {}
    for i in range(40):
        data = bytes([i]) * (3 * 1024 * 1024 + i)
        payloads[upload(client, data, purpose="assistants", name=f"f{i}.bin").id] = data
    # Move the account to a customer-managed key: new data gets a new KEK; old files keep theirs.
    create_vault(keyhold, RG, "rp-kv", enablePurgeProtection=True)
    keys = key_client(keyhold, "rp-kv")
    keys.create_rsa_key("cmk", size=2048)
    grant(keyhold, "rp-kv", account["identity"]["principalId"], rg=RG)
    assert set_encryption(keyhold, "rp-ai", cmk(keyhold, "rp-kv", "cmk"), rg=RG).status_code == 200

    started = requests.post(job_url(keyhold, "rp-ai"), headers=admin_headers(keyhold),
                            json={"mode": "reencrypt"}, timeout=10)
    assert started.status_code == 202, started.text
    assert started.json()["total"] == 40
    # Kill the server in the middle of the job.
    try:
        done = wait_for(lambda: (j := requests.get(job_url(keyhold, "rp-ai"), headers=admin_headers(keyhold),
                                                   timeout=10).json())["done"] >= 3 and j, timeout=30)
    except AssertionError:
        job = requests.get(job_url(keyhold, "rp-ai"), headers=admin_headers(keyhold), timeout=10).json()
        raise AssertionError(f"job did not progress: {job}\n" + "".join(keyhold.stderr_lines[-20:]))
    assert done["status"] == "Running", done
    keyhold.process.send_signal(signal.SIGKILL)
    keyhold.process.wait()

    # Same port: the account's keyVaultUri names it.
    keyhold = server["use"](start_keyhold(server["dir"], listen=f"127.0.0.1:{keyhold.port}"))
    client = ai_client(keyhold, "rp-ai", rg=RG)
    try:
        finished = wait_for(lambda: (j := requests.get(job_url(keyhold, "rp-ai"), headers=admin_headers(keyhold),
                                                       timeout=10).json())["status"] != "Running" and j, timeout=60)
    except AssertionError:
        job = requests.get(job_url(keyhold, "rp-ai"), headers=admin_headers(keyhold), timeout=10).json()
        account = requests.get(account_url(keyhold, "rp-ai", RG), headers=admin_headers(keyhold), timeout=10).json()
        raise AssertionError(f"job did not finish: {job}\n{account['properties']['encryption']}\n"
                             + "".join(keyhold.stderr_lines[-20:]))
    assert finished["status"] == "Succeeded", finished
    assert finished["done"] >= 40
    for file_id, data in payloads.items():
        assert client.files.content(file_id).read() == data, file_id
    # Every object now sits under the CMK's KEK (one blob per file, named for its new KEK).
    blobs = [p for p in server["server"].blobs.rglob("file-*") if p.is_file()]
    assert len(blobs) == 40, len(blobs)
    kek_ids = {p.name.split("=")[1].rstrip("~") for p in blobs}
    assert len(kek_ids) == 1, kek_ids

    # Rotate, re-wrap, then disable the old version: every file still reads.
    old_version = keys.get_key("cmk").properties.version
    keys.rotate_key("cmk")
    wait_for(lambda: requests.get(account_url(keyhold, "rp-ai", RG), headers=admin_headers(keyhold), timeout=10)
             .json()["properties"]["encryption"]["activeKeyVersion"] != old_version)
    encryption = lambda: requests.get(account_url(keyhold, "rp-ai", RG), headers=admin_headers(keyhold),  # noqa: E731
                                      timeout=10).json()["properties"]["encryption"]
    assert old_version in encryption()["previousKeyVersions"], "the old version still protects the files"
    assert requests.post(job_url(keyhold, "rp-ai"), headers=admin_headers(keyhold), json={"mode": "rewrap"},
                         timeout=10).status_code == 202
    wait_for(lambda: requests.get(job_url(keyhold, "rp-ai"), headers=admin_headers(keyhold),
                                  timeout=10).json()["status"] == "Succeeded", timeout=60)
    # Nothing is under the old version any more: it leaves previousKeyVersions (safe to disable).
    assert old_version not in encryption()["previousKeyVersions"], encryption()
    keys.update_key_properties("cmk", version=old_version, enabled=False)
    time.sleep(0.3)
    for file_id, data in list(payloads.items())[:5]:
        assert client.files.content(file_id).read() == data, file_id
    # The proof is in a fresh process (no cached KEKs): only the re-wrapped DEKs can be read.
    assert keyhold.stop() == 0
    keyhold = server["use"](start_keyhold(server["dir"], listen=f"127.0.0.1:{keyhold.port}"))
    client = ai_client(keyhold, "rp-ai", rg=RG)
    for file_id, data in payloads.items():
        assert client.files.content(file_id).read() == data, file_id
    # A second job while one runs is refused; a bad mode too.
    bad = requests.post(job_url(keyhold, "rp-ai"), headers=admin_headers(keyhold), json={"mode": "shred"}, timeout=10)
    assert bad.status_code == 400
