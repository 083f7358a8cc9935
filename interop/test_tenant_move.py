"""Moving a subscription to another tenant (the source documents' tenant caveat): the account's
managed identity does not move, so its customer-managed key stops working (`CmkTenantMoved`,
data kept, downloads refused), and access comes back once the account is configured again in
the new tenant: a new identity, an access policy in the (moved) vault, the key unchanged.
Driven with azure-identity, azure-mgmt-keyvault, azure-mgmt-cognitiveservices, azure-keyvault-keys
and openai, with the new tenant's own administrator."""
from __future__ import annotations

import openai
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import ClientSecretCredential
from azure.keyvault.keys import KeyClient
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.keyvault import KeyVaultManagementClient

from helpers import ALL_KEY_PERMISSIONS, RG_API, admin_headers, credential, whoami
from test_accounts import wait_for
from test_files import ai_client

API = "api-version=2025-09-01"
LOCATION = "westeurope"
RG = "move-rg"
VAULT = "move-kv"
ACCOUNT = "acct-moving"
DATA = b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n' * 50


def headers_for(keyhold, cred) -> dict:
    return {"Authorization": f"Bearer {cred.get_token(keyhold.bootstrap['managementScope']).token}"}


def directory(keyhold, method: str, path: str, cred=None, **body):
    headers = headers_for(keyhold, cred) if cred else admin_headers(keyhold)
    return requests.request(method, f"{keyhold.endpoint}/keyhold/v1/{path}", headers=headers,
                            json=body or None, timeout=30)


def arm_url(keyhold, sub: str, path: str) -> str:
    return f"{keyhold.endpoint}/subscriptions/{sub}/resourceGroups/{RG}/providers/{path}?{API}"


def vault_mgmt(keyhold, cred, sub: str) -> KeyVaultManagementClient:
    return KeyVaultManagementClient(cred, sub, base_url=keyhold.endpoint,
                                    credential_scopes=[keyhold.bootstrap["managementScope"]])


def grant(keyhold, cred, sub: str, tenant: str, object_id: str, keys: list[str]):
    vault_mgmt(keyhold, cred, sub).vaults.update_access_policy(RG, VAULT, "add", {"properties": {"accessPolicies": [
        {"tenantId": tenant, "objectId": object_id, "permissions": {"keys": keys}}]}})


def account(keyhold, cred, sub: str) -> dict:
    response = requests.get(arm_url(keyhold, sub, f"Microsoft.CognitiveServices/accounts/{ACCOUNT}"),
                            headers=headers_for(keyhold, cred), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def patch_account(keyhold, cred, sub: str, body: dict) -> requests.Response:
    return requests.patch(arm_url(keyhold, sub, f"Microsoft.CognitiveServices/accounts/{ACCOUNT}"),
                          headers=headers_for(keyhold, cred), json=body, timeout=30)


@pytest.fixture(scope="module")
def other_tenant(keyhold):
    """A second tenant with its own administrator (made by the directory administrator)."""
    created = directory(keyhold, "POST", "tenants", displayName="contoso")
    assert created.status_code == 201, created.text
    body = created.json()
    admin = body["admin"]
    cred = ClientSecretCredential(body["tenantId"], admin["appId"], admin["clientSecret"],
                                  authority=keyhold.bootstrap["authority"], disable_instance_discovery=True)
    return body["tenantId"], admin["objectId"], cred


def test_tenants_and_subscriptions_are_separated(keyhold, other_tenant):
    tenant_b, admin_b, cred_b = other_tenant
    home = keyhold.bootstrap["tenantId"]
    assert whoami(keyhold, cred_b)["tenantId"] == tenant_b
    listed = directory(keyhold, "GET", "tenants").json()["value"]
    assert {home, tenant_b} <= {t["tenantId"] for t in listed}
    # The new administrator manages its own tenant and nothing else.
    assert directory(keyhold, "GET", "tenants", cred_b).status_code == 403
    assert directory(keyhold, "GET", f"tenants/{home}/servicePrincipals", cred_b).status_code == 401
    sp = directory(keyhold, "POST", f"tenants/{tenant_b}/servicePrincipals", cred_b, displayName="b-app")
    assert sp.status_code == 201 and sp.json()["appOwnerOrganizationId"] == tenant_b, sp.text
    own = directory(keyhold, "POST", f"tenants/{tenant_b}/subscriptions", cred_b, displayName="b-sub")
    assert own.status_code == 201 and own.json()["tenantId"] == tenant_b, own.text
    listed = requests.get(f"{keyhold.endpoint}/subscriptions?api-version=2022-12-01",
                          headers=headers_for(keyhold, cred_b), timeout=10).json()["value"]
    assert [s["subscriptionId"] for s in listed] == [own.json()["subscriptionId"]]
    # ... and cannot use the home tenant's subscription.
    home_sub = keyhold.bootstrap["subscriptionId"]
    response = requests.get(f"{keyhold.endpoint}/subscriptions/{home_sub}/resourcegroups?{RG_API}",
                            headers=headers_for(keyhold, cred_b), timeout=10)
    assert response.status_code == 401, response.text


def test_moved_subscription_loses_and_regains_its_customer_managed_key(keyhold, other_tenant):
    tenant_b, admin_b, cred_b = other_tenant
    home = keyhold.bootstrap["tenantId"]
    cred_a = credential(keyhold)
    me = whoami(keyhold)["objectId"]
    created = directory(keyhold, "POST", f"tenants/{home}/subscriptions", displayName="to-move")
    assert created.status_code == 201, created.text
    sub = created.json()["subscriptionId"]

    # An OpenAI account with a customer-managed key in a vault of the same subscription.
    assert requests.put(f"{keyhold.endpoint}/subscriptions/{sub}/resourcegroups/{RG}?{RG_API}",
                        headers=admin_headers(keyhold), json={"location": LOCATION}, timeout=10).status_code == 201
    vault_mgmt(keyhold, cred_a, sub).vaults.begin_create_or_update(RG, VAULT, {"location": LOCATION, "properties": {
        "tenantId": home, "sku": {"family": "A", "name": "standard"}, "softDeleteRetentionInDays": 7,
        "enablePurgeProtection": True,
        "accessPolicies": [{"tenantId": home, "objectId": me, "permissions": {"keys": ALL_KEY_PERMISSIONS}}]}}).result()
    KeyClient(keyhold.vault_url(VAULT), cred_a).create_rsa_key("cmk", size=2048)
    cs = CognitiveServicesManagementClient(cred_a, sub, base_url=keyhold.endpoint, polling_interval=1,
                                           credential_scopes=[keyhold.bootstrap["managementScope"]])
    before = cs.accounts.begin_create(RG, ACCOUNT, {"location": LOCATION, "kind": "OpenAI", "sku": {"name": "S0"},
                                                    "identity": {"type": "SystemAssigned"}}).result()
    old_identity = before.identity.principal_id
    grant(keyhold, cred_a, sub, home, old_identity, ["get", "wrapKey", "unwrapKey"])
    encryption = {"keySource": "Microsoft.KeyVault",
                  "keyVaultProperties": {"keyVaultUri": keyhold.vault_url(VAULT) + "/", "keyName": "cmk"}}
    assert patch_account(keyhold, cred_a, sub, {"properties": {"encryption": encryption}}).status_code == 200
    assert account(keyhold, cred_a, sub)["properties"]["encryption"]["status"] == "Active"
    keys = requests.post(arm_url(keyhold, sub, f"Microsoft.CognitiveServices/accounts/{ACCOUNT}/listKeys"),
                         headers=admin_headers(keyhold), timeout=10).json()
    files = ai_client(keyhold, ACCOUNT, api_key=keys["key1"]).files
    uploaded = files.create(file=("train.jsonl", DATA), purpose="fine-tune")

    # Refused moves change nothing: a caller of the target tenant alone, an owner of the wrong tenant.
    move = f"subscriptions/{sub}/changeTenant"
    assert directory(keyhold, "POST", move, cred_b, targetTenantId=tenant_b, ownerObjectId=admin_b).status_code == 401
    wrong_owner = directory(keyhold, "POST", move, targetTenantId=tenant_b, ownerObjectId=me)
    assert wrong_owner.status_code == 400 and wrong_owner.json()["error"]["code"] == "PrincipalNotFound", wrong_owner.text
    assert directory(keyhold, "POST", move, targetTenantId=str(__import__("uuid").uuid4()),
                     ownerObjectId=admin_b).status_code == 404
    assert account(keyhold, cred_a, sub)["properties"]["encryption"]["status"] == "Active"

    moved = directory(keyhold, "POST", move, targetTenantId=tenant_b, ownerObjectId=admin_b)
    assert moved.status_code == 200, moved.text
    report = moved.json()
    assert report["fromTenantId"] == home and report["toTenantId"] == tenant_b
    assert report["vaults"] == [VAULT] and report["accounts"] == [ACCOUNT]
    assert old_identity in report["identitiesLeftBehind"]

    # The old tenant has lost the subscription; the new administrator owns it.
    with pytest.raises(ClientAuthenticationError):
        cs.accounts.get(RG, ACCOUNT)
    state = wait_for(lambda: (e := account(keyhold, cred_b, sub)["properties"]["encryption"])["status"]
                     == "KeyInaccessible" and e)
    assert state["statusReason"].startswith("CmkTenantMoved"), state
    # Data is kept but cannot be read; setting the key again names what to fix.
    with pytest.raises(openai.PermissionDeniedError):
        files.content(uploaded.id).read()
    again = patch_account(keyhold, cred_b, sub, {"properties": {"encryption": encryption}})
    assert again.status_code == 400 and again.json()["error"]["code"] == "CmkTenantMoved", again.text
    # The vault answers to the new tenant now, with no access policies left.
    with pytest.raises(ClientAuthenticationError):
        KeyClient(keyhold.vault_url(VAULT), cred_a).get_key("cmk")
    with pytest.raises(HttpResponseError) as denied:
        KeyClient(keyhold.vault_url(VAULT), cred_b).get_key("cmk")
    assert denied.value.status_code == 403

    # Configure it again in the new tenant: a new identity, an access policy, the same key.
    reassigned = patch_account(keyhold, cred_b, sub, {"identity": {"type": "SystemAssigned"}})
    assert reassigned.status_code == 200, reassigned.text
    new_identity = reassigned.json()["identity"]
    assert new_identity["principalId"] != old_identity and new_identity["tenantId"] == tenant_b
    grant(keyhold, cred_b, sub, tenant_b, new_identity["principalId"], ["get", "wrapKey", "unwrapKey"])
    wait_for(lambda: account(keyhold, cred_b, sub)["properties"]["encryption"]["status"] == "Active")
    assert files.content(uploaded.id).read() == DATA
    assert patch_account(keyhold, cred_b, sub, {"properties": {"encryption": encryption}}).status_code == 200

    # Repeating the move (an answer lost, say) changes nothing.
    repeated = directory(keyhold, "POST", move, cred_b, targetTenantId=tenant_b, ownerObjectId=admin_b)
    assert repeated.status_code == 200, repeated.text
    assert repeated.json()["vaults"] == [] and repeated.json()["accounts"] == []
    assert account(keyhold, cred_b, sub)["properties"]["encryption"]["status"] == "Active"
