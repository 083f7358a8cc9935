"""Azure AI hubs and hub projects (`Microsoft.MachineLearningServices/workspaces`): hub
encryption fixed at creation, CMK through a user-assigned identity, service-side placement vs the
legacy managed resource group (read-only to users, deleted with the hub), hbiWorkspace."""
from __future__ import annotations

import requests

from helpers import admin_headers, create_resource_group, create_vault, key_client
from test_accounts import grant

RG = "hub-rg"
LOCATION = "westeurope"
API = "api-version=2025-09-01"


def ws_url(keyhold, name: str) -> str:
    sub = keyhold.bootstrap["subscriptionId"]
    return (f"{keyhold.endpoint}/subscriptions/{sub}/resourceGroups/{RG}/providers/"
            f"Microsoft.MachineLearningServices/workspaces/{name}?{API}")


def put(keyhold, name: str, body: dict):
    return requests.put(ws_url(keyhold, name), headers=admin_headers(keyhold), json=body, timeout=30)


def test_hubs_projects_and_the_managed_resource_group(keyhold):
    sub = keyhold.bootstrap["subscriptionId"]
    create_resource_group(keyhold, RG, LOCATION)
    # A Microsoft-managed hub; encryption cannot be switched on later.
    plain = put(keyhold, "hub-plain", {"location": LOCATION, "kind": "Hub", "identity": {"type": "SystemAssigned"}})
    assert plain.status_code == 201, plain.text
    assert plain.headers["Retry-After"] == "1" and "azure-asyncoperation" in {k.lower() for k in plain.headers}
    assert plain.json()["properties"]["encryption"]["status"] == "Disabled"
    assert plain.json()["properties"]["enableServiceSideCMKEncryption"] is True

    # A vault, a key and a user-assigned identity with access.
    create_vault(keyhold, RG, "hub-kv", enablePurgeProtection=True)
    key = key_client(keyhold, "hub-kv").create_rsa_key("cmk", size=2048)
    uai_id = f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/hub-uai"
    uai = requests.put(f"{keyhold.endpoint}{uai_id}?api-version=2023-01-31", headers=admin_headers(keyhold),
                       json={"location": LOCATION}, timeout=10).json()["properties"]
    grant(keyhold, "hub-kv", uai["principalId"], rg=RG)
    vault_id = f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/hub-kv"
    encryption = {"status": "Enabled", "keyVaultProperties": {
        "keyVaultArmId": vault_id, "keyIdentifier": key.id, "identityClientId": uai["clientId"]}}
    switched = requests.patch(ws_url(keyhold, "hub-plain"), headers=admin_headers(keyhold),
                              json={"properties": {"encryption": encryption}}, timeout=10)
    assert switched.status_code == 400 and switched.json()["error"]["code"] == "CmkSwitchNotAllowed", switched.text

    # CMK needs the user-assigned identity named.
    no_id = {"status": "Enabled", "keyVaultProperties": {"keyVaultArmId": vault_id, "keyIdentifier": key.id}}
    refused = put(keyhold, "hub-noid", {"location": LOCATION, "kind": "Hub", "identity": {"type": "SystemAssigned"},
                                        "properties": {"encryption": no_id}})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "CmkIdentityMissing", refused.text

    # Legacy placement: a managed resource group, read-only to users; hbiWorkspace kept.
    legacy = put(keyhold, "hub-legacy", {
        "location": LOCATION, "kind": "Hub",
        "identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {uai_id: {}}},
        "properties": {"encryption": encryption, "enableServiceSideCMKEncryption": False, "hbiWorkspace": True}})
    assert legacy.status_code == 201, legacy.text
    props = legacy.json()["properties"]
    assert props["encryption"]["status"] == "Enabled" and props["hbiWorkspace"] is True
    assert props["encryption"]["activeKeyVersion"] == key.properties.version
    managed = props["managedResourceGroup"]
    assert managed.rsplit("/", 1)[1].startswith("azureml-rg-hub-legacy_")
    rg = requests.get(f"{keyhold.endpoint}{managed}?api-version=2024-11-01", headers=admin_headers(keyhold), timeout=10)
    assert rg.status_code == 200 and rg.json()["managedBy"].endswith("/workspaces/hub-legacy"), rg.text
    write = requests.put(f"{keyhold.endpoint}{managed}?api-version=2024-11-01", headers=admin_headers(keyhold),
                         json={"location": LOCATION, "tags": {"mine": "1"}}, timeout=10)
    assert write.status_code == 403 and write.json()["error"]["code"] == "DenyAssignmentAuthorizationFailed"
    # Encryption stays on.
    off = requests.patch(ws_url(keyhold, "hub-legacy"), headers=admin_headers(keyhold),
                         json={"properties": {"encryption": {"status": "Disabled"}}}, timeout=10)
    assert off.status_code == 400 and off.json()["error"]["code"] == "CmkSwitchNotAllowed", off.text

    # Service-side placement (the default): no managed resource group.
    service = put(keyhold, "hub-service", {
        "location": LOCATION, "kind": "Hub",
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {uai_id: {}}},
        "properties": {"encryption": encryption}})
    assert service.status_code == 201, service.text
    assert "managedResourceGroup" not in service.json()["properties"]

    # Hub projects.
    hub_id = legacy.json()["id"]
    project = put(keyhold, "hub-proj", {"location": LOCATION, "kind": "Project",
                                        "properties": {"hubResourceId": hub_id, "friendlyName": "P"}})
    assert project.status_code == 201 and project.json()["properties"]["hubResourceId"] == hub_id, project.text
    orphan = put(keyhold, "hub-orphan", {"location": LOCATION, "kind": "Project",
                                         "properties": {"hubResourceId": hub_id.replace("hub-legacy", "nope")}})
    assert orphan.status_code == 400
    listed = requests.get(ws_url(keyhold, "x").replace("/x?", "?"), headers=admin_headers(keyhold), timeout=10)
    assert {w["name"] for w in listed.json()["value"]} >= {"hub-plain", "hub-legacy", "hub-service", "hub-proj"}

    # Deleting: a hub with projects is refused; then the project, then the hub and its group.
    busy = requests.delete(ws_url(keyhold, "hub-legacy"), headers=admin_headers(keyhold), timeout=10)
    assert busy.status_code == 400, busy.text
    assert requests.delete(ws_url(keyhold, "hub-proj"), headers=admin_headers(keyhold), timeout=10).status_code == 202
    assert requests.delete(ws_url(keyhold, "hub-legacy"), headers=admin_headers(keyhold), timeout=10).status_code == 202
    gone = requests.get(f"{keyhold.endpoint}{managed}?api-version=2024-11-01", headers=admin_headers(keyhold), timeout=10)
    assert gone.status_code == 404
    assert requests.get(ws_url(keyhold, "hub-legacy"), headers=admin_headers(keyhold), timeout=10).status_code == 404
