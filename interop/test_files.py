"""Encrypted Files API: the official `openai` SDK (`AzureOpenAI`, with `api_key` and with
`azure_ad_token_provider`) against an account's data plane; the revocation and restore story
with a customer-managed key; key rotation keeping old files readable; tampering detected;
deleting and purging destroying the ciphertext."""
from __future__ import annotations

import json
import pathlib
import tempfile
import time
import uuid

import httpx2 as httpx
import openai
import pytest
import requests
from openai import AzureOpenAI

from conftest import start_keyhold
from helpers import admin_headers, create_resource_group, create_vault, credential, key_client, mgmt, policy
from test_accounts import account_url, cmk, grant, put_account, role_assign, set_encryption, wait_for

RG = "files-rg"
LOCATION = "westeurope"
API_VERSION = "2024-10-21"
GOOD = "\n".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                          {"role": "assistant", "content": f"a{i}"}]}) for i in range(20)) + "\n"


def list_keys(keyhold, name: str, rg: str = RG) -> dict:
    url = account_url(keyhold, name, rg).replace("?", "/listKeys?")
    response = requests.post(url, headers=admin_headers(keyhold), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def ai_client(keyhold, name: str, rg: str = RG, **auth) -> AzureOpenAI:
    if not auth:
        auth = {"api_key": list_keys(keyhold, name, rg)["key1"]}
    return AzureOpenAI(azure_endpoint=f"https://{name}.openai.localhost:{keyhold.port}", api_version=API_VERSION,
                       http_client=httpx.Client(verify=keyhold.ca), max_retries=0, **auth)


def upload(client: AzureOpenAI, content: bytes, purpose: str = "fine-tune", name: str = "train.jsonl"):
    return client.files.create(file=(name, content), purpose=purpose)


@pytest.fixture(scope="module")
def files_rg(keyhold):
    return create_resource_group(keyhold, RG, LOCATION)


def test_files_with_api_key_and_token(keyhold, files_rg):
    put_account(keyhold, "files-mmk", rg=RG)
    client = ai_client(keyhold, "files-mmk")
    created = upload(client, GOOD.encode())
    assert created.id.startswith("file-") and created.bytes == len(GOOD)
    assert created.status == "processed" and created.purpose == "fine-tune"
    assert client.files.retrieve(created.id).filename == "train.jsonl"
    assert created.id in [f.id for f in client.files.list()]
    assert client.files.content(created.id).read() == GOOD.encode()
    # A bigger binary file streams through intact (several 1 MiB segments).
    blob = bytes(range(256)) * (3 * 4096 + 7)
    big = upload(client, blob, purpose="assistants", name="blob.bin")
    assert client.files.content(big.id).read() == blob
    assert [f.id for f in client.files.list(purpose="assistants")] == [big.id]
    # Fine-tune data is validated; the problem names its line.
    bad = upload(client, (GOOD + '{"messages": [{"role": "user", "content": "only a question"}]}\n').encode())
    assert bad.status == "error" and bad.status_details.startswith("line 21:"), bad.status_details
    with pytest.raises(openai.BadRequestError):
        upload(client, b"x", purpose="homework")
    deleted = client.files.delete(created.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    # Wrong key; then a bearer token, which needs an OpenAI data role on the account.
    with pytest.raises(openai.AuthenticationError):
        ai_client(keyhold, "files-mmk", api_key="0" * 32).files.list()
    provider = lambda: credential(keyhold).get_token(keyhold.bootstrap["aiScope"]).token  # noqa: E731
    token_client = ai_client(keyhold, "files-mmk", azure_ad_token_provider=provider)
    with pytest.raises(openai.PermissionDeniedError):
        token_client.files.list()
    from helpers import whoami
    role_assign(keyhold, account_url(keyhold, "files-mmk", RG).split("?")[0].replace(keyhold.endpoint, ""),
                whoami(keyhold)["objectId"], "Cognitive Services OpenAI Contributor")
    assert big.id in [f.id for f in token_client.files.list()]
    assert token_client.files.content(big.id).read() == blob


def test_revocation_restore_and_rotation(keyhold, files_rg):
    create_vault(keyhold, RG, "files-kv", enablePurgeProtection=True)
    keys = key_client(keyhold, "files-kv")
    keys.create_rsa_key("cmk", size=2048)
    account = put_account(keyhold, "files-cmk", rg=RG)
    principal = account["identity"]["principalId"]
    grant(keyhold, "files-kv", principal, rg=RG)
    assert set_encryption(keyhold, "files-cmk", cmk(keyhold, "files-kv", "cmk"), rg=RG).status_code == 200
    client = ai_client(keyhold, "files-cmk")
    first = upload(client, GOOD.encode())
    assert client.files.content(first.id).read() == GOOD.encode()

    # Revoke: remove the access policy. Downloads, uploads and listing fail with the key error.
    mgmt(keyhold).vaults.update_access_policy(RG, "files-kv", "remove", {"properties": {
        "accessPolicies": [policy(keyhold, principal, [])]}})
    started = time.time()

    def refused():
        try:
            client.files.content(first.id).read()
            return False
        except openai.PermissionDeniedError as err:
            return err

    err = wait_for(refused, timeout=3)
    print(f"download refused {1000 * (time.time() - started):.0f} ms after the policy was removed")
    assert err.body["code"] == "CustomerManagedKeyAccessDenied" if isinstance(err.body, dict) else \
        "CustomerManagedKeyAccessDenied" in str(err)
    assert "files-kv/cmk" in str(err)
    with pytest.raises(openai.PermissionDeniedError):
        upload(client, GOOD.encode())
    with pytest.raises(openai.PermissionDeniedError):
        client.files.list()
    # Restore: works again without a restart.
    grant(keyhold, "files-kv", principal, rg=RG)
    wait_for(lambda: not refused(), timeout=3)
    assert client.files.content(first.id).read() == GOOD.encode()

    # Rotate: the account follows the new version; old and new files both read back.
    rotated = keys.rotate_key("cmk")
    wait_for(lambda: requests.get(account_url(keyhold, "files-cmk", RG), headers=admin_headers(keyhold),
                                  timeout=10).json()["properties"]["encryption"]["activeKeyVersion"]
             == rotated.properties.version)
    second = upload(client, b"after rotation", purpose="assistants", name="b.txt")
    assert client.files.content(first.id).read() == GOOD.encode()
    assert client.files.content(second.id).read() == b"after rotation"
    # Disabling the *old* version does not matter to new files but stops the old ones.
    assert set_encryption(keyhold, "files-cmk", {"keySource": "Microsoft.CognitiveServices"},
                          rg=RG).status_code == 200
    # Back on Microsoft-managed keys, with every KEK re-wrapped: the vault is no longer needed.
    mgmt(keyhold).vaults.update_access_policy(RG, "files-kv", "remove", {"properties": {
        "accessPolicies": [policy(keyhold, principal, [])]}})
    time.sleep(0.3)
    assert client.files.content(first.id).read() == GOOD.encode()
    assert client.files.content(second.id).read() == b"after rotation"


def blob_path(keyhold, account: str, file_id: str) -> pathlib.Path:
    matches = list(keyhold.blobs.rglob(f"{file_id}*"))
    assert len(matches) == 1, matches
    return matches[0]


def test_tampering_is_detected_and_delete_and_purge_shred(keyhold, files_rg):
    put_account(keyhold, "files-tamper", rg=RG)
    client = ai_client(keyhold, "files-tamper")
    payload = bytes(range(256)) * 8192  # 2 MiB: the flip lands in a later segment
    created = upload(client, payload, purpose="assistants", name="p.bin")
    path = blob_path(keyhold, "files-tamper", created.id)
    stored = path.read_bytes()
    assert payload[:4096] not in stored, "plaintext must never reach the disk"
    for offset in (len(stored) // 2, 20, len(stored) - 3):
        tampered = bytearray(stored)
        tampered[offset] ^= 0x01
        path.write_bytes(bytes(tampered))
        with pytest.raises((openai.APIError, httpx.HTTPError)):
            client.files.content(created.id).read()
    path.write_bytes(stored)
    assert client.files.content(created.id).read() == payload
    # Deleting removes the ciphertext (and with it the wrapped DEK).
    client.files.delete(created.id)
    assert not list(keyhold.blobs.rglob(f"{created.id}*"))
    # Purging a deleted account destroys every object it had.
    kept = upload(client, b"kept until purge", purpose="assistants", name="k.txt")
    assert list(keyhold.blobs.rglob(f"{kept.id}*"))
    sub = keyhold.bootstrap["subscriptionId"]
    requests.delete(account_url(keyhold, "files-tamper", RG), headers=admin_headers(keyhold),
                    timeout=10).raise_for_status()
    assert list(keyhold.blobs.rglob(f"{kept.id}*")), "soft delete keeps the data"
    metrics = requests.get(f"{keyhold.endpoint}/metrics", headers=admin_headers(keyhold), timeout=10).text
    metered = [line for line in metrics.splitlines()
               if line.startswith('keyhold_account_stored_encrypted_bytes{account="files-tamper"')]
    assert len(metered) == 1 and 'deleted="true"' in metered[0] and float(metered[0].rsplit(" ", 1)[1]) > 0, metered
    purge = (f"{keyhold.endpoint}/subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/{LOCATION}/"
             f"resourceGroups/{RG}/deletedAccounts/files-tamper?api-version=2025-09-01")
    assert requests.delete(purge, headers=admin_headers(keyhold), timeout=10).status_code in (200, 202, 204)
    assert not list(keyhold.blobs.rglob(f"{kept.id}*"))
    metrics = requests.get(f"{keyhold.endpoint}/metrics", headers=admin_headers(keyhold), timeout=10).text
    assert 'account="files-tamper"' not in metrics, "purged accounts stop being metered"


def test_oversized_and_cut_off_uploads_leave_nothing():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="keyhold-small-"))
    import os
    server = start_keyhold(tmp / "data", "--max-file-bytes", "100000")
    saved = {k: os.environ.get(k) for k in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")}
    try:
        os.environ["SSL_CERT_FILE"] = os.environ["REQUESTS_CA_BUNDLE"] = server.ca
        create_resource_group(server, RG, LOCATION)
        put_account(server, "files-small", rg=RG)
        client = ai_client(server, "files-small")
        with pytest.raises(openai.APIStatusError) as err:
            upload(client, b"x" * 100_001, purpose="assistants", name="big.bin")
        assert err.value.status_code == 413
        assert upload(client, b"x" * 100_000, purpose="assistants", name="ok.bin").bytes == 100_000
        # A body that ends before the multipart terminator is refused.
        key = list_keys(server, "files-small")["key1"]
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nassistants\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\n\r\n"
                ).encode() + b"y" * 5000
        response = requests.post(f"https://files-small.openai.localhost:{server.port}/openai/files"
                                 f"?api-version={API_VERSION}", data=body, verify=server.ca, timeout=10,
                                 headers={"api-key": key, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert response.status_code == 400, response.text
        names = [f.filename for f in client.files.list()]
        assert names == ["ok.bin"], names
        leftovers = [p for p in server.blobs.rglob("*") if p.is_file()]
        assert len(leftovers) == 1, leftovers
    finally:
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v
        assert server.stop() == 0


def test_multipart_parts_in_any_order(keyhold, files_rg):
    """The `openai` npm client sends `file` before `purpose`: the file streams in first and the
    purpose still decides (fine-tune data is validated either way); a body without a valid
    purpose, or with two files, leaves nothing behind."""
    put_account(keyhold, "files-order", rg=RG)
    key = list_keys(keyhold, "files-order")["key1"]
    url = f"https://files-order.openai.localhost:{keyhold.port}/openai/files?api-version={API_VERSION}"
    bad = json.dumps({"messages": [{"role": "user", "content": "no answer"}]}) + "\n"

    def post(parts):
        return requests.post(url, files=parts, headers={"api-key": key}, timeout=30)

    rows = [
        ([("file", ("t.jsonl", GOOD.encode())), ("purpose", (None, "fine-tune"))], 201, "processed"),
        ([("file", ("t.jsonl", bad.encode())), ("purpose", (None, "fine-tune"))], 201, "error"),
        ([("file", ("t.jsonl", bad.encode())), ("note", (None, "x")), ("purpose", (None, "assistants"))],
         201, "processed"),
        ([("purpose", (None, "fine-tune")), ("file", ("t.jsonl", bad.encode()))], 201, "error"),
    ]
    client = ai_client(keyhold, "files-order")
    for parts, status, file_status in rows:
        response = post(parts)
        assert response.status_code == status, response.text
        created = response.json()
        assert created["status"] == file_status, created
        assert client.files.content(created["id"]).read() == dict(parts)["file"][1]
    listed = len(client.files.list().data)
    for parts in [[("file", ("t.jsonl", GOOD.encode()))],
                  [("file", ("t.jsonl", GOOD.encode())), ("purpose", (None, "nonsense"))],
                  [("file", ("a.jsonl", GOOD.encode())), ("file", ("b.jsonl", GOOD.encode())),
                   ("purpose", (None, "fine-tune"))],
                  [("file", ("t.jsonl", GOOD.encode())), ("purpose", (None, "x" * 5000))]]:
        response = post(parts)
        assert response.status_code == 400, response.text
    assert len(client.files.list().data) == listed
