"""A customer-managed key in another keyhold's vault: server B trusts server A's issuer, the
account on A uses a key in B's vault through its managed identity's token, and revoking access
on B reaches A's account through the periodic re-check."""
from __future__ import annotations

import os
import pathlib
import signal
import tempfile
import time

import pytest
import requests

from conftest import start_keyhold
from helpers import admin_headers, create_resource_group, create_vault, key_client, mgmt, policy
from test_accounts import cmk, encryption_of, grant, put_account, set_encryption, wait_for
from test_files import ai_client, upload

RG = "remote-rg"


@pytest.fixture
def pair():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="keyhold-remote-"))
    saved = {k: os.environ.get(k) for k in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")}
    servers = {}
    try:
        a = start_keyhold(tmp / "a")
        boot_a = a.bootstrap
        issuer_a = f"{boot_a['authority']}/{boot_a['tenantId']}/v2.0"
        config = tmp / "b.toml"
        config.write_text(f'[[trusted_issuer]]\nissuer = "{issuer_a}"\ntenant = "default"\nca_file = "{a.ca}"\n')
        b = start_keyhold(tmp / "b", "--config", str(config))
        # A must trust B's CA for vault calls: restart it on the same port (its issuer URL).
        port_a = a.port
        assert a.stop() == 0
        a = start_keyhold(tmp / "a", "--vault-ca-file", b.ca, "--key-check-interval-secs", "1",
                          "--remote-vault-host", f"*.vault.localhost:{b.port}",
                          listen=f"127.0.0.1:{port_a}")
        bundle = tmp / "both.pem"
        bundle.write_text(pathlib.Path(a.ca).read_text() + pathlib.Path(b.ca).read_text())
        os.environ["SSL_CERT_FILE"] = os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)
        servers.update(a=a, b=b, issuer_a=issuer_a)
        yield servers
    finally:
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v
        for server in (servers.get("a"), servers.get("b")):
            if server is not None and server.process.poll() is None:
                server.stop()


def on_b(pair, principal: str) -> str:
    """The object id under which A's principal acts on B: B gives a trusted issuer's
    principals their own ids (an issuer could otherwise name any of B's own object ids)."""
    b = pair["b"]
    response = requests.get(
        f"{b.endpoint}/keyhold/v1/tenants/{b.bootstrap['tenantId']}/externalPrincipals",
        params={"issuer": pair["issuer_a"], "objectId": principal}, headers=admin_headers(b), timeout=10)
    assert response.status_code == 200, response.text
    local = response.json()["objectId"]
    assert local != principal
    return local


def test_cmk_in_another_keyholds_vault(pair):
    a, b = pair["a"], pair["b"]
    create_resource_group(a, RG, "westeurope")
    account = put_account(a, "remote-ai", rg=RG)
    principal = on_b(pair, account["identity"]["principalId"])

    create_resource_group(b, RG, "westeurope")
    create_vault(b, RG, "remote-kv", enablePurgeProtection=True)
    key_client(b, "remote-kv").create_rsa_key("cmk", size=2048)
    # Without access on B, A's identity is refused by B's vault itself.
    response = set_encryption(a, "remote-ai", cmk(b, "remote-kv", "cmk"), rg=RG)
    assert response.status_code == 400 and response.json()["error"]["code"] == "CmkIdentityAccessDenied", response.text
    grant(b, "remote-kv", principal, rg=RG)
    response = set_encryption(a, "remote-ai", cmk(b, "remote-kv", "cmk"), rg=RG)
    assert response.status_code == 200, response.text

    client = ai_client(a, "remote-ai", rg=RG)
    stored = upload(client, b"protected by a remote key", purpose="assistants", name="r.txt")
    assert client.files.content(stored.id).read() == b"protected by a remote key"

    # Revoke on B: A notices on its next re-check (interval 1 s here) and refuses access.
    mgmt(b).vaults.update_access_policy(RG, "remote-kv", "remove", {"properties": {
        "accessPolicies": [policy(b, principal, [])]}})
    state = wait_for(lambda: (e := encryption_of(a, "remote-ai", RG))["status"] == "KeyInaccessible" and e,
                     timeout=10)
    assert state["statusReason"].startswith("CmkIdentityAccessDenied"), state
    import openai
    with pytest.raises(openai.PermissionDeniedError):
        client.files.content(stored.id).read()
    # Restore on B: back without restarting anything.
    grant(b, "remote-kv", principal, rg=RG)
    wait_for(lambda: encryption_of(a, "remote-ai", RG)["status"] == "Active", timeout=10)
    assert client.files.content(stored.id).read() == b"protected by a remote key"
    # A remote vault without purge protection is refused (read from the key's recoveryLevel).
    create_vault(b, RG, "remote-kv-pp")
    key_client(b, "remote-kv-pp").create_rsa_key("cmk", size=2048)
    other = put_account(a, "remote-ai2", rg=RG)
    grant(b, "remote-kv-pp", on_b(pair, other["identity"]["principalId"]), rg=RG)
    response = set_encryption(a, "remote-ai2", cmk(b, "remote-kv-pp", "cmk"), rg=RG)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "CmkVaultPurgeProtectionRequired", response.text


def test_a_hanging_vault_does_not_delay_revocations_in_other_vaults(pair):
    """Server B stops answering (SIGSTOP: connections open, nothing comes back), so every
    sweep of A's accounts waits on the account whose key is in B (10 s per call). A change in
    A's own vault must still reach its accounts at once: revocations and restores are not
    queued behind the sweep (in the scale-out configuration the cluster re-sync sweeps every
    interval too, which once left a restored key refused for seconds)."""
    a, b = pair["a"], pair["b"]
    create_resource_group(a, RG, "westeurope")
    create_resource_group(b, RG, "westeurope")
    remote = on_b(pair, put_account(a, "hang-remote", rg=RG)["identity"]["principalId"])
    create_vault(b, RG, "hang-kv", enablePurgeProtection=True)
    key_client(b, "hang-kv").create_rsa_key("cmk", size=2048)
    grant(b, "hang-kv", remote, rg=RG)
    assert set_encryption(a, "hang-remote", cmk(b, "hang-kv", "cmk"), rg=RG).status_code == 200

    local = put_account(a, "hang-local", rg=RG)["identity"]["principalId"]
    create_vault(a, RG, "local-kv", enablePurgeProtection=True)
    key_client(a, "local-kv").create_rsa_key("cmk", size=2048)
    grant(a, "local-kv", local, rg=RG)
    assert set_encryption(a, "hang-local", cmk(a, "local-kv", "cmk"), rg=RG).status_code == 200

    os.kill(b.process.pid, signal.SIGSTOP)
    try:
        time.sleep(2.5)  # a sweep (every second here) is now waiting on B
        for change, expected in (("remove", "KeyInaccessible"), ("add", "Active")):
            started = time.time()
            mgmt(a).vaults.update_access_policy(RG, "local-kv", change, {"properties": {
                "accessPolicies": [policy(a, local, [] if change == "remove" else ["get", "wrapKey", "unwrapKey"])]}})
            wait_for(lambda: encryption_of(a, "hang-local", RG)["status"] == expected, timeout=2)
            print(f"{change}: {expected} after {time.time() - started:.3f} s while B hangs")
        # The hanging vault's account keeps its key for the grace period (a blip is no revocation).
        assert encryption_of(a, "hang-remote", RG)["status"] == "Active"
    finally:
        os.kill(b.process.pid, signal.SIGCONT)
