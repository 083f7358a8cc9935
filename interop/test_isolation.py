"""Tenant isolation, one test per class of defect an attacker could use: objects reached
through another scope than their own, identities handed out without a grant on them,
outbound calls to hosts a request body named, external tokens claiming local object ids,
and the smaller leaks (limits, headers). Every test here failed against the server before
the route-permission layer (issue 16); crates/cli/tests/authorization_matrix.rs walks every
route with five callers besides."""
from __future__ import annotations

import base64
import datetime
import http.server
import json
import pathlib
import contextlib
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
import requests
from azure.identity import ClientSecretCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from conftest import KEYHOLD_BIN, start_keyhold
from helpers import (ALL_KEY_PERMISSIONS, admin_headers, create_resource_group, create_vault, key_client, policy,
                     whoami)
from test_accounts import cmk, grant, put_account, set_encryption

LOCATION = "westeurope"
RG = "iso-rg"
API = "api-version=2025-06-01"
KV_API = "api-version=2024-11-01"
AUTH_API = "api-version=2022-04-01"


def bearer(keyhold, cred, scope_key: str = "managementScope") -> dict:
    return {"Authorization": f"Bearer {cred.get_token(keyhold.bootstrap[scope_key]).token}"}


def directory(keyhold, method: str, path: str, headers=None, **body):
    return requests.request(method, f"{keyhold.endpoint}/keyhold/v1/{path}", headers=headers or admin_headers(keyhold),
                            json=body or None, timeout=30)


@pytest.fixture(scope="module")
def tenant_b(keyhold):
    """Another tenant with its own administrator and subscription."""
    created = directory(keyhold, "POST", "tenants", displayName="fabrikam")
    assert created.status_code == 201, created.text
    body = created.json()
    cred = ClientSecretCredential(body["tenantId"], body["admin"]["appId"], body["admin"]["clientSecret"],
                                  authority=keyhold.bootstrap["authority"], disable_instance_discovery=True)
    sub = directory(keyhold, "POST", f"tenants/{body['tenantId']}/subscriptions",
                    headers=bearer(keyhold, cred), displayName="fabrikam-sub")
    assert sub.status_code == 201, sub.text
    sub_b = sub.json()["subscriptionId"]
    rg = requests.put(f"{keyhold.endpoint}/subscriptions/{sub_b}/resourcegroups/{RG}?{KV_API}",
                      headers=bearer(keyhold, cred), json={"location": LOCATION}, timeout=10)
    assert rg.status_code in (200, 201), rg.text
    return {"tenant": body["tenantId"], "cred": cred, "sub": sub_b, "headers": lambda: bearer(keyhold, cred)}


def service_principal(keyhold, name: str, role: str | None = None, scope: str | None = None):
    """A service principal of the default tenant, optionally with one role at `scope`."""
    created = directory(keyhold, "POST", f"tenants/{keyhold.bootstrap['tenantId']}/servicePrincipals", displayName=name)
    assert created.status_code == 201, created.text
    sp = created.json()
    if role:
        url = f"{keyhold.endpoint}{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}?{AUTH_API}"
        assigned = requests.put(url, headers=admin_headers(keyhold), json={"properties": {
            "roleDefinitionId": f"/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": sp["id"]}}, timeout=10)
        assert assigned.status_code == 201, assigned.text
    cred = ClientSecretCredential(keyhold.bootstrap["tenantId"], sp["appId"], sp["clientSecret"],
                                  authority=keyhold.bootstrap["authority"], disable_instance_discovery=True)
    return sp, cred


CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def arm(keyhold, path: str) -> str:
    return f"{keyhold.endpoint}/subscriptions/{keyhold.bootstrap['subscriptionId']}{path}"


# Class 1: the path is authorized, the object too.

def test_role_assignments_are_reached_only_through_their_own_scope(keyhold, tenant_b):
    sub_a = keyhold.bootstrap["subscriptionId"]
    admin_a = whoami(keyhold)["objectId"]
    listed = requests.get(arm(keyhold, f"/providers/Microsoft.Authorization/roleAssignments?{AUTH_API}"),
                          headers=admin_headers(keyhold), timeout=10).json()["value"]
    root = next(a for a in listed if a["properties"]["scope"] == "/" and a["properties"]["principalId"] == admin_a)
    through_b = (f"{keyhold.endpoint}/subscriptions/{tenant_b['sub']}/providers/Microsoft.Authorization/"
                 f"roleAssignments/{root['name']}?{AUTH_API}")
    # Tenant B's administrator names tenant A's root Owner through its own subscription.
    assert requests.get(through_b, headers=tenant_b["headers"](), timeout=10).status_code == 404
    assert requests.delete(through_b, headers=tenant_b["headers"](), timeout=10).status_code == 204
    again = requests.get(arm(keyhold, f"/providers/Microsoft.Authorization/roleAssignments?{AUTH_API}"),
                         headers=admin_headers(keyhold), timeout=10).json()["value"]
    assert root["name"] in [a["name"] for a in again], "tenant A's root assignment must survive"
    # Tenant B's lists carry nothing of tenant A's.
    b_list = requests.get(f"{keyhold.endpoint}/subscriptions/{tenant_b['sub']}/providers/Microsoft.Authorization/"
                          f"roleAssignments?{AUTH_API}", headers=tenant_b["headers"](), timeout=10).json()["value"]
    assert admin_a not in [a["properties"]["principalId"] for a in b_list], b_list
    # An assignment is found at its own scope only, also within one subscription.
    rg_scope = f"/subscriptions/{sub_a}/resourceGroups/{create_resource_group(keyhold, RG, LOCATION)}"
    sp, _ = service_principal(keyhold, "iso-scoped", CONTRIBUTOR, rg_scope)
    mine = [a for a in requests.get(f"{keyhold.endpoint}{rg_scope}/providers/Microsoft.Authorization/roleAssignments"
                                    f"?{AUTH_API}", headers=admin_headers(keyhold), timeout=10).json()["value"]
            if a["properties"]["principalId"] == sp["id"]]
    at_sub = arm(keyhold, f"/providers/Microsoft.Authorization/roleAssignments/{mine[0]['name']}?{AUTH_API}")
    assert requests.get(at_sub, headers=admin_headers(keyhold), timeout=10).status_code == 404


def test_deleted_accounts_and_vaults_come_back_only_where_they_were_deleted(keyhold, tenant_b):
    create_resource_group(keyhold, RG, LOCATION)
    put_account(keyhold, "iso-deleted", rg=RG)
    assert requests.delete(arm(keyhold, f"/resourceGroups/{RG}/providers/Microsoft.CognitiveServices/accounts/"
                                        f"iso-deleted?{API}"), headers=admin_headers(keyhold), timeout=10).ok
    b_account = (f"{keyhold.endpoint}/subscriptions/{tenant_b['sub']}/resourceGroups/{RG}/providers/"
                 f"Microsoft.CognitiveServices/accounts/iso-deleted?{API}")
    stolen = requests.put(b_account, headers=tenant_b["headers"](), timeout=10, json={
        "location": LOCATION, "kind": "OpenAI", "sku": {"name": "S0"}, "properties": {"restore": True}})
    assert stolen.status_code == 400 and "no deleted account" in stolen.text, stolen.text
    plain = requests.put(b_account, headers=tenant_b["headers"](), timeout=10, json={
        "location": LOCATION, "kind": "OpenAI", "sku": {"name": "S0"}})
    assert plain.status_code == 409 and "deleted state" not in plain.text, plain.text
    deleted = requests.get(arm(keyhold, f"/providers/Microsoft.CognitiveServices/locations/{LOCATION}/resourceGroups/"
                                        f"{RG}/deletedAccounts/iso-deleted?{API}"), headers=admin_headers(keyhold),
                           timeout=10)
    assert deleted.status_code == 200, "the account stays deleted in tenant A's subscription"
    restored = requests.put(arm(keyhold, f"/resourceGroups/{RG}/providers/Microsoft.CognitiveServices/accounts/"
                                         f"iso-deleted?{API}"), headers=admin_headers(keyhold), timeout=30, json={
        "location": LOCATION, "kind": "OpenAI", "sku": {"name": "S0"}, "properties": {"restore": True}})
    assert restored.status_code in (200, 201), restored.text

    create_vault(keyhold, RG, "iso-deleted-kv")
    assert requests.delete(arm(keyhold, f"/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/iso-deleted-kv"
                                        f"?{KV_API}"), headers=admin_headers(keyhold), timeout=10).ok
    recover = requests.put(f"{keyhold.endpoint}/subscriptions/{tenant_b['sub']}/resourceGroups/{RG}/providers/"
                           f"Microsoft.KeyVault/vaults/iso-deleted-kv?{KV_API}", headers=tenant_b["headers"](),
                           timeout=10, json={"location": LOCATION, "properties": {
                               "tenantId": tenant_b["tenant"], "sku": {"family": "A", "name": "standard"},
                               "createMode": "recover"}})
    assert recover.status_code == 404, recover.text
    assert keyhold.bootstrap["subscriptionId"] not in recover.text
    still = requests.get(arm(keyhold, f"/providers/Microsoft.KeyVault/locations/{LOCATION}/deletedVaults/"
                                      f"iso-deleted-kv?{KV_API}"), headers=admin_headers(keyhold), timeout=10)
    assert still.status_code == 200, still.text


def test_operation_results_are_read_in_their_own_subscription(keyhold, tenant_b):
    create_resource_group(keyhold, RG, LOCATION)
    created = requests.put(arm(keyhold, f"/resourceGroups/{RG}/providers/Microsoft.CognitiveServices/accounts/"
                                        f"iso-op?{API}"), headers=admin_headers(keyhold), timeout=30, json={
        "location": LOCATION, "kind": "OpenAI", "sku": {"name": "S0"}})
    operation = created.headers["azure-asyncoperation"].split("operationResults/")[1].split("?")[0]
    own = requests.get(created.headers["azure-asyncoperation"], headers=admin_headers(keyhold), timeout=10)
    assert own.status_code == 200 and own.json()["status"] == "Succeeded"
    elsewhere = (f"{keyhold.endpoint}/subscriptions/{tenant_b['sub']}/providers/Microsoft.CognitiveServices/"
                 f"locations/{LOCATION}/operationResults/{operation}?{API}")
    assert requests.get(elsewhere, headers=tenant_b["headers"](), timeout=10).status_code == 404


# Class 2: identities are handed out only with a grant on them.

def test_user_assigned_identities_need_assign_action_on_themselves(keyhold, tenant_b):
    create_resource_group(keyhold, RG, LOCATION)
    other = create_resource_group(keyhold, "iso-uai-rg", LOCATION)
    uai_id = arm(keyhold, f"/resourceGroups/{other}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                          "iso-uai").split(keyhold.endpoint)[1]
    made = requests.put(f"{keyhold.endpoint}{uai_id}?api-version=2023-01-31", headers=admin_headers(keyhold),
                        json={"location": LOCATION}, timeout=10)
    assert made.status_code in (200, 201), made.text
    # A Contributor of RG only (not of the identity's group) cannot attach it to an account there.
    _, contributor = service_principal(keyhold, "iso-rg-contributor", CONTRIBUTOR,
                                       f"/subscriptions/{keyhold.bootstrap['subscriptionId']}/resourceGroups/{RG}")
    url = arm(keyhold, f"/resourceGroups/{RG}/providers/Microsoft.CognitiveServices/accounts/iso-uai-ai?{API}")
    body = {"location": LOCATION, "kind": "OpenAI", "sku": {"name": "S0"},
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {uai_id: {}}}}
    refused = requests.put(url, headers=bearer(keyhold, contributor), json=body, timeout=30)
    assert refused.status_code == 403 and "assign/action" in refused.text, refused.text
    # The same Contributor may create the account without it.
    plain = requests.put(url, headers=bearer(keyhold, contributor), timeout=30,
                         json={**body, "identity": {"type": "SystemAssigned"}})
    assert plain.status_code in (200, 201), plain.text
    # Nor may another tenant's administrator attach tenant A's identity in its own subscription.
    b_url = (f"{keyhold.endpoint}/subscriptions/{tenant_b['sub']}/resourceGroups/{RG}/providers/"
             f"Microsoft.CognitiveServices/accounts/iso-uai-b?{API}")
    across = requests.put(b_url, headers=tenant_b["headers"](), json=body, timeout=30)
    assert across.status_code == 403, across.text

    # System-assigned identities are never bound to a workload, even for the account's Contributor.
    system = directory(keyhold, "POST", "workloadBindings", headers=bearer(keyhold, contributor),
                       identities=[url.split(keyhold.endpoint)[1].split("?")[0]])
    assert system.status_code == 403, system.text
    principal = plain.json()["identity"]["principalId"]
    by_oid = directory(keyhold, "POST", "workloadBindings", headers=bearer(keyhold, contributor),
                       identities=[principal])
    absent = directory(keyhold, "POST", "workloadBindings", headers=bearer(keyhold, contributor),
                       identities=[str(uuid.uuid4())])
    for refusal in (system, by_oid, absent):  # an absent identity is refused like a forbidden one
        assert refusal.status_code == 403, refusal.text
        assert refusal.json()["error"]["code"] == "AuthorizationFailed", refusal.text


def test_the_firewall_bypass_admits_keyholds_own_calls_only(keyhold):
    """A vault that denies by default but lets trusted services through: the account's key
    works through the vault's firewall (keyhold's own call), while a workload holding the very
    same user-assigned identity's token is stopped by it."""
    sub = keyhold.bootstrap["subscriptionId"]
    create_resource_group(keyhold, RG, LOCATION)
    uai_id = f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/iso-fw"
    uai = requests.put(f"{keyhold.endpoint}{uai_id}?api-version=2023-01-31", headers=admin_headers(keyhold),
                       json={"location": LOCATION}, timeout=10).json()["properties"]
    create_vault(keyhold, RG, "iso-fw-kv", enablePurgeProtection=True)
    key = key_client(keyhold, "iso-fw-kv").create_rsa_key("cmk", size=2048)
    grant(keyhold, "iso-fw-kv", uai["principalId"], rg=RG)
    from helpers import mgmt
    mgmt(keyhold).vaults.update(RG, "iso-fw-kv", {"properties": {
        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": []}}})
    put_account(keyhold, "iso-fw-ai", rg=RG, identity={"type": "UserAssigned", "userAssignedIdentities": {uai_id: {}}})
    applied = set_encryption(keyhold, "iso-fw-ai", cmk(keyhold, "iso-fw-kv", "cmk", client_id=uai["clientId"]), rg=RG)
    assert applied.status_code == 200, applied.text

    binding = directory(keyhold, "POST", "workloadBindings", identities=[uai_id])
    assert binding.status_code == 201, binding.text
    token = requests.get(f"{keyhold.endpoint}/msi/token", timeout=10, params={
        "resource": keyhold.bootstrap["vaultScope"].removesuffix("/.default"), "api-version": "2019-08-01"},
        headers={"X-IDENTITY-HEADER": binding.json()["identityHeader"]}).json()["access_token"]
    wrapped = requests.post(f"{key.id}/wrapkey?api-version=7.6", headers={"Authorization": f"Bearer {token}"},
                            json={"alg": "RSA-OAEP-256", "value": "AAAA"}, timeout=10)
    assert wrapped.status_code == 403, wrapped.text
    assert wrapped.json()["error"]["innererror"]["code"] == "ForbiddenByFirewall", wrapped.text


# Class 3: outbound calls go only where an operator allowed, with a token for that host.

class _Counter:
    """A TCP listener that counts connections (and answers nothing)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self.running = True
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
                self.count += 1
                conn.close()
            except OSError:
                pass

    def close(self):
        self.running = False
        self.sock.close()


def test_key_vault_uris_a_body_names_are_not_called(keyhold):
    create_resource_group(keyhold, RG, LOCATION)
    put_account(keyhold, "iso-out", rg=RG)
    counter = _Counter()
    try:
        for uri in (f"https://kv.attacker.localhost:{counter.port}/", f"https://127.0.0.1:{counter.port}/",
                    f"https://[::1]:{counter.port}/", f"https://kv1.vault.localhost:{counter.port}/"):
            response = set_encryption(keyhold, "iso-out", {"keySource": "Microsoft.KeyVault", "keyVaultProperties": {
                "keyVaultUri": uri, "keyName": "cmk"}}, rg=RG)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["code"] == "InvalidKeyVaultUri", response.text
        time.sleep(0.3)
        assert counter.count == 0, "keyhold connected to a host only a request body named"
    finally:
        counter.close()


def _ca_and_cert(tmp: pathlib.Path, hosts: list[str]):
    """A CA and a server certificate for `hosts` (PEM files), for the test's own TLS servers."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iso test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (tmp / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    return tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"


def _https_server(cert: pathlib.Path, key: pathlib.Path, handler) -> http.server.HTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextlib.contextmanager
def trusting(server):
    """Requests in this block trust `server`'s CA (the session server's otherwise)."""
    saved = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = server.ca
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = saved


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_remote_vault_gets_a_token_for_itself_and_its_answers_are_not_echoed():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="keyhold-iso-remote-"))
    ca, cert, key = _ca_and_cert(tmp, ["*.vault.fake.localhost"])
    seen = []

    class FakeVault(http.server.BaseHTTPRequestHandler):
        def _refuse(self):
            seen.append(self.headers.get("Authorization", ""))
            body = json.dumps({"error": {"code": "MARKER-remote-code", "message": "MARKER text from a remote"}}).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _refuse

        def log_message(self, *args):
            pass

    fake = _https_server(cert, key, FakeVault)
    port = fake.server_address[1]
    server = start_keyhold(tmp / "data", "--remote-vault-host", f"*.vault.fake.localhost:{port}",
                           "--vault-ca-file", str(ca))
    try:
        with trusting(server):
            create_resource_group(server, RG, LOCATION)
            put_account(server, "iso-remote", rg=RG)
            response = set_encryption(server, "iso-remote", {"keySource": "Microsoft.KeyVault", "keyVaultProperties": {
                "keyVaultUri": f"https://kv1.vault.fake.localhost:{port}/", "keyName": "cmk"}}, rg=RG)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["code"] == "CmkIdentityAccessDenied", response.text
            assert "MARKER" not in response.text, "a remote vault's answer was echoed"
            assert seen, "the allowed remote vault was called"
            token = seen[0].removeprefix("Bearer ")
            assert _claims(token)["aud"] == f"https://vault.fake.localhost:{port}", _claims(token)
            # Worthless here: this keyhold's own vaults do not accept it.
            create_vault(server, RG, "iso-local-kv")
            local = requests.get(f"{server.vault_url('iso-local-kv')}/keys?api-version=7.6",
                                 headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert local.status_code == 401, local.text
            assert local.json()["error"]["code"] == "InvalidAuthenticationTokenAudience", local.text
    finally:
        assert server.stop() == 0
        fake.shutdown()


def test_remote_vault_hosts_that_local_vaults_would_trust_or_that_are_not_names_are_refused_at_start():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="keyhold-iso-clash-"))
    for i, entry in enumerate(("*.vault.localhost", "10.0.0.1", "https://kv.example.com")):
        run = subprocess.run([KEYHOLD_BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp / f"d{i}"),
                              "--remote-vault-host", entry], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL,
                             env={k: v for k, v in os.environ.items() if not k.startswith("KEYHOLD_")})
        assert run.returncode != 0 and "remote_vault_hosts" in run.stderr, (entry, run.stderr)


# Class 4: an external issuer's principals live in their own namespace.

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_an_external_token_naming_a_local_object_id_gets_none_of_its_rights():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="keyhold-iso-issuer-"))
    ca, cert, key = _ca_and_cert(tmp, ["issuer.localhost"])
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = signing.public_key().public_numbers()
    issuer_box = {}

    class Issuer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.endswith("/.well-known/openid-configuration"):
                doc = {"issuer": issuer_box["issuer"], "jwks_uri": issuer_box["issuer"] + "/keys"}
            else:
                doc = {"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                                 "n": _b64(numbers.n.to_bytes(256, "big")), "e": _b64(numbers.e.to_bytes(3, "big"))}]}
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    fake = _https_server(cert, key, Issuer)
    issuer = f"https://issuer.localhost:{fake.server_address[1]}/t1/v2.0"
    issuer_box["issuer"] = issuer
    config = tmp / "keyhold.toml"
    config.write_text(f'[[trusted_issuer]]\nissuer = "{issuer}"\ntenant = "default"\nca_file = "{ca}"\n')
    server = start_keyhold(tmp / "data", "--config", str(config))
    try:
        with trusting(server):
            admin_oid = server.bootstrap["objectId"]
            now = int(time.time())
            claims = {"aud": "https://management.localhost", "iss": issuer, "iat": now, "nbf": now, "exp": now + 600,
                      "sub": admin_oid, "oid": admin_oid, "tid": str(uuid.uuid4()), "appid": str(uuid.uuid4()),
                      "azp": str(uuid.uuid4()), "idtyp": "app", "ver": "2.0", "uti": "x", "keyhold_service": True}
            header = _b64(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
            payload = _b64(json.dumps(claims).encode())
            signature = signing.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
            forged = {"Authorization": f"Bearer {header}.{payload}.{_b64(signature)}"}
            me = requests.get(f"{server.endpoint}/keyhold/v1/whoami", headers=forged, timeout=10)
            assert me.status_code == 200, me.text
            assert me.json()["objectId"] != admin_oid, "an external principal took the local administrator's id"
            subs = requests.get(f"{server.endpoint}/subscriptions?api-version=2022-12-01", headers=forged, timeout=10)
            assert subs.status_code == 200 and subs.json()["value"] == [], subs.text
            sub = server.bootstrap["subscriptionId"]
            rg = requests.put(f"{server.endpoint}/subscriptions/{sub}/resourcegroups/iso-forged?api-version=2024-11-01",
                              headers=forged, json={"location": LOCATION}, timeout=10)
            assert rg.status_code == 403, rg.text
            tenants = requests.get(f"{server.endpoint}/keyhold/v1/tenants", headers=forged, timeout=10)
            assert tenants.status_code == 403, tenants.text
    finally:
        assert server.stop() == 0
        fake.shutdown()


# Class 5: the smaller leaks.

def test_limits_and_headers(keyhold):
    sub = keyhold.bootstrap["subscriptionId"]
    url = f"{keyhold.endpoint}/subscriptions/{sub}/resourcegroups/iso-limits?api-version=2024-11-01"
    for tags, code in (({"k": "v" * 257}, "InvalidTag"), ({f"t{i}": "" for i in range(51)}, "InvalidTag"),
                       ({"a/b": "v"}, "InvalidTagNameCharacters")):
        response = requests.put(url, headers=admin_headers(keyhold), json={"location": LOCATION, "tags": tags},
                                timeout=10)
        assert response.status_code == 400 and response.json()["error"]["code"] == code, response.text
    long = "a" * 1100
    for path in (f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{long}?{KV_API}",
                 f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/"
                 f"{long}?api-version=2025-09-01"):
        response = requests.put(keyhold.endpoint + path, headers=admin_headers(keyhold), json={"location": LOCATION},
                                timeout=10)
        assert response.status_code == 400, response.text
    ok = requests.get(f"{keyhold.endpoint}/healthz", timeout=10)
    assert ok.headers["Strict-Transport-Security"].startswith("max-age=")
    assert ok.headers["X-Content-Type-Options"] == "nosniff"
