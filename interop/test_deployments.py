"""ARM template deployments (`Microsoft.Resources/deployments`) with the official SDK
(azure-mgmt-resource-deployments' DeploymentsMgmtClient, which azure-mgmt-resource 25+ moved the
deployments client to) and, when it is installed, the Azure CLI.

The Foundry customer-managed-key sample (``foundry-30-customer-managed-keys``) is deployed
verbatim from ``../shared/reference/templates`` with its parameters file, and the account,
project, model deployment, access policy and active key it leaves are compared with the same
resources made by hand through the direct ARM routes. Then one test per failure shape: a bad
parameter, a type keyhold does not host, a resource the caller may not write, an identity it
may not attach, a refused CMK rule; secure parameters never stored; a killed node's deployment
ends Failed; cancel.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.keyvault.keys import KeyClient
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.resource.deployments import DeploymentsMgmtClient

from conftest import ROOT, start_keyhold
from helpers import (ALL_KEY_PERMISSIONS, admin_headers, create_resource_group, create_service_principal, credential,
                     mgmt, policy, whoami)

TEMPLATES = ROOT.parent / "shared" / "reference" / "templates"
FOUNDRY = "foundry-30-customer-managed-keys"
LOCATION = "eastus2"  # the sample's parameters file
CS_API = "api-version=2025-06-01"
DEP_API = "api-version=2025-04-01"


def load(name: str) -> dict:
    path = TEMPLATES / name
    assert path.is_file(), f"reference template missing: {path}"
    return json.loads(path.read_text())


def deployments(keyhold, cred=None) -> DeploymentsMgmtClient:
    boot = keyhold.bootstrap
    return DeploymentsMgmtClient(cred or credential(keyhold), boot["subscriptionId"], base_url=keyhold.endpoint,
                                 credential_scopes=[boot["managementScope"]], polling_interval=1)


def cs(keyhold) -> CognitiveServicesManagementClient:
    boot = keyhold.bootstrap
    return CognitiveServicesManagementClient(credential(keyhold), boot["subscriptionId"], base_url=keyhold.endpoint,
                                             credential_scopes=[boot["managementScope"]], polling_interval=1)


def sub_url(keyhold) -> str:
    return f"{keyhold.endpoint}/subscriptions/{keyhold.bootstrap['subscriptionId']}"


def arm(keyhold, method: str, path: str, body=None, headers=None, api=CS_API):
    sep = "&" if "?" in path else "?"
    return requests.request(method, f"{sub_url(keyhold)}{path}{sep}{api}", headers=headers or admin_headers(keyhold),
                            json=body, timeout=60)


def make_cmk_vault(keyhold, rg: str, name: str, purge_protection: bool = True) -> str:
    """A vault in `rg` (the sample's region) and an RSA-2048 key; returns the key's version."""
    boot = keyhold.bootstrap
    props = {"tenantId": boot["tenantId"], "sku": {"family": "A", "name": "standard"}, "softDeleteRetentionInDays": 7,
             "accessPolicies": [policy(keyhold, whoami(keyhold)["objectId"], ALL_KEY_PERMISSIONS)]}
    if purge_protection:
        props["enablePurgeProtection"] = True
    mgmt(keyhold).vaults.begin_create_or_update(rg, name, {"location": LOCATION, "properties": props}).result()
    key = KeyClient(keyhold.vault_url(name), credential(keyhold)).create_rsa_key("cmk", size=2048)
    return key.properties.version


def foundry_parameters(account: str, vault: str, version: str) -> dict:
    params = load(f"{FOUNDRY}.deployment.parameters.json")
    values = {"aiFoundryName": account, "keyVaultName": vault, "keyName": "cmk", "keyVersion": version}
    for name, value in values.items():
        assert name in params["parameters"], name
        params["parameters"][name]["value"] = value
    return params["parameters"]


def codes(error: dict) -> list[str]:
    """Every code in an ARM error and its details, depth first."""
    out = [error.get("code")]
    for d in error.get("details") or []:
        out.extend(codes(d))
    return out


def find_detail(error: dict, code: str) -> dict | None:
    if error.get("code") == code:
        return error
    for d in error.get("details") or []:
        found = find_detail(d, code)
        if found:
            return found
    return None


def get_deployment(keyhold, rg: str, name: str, headers=None) -> dict:
    response = arm(keyhold, "GET", f"/resourcegroups/{rg}/providers/Microsoft.Resources/deployments/{name}",
                   headers=headers, api=DEP_API)
    assert response.status_code == 200, response.text
    return response.json()


def wait_terminal(keyhold, rg: str, name: str, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while True:
        d = get_deployment(keyhold, rg, name)
        if d["properties"]["provisioningState"] not in ("Accepted", "Running"):
            return d
        assert time.time() < deadline, f"deployment {name} still {d['properties']['provisioningState']}"
        time.sleep(0.3)


def normalized_account(a: dict) -> dict:
    enc = a["properties"]["encryption"]
    return {
        "kind": a["kind"], "sku": a["sku"], "location": a["location"], "identity": a["identity"]["type"],
        "allowProjectManagement": a["properties"]["allowProjectManagement"],
        "disableLocalAuth": a["properties"]["disableLocalAuth"],
        "keySource": enc["keySource"], "keyName": enc["keyVaultProperties"]["keyName"],
        "keyVersion": enc["keyVaultProperties"]["keyVersion"], "activeKeyVersion": enc["activeKeyVersion"],
        "status": enc["status"],
    }


@pytest.fixture(scope="module")
def foundry(keyhold):
    """The sample deployed by the SDK, and the same resources made by hand, in one group."""
    rg = create_resource_group(keyhold, "dep-foundry-rg", LOCATION)
    version = make_cmk_vault(keyhold, rg, "dep-foundry-kv")
    template = load(f"{FOUNDRY}.azuredeploy.json")
    parameters = foundry_parameters("dep-fdy-tmpl", "dep-foundry-kv", version)
    client = deployments(keyhold)
    poller = client.deployments.begin_create_or_update(
        rg, "foundry30", {"properties": {"mode": "Incremental", "template": template, "parameters": parameters}})
    result = poller.result()

    # By hand: the direct ARM routes the other interop tests use.
    base = "/resourceGroups/" + rg + "/providers/Microsoft.CognitiveServices/accounts/dep-fdy-hand"
    body = {"location": LOCATION, "kind": "AIServices", "sku": {"name": "S0"}, "identity": {"type": "SystemAssigned"},
            "properties": {"publicNetworkAccess": "Enabled", "allowProjectManagement": True,
                           "customSubDomainName": "dep-fdy-hand", "disableLocalAuth": False}}
    created = arm(keyhold, "PUT", base, body)
    assert created.status_code in (200, 201), created.text
    project = arm(keyhold, "PUT", base + "/projects/dep-fdy-hand-proj", {
        "location": LOCATION, "identity": {"type": "SystemAssigned"},
        "properties": {"displayName": "project", "description": "My first project"}})
    assert project.status_code in (200, 201), project.text
    model = arm(keyhold, "PUT", base + "/deployments/gpt-4.1-mini", {
        "sku": {"capacity": 1, "name": "GlobalStandard"},
        "properties": {"model": {"name": "gpt-4.1-mini", "format": "OpenAI", "version": "2025-04-14"}}})
    assert model.status_code in (200, 201), model.text
    principal = created.json()["identity"]["principalId"]
    mgmt(keyhold).vaults.update_access_policy(rg, "dep-foundry-kv", "add", {"properties": {"accessPolicies": [{
        "tenantId": keyhold.bootstrap["tenantId"], "objectId": principal,
        "permissions": {"keys": ["get", "wrapKey", "unwrapKey", "sign", "verify", "encrypt", "decrypt"],
                        "secrets": ["get", "list"]}}]}})
    body["properties"]["encryption"] = {"keySource": "Microsoft.KeyVault", "keyVaultProperties": {
        "keyVaultUri": keyhold.vault_url("dep-foundry-kv") + "/", "keyName": "cmk", "keyVersion": version}}
    encrypted = arm(keyhold, "PUT", base, body)
    assert encrypted.status_code == 200, encrypted.text
    return {"rg": rg, "version": version, "result": result, "template": template}


def test_the_foundry_sample_deploys_verbatim_like_by_hand(keyhold, foundry):
    rg, result = foundry["rg"], foundry["result"]
    assert result.properties.provisioning_state == "Succeeded", result.properties.error
    assert result.properties.outputs["accountName"]["value"] == "dep-fdy-tmpl"
    assert result.properties.outputs["accountId"]["value"].endswith("/accounts/dep-fdy-tmpl")
    client = cs(keyhold)
    by_template = client.accounts.get(rg, "dep-fdy-tmpl").as_dict()
    by_hand = client.accounts.get(rg, "dep-fdy-hand").as_dict()
    raw = {n: arm(keyhold, "GET", f"/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{n}").json()
           for n in ("dep-fdy-tmpl", "dep-fdy-hand")}
    assert normalized_account(raw["dep-fdy-tmpl"]) == normalized_account(raw["dep-fdy-hand"])
    assert raw["dep-fdy-tmpl"]["properties"]["encryption"]["status"] == "Active"
    assert raw["dep-fdy-tmpl"]["properties"]["encryption"]["activeKeyVersion"] == foundry["version"]
    # The sample's hard-coded https://{vault}.vault.azure.net/ named the local vault.
    assert by_template["properties"]["encryption"]["key_vault_properties"]["key_vault_uri"] == \
        "https://dep-foundry-kv.vault.azure.net/"
    assert by_hand["properties"]["encryption"]["key_source"] == "Microsoft.KeyVault"

    def project(account):
        p = arm(keyhold, "GET", f"/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{account}"
                               f"/projects/{account}-proj").json()
        return {"identity": p["identity"]["type"], "displayName": p["properties"]["displayName"],
                "description": p["properties"]["description"], "isDefault": p["properties"]["isDefault"]}

    assert project("dep-fdy-tmpl") == project("dep-fdy-hand")

    def model(account):
        d = client.deployments.get(rg, account, "gpt-4.1-mini").as_dict()
        return {"model": d["properties"]["model"], "sku": d["sku"]}

    assert model("dep-fdy-tmpl") == model("dep-fdy-hand")
    vault = arm(keyhold, "GET", f"/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/dep-foundry-kv",
                api="api-version=2024-11-01").json()
    granted = {p["objectId"]: p["permissions"] for p in vault["properties"]["accessPolicies"]}
    tmpl_principal = raw["dep-fdy-tmpl"]["identity"]["principalId"]
    hand_principal = raw["dep-fdy-hand"]["identity"]["principalId"]
    assert sorted(set(granted[tmpl_principal]["keys"])) == sorted(set(granted[hand_principal]["keys"]))
    assert granted[tmpl_principal]["secrets"] == granted[hand_principal]["secrets"] == ["get", "list"]
    assert {"get", "wrapKey", "unwrapKey"} <= set(granted[tmpl_principal]["keys"])


def test_the_deployment_its_nested_deployment_operations_and_export(keyhold, foundry):
    rg = foundry["rg"]
    client = deployments(keyhold)
    names = {d.name: d.properties.provisioning_state for d in client.deployments.list_by_resource_group(rg)}
    assert names == {"foundry30": "Succeeded", "updateEncryption": "Succeeded"}, names
    ops = list(client.deployment_operations.list(rg, "foundry30"))
    targets = sorted(o.properties.target_resource.resource_type for o in ops)
    assert targets == ["Microsoft.CognitiveServices/accounts", "Microsoft.CognitiveServices/accounts/deployments",
                       "Microsoft.CognitiveServices/accounts/projects", "Microsoft.Resources/deployments"], targets
    assert all(o.properties.provisioning_state == "Succeeded" for o in ops)
    one = client.deployment_operations.get(rg, "foundry30", ops[0].operation_id)
    assert one.operation_id == ops[0].operation_id
    nested_ops = list(client.deployment_operations.list(rg, "updateEncryption"))
    assert sorted(o.properties.target_resource.resource_type for o in nested_ops) == [
        "Microsoft.CognitiveServices/accounts", "Microsoft.KeyVault/vaults/accessPolicies"]
    exported = client.deployments.export_template(rg, "foundry30")
    assert exported.template == foundry["template"]
    assert client.deployments.check_existence(rg, "foundry30") is True
    assert client.deployments.check_existence(rg, "never-deployed") is False


def test_validate_and_what_if_with_the_sdk(keyhold, foundry):
    rg = foundry["rg"]
    client = deployments(keyhold)
    template = load(f"{FOUNDRY}.azuredeploy.json")
    fresh = {"properties": {"mode": "Incremental", "template": template,
                            "parameters": foundry_parameters("dep-fdy-new", "dep-foundry-kv", foundry["version"])}}
    validated = client.deployments.begin_validate(rg, "foundry30-check", fresh).result()
    ids = sorted(r.id.rsplit("/providers/", 1)[1] for r in validated.properties.validated_resources)
    assert ids == ["Microsoft.CognitiveServices/accounts/dep-fdy-new",
                   "Microsoft.CognitiveServices/accounts/dep-fdy-new/deployments/gpt-4.1-mini",
                   "Microsoft.CognitiveServices/accounts/dep-fdy-new/projects/dep-fdy-new-proj",
                   "Microsoft.Resources/deployments/updateEncryption"], ids
    what_if = client.deployments.begin_what_if(rg, "foundry30-check", fresh).result()
    changes = {c.resource_id.rsplit("/providers/", 1)[1]: c.change_type for c in what_if.changes}
    assert changes["Microsoft.CognitiveServices/accounts/dep-fdy-new"] == "Create", changes
    assert changes["Microsoft.CognitiveServices/accounts/dep-fdy-new/projects/dep-fdy-new-proj"] == "Create"
    # What-if wrote nothing.
    assert arm(keyhold, "GET", f"/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/dep-fdy-new"
               ).status_code == 404
    # Against what the sample deployed: nothing is created again.
    deployed = {"properties": {"mode": "Incremental", "template": template,
                               "parameters": foundry_parameters("dep-fdy-tmpl", "dep-foundry-kv", foundry["version"])}}
    again = client.deployments.begin_what_if(rg, "foundry30", deployed).result()
    kinds = {c.resource_id.rsplit("/providers/", 1)[1]: c.change_type for c in again.changes}
    assert kinds["Microsoft.CognitiveServices/accounts/dep-fdy-tmpl/projects/dep-fdy-tmpl-proj"] in ("NoChange", "Modify")
    assert "Create" not in {kinds["Microsoft.CognitiveServices/accounts/dep-fdy-tmpl"]}, kinds


def test_a_project_with_a_user_assigned_identity(keyhold, foundry, contributor):
    rg = foundry["rg"]
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0", "resources": [
                    {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
                     "name": "dep-proj-id", "location": LOCATION},
                    {"type": "Microsoft.CognitiveServices/accounts/projects", "apiVersion": "2025-06-01",
                     "name": "dep-fdy-tmpl/uai-proj", "location": LOCATION,
                     "dependsOn": ["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'dep-proj-id')]"],
                     "identity": {"type": "UserAssigned", "userAssignedIdentities": {
                         "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'dep-proj-id')]": {}}},
                     "properties": {"displayName": "with its own identity"}}],
                "outputs": {"clientId": {"type": "string", "value": "[reference(resourceId("
                            "'Microsoft.ManagedIdentity/userAssignedIdentities', 'dep-proj-id'), '2023-01-31').clientId]"}}}
    result = deployments(keyhold).deployments.begin_create_or_update(
        rg, "uai-project", {"properties": {"mode": "Incremental", "template": template}}).result()
    assert result.properties.provisioning_state == "Succeeded", result.properties.error
    project = arm(keyhold, "GET", f"/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/dep-fdy-tmpl"
                  "/projects/uai-proj").json()
    assert project["identity"]["type"] == "UserAssigned", project
    (uai_id, entry), = project["identity"]["userAssignedIdentities"].items()
    assert uai_id.endswith("/userAssignedIdentities/dep-proj-id")
    assert entry["clientId"] == result.properties.outputs["clientId"]["value"]
    # Attaching it needs assign/action on the identity itself: a Contributor of another group
    # may make projects there, but not with this identity.
    own = contributor["own"]
    base = f"/resourceGroups/{own}/providers/Microsoft.CognitiveServices/accounts/dep-own-fdy"
    made = arm(keyhold, "PUT", base, {"location": LOCATION, "kind": "AIServices", "sku": {"name": "S0"},
                                      "identity": {"type": "SystemAssigned"},
                                      "properties": {"allowProjectManagement": True}}, headers=contributor["headers"])
    assert made.status_code in (200, 201), made.text
    refused = arm(keyhold, "PUT", base + "/projects/stolen-proj", {"location": LOCATION, "identity": {
        "type": "UserAssigned", "userAssignedIdentities": {uai_id: {}}}, "properties": {}},
        headers=contributor["headers"])
    assert refused.status_code == 403 and "assign/action" in refused.json()["error"]["message"], refused.text
    allowed = arm(keyhold, "PUT", base + "/projects/own-proj", {"location": LOCATION,
                                                               "identity": {"type": "SystemAssigned"}, "properties": {}},
                  headers=contributor["headers"])
    assert allowed.status_code in (200, 201), allowed.text


def test_a_bad_parameter_is_a_400_invalid_template_with_its_path(keyhold, foundry):
    template = load(f"{FOUNDRY}.azuredeploy.json")
    parameters = foundry_parameters("dep-fdy-bad", "dep-foundry-kv", foundry["version"])
    parameters["keyName"] = {"value": 42}
    with pytest.raises(HttpResponseError) as caught:
        deployments(keyhold).deployments.begin_create_or_update(
            foundry["rg"], "bad-param", {"properties": {"mode": "Incremental", "template": template,
                                                        "parameters": parameters}})
    assert caught.value.status_code == 400
    error = caught.value.response.json()["error"]
    assert error["code"] == "InvalidTemplate", error
    assert error["additionalInfo"][0]["info"]["path"] == "parameters.keyName", error
    # Nothing was accepted.
    response = arm(keyhold, "GET", f"/resourcegroups/{foundry['rg']}/providers/Microsoft.Resources/deployments/bad-param",
                   api=DEP_API)
    assert response.status_code == 404, response.text


def test_a_subscription_deployment_creates_a_group_and_deploys_into_it(keyhold):
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"rgName": {"type": "string"}},
        "resources": [
            {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01",
             "name": "[parameters('rgName')]", "location": "[deployment().location]"},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2025-04-01", "name": "into-group",
             "resourceGroup": "[parameters('rgName')]",
             "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('rgName'))]"],
             "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"}, "template": {
                 "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                 "contentVersion": "1.0.0.0", "resources": [{
                     "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
                     "name": "dep-sub-id", "location": "[resourceGroup().location]"}]}}}],
        "outputs": {"group": {"type": "string",
                              "value": "[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('rgName'))]"}}}
    client = deployments(keyhold)
    body = {"location": "northeurope", "properties": {"mode": "Incremental", "template": template,
                                                       "parameters": {"rgName": {"value": "dep-sub-made-rg"}}}}
    assert client.deployments.begin_validate_at_subscription_scope("sub-deploy", body).result() \
        .properties.provisioning_state == "Succeeded"
    result = client.deployments.begin_create_or_update_at_subscription_scope("sub-deploy", body).result()
    assert result.properties.provisioning_state == "Succeeded", result.properties.error
    sub = keyhold.bootstrap["subscriptionId"]
    assert result.id == f"/subscriptions/{sub}/providers/Microsoft.Resources/deployments/sub-deploy"
    assert result.location == "northeurope"
    assert result.properties.outputs["group"]["value"] == f"/subscriptions/{sub}/resourceGroups/dep-sub-made-rg"
    group = arm(keyhold, "GET", "/resourcegroups/dep-sub-made-rg", api="api-version=2024-11-01").json()
    assert group["location"] == "northeurope"
    identity = arm(keyhold, "GET", "/resourceGroups/dep-sub-made-rg/providers/Microsoft.ManagedIdentity/"
                   "userAssignedIdentities/dep-sub-id", api="api-version=2023-01-31")
    assert identity.status_code == 200 and identity.json()["location"] == "northeurope", identity.text
    assert [d.name for d in client.deployments.list_at_subscription_scope()] == ["sub-deploy"]
    assert [d.name for d in client.deployments.list_by_resource_group("dep-sub-made-rg")] == ["into-group"]
    # A subscription deployment needs a location, as in ARM.
    with pytest.raises(HttpResponseError) as caught:
        client.deployments.begin_create_or_update_at_subscription_scope(
            "no-location", {"properties": {"mode": "Incremental", "template": template,
                                           "parameters": {"rgName": {"value": "x"}}}})
    assert caught.value.status_code == 400
    client.deployments.begin_delete_at_subscription_scope("sub-deploy").result()
    assert client.deployments.check_existence_at_subscription_scope("sub-deploy") is False


def audit_entries(keyhold) -> list[dict]:
    entries, after = [], 0
    for _ in range(200):
        page = requests.get(f"{keyhold.endpoint}/keyhold/v1/audit?after={after}&top=1000",
                            headers=admin_headers(keyhold), timeout=10).json()["value"]
        entries.extend(page)
        if len(page) < 1000:
            return entries
        after = page[-1]["seq"]
    return entries


def test_the_hub_quickstart_prerequisites_create_a_vault_and_a_control_plane_key(keyhold):
    rg = create_resource_group(keyhold, "dep-prereq-rg", "westeurope")
    template = load("quickstart-aistudio-cmk-service-side-encryption.prereq.azuredeploy.json")
    parameters = {"keyVaultName": {"value": "dep-prereq-kv"}, "location": {"value": "westeurope"},
                  "cosmosDbId": {"value": str(uuid.uuid4())}, "keyName": {"value": "cmk"}}
    client = deployments(keyhold)
    first = client.deployments.begin_create_or_update(rg, "prereq", {"properties": {
        "mode": "Incremental", "template": template, "parameters": parameters}}).result()
    assert first.properties.provisioning_state == "Succeeded", first.properties.error
    outputs = {k: v["value"] for k, v in first.properties.outputs.items()}
    assert outputs["cmk_keyvault_vault_uri"] == keyhold.vault_url("dep-prereq-kv") + "/"
    version = outputs["cmk_keyvault_key_version"]
    key = arm(keyhold, "GET", f"/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/dep-prereq-kv/keys/cmk",
              api="api-version=2024-11-01").json()
    assert key["properties"]["keyUriWithVersion"] == f"{keyhold.vault_url('dep-prereq-kv')}/keys/cmk/{version}"
    assert key["properties"]["kty"] == "RSA" and key["properties"]["keySize"] == 2048
    assert key["properties"]["keyOps"] == ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
    vault = arm(keyhold, "GET", f"/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/dep-prereq-kv",
                api="api-version=2024-11-01").json()
    assert vault["properties"]["enablePurgeProtection"] is True
    # The key was made by the vault service, audited as the data plane's create is.
    created = [e for e in audit_entries(keyhold)
               if e["operation"] == "KeyCreate" and e.get("vault") == "dep-prereq-kv"]
    assert [e.get("version") for e in created] == [version], created
    # Deploying again answers the existing key: no second version.
    again = client.deployments.begin_create_or_update(rg, "prereq", {"properties": {
        "mode": "Incremental", "template": template, "parameters": parameters}}).result()
    assert again.properties.outputs["cmk_keyvault_key_version"]["value"] == version


def unhosted_template() -> dict:
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "resources": [
                {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01", "name": "depstore1",
                 "location": "[resourceGroup().location]", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}},
                {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
                 "name": "dep-independent", "location": "[resourceGroup().location]"}]}


def test_an_unhosted_type_fails_the_deployment_with_no_registered_provider(keyhold):
    rg = create_resource_group(keyhold, "dep-unhosted-rg", LOCATION)
    poller = deployments(keyhold).deployments.begin_create_or_update(
        rg, "unhosted", {"properties": {"mode": "Incremental", "template": unhosted_template()}})
    with pytest.raises(HttpResponseError):
        poller.result()
    d = get_deployment(keyhold, rg, "unhosted")
    assert d["properties"]["provisioningState"] == "Failed"
    error = d["properties"]["error"]
    assert error["code"] == "DeploymentFailed"
    detail = find_detail(error, "NoRegisteredProviderFound")
    assert detail and "storageAccounts" in detail["message"] and "2023-05-01" in detail["message"], error
    # The independent resource was still deployed, as ARM does.
    assert arm(keyhold, "GET", f"/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
               "dep-independent", api="api-version=2023-01-31").status_code == 200
    # validate (what az runs first) refuses it up front.
    with pytest.raises(HttpResponseError) as caught:
        deployments(keyhold).deployments.begin_validate(
            rg, "unhosted-check", {"properties": {"mode": "Incremental", "template": unhosted_template()}}).result()
    body = caught.value.response.json()["error"]
    assert body["code"] == "InvalidTemplateDeployment" and "NoRegisteredProviderFound" in codes(body), body


@pytest.fixture(scope="module")
def contributor(keyhold):
    """A principal that is Contributor of dep-own-rg only, and a group it has no role in."""
    own = create_resource_group(keyhold, "dep-own-rg", LOCATION)
    other = create_resource_group(keyhold, "dep-other-rg", LOCATION)
    sp = create_service_principal(keyhold, "dep-contributor")
    scope = f"/subscriptions/{keyhold.bootstrap['subscriptionId']}/resourceGroups/{own}"
    response = requests.put(
        f"{keyhold.endpoint}{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        "?api-version=2022-04-01", headers=admin_headers(keyhold), timeout=10,
        json={"properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/"
                                                 "b24988ac-6180-42a0-ab88-20f7382dd24c", "principalId": sp["id"]}})
    assert response.status_code in (200, 201), response.text
    cred = credential(keyhold, sp["appId"], sp["clientSecret"])
    token = cred.get_token(keyhold.bootstrap["managementScope"]).token
    return {"own": own, "other": other, "cred": cred, "headers": {"Authorization": f"Bearer {token}"}}


def test_a_resource_the_caller_may_not_write_fails_with_authorization_failed(keyhold, contributor):
    own, other = contributor["own"], contributor["other"]
    client = deployments(keyhold, contributor["cred"])
    # Straight into the other group: the route itself refuses.
    with pytest.raises(HttpResponseError) as caught:
        client.deployments.begin_create_or_update(other, "intrude", {"properties": {"mode": "Incremental",
                                                                                   "template": unhosted_template()}})
    assert caught.value.status_code == 403
    # From its own group, through a nested deployment into the other one.
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0", "resources": [{
                    "type": "Microsoft.Resources/deployments", "apiVersion": "2025-04-01", "name": "sideways",
                    "resourceGroup": other, "properties": {"mode": "Incremental", "template": {
                        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                        "contentVersion": "1.0.0.0", "resources": [{
                            "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
                            "name": "dep-planted", "location": LOCATION}]}}}]}
    poller = client.deployments.begin_create_or_update(own, "sideways", {"properties": {"mode": "Incremental",
                                                                                       "template": template}})
    with pytest.raises(HttpResponseError):
        poller.result()
    d = get_deployment(keyhold, own, "sideways")
    assert d["properties"]["provisioningState"] == "Failed"
    # Deploying into the other group needs its read and write grants: the nested deployment
    # is refused with the caller's own AuthorizationFailed, naming that group.
    detail = find_detail(d["properties"]["error"], "AuthorizationFailed")
    assert detail and other in detail["message"], d["properties"]["error"]
    # Nothing was written there.
    assert arm(keyhold, "GET", f"/resourceGroups/{other}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
               "dep-planted", api="api-version=2023-01-31").status_code == 404
    # A resource of its own group that it may not write (Contributor may not assign roles):
    # validate refuses it before anything runs, and a deployment fails with the same code.
    owner_role = {"$schema": template["$schema"], "contentVersion": "1.0.0.0", "resources": [{
        "type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
        "name": "[guid(resourceGroup().id, 'dep-escalate')]",
        "properties": {"roleDefinitionId": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', "
                                           "'8e3af657-a8ff-443c-a75c-2fe8c4bcb635')]",
                       "principalId": whoami(keyhold, contributor["cred"])["objectId"]}}]}
    with pytest.raises(HttpResponseError) as caught:
        client.deployments.begin_validate(own, "escalate", {"properties": {"mode": "Incremental",
                                                                         "template": owner_role}}).result()
    body = caught.value.response.json()["error"]
    assert body["code"] == "InvalidTemplateDeployment" and "AuthorizationFailed" in codes(body), body
    poller = client.deployments.begin_create_or_update(own, "escalate", {"properties": {"mode": "Incremental",
                                                                                       "template": owner_role}})
    with pytest.raises(HttpResponseError):
        poller.result()
    error = get_deployment(keyhold, own, "escalate")["properties"]["error"]
    assert "AuthorizationFailed" in codes(error), error
    me = whoami(keyhold, contributor["cred"])["objectId"]
    listed = arm(keyhold, "GET", f"/resourceGroups/{own}/providers/Microsoft.Authorization/roleAssignments",
                 api="api-version=2022-04-01").json()["value"]
    mine = [a["properties"]["roleDefinitionId"].rsplit("/", 1)[1] for a in listed
            if a["properties"]["principalId"] == me]
    assert mine == ["b24988ac-6180-42a0-ab88-20f7382dd24c"], listed


def test_a_template_cannot_attach_an_identity_the_caller_may_not_assign(keyhold, contributor):
    own, other = contributor["own"], contributor["other"]
    uai = arm(keyhold, "PUT", f"/resourceGroups/{other}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
              "dep-foreign-id", {"location": LOCATION}, api="api-version=2023-01-31")
    assert uai.status_code in (200, 201), uai.text
    uai_id = uai.json()["id"]
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0", "resources": [{
                    "type": "Microsoft.CognitiveServices/accounts", "apiVersion": "2025-06-01",
                    "name": "dep-borrower", "location": LOCATION, "kind": "OpenAI", "sku": {"name": "S0"},
                    "identity": {"type": "UserAssigned", "userAssignedIdentities": {uai_id: {}}},
                    "properties": {}}]}
    poller = deployments(keyhold, contributor["cred"]).deployments.begin_create_or_update(
        own, "borrow", {"properties": {"mode": "Incremental", "template": template}})
    with pytest.raises(HttpResponseError):
        poller.result()
    error = get_deployment(keyhold, own, "borrow")["properties"]["error"]
    detail = find_detail(error, "AuthorizationFailed")
    assert detail and "assign/action" in detail["message"], error
    assert arm(keyhold, "GET", f"/resourceGroups/{own}/providers/Microsoft.CognitiveServices/accounts/dep-borrower"
               ).status_code == 404


def test_a_refused_cmk_rule_fails_with_that_rules_code(keyhold):
    rg = create_resource_group(keyhold, "dep-nopurge-rg", LOCATION)
    version = make_cmk_vault(keyhold, rg, "dep-nopurge-kv", purge_protection=False)
    parameters = foundry_parameters("dep-fdy-nopurge", "dep-nopurge-kv", version)
    poller = deployments(keyhold).deployments.begin_create_or_update(
        rg, "foundry30", {"properties": {"mode": "Incremental", "template": load(f"{FOUNDRY}.azuredeploy.json"),
                                         "parameters": parameters}})
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert "CmkVaultPurgeProtectionRequired" in str(caught.value)
    d = get_deployment(keyhold, rg, "foundry30")
    assert d["properties"]["provisioningState"] == "Failed"
    assert "CmkVaultPurgeProtectionRequired" in codes(d["properties"]["error"]), d["properties"]["error"]
    # The account stays on Microsoft-managed keys, as a refused direct request leaves it.
    account = arm(keyhold, "GET", f"/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/"
                  "dep-fdy-nopurge").json()
    assert account["properties"]["encryption"]["keySource"] == "Microsoft.CognitiveServices"


def test_secure_parameters_are_never_stored_nor_echoed(keyhold):
    rg = create_resource_group(keyhold, "dep-secure-rg", LOCATION)
    secret = f"S3cret-{uuid.uuid4()}"
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0",
                "parameters": {"password": {"type": "securestring"}, "label": {"type": "string"}},
                "resources": [{"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
                               "name": "[parameters('label')]", "location": LOCATION,
                               "tags": {"length": "[string(length(parameters('password')))]"}}],
                "outputs": {"hidden": {"type": "securestring", "value": "[parameters('password')]"}}}
    result = deployments(keyhold).deployments.begin_create_or_update(rg, "secure", {"properties": {
        "mode": "Incremental", "template": template,
        "parameters": {"password": {"value": secret}, "label": {"value": "dep-secure-id"}}}}).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert result.properties.parameters["password"] == {"type": "SecureString"}, result.properties.parameters
    assert "value" not in result.properties.outputs["hidden"]
    seen = [get_deployment(keyhold, rg, "secure"),
            arm(keyhold, "GET", f"/resourcegroups/{rg}/providers/Microsoft.Resources/deployments", api=DEP_API).json(),
            arm(keyhold, "GET", f"/resourcegroups/{rg}/providers/Microsoft.Resources/deployments/secure/operations",
                api=DEP_API).json()]
    for answer in seen:
        assert secret not in json.dumps(answer)
    # Nothing in the data directory holds it (records, audit log, blobs).
    for path in keyhold.data_dir.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def slow_template(count: int) -> dict:
    """`count` identities, one after the other (serial copy loops of at most 800, chained)."""
    resources = []
    for loop in range((count + 799) // 800):
        n = min(800, count - loop * 800)
        resource = {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
                    "name": f"[format('dep-slow-{loop}-{{0}}', copyIndex())]",
                    "location": "[resourceGroup().location]",
                    "copy": {"name": f"ids{loop}", "count": n, "mode": "serial", "batchSize": 1}}
        if loop:
            resource["dependsOn"] = [f"ids{loop - 1}"]
        resources.append(resource)
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "resources": resources}


def put_deployment(server, rg: str, name: str, template: dict):
    boot = server.bootstrap
    token = credential(server).get_token(boot["managementScope"]).token
    return requests.put(f"{server.endpoint}/subscriptions/{boot['subscriptionId']}/resourcegroups/{rg}/providers/"
                        f"Microsoft.Resources/deployments/{name}?{DEP_API}",
                        headers={"Authorization": f"Bearer {token}"}, timeout=30,
                        json={"properties": {"mode": "Incremental", "template": template}})


def test_cancel_stops_a_running_deployment(keyhold):
    rg = create_resource_group(keyhold, "dep-cancel-rg", LOCATION)
    accepted = put_deployment(keyhold, rg, "long", slow_template(2000))
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["properties"]["provisioningState"] == "Accepted"
    status_url = accepted.headers["Azure-AsyncOperation"]
    assert "/providers/Microsoft.Resources/deployments/long/operationStatuses/" in status_url
    time.sleep(1.5)
    poll = requests.get(status_url, headers=admin_headers(keyhold), timeout=10)
    assert poll.status_code == 200 and poll.json()["status"] == "Running", poll.text
    assert poll.headers["Retry-After"] == "1"
    again = put_deployment(keyhold, rg, "long", slow_template(1))
    assert again.status_code == 409 and again.json()["error"]["code"] == "DeploymentActive", again.text
    deployments(keyhold).deployments.cancel(rg, "long")
    d = wait_terminal(keyhold, rg, "long", timeout=20)
    assert d["properties"]["provisioningState"] == "Canceled"
    assert requests.get(status_url, headers=admin_headers(keyhold), timeout=10).json()["status"] == "Canceled"
    done = len(get_deployment(keyhold, rg, "long")["properties"]["outputResources"])
    assert 0 < done < 2000, done
    response = arm(keyhold, "POST", f"/resourcegroups/{rg}/providers/Microsoft.Resources/deployments/long/cancel",
                   api=DEP_API)
    assert response.status_code == 409, response.text


def test_a_killed_nodes_deployment_ends_failed_and_redeploys(tmp_path, monkeypatch):
    server = start_keyhold(tmp_path / "data")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca)
    try:
        rg = create_resource_group(server, "dep-kill-rg", LOCATION)
        accepted = put_deployment(server, rg, "long", slow_template(3000))
        assert accepted.status_code == 201, accepted.text
        time.sleep(4)
        assert get_deployment(server, rg, "long")["properties"]["provisioningState"] == "Running"
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        server = start_keyhold(tmp_path / "data")
        d = wait_terminal(server, rg, "long", timeout=40)
        assert d["properties"]["provisioningState"] == "Failed", d
        assert "DeploymentInterrupted" in codes(d["properties"]["error"]), d["properties"]["error"]
        # What was deployed before the kill is listed.
        assert d["properties"]["outputResources"], d
        # Deploying again finishes the job.
        again = put_deployment(server, rg, "long", slow_template(5))
        assert again.status_code == 200, again.text
        assert wait_terminal(server, rg, "long")["properties"]["provisioningState"] == "Succeeded"
    finally:
        server.stop()


def test_the_vault_alias_can_be_turned_off(tmp_path, monkeypatch):
    server = start_keyhold(tmp_path / "data", "--azure-vault-alias", "false")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca)
    try:
        rg = create_resource_group(server, "dep-noalias-rg", LOCATION)
        version = make_cmk_vault(server, rg, "dep-noalias-kv")
        poller = deployments(server).deployments.begin_create_or_update(
            rg, "foundry30", {"properties": {"mode": "Incremental", "template": load(f"{FOUNDRY}.azuredeploy.json"),
                                             "parameters": foundry_parameters("dep-fdy-noalias", "dep-noalias-kv",
                                                                              version)}})
        with pytest.raises(HttpResponseError):
            poller.result()
        error = get_deployment(server, rg, "foundry30")["properties"]["error"]
        detail = find_detail(error, "InvalidKeyVaultUri")
        assert detail and "vault.azure.net" in detail["message"], error
    finally:
        server.stop()


def az_executable() -> str | None:
    beside = pathlib.Path(sys.executable).parent / "az"
    return str(beside) if beside.exists() else shutil.which("az")


@pytest.mark.skipif(az_executable() is None, reason="azure-cli is not installed in this environment")
def test_az_deployment_group_create_runs_the_sample(keyhold, tmp_path):
    rg = create_resource_group(keyhold, "dep-az-rg", LOCATION)
    version = make_cmk_vault(keyhold, rg, "dep-az-kv")
    boot = keyhold.bootstrap
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHOLD_")}
    env.update({"AZURE_CONFIG_DIR": str(tmp_path / "az"), "REQUESTS_CA_BUNDLE": keyhold.ca,
                "AZURE_CORE_COLLECT_TELEMETRY": "false", "AZURE_CORE_NO_COLOR": "true"})
    az = az_executable()

    def run(*args):
        done = subprocess.run([az, *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"az {' '.join(args)}:\n{done.stderr}"
        return done.stdout

    run("cloud", "register", "-n", "keyhold", "--skip-endpoint-discovery",
        "--endpoint-resource-manager", keyhold.endpoint + "/", "--endpoint-active-directory", keyhold.endpoint,
        "--endpoint-active-directory-resource-id", boot["managementScope"].removesuffix("/.default"),
        "--suffix-keyvault-dns", f".{boot['vaultDomain']}:{keyhold.port}")
    run("cloud", "set", "-n", "keyhold")
    run("config", "set", "core.instance_discovery=false")
    run("login", "--service-principal", "-u", boot["clientId"], "-p", boot["clientSecret"], "--tenant",
        boot["tenantId"])
    out = run("deployment", "group", "create", "-g", rg, "-n", "foundry30-az",
              "--template-file", str(TEMPLATES / f"{FOUNDRY}.azuredeploy.json"),
              "--parameters", f"@{TEMPLATES / f'{FOUNDRY}.deployment.parameters.json'}",
              "--parameters", "aiFoundryName=dep-fdy-az", "keyVaultName=dep-az-kv", "keyName=cmk",
              f"keyVersion={version}")
    assert json.loads(out)["properties"]["provisioningState"] == "Succeeded"
    account = arm(keyhold, "GET", f"/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/dep-fdy-az")
    assert account.json()["properties"]["encryption"]["status"] == "Active", account.text
    shown = json.loads(run("deployment", "group", "show", "-g", rg, "-n", "foundry30-az"))
    assert shown["properties"]["outputs"]["accountName"]["value"] == "dep-fdy-az"
