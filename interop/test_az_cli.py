"""The Azure CLI (`azure-cli` from PyPI, in its own venv `.venv-az`) against the real binary, one
`az` process per command as users run it, with a fresh `AZURE_CONFIG_DIR` and
`REQUESTS_CA_BUNDLE` pointing at the server's CA: the README's `az cloud register`/`login`
recipe and its example commands exactly as written (only the port and the placeholders
filled in), then the source documents' commands (`az keyvault delete-policy --resource-group …
--name … --object-id …`, `az keyvault key delete --id …`), vaults with and without RBAC,
`set-policy`, keys, an account with `--assign-identity` and a customer-managed key through
`az cognitiveservices account update --encryption`, role assignments with `--assignee <appId>`,
`az ad sp show|list|create-for-rbac` (whose secret then logs in) and `az keyvault list` without
`-g`. `*.localhost` is resolved by `interop/az_resolver/sitecustomize.py` for the `az`
processes (Debian's resolver does not; see the README for libnss-myhostname)."""
from __future__ import annotations

import json
import os
import pathlib
import re
import shlex
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import ROOT, STORE
from helpers import admin_headers

AZ = os.environ.get("KEYHOLD_AZ", str(ROOT / ".venv-az" / "bin" / "az"))
RESOLVER = pathlib.Path(__file__).resolve().parent / "az_resolver"

if not pathlib.Path(AZ).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"the Azure CLI is missing at {AZ}: scripts/test installs it into .venv-az")
    pytestmark = pytest.mark.skip(reason=f"no Azure CLI at {AZ} (scripts/test installs it)")
else:
    # The CLI drives the same REST paths the SDK suites cover on both stores; one pass is enough.
    pytestmark = pytest.mark.skipif(STORE != "embedded", reason="wire compatibility: embedded pass only")


class Az:
    """Runs `az` in its own process with its own configuration directory."""

    def __init__(self, keyhold, config_dir: pathlib.Path):
        self.keyhold = keyhold
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "KEYHOLD_"))}
        self.env.update({
            "AZURE_CONFIG_DIR": str(config_dir),
            "REQUESTS_CA_BUNDLE": keyhold.ca,
            "PYTHONPATH": str(RESOLVER),
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_NO_COLOR": "true",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
        })
        self.log: list[str] = []

    def run(self, args: list[str], check: bool = True, cwd: pathlib.Path | None = None) -> subprocess.CompletedProcess:
        started = time.monotonic()
        done = subprocess.run([AZ, *args], env=self.env, capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL, cwd=cwd)
        self.log.append(f"az {shlex.join(args)} -> {done.returncode} in {time.monotonic() - started:.1f}s")
        if check and done.returncode != 0:
            raise AssertionError(f"az {shlex.join(args)} failed ({done.returncode}):\n{done.stderr}\n{done.stdout}")
        return done

    def json(self, *args: str):
        out = self.run([*args, "-o", "json"]).stdout
        return json.loads(out) if out.strip() else None

    def line(self, command: str, check: bool = True, cwd: pathlib.Path | None = None) -> subprocess.CompletedProcess:
        """One shell line as a user would type it (`az …`, `# comments` allowed)."""
        words = shlex.split(command, comments=True)
        assert words and words[0] == "az", command
        return self.run(words[1:], check=check, cwd=cwd)


def readme_block(starting_with: str) -> list[str]:
    """The README's shell block that starts with `starting_with`, as logical lines."""
    text = (ROOT / "README.md").read_text()
    at = text.index("```sh\n" + starting_with)
    block = text[at + len("```sh\n"):text.index("```", at + 6)]
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def fill(line: str, keyhold, **values: str) -> str:
    """The port and `<placeholders>` of a README line, filled in."""
    line = line.replace(":8443", f":{keyhold.port}")
    for name, value in values.items():
        line = line.replace(f"<{name}>", value)
    assert "<" not in line, f"unfilled placeholder in {line!r}"
    return line


def register_and_login(keyhold, az: Az, client_id: str, secret: str):
    """The README recipe, line by line."""
    boot = keyhold.bootstrap
    for line in readme_block("export REQUESTS_CA_BUNDLE="):
        if line.startswith("export REQUESTS_CA_BUNDLE="):
            assert line.split("=", 1)[1].endswith("keyhold-data/tls/ca.pem"), line
            continue  # Az sets it to this server's CA
        az.line(fill(line, keyhold, clientId=client_id, clientSecret=secret, tenantId=boot["tenantId"]))


@pytest.fixture(scope="module")
def az(keyhold):
    config = pathlib.Path(tempfile.mkdtemp(prefix="keyhold-az-"))
    cli = Az(keyhold, config)
    boot = keyhold.bootstrap
    register_and_login(keyhold, cli, boot["clientId"], boot["clientSecret"])
    yield cli
    print("\n".join(cli.log))


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def encryption_status(keyhold, sub: str, rg: str, account: str) -> str:
    url = (f"{keyhold.endpoint}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/"
           f"accounts/{account}?api-version=2025-09-01")
    body = requests.get(url, headers=admin_headers(keyhold), timeout=10).json()
    return body["properties"]["encryption"].get("status", "")


def test_login_lists_the_subscription(keyhold, az):
    account = az.json("account", "show")
    boot = keyhold.bootstrap
    assert account["id"] == boot["subscriptionId"] and account["tenantId"] == boot["tenantId"]
    assert account["user"] == {"name": boot["clientId"], "type": "servicePrincipal"}


def test_readme_examples_and_the_source_documents_commands(keyhold, az):
    """The README's example block as written, which includes the source documents' revocation
    commands in the form current `az` accepts, then what each did, checked on the server."""
    boot = keyhold.bootstrap
    sub = boot["subscriptionId"]
    identity = {}
    for line in readme_block("az group create -n rg1"):
        line = fill(line, keyhold, subscriptionId=sub, **identity)
        done = az.line(line)
        if "cognitiveservices account create" in line:
            created = json.loads(done.stdout)
            assert created["identity"]["type"] == "SystemAssigned", created
            identity["identity.principalId"] = created["identity"]["principalId"]
        if "account update" in line:
            updated = json.loads(done.stdout)
            assert updated["name"] == "ai1", updated  # the account, not an operation status
            assert updated["properties"]["encryption"]["keySource"] == "Microsoft.KeyVault"
            assert wait_for(lambda: encryption_status(keyhold, sub, "rg1", "ai1") == "Active"), \
                encryption_status(keyhold, sub, "rg1", "ai1")
        if "delete-policy" in line:
            # Revoked: the account's key turns inaccessible (DESIGN.md section 2).
            assert wait_for(lambda: encryption_status(keyhold, sub, "rg1", "ai1") == "KeyInaccessible")
            policies = az.json("keyvault", "show", "-n", "kv1")["properties"]["accessPolicies"]
            assert identity["identity.principalId"] not in [p["objectId"] for p in policies]
        if "key delete" in line:
            assert [k["name"] for k in az.json("keyvault", "key", "list", "--vault-name", "kv1")] == []
            deleted = az.json("keyvault", "key", "list-deleted", "--vault-name", "kv1")
            assert [k["name"] for k in deleted] == ["cmk"]
        if "create-for-rbac" in line:
            created = json.loads(done.stdout)
            assert created["appId"] and created["password"] and created["tenant"] == boot["tenantId"]
        if line.strip().startswith("az keyvault list"):
            assert "kv1" in [v["name"] for v in json.loads(done.stdout)]
    # The source documents' literal `--vault-name … --id …` is refused by az itself.
    refused = az.run(["keyvault", "key", "delete", "--vault-name", "kv1", "--id",
                      f"https://kv1.vault.localhost:{keyhold.port}/keys/cmk"], check=False)
    assert refused.returncode != 0 and "mutually exclusive" in refused.stderr


def test_vaults_policies_keys_and_rbac(keyhold, az):
    boot = keyhold.bootstrap
    sub = boot["subscriptionId"]
    az.run(["group", "create", "-n", "rg-az", "-l", "westeurope", "-o", "none"])
    # Access-policy vault: az grants the signed-in principal (looked up in Graph) its default policy.
    vault = az.json("keyvault", "create", "-n", "kv-az-ap", "-g", "rg-az", "--enable-rbac-authorization", "false")
    assert vault["properties"]["enableRbacAuthorization"] is False
    assert [p["objectId"] for p in vault["properties"]["accessPolicies"]] == [boot["objectId"]]
    key = az.json("keyvault", "key", "create", "--vault-name", "kv-az-ap", "-n", "k1", "--kty", "RSA", "--size", "2048")
    assert key["key"]["kty"] == "RSA" and key["key"]["kid"].startswith(f"https://kv-az-ap.vault.localhost:{keyhold.port}/keys/k1/")
    shown = az.json("keyvault", "key", "show", "--vault-name", "kv-az-ap", "-n", "k1")
    assert shown["key"]["kid"] == key["key"]["kid"]
    assert [k["name"] for k in az.json("keyvault", "key", "list", "--vault-name", "kv-az-ap")] == ["k1"]
    # set-policy by object id and by service principal name (appId, resolved through Graph).
    sp = requests.post(f"{keyhold.endpoint}/keyhold/v1/tenants/{boot['tenantId']}/servicePrincipals",
                       json={"displayName": "az-policy"}, headers=admin_headers(keyhold), timeout=10).json()
    az.run(["keyvault", "set-policy", "-n", "kv-az-ap", "--object-id", sp["id"], "--key-permissions", "get",
            "wrapKey", "unwrapKey", "-o", "none"])
    az.run(["keyvault", "set-policy", "-n", "kv-az-ap", "--spn", sp["appId"], "--key-permissions", "get", "list",
            "-o", "none"])
    policies = az.json("keyvault", "show", "-n", "kv-az-ap")["properties"]["accessPolicies"]
    granted = next(p for p in policies if p["objectId"] == sp["id"])
    # As in Azure, set-policy sets that principal's permissions (the second call replaced them).
    assert sorted(granted["permissions"]["keys"]) == ["get", "list"]
    az.run(["keyvault", "delete-policy", "--resource-group", "rg-az", "--name", "kv-az-ap", "--object-id", sp["id"],
            "-o", "none"])
    assert sp["id"] not in [p["objectId"] for p in az.json("keyvault", "show", "-n", "kv-az-ap")["properties"]["accessPolicies"]]
    az.run(["keyvault", "key", "delete", "--id", key["key"]["kid"].rsplit("/", 1)[0], "-o", "none"])
    assert az.json("keyvault", "key", "list", "--vault-name", "kv-az-ap") == []
    # RBAC vault (az's default): no access until a role assignment, by appId.
    rbac = az.json("keyvault", "create", "-n", "kv-az-rbac", "-g", "rg-az", "--enable-purge-protection", "true",
                   "--retention-days", "7")
    assert rbac["properties"]["enableRbacAuthorization"] is True
    denied = az.run(["keyvault", "key", "create", "--vault-name", "kv-az-rbac", "-n", "k1"], check=False)
    assert denied.returncode != 0 and "Forbidden" in denied.stderr, denied.stderr
    assignment = az.json("role", "assignment", "create", "--assignee", boot["clientId"], "--role",
                         "Key Vault Crypto Officer", "--scope", rbac["id"])
    assert assignment["principalId"] == boot["objectId"] and assignment["principalType"] == "ServicePrincipal"
    az.run(["keyvault", "key", "create", "--vault-name", "kv-az-rbac", "-n", "k1", "-o", "none"])
    listed = az.json("role", "assignment", "list", "--scope", rbac["id"])
    assert any(a["roleDefinitionName"] == "Key Vault Crypto Officer" and a["principalName"] == boot["clientId"]
               for a in listed), listed
    # Listing without a group: every vault the caller may read.
    names = [v["name"] for v in az.json("keyvault", "list")]
    assert {"kv-az-ap", "kv-az-rbac"} <= set(names), names
    assert az.json("keyvault", "show", "-n", "kv-az-rbac")["resourceGroup"] == "rg-az"
    assert sub in rbac["id"]


def test_service_principals_and_a_created_one_logs_in(keyhold, az):
    boot = keyhold.bootstrap
    sub = boot["subscriptionId"]
    shown = az.json("ad", "sp", "show", "--id", boot["clientId"])
    assert shown["id"] == boot["objectId"] and shown["appId"] == boot["clientId"]
    assert boot["clientId"] in [s["appId"] for s in az.json("ad", "sp", "list", "--all")]
    az.run(["group", "create", "-n", "rg-az-sp", "-l", "westeurope", "-o", "none"])
    az.run(["keyvault", "create", "-n", "kv-az-sp", "-g", "rg-az-sp", "--enable-rbac-authorization", "false",
            "-o", "none"])
    created = az.json("ad", "sp", "create-for-rbac", "-n", "az-ci", "--role", "Reader", "--scopes",
                      f"/subscriptions/{sub}/resourceGroups/rg-az-sp")
    assert [s["appId"] for s in az.json("ad", "sp", "list", "--display-name", "az-ci")] == [created["appId"]]
    assert az.json("ad", "sp", "show", "--id", created["appId"])["displayName"] == "az-ci"
    assignments = az.json("role", "assignment", "list", "--assignee", created["appId"], "--all")
    assert [(a["roleDefinitionName"], a["scope"]) for a in assignments] == \
        [("Reader", f"/subscriptions/{sub}/resourceGroups/rg-az-sp")]
    # The new principal logs in with the password it was given and sees its group's vaults only.
    other = Az(keyhold, pathlib.Path(tempfile.mkdtemp(prefix="keyhold-az-ci-")))
    register_and_login(keyhold, other, created["appId"], created["password"])
    names = [v["name"] for v in other.json("keyvault", "list")]
    assert names == ["kv-az-sp"], names
    denied = other.run(["group", "create", "-n", "rg-az-denied", "-l", "westeurope"], check=False)
    assert denied.returncode != 0 and "AuthorizationFailed" in denied.stderr
    print("\n".join(other.log))


def test_account_identity_and_customer_managed_key(keyhold, az):
    boot = keyhold.bootstrap
    sub = boot["subscriptionId"]
    az.run(["group", "create", "-n", "rg-az-ai", "-l", "westeurope", "-o", "none"])
    az.run(["keyvault", "create", "-n", "kv-az-cmk", "-g", "rg-az-ai", "--enable-rbac-authorization", "false",
            "--enable-purge-protection", "true", "--retention-days", "7", "-o", "none"])
    az.run(["keyvault", "key", "create", "--vault-name", "kv-az-cmk", "-n", "cmk", "--kty", "RSA", "--size", "2048",
            "-o", "none"])
    account = az.json("cognitiveservices", "account", "create", "-n", "ai-az", "-g", "rg-az-ai", "-l", "westeurope",
                      "--kind", "OpenAI", "--sku", "S0", "--assign-identity", "--yes")
    principal = account["identity"]["principalId"]
    encryption = json.dumps({"keySource": "Microsoft.KeyVault", "keyVaultProperties": {
        "keyName": "cmk", "keyVaultUri": f"https://kv-az-cmk.vault.localhost:{keyhold.port}/"}})
    # Without the identity's access the rule refuses it, as the service would.
    refused = az.run(["cognitiveservices", "account", "update", "-n", "ai-az", "-g", "rg-az-ai",
                      "--encryption", encryption], check=False)
    assert refused.returncode != 0 and "CmkIdentityAccessDenied" in refused.stderr, refused.stderr
    az.run(["keyvault", "set-policy", "-n", "kv-az-cmk", "--object-id", principal, "--key-permissions", "get",
            "wrapKey", "unwrapKey", "-o", "none"])
    updated = az.json("cognitiveservices", "account", "update", "-n", "ai-az", "-g", "rg-az-ai",
                      "--encryption", encryption)
    assert updated["properties"]["encryption"]["keyVaultProperties"]["keyName"] == "cmk"
    assert wait_for(lambda: encryption_status(keyhold, sub, "rg-az-ai", "ai-az") == "Active")
    shown = az.json("cognitiveservices", "account", "show", "-n", "ai-az", "-g", "rg-az-ai")
    assert shown["properties"]["encryption"]["keySource"] == "Microsoft.KeyVault"
    keys = az.json("cognitiveservices", "account", "keys", "list", "-n", "ai-az", "-g", "rg-az-ai")
    assert keys["key1"] and keys["key2"]
    assert "ai-az" in [a["name"] for a in az.json("cognitiveservices", "account", "list")]
    az.run(["cognitiveservices", "account", "delete", "-n", "ai-az", "-g", "rg-az-ai"])
    assert "ai-az" not in [a["name"] for a in az.json("cognitiveservices", "account", "list", "-g", "rg-az-ai")]
    assert re.fullmatch(r"[0-9a-f-]{36}", principal)


TEMPLATES = ROOT.parent / "shared" / "reference" / "templates"


def test_readme_template_deployment_runs_as_written(keyhold, az, tmp_path):
    """The README's `az deployment group create` of the Foundry customer-managed-key sample,
    as written, in a directory holding the sample's two files under the names the README uses,
    against the README's rg1 and kv1 (made by the example block above; its key was deleted
    there, so it is recovered first)."""
    boot = keyhold.bootstrap
    sub = boot["subscriptionId"]
    if not any(k["name"] == "cmk" for k in az.json("keyvault", "key", "list", "--vault-name", "kv1")):
        az.run(["keyvault", "key", "recover", "--vault-name", "kv1", "-n", "cmk", "-o", "none"])
    version = wait_for(lambda: az.json("keyvault", "key", "show", "--vault-name", "kv1", "-n", "cmk"))["key"]["kid"]
    version = version.rsplit("/", 1)[1]
    sample = "foundry-30-customer-managed-keys"
    (tmp_path / "azuredeploy.json").write_bytes((TEMPLATES / f"{sample}.azuredeploy.json").read_bytes())
    (tmp_path / "deployment.parameters.json").write_bytes(
        (TEMPLATES / f"{sample}.deployment.parameters.json").read_bytes())
    for line in readme_block("az deployment group create"):
        done = az.line(fill(line, keyhold, version=version), cwd=tmp_path)
        deployed = json.loads(done.stdout)
        assert deployed["properties"]["provisioningState"] == "Succeeded", deployed
    assert wait_for(lambda: encryption_status(keyhold, sub, "rg1", "foundry1") == "Active"), \
        encryption_status(keyhold, sub, "rg1", "foundry1")
