"""The api-version policy against what the pinned official clients really send: every default
api-version of the interop venv's packages and of the Azure CLI's own venv (its profile and the
azure-mgmt-*/azure-keyvault-* packages it installs) is accepted on its route; malformed and
too-old versions get ARM's `InvalidApiVersionParameter` (listing the supported ones) or, on the
Key Vault data plane, its own `BadParameter`."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest
import requests

import client_versions
from conftest import STORE
from helpers import admin_headers, create_resource_group, create_vault, credential

pytestmark = pytest.mark.skipif(STORE != "embedded", reason="no storage involved: embedded pass only")

HERE = pathlib.Path(__file__).resolve().parent
AZ = os.environ.get("KEYHOLD_AZ", str(HERE.parent / ".venv-az" / "bin" / "az"))


def az_python() -> str | None:
    python = pathlib.Path(AZ).parent / "python"
    return str(python) if python.exists() else None


def sent_versions() -> list[dict]:
    found = client_versions.collect()
    python = az_python()
    if python is None:
        if os.environ.get("CI"):
            raise AssertionError(f"the Azure CLI venv is missing ({AZ}); scripts/test creates it")
    else:
        out = subprocess.run([python, str(HERE / "client_versions.py")], check=True,
                             capture_output=True, text=True, timeout=120).stdout
        found += json.loads(out)
    return found


def route_for(keyhold, plane: str, vault: str) -> str:
    sub = keyhold.bootstrap["subscriptionId"]
    base = f"{keyhold.endpoint}/subscriptions/{sub}"
    return {
        "Microsoft.KeyVault": f"{base}/providers/Microsoft.KeyVault/vaults",
        "Microsoft.CognitiveServices": f"{base}/providers/Microsoft.CognitiveServices/accounts",
        "Microsoft.ManagedIdentity": f"{base}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.Resources": f"{base}/resourcegroups",
        "Microsoft.Resources/deployments": f"{base}/resourcegroups/rg-api-versions/providers/"
                                           "Microsoft.Resources/deployments",
        "KeyVaultData": f"{keyhold.vault_url(vault)}/keys",
    }[plane]


@pytest.fixture(scope="module")
def versions_vault(keyhold):
    rg = create_resource_group(keyhold, "rg-api-versions")
    create_vault(keyhold, rg, "kv-api-versions")
    return "kv-api-versions"


def headers_for(keyhold, plane: str) -> dict:
    if plane == "KeyVaultData":
        token = credential(keyhold).get_token(keyhold.bootstrap["vaultScope"]).token
        return {"Authorization": f"Bearer {token}"}
    return admin_headers(keyhold)


def test_every_version_the_pinned_clients_send_is_accepted(keyhold, versions_vault):
    found = sent_versions()
    planes = {f["plane"] for f in found}
    # The clients this project pins: each must have shown up, or the collector is broken.
    assert {"Microsoft.KeyVault", "Microsoft.CognitiveServices", "KeyVaultData", "Microsoft.Resources",
            "Microsoft.Resources/deployments"} <= planes, found
    if az_python() is not None:
        assert {"Microsoft.Resources", "Microsoft.ManagedIdentity"} <= planes, found
    failures = []
    for entry in found:
        url = route_for(keyhold, entry["plane"], versions_vault)
        response = requests.get(url, params={"api-version": entry["apiVersion"]},
                                headers=headers_for(keyhold, entry["plane"]), timeout=10)
        if response.status_code != 200:
            failures.append((entry, response.status_code, response.text[:300]))
    assert not failures, failures
    print("accepted:", *(f"{e['client']}: {e['apiVersion']}" for e in found), sep="\n  ")


@pytest.mark.parametrize("version", ["2014-01-01", "not-a-version", "2026-13-01", ""])
def test_arm_refuses_malformed_and_too_old_versions_listing_the_supported_ones(keyhold, version):
    url = route_for(keyhold, "Microsoft.KeyVault", "unused")
    response = requests.get(url, params={"api-version": version}, headers=admin_headers(keyhold), timeout=10)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "InvalidApiVersionParameter"
    assert "2026-02-01" in error["message"] and "2019-09-01" in error["message"], error


def test_arm_accepts_a_newer_version_than_it_knows(keyhold):
    url = route_for(keyhold, "Microsoft.CognitiveServices", "unused")
    response = requests.get(url, params={"api-version": "2099-12-31-preview"},
                            headers=admin_headers(keyhold), timeout=10)
    assert response.status_code == 200, response.text


def test_key_vault_refuses_with_its_own_error_shape(keyhold, versions_vault):
    url = route_for(keyhold, "KeyVaultData", versions_vault)
    headers = headers_for(keyhold, "KeyVaultData")
    response = requests.get(url, params={"api-version": "6.0"}, headers=headers, timeout=10)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadParameter" and "6.0" in error["message"], error
    newer = requests.get(url, params={"api-version": "2099-01-01-preview"}, headers=headers, timeout=10)
    assert newer.status_code == 200, newer.text


def test_providers_list_the_published_versions(keyhold):
    """`GET /subscriptions/{s}/providers[/{namespace}]` answers the same table the policy uses."""
    sub = keyhold.bootstrap["subscriptionId"]
    base = f"{keyhold.endpoint}/subscriptions/{sub}/providers"
    response = requests.get(f"{base}/microsoft.keyvault", params={"api-version": "2021-04-01"},
                            headers=admin_headers(keyhold), timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["namespace"] == "Microsoft.KeyVault" and body["registrationState"] == "Registered"
    vaults = next(t for t in body["resourceTypes"] if t["resourceType"] == "vaults")
    assert vaults["apiVersions"][0] == "2026-05-15" and "2019-09-01" in vaults["apiVersions"]
    every = requests.get(base, params={"api-version": "2021-04-01"}, headers=admin_headers(keyhold), timeout=10)
    assert every.status_code == 200, every.text
    namespaces = {p["namespace"] for p in every.json()["value"]}
    assert {"Microsoft.KeyVault", "Microsoft.CognitiveServices", "Microsoft.ManagedIdentity",
            "Microsoft.Authorization", "Microsoft.MachineLearningServices"} <= namespaces
    missing = requests.get(f"{base}/Microsoft.Nothing", params={"api-version": "2021-04-01"},
                           headers=admin_headers(keyhold), timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "InvalidResourceNamespace"


def test_generic_resource_list_filters_by_type_and_name(keyhold, versions_vault):
    """What `az keyvault list` and `az keyvault show` without `-g` send (azure-mgmt-keyvault's
    `vaults.list`, api-version 2015-11-01)."""
    sub = keyhold.bootstrap["subscriptionId"]
    url = f"{keyhold.endpoint}/subscriptions/{sub}/resources"
    for flt, expect in [("resourceType eq 'Microsoft.KeyVault/vaults'", True),
                        (f"resourceType eq 'Microsoft.KeyVault/vaults' and name eq '{versions_vault}'", True),
                        ("resourceType eq 'Microsoft.KeyVault/vaults' and name eq 'kv-none'", False),
                        ("resourceType eq 'Microsoft.CognitiveServices/accounts'", False)]:
        response = requests.get(url, params={"api-version": "2015-11-01", "$filter": flt, "$top": "100"},
                                headers=admin_headers(keyhold), timeout=10)
        assert response.status_code == 200, response.text
        names = [r["name"] for r in response.json()["value"]]
        assert (versions_vault in names) == expect, (flt, names)
    vault = next(r for r in requests.get(url, params={"api-version": "2021-04-01"},
                                         headers=admin_headers(keyhold), timeout=10).json()["value"]
                 if r["name"] == versions_vault)
    assert vault["type"] == "Microsoft.KeyVault/vaults" and vault["location"] == "westeurope"
    assert vault["id"].endswith(f"/resourceGroups/rg-api-versions/providers/Microsoft.KeyVault/vaults/{versions_vault}")
    assert "properties" not in vault
    bad = requests.get(url, params={"api-version": "2021-04-01", "$filter": "location eq 'x'"},
                       headers=admin_headers(keyhold), timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidFilterInQueryString"
