"""AI accounts: azure-mgmt-cognitiveservices against keyhold's management plane (pollers must
complete), and every CMK rule of docs/DESIGN.md section 4 with a refused and an accepted case,
each refusal leaving the account's previous encryption in force."""
from __future__ import annotations

import datetime
import time

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

from helpers import (ALL_KEY_PERMISSIONS, admin_headers, create_resource_group, create_vault, credential, key_client,
                     mgmt, policy, whoami)

API = "api-version=2025-09-01"
LOCATION = "westeurope"
RG = "ai-rg"


def cs(keyhold) -> CognitiveServicesManagementClient:
    boot = keyhold.bootstrap
    return CognitiveServicesManagementClient(credential(keyhold), boot["subscriptionId"], base_url=keyhold.endpoint,
                                             credential_scopes=[boot["managementScope"]], polling_interval=1)


def account_url(keyhold, name: str, rg: str = RG) -> str:
    sub = keyhold.bootstrap["subscriptionId"]
    return (f"{keyhold.endpoint}/subscriptions/{sub}/resourceGroups/{rg}/providers/"
            f"Microsoft.CognitiveServices/accounts/{name}?{API}")


def put_account(keyhold, name: str, kind: str = "OpenAI", identity: dict | None = None, rg: str = RG, **props):
    body = {"location": LOCATION, "kind": kind, "sku": {"name": "S0"},
            "identity": identity or {"type": "SystemAssigned"}, "properties": props}
    response = requests.put(account_url(keyhold, name, rg), headers=admin_headers(keyhold), json=body, timeout=30)
    assert response.status_code in (200, 201), response.text
    return response.json()


def set_encryption(keyhold, name: str, encryption: dict, rg: str = RG):
    return requests.patch(account_url(keyhold, name, rg), headers=admin_headers(keyhold),
                          json={"properties": {"encryption": encryption}}, timeout=30)


def cmk(keyhold, vault: str, key: str, version: str | None = None, client_id: str | None = None) -> dict:
    props = {"keyVaultUri": keyhold.vault_url(vault) + "/", "keyName": key}
    if version:
        props["keyVersion"] = version
    if client_id:
        props["identityClientId"] = client_id
    return {"keySource": "Microsoft.KeyVault", "keyVaultProperties": props}


def grant(keyhold, vault: str, object_id: str, keys=("get", "wrapKey", "unwrapKey"), rg: str = RG):
    mgmt(keyhold).vaults.update_access_policy(
        rg, vault, "add", {"properties": {"accessPolicies": [policy(keyhold, object_id, list(keys))]}})


def refused(response, code: str):
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code, response.text


def encryption_of(keyhold, name: str, rg: str = RG) -> dict:
    response = requests.get(account_url(keyhold, name, rg), headers=admin_headers(keyhold), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["properties"]["encryption"]


@pytest.fixture(scope="module")
def cmk_vault(keyhold):
    create_resource_group(keyhold, RG, LOCATION)
    create_vault(keyhold, RG, "ai-kv", enablePurgeProtection=True)
    client = key_client(keyhold, "ai-kv")
    client.create_rsa_key("cmk", size=2048)
    return "ai-kv"


def test_account_lifecycle_with_the_sdk(keyhold, cmk_vault):
    from azure.mgmt.cognitiveservices.models import Account, Identity, Sku
    client = cs(keyhold)
    started = time.time()
    account = client.accounts.begin_create(RG, "acct-life", Account(
        kind="OpenAI", sku=Sku(name="S0"), location=LOCATION, identity=Identity(type="SystemAssigned"))).result()
    assert time.time() - started < 10, "the poller must not wait 30 s"
    assert account.properties.provisioning_state == "Succeeded"
    assert account.properties.endpoint == f"https://acct-life.openai.localhost:{keyhold.port}/"
    assert account.identity.principal_id and account.identity.tenant_id == keyhold.bootstrap["tenantId"]
    assert account.properties.encryption.key_source == "Microsoft.CognitiveServices"
    assert client.accounts.get(RG, "acct-life").name == "acct-life"
    assert "acct-life" in [a.name for a in client.accounts.list_by_resource_group(RG)]
    keys = client.accounts.list_keys(RG, "acct-life")
    assert keys.key1 and keys.key2 and keys.key1 != keys.key2
    regenerated = client.accounts.regenerate_key(RG, "acct-life", key_name="Key2")
    assert regenerated.key1 == keys.key1 and regenerated.key2 != keys.key2
    updated = client.accounts.begin_update(RG, "acct-life", Account(tags={"team": "ml"})).result()
    assert updated.tags == {"team": "ml"}

    client.accounts.begin_delete(RG, "acct-life").result()
    with pytest.raises(ResourceNotFoundError):
        client.accounts.get(RG, "acct-life")
    deleted = client.deleted_accounts.get(LOCATION, RG, "acct-life")
    assert deleted.properties.scheduled_purge_date
    assert "acct-life" in [d.name for d in client.deleted_accounts.list()]
    # The name is held: re-creating needs restore: true, which brings the account back.
    with pytest.raises(ResourceExistsError):
        client.accounts.begin_create(RG, "acct-life", Account(kind="OpenAI", sku=Sku(name="S0"),
                                                              location=LOCATION)).result()
    restored = put_account(keyhold, "acct-life", restore=True)
    assert restored["tags"] == {"team": "ml"}
    assert client.accounts.list_keys(RG, "acct-life").key1 == keys.key1
    client.accounts.begin_delete(RG, "acct-life").result()
    client.deleted_accounts.begin_purge(LOCATION, RG, "acct-life").result()
    with pytest.raises(ResourceNotFoundError):
        client.deleted_accounts.get(LOCATION, RG, "acct-life")


def test_bad_account_requests(keyhold, cmk_vault):
    headers = admin_headers(keyhold)
    cases = [
        ({"location": LOCATION, "kind": "Quantum", "sku": {"name": "S0"}}, "InvalidRequest"),
        ({"kind": "OpenAI", "sku": {"name": "S0"}}, "InvalidRequest"),
        ({"location": LOCATION, "kind": "OpenAI", "identity": {"type": "Sometimes"}}, "InvalidIdentityType"),
        ({"location": LOCATION, "kind": "OpenAI", "identity": {"type": "UserAssigned", "userAssignedIdentities": {
            f"/subscriptions/{keyhold.bootstrap['subscriptionId']}/resourceGroups/{RG}/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/nope": {}}}}, "InvalidIdentity"),
        ({"location": LOCATION, "kind": "OpenAI", "properties": {"encryption": {
            "keySource": "Microsoft.KeyVault", "keyVaultProperties": {"keyVaultUri": "not a uri", "keyName": "k"}}}},
         "InvalidKeyVaultUri"),
    ]
    for body, code in cases:
        response = requests.put(account_url(keyhold, "acct-bad"), headers=headers, json=body, timeout=10)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["code"] == code, response.text
    assert requests.get(account_url(keyhold, "acct-bad"), headers=headers, timeout=10).status_code == 404


def test_cmk_rules_each_refused_and_accepted(keyhold, cmk_vault):
    client = key_client(keyhold, cmk_vault)
    account = put_account(keyhold, "acct-cmk")
    principal = account["identity"]["principalId"]
    key = client.get_key("cmk")

    # Identity without access: refused by the vault itself when called with its token.
    refused(set_encryption(keyhold, "acct-cmk", cmk(keyhold, cmk_vault, "cmk")), "CmkIdentityAccessDenied")
    grant(keyhold, cmk_vault, principal, ["get"])
    response = set_encryption(keyhold, "acct-cmk", cmk(keyhold, cmk_vault, "cmk"))
    refused(response, "CmkIdentityAccessDenied")
    assert "wrapKey" in response.json()["error"]["message"]
    grant(keyhold, cmk_vault, principal)
    assert encryption_of(keyhold, "acct-cmk")["keySource"] == "Microsoft.CognitiveServices"

    # Key rules.
    client.create_ec_key("ec", curve="P-256")
    client.create_rsa_key("rsa3072", size=3072)
    client.create_rsa_key("disabled", size=2048, enabled=False)
    client.create_rsa_key("expired", size=2048,
                          expires_on=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1))
    client.create_rsa_key("signing", size=2048, key_operations=["sign", "verify"])
    for name, code in [("ec", "CmkKeyTypeNotSupported"), ("rsa3072", "CmkKeySizeNotSupported"),
                       ("disabled", "CmkKeyDisabled"), ("expired", "CmkKeyExpired"),
                       ("signing", "CmkKeyOperationsMissing"), ("missing", "CmkKeyNotFound")]:
        refused(set_encryption(keyhold, "acct-cmk", cmk(keyhold, cmk_vault, name)), code)
        assert encryption_of(keyhold, "acct-cmk")["keySource"] == "Microsoft.CognitiveServices", name

    # Accepted: RSA 2048, enabled, wrap/unwrap, identity with get/wrap/unwrap, purge protection.
    response = set_encryption(keyhold, "acct-cmk", cmk(keyhold, cmk_vault, "cmk"))
    assert response.status_code == 200, response.text
    encryption = encryption_of(keyhold, "acct-cmk")
    assert encryption["keySource"] == "Microsoft.KeyVault"
    assert encryption["keyVaultProperties"]["keyName"] == "cmk"
    assert encryption["activeKeyVersion"] == key.properties.version
    # A new version of the same key, or another key in the same vault: accepted.
    rotated = client.rotate_key("cmk")
    response = set_encryption(keyhold, "acct-cmk", cmk(keyhold, cmk_vault, "cmk", rotated.properties.version))
    assert response.status_code == 200, response.text
    assert encryption_of(keyhold, "acct-cmk")["activeKeyVersion"] == rotated.properties.version
    client.create_rsa_key("cmk2", size=2048)
    assert set_encryption(keyhold, "acct-cmk", cmk(keyhold, cmk_vault, "cmk2")).status_code == 200
    # A full key URI works too.
    full = {"keySource": "Microsoft.KeyVault",
            "keyVaultProperties": {"keyVaultUri": f"{keyhold.vault_url(cmk_vault)}/keys/cmk/{key.properties.version}"}}
    assert set_encryption(keyhold, "acct-cmk", full).status_code == 200
    assert encryption_of(keyhold, "acct-cmk")["activeKeyVersion"] == key.properties.version

    # Another vault: refused even though that vault is fine.
    create_vault(keyhold, RG, "ai-kv-other", enablePurgeProtection=True)
    key_client(keyhold, "ai-kv-other").create_rsa_key("cmk", size=2048)
    grant(keyhold, "ai-kv-other", principal)
    refused(set_encryption(keyhold, "acct-cmk", cmk(keyhold, "ai-kv-other", "cmk")), "CmkKeyVaultChangeNotAllowed")
    # OpenAI may go back to Microsoft-managed keys.
    response = set_encryption(keyhold, "acct-cmk", {"keySource": "Microsoft.CognitiveServices"})
    assert response.status_code == 200, response.text
    # ... and then to the other vault (a fresh CMK choice).
    assert set_encryption(keyhold, "acct-cmk", cmk(keyhold, "ai-kv-other", "cmk")).status_code == 200


def test_vault_rules(keyhold, cmk_vault):
    account = put_account(keyhold, "acct-vaults")
    principal = account["identity"]["principalId"]
    cases = [
        ("ai-kv-nopp", {}, "CmkVaultPurgeProtectionRequired"),
        ("ai-kv-fw", {"enablePurgeProtection": True,
                      "networkAcls": {"defaultAction": "Deny", "bypass": "None", "ipRules": []}},
         "CmkVaultFirewallBlocksTrustedServices"),
        ("ai-kv-rbac", {"enablePurgeProtection": True, "enableRbacAuthorization": True},
         "CmkVaultRbacNotSupported"),
    ]
    for vault, props, code in cases:
        create_vault(keyhold, RG, vault, **props)
        if not props.get("enableRbacAuthorization"):
            grant(keyhold, vault, principal)
        refused(set_encryption(keyhold, "acct-vaults", cmk(keyhold, vault, "cmk")), code)
    # Region: a vault elsewhere.
    other_rg = create_resource_group(keyhold, "ai-rg-east", "eastus")
    mgmt(keyhold).vaults.begin_create_or_update(other_rg, "ai-kv-east", {"location": "eastus", "properties": {
        "tenantId": keyhold.bootstrap["tenantId"], "sku": {"family": "A", "name": "standard"},
        "enablePurgeProtection": True,
        "accessPolicies": [policy(keyhold, whoami(keyhold)["objectId"], ALL_KEY_PERMISSIONS)]}}).result()
    key_client(keyhold, "ai-kv-east").create_rsa_key("cmk", size=2048)
    grant(keyhold, "ai-kv-east", principal, rg=other_rg)
    refused(set_encryption(keyhold, "acct-vaults", cmk(keyhold, "ai-kv-east", "cmk")), "CmkVaultRegionMismatch")
    # Vault URIs that resolve to no vault.
    refused(set_encryption(keyhold, "acct-vaults", cmk(keyhold, "no-such-kv", "cmk")), "InvalidKeyVaultUri")
    # A host the operator did not allow: refused without a connection, nothing changed.
    refused(set_encryption(keyhold, "acct-vaults", {"keySource": "Microsoft.KeyVault", "keyVaultProperties": {
        "keyVaultUri": "https://kv.not-allowed.invalid/", "keyName": "cmk"}}), "InvalidKeyVaultUri")
    # An allowed remote vault host that does not resolve: a clear error, nothing changed.
    unreachable = set_encryption(keyhold, "acct-vaults", {"keySource": "Microsoft.KeyVault", "keyVaultProperties": {
        "keyVaultUri": "https://kv.example.invalid/", "keyName": "cmk"}})
    assert unreachable.status_code == 502, unreachable.text
    assert unreachable.json()["error"]["code"] == "KeyVaultUnreachable", unreachable.text
    assert encryption_of(keyhold, "acct-vaults")["keySource"] == "Microsoft.CognitiveServices"

    # Accepted counterparts: a firewall that lets trusted services through; RBAC for AIServices.
    mgmt(keyhold).vaults.update(RG, "ai-kv-fw", {"properties": {
        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": []}}})
    admin_fw = requests.post(f"{keyhold.vault_url('ai-kv-fw')}/keys/cmk/create?api-version=7.6",
                             headers={"Authorization": "Bearer " + credential(keyhold).get_token(
                                 keyhold.bootstrap["vaultScope"]).token}, json={"kty": "RSA"}, timeout=10)
    assert admin_fw.status_code == 403  # the admin is not a trusted service: the firewall holds
    mgmt(keyhold).vaults.update(RG, "ai-kv-fw", {"properties": {"networkAcls": {
        "defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [{"value": "127.0.0.1"}]}}})
    key_client(keyhold, "ai-kv-fw").create_rsa_key("cmk", size=2048)
    mgmt(keyhold).vaults.update(RG, "ai-kv-fw", {"properties": {"networkAcls": {
        "defaultAction": "Deny", "bypass": "AzureServices", "ipRules": []}}})
    assert set_encryption(keyhold, "acct-vaults", cmk(keyhold, "ai-kv-fw", "cmk")).status_code == 200

    services = put_account(keyhold, "acct-services", kind="AIServices")
    vault = mgmt(keyhold).vaults.get(RG, "ai-kv-rbac")
    role_assign(keyhold, vault.id, whoami(keyhold)["objectId"], "Key Vault Crypto Officer")
    key_client(keyhold, "ai-kv-rbac").create_rsa_key("cmk", size=2048)
    refused(set_encryption(keyhold, "acct-services", cmk(keyhold, "ai-kv-rbac", "cmk")), "CmkIdentityAccessDenied")
    role_assign(keyhold, vault.id, services["identity"]["principalId"], "Key Vault Crypto Service Encryption User")
    response = set_encryption(keyhold, "acct-services", cmk(keyhold, "ai-kv-rbac", "cmk"))
    assert response.status_code == 200, response.text
    # Non-OpenAI kinds cannot go back to Microsoft-managed keys.
    refused(set_encryption(keyhold, "acct-services", {"keySource": "Microsoft.CognitiveServices"}),
            "CmkSwitchNotAllowed")
    assert encryption_of(keyhold, "acct-services")["keySource"] == "Microsoft.KeyVault"


def role_assign(keyhold, scope: str, principal: str, role_name: str):
    import uuid
    definitions = requests.get(
        f"{keyhold.endpoint}{scope}/providers/Microsoft.Authorization/roleDefinitions"
        f"?api-version=2022-04-01&$filter=roleName eq '{role_name}'",
        headers=admin_headers(keyhold), timeout=10).json()["value"]
    response = requests.put(
        f"{keyhold.endpoint}{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        "?api-version=2022-04-01", headers=admin_headers(keyhold), timeout=10,
        json={"properties": {"roleDefinitionId": definitions[0]["id"], "principalId": principal}})
    assert response.status_code == 201, response.text


def test_identity_rules(keyhold, cmk_vault):
    sub = keyhold.bootstrap["subscriptionId"]
    # No identity at all.
    put_account(keyhold, "acct-noid", identity={"type": "None"})
    refused(set_encryption(keyhold, "acct-noid", cmk(keyhold, cmk_vault, "cmk")), "CmkIdentityMissing")
    # A user-assigned identity named by identityClientId.
    uai_id = (f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/"
              "userAssignedIdentities/ai-uai")
    uai = requests.put(f"{keyhold.endpoint}{uai_id}?api-version=2023-01-31", headers=admin_headers(keyhold),
                       json={"location": LOCATION}, timeout=10).json()
    account = put_account(keyhold, "acct-uai", identity={"type": "UserAssigned",
                                                         "userAssignedIdentities": {uai_id: {}}})
    assert account["identity"]["userAssignedIdentities"][uai_id]["clientId"] == uai["properties"]["clientId"]
    refused(set_encryption(keyhold, "acct-uai", cmk(keyhold, cmk_vault, "cmk", client_id="00000000-0000-0000-0000-000000000001")),
            "CmkIdentityNotAssigned")
    refused(set_encryption(keyhold, "acct-uai", cmk(keyhold, cmk_vault, "cmk")), "CmkIdentityMissing")
    grant(keyhold, cmk_vault, uai["properties"]["principalId"])
    response = set_encryption(keyhold, "acct-uai", cmk(keyhold, cmk_vault, "cmk", client_id=uai["properties"]["clientId"]))
    assert response.status_code == 200, response.text
    # The identity is checked by calling the vault: a disabled principal fails although the policy exists.
    assert encryption_of(keyhold, "acct-uai")["keyVaultProperties"]["identityClientId"] == uai["properties"]["clientId"]


def test_foundry_and_approval_rules(keyhold, cmk_vault):
    sub = keyhold.bootstrap["subscriptionId"]
    # Foundry resources need the vault in their own resource group.
    other = create_resource_group(keyhold, "ai-foundry-rg", LOCATION)
    foundry = put_account(keyhold, "acct-foundry", kind="AIServices", rg=other, allowProjectManagement=True)
    grant(keyhold, cmk_vault, foundry["identity"]["principalId"])
    refused(set_encryption(keyhold, "acct-foundry", cmk(keyhold, cmk_vault, "cmk"), rg=other),
            "CmkVaultResourceGroupMismatch")
    create_vault(keyhold, other, "ai-kv-foundry", enablePurgeProtection=True)
    key_client(keyhold, "ai-kv-foundry").create_rsa_key("cmk", size=2048)
    grant(keyhold, "ai-kv-foundry", foundry["identity"]["principalId"], rg=other)
    response = set_encryption(keyhold, "acct-foundry", cmk(keyhold, "ai-kv-foundry", "cmk"), rg=other)
    assert response.status_code == 200, response.text
    refused(set_encryption(keyhold, "acct-foundry", {"keySource": "Microsoft.CognitiveServices"}, rg=other),
            "CmkSwitchNotAllowed")

    # SpeechServices needs an approved request for the subscription.
    speech = put_account(keyhold, "acct-speech", kind="SpeechServices")
    grant(keyhold, cmk_vault, speech["identity"]["principalId"])
    refused(set_encryption(keyhold, "acct-speech", cmk(keyhold, cmk_vault, "cmk")), "CmkApprovalRequired")
    base = f"{keyhold.endpoint}/subscriptions/{sub}/providers/Microsoft.CognitiveServices/cmkRequests/SpeechServices"
    pending = requests.put(f"{base}?{API}", headers=admin_headers(keyhold), timeout=10)
    assert pending.status_code == 200 and pending.json()["state"] == "Pending", pending.text
    refused(set_encryption(keyhold, "acct-speech", cmk(keyhold, cmk_vault, "cmk")), "CmkApprovalRequired")
    approved = requests.post(f"{base}/approve?{API}", headers=admin_headers(keyhold), timeout=10)
    assert approved.status_code == 200 and approved.json()["state"] == "Approved", approved.text
    response = set_encryption(keyhold, "acct-speech", cmk(keyhold, cmk_vault, "cmk"))
    assert response.status_code == 200, response.text


def wait_for(predicate, timeout: float = 5.0, retrying: tuple = ()):
    """Polls `predicate` until it returns something true. Exceptions of the `retrying` types
    count as "not yet" (a refusal that lasts until a background re-check has run) until the
    deadline, when the last one is raised; any other exception fails at once."""
    deadline = time.time() + timeout
    last_error = None
    while time.time() < deadline:
        try:
            value = predicate()
        except retrying as err:
            last_error, value = err, None
        if value:
            return value
        time.sleep(0.05)
    if last_error is not None:
        raise AssertionError(f"condition not reached in {timeout} s; last refusal: {last_error}") from last_error
    raise AssertionError("condition not reached in time")


def test_revocation_watcher_and_version_following(keyhold, cmk_vault):
    client = key_client(keyhold, cmk_vault)
    client.create_rsa_key("watched", size=2048)
    account = put_account(keyhold, "acct-watch")
    principal = account["identity"]["principalId"]
    grant(keyhold, cmk_vault, principal)
    assert set_encryption(keyhold, "acct-watch", cmk(keyhold, cmk_vault, "watched")).status_code == 200
    first = encryption_of(keyhold, "acct-watch")
    assert first["status"] == "Active"

    # Revoke by removing the access policy: the vault's change event reaches the watcher.
    started = time.time()
    mgmt(keyhold).vaults.update_access_policy(RG, cmk_vault, "remove", {"properties": {
        "accessPolicies": [policy(keyhold, principal, [])]}})
    revoked = wait_for(lambda: (e := encryption_of(keyhold, "acct-watch"))["status"] == "KeyInaccessible" and e)
    latency = time.time() - started
    print(f"revocation latency {latency * 1000:.0f} ms")
    assert latency < 1.5, f"revocation took {latency:.2f}s"
    assert revoked["statusReason"].startswith("CmkIdentityAccessDenied"), revoked
    # Restore access: back to Active without a restart.
    grant(keyhold, cmk_vault, principal)
    wait_for(lambda: encryption_of(keyhold, "acct-watch")["status"] == "Active")
    # Disabling the key is noticed too; enabling it again restores.
    client.update_key_properties("watched", enabled=False)
    disabled = wait_for(lambda: (e := encryption_of(keyhold, "acct-watch"))["status"] == "KeyInaccessible" and e)
    assert disabled["statusReason"].startswith("CmkKeyDisabled"), disabled
    client.update_key_properties("watched", enabled=True)
    wait_for(lambda: encryption_of(keyhold, "acct-watch")["status"] == "Active")

    # Without a pinned version the account follows the newest version; the old one stays listed.
    rotated = client.rotate_key("watched")
    followed = wait_for(lambda: (e := encryption_of(keyhold, "acct-watch"))["activeKeyVersion"]
                        == rotated.properties.version and e)
    assert first["activeKeyVersion"] in followed["previousKeyVersions"]
    # The transitions are in the audit log.
    entries = requests.get(f"{keyhold.endpoint}/keyhold/v1/audit?after=0&top=1000",
                           headers=admin_headers(keyhold), timeout=10).json()["value"]
    statuses = [e["result"] for e in entries if e["operation"] == "AccountKeyStatus" and e.get("key") == "watched"]
    assert any("Active -> KeyInaccessible" in s for s in statuses), statuses
    assert any("KeyInaccessible -> Active" in s for s in statuses), statuses
    # ... and counted on /metrics (which needs a token).
    assert requests.get(f"{keyhold.endpoint}/metrics", timeout=10).status_code == 401
    text = requests.get(f"{keyhold.endpoint}/metrics", headers=admin_headers(keyhold), timeout=10).text
    counts = {line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line.startswith("keyhold_key_status_transitions_total{")}
    assert counts['to="KeyInaccessible"'] >= 2 and counts['to="Active"'] >= 2, counts
    assert 'keyhold_account_key_accessible{account="acct-watch"} 1' in text


def test_foundry_projects_with_the_sdk(keyhold, cmk_vault):
    from azure.mgmt.cognitiveservices.models import Identity, Project, ProjectProperties
    rg = create_resource_group(keyhold, "ai-projects-rg", LOCATION)
    put_account(keyhold, "acct-projects", kind="AIServices", rg=rg, allowProjectManagement=True)
    client = cs(keyhold)
    first = client.projects.begin_create(rg, "acct-projects", "proj-a", Project(
        location=LOCATION, identity=Identity(type="SystemAssigned"),
        properties=ProjectProperties(display_name="Project A", description="first"))).result()
    assert first.properties.is_default is True and first.identity.principal_id
    second = client.projects.begin_create(rg, "acct-projects", "proj-b", Project(
        location=LOCATION, properties=ProjectProperties(display_name="Project B"))).result()
    assert second.properties.is_default is False
    assert sorted(p.name for p in client.projects.list(rg, "acct-projects")) == ["proj-a", "proj-b"]
    assert client.projects.get(rg, "acct-projects", "proj-a").properties.display_name == "Project A"
    client.projects.begin_delete(rg, "acct-projects", "proj-b").result()
    assert [p.name for p in client.projects.list(rg, "acct-projects")] == ["proj-a"]
    # Projects need a Foundry resource (AIServices with project management).
    put_account(keyhold, "acct-no-projects", kind="OpenAI", rg=rg)
    response = requests.put(account_url(keyhold, "acct-no-projects", rg).replace("?", "/projects/p1?"),
                            headers=admin_headers(keyhold), json={"location": LOCATION, "properties": {}}, timeout=10)
    assert response.status_code == 400, response.text


def test_a_vault_that_times_out_leaves_the_setting_unchanged(tmp_path):
    """An allowed remote vault host that accepts connections but never answers: a clear 502
    after the timeout, and the account keeps its previous encryption."""
    import os
    import socket
    import threading

    from conftest import start_keyhold
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        silent.settimeout(0.5)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    port = silent.getsockname()[1]
    server = start_keyhold(tmp_path / "data", "--remote-vault-host", f"slow-kv.vault.silent.localhost:{port}")
    saved = os.environ["REQUESTS_CA_BUNDLE"]
    os.environ["REQUESTS_CA_BUNDLE"] = server.ca
    try:
        create_resource_group(server, RG, LOCATION)
        put_account(server, "acct-timeout")
        started = time.time()
        response = set_encryption(server, "acct-timeout", {"keySource": "Microsoft.KeyVault", "keyVaultProperties": {
            "keyVaultUri": f"https://slow-kv.vault.silent.localhost:{port}/", "keyName": "cmk"}})
        assert response.status_code == 502, response.text
        assert response.json()["error"]["code"] == "KeyVaultUnreachable"
        assert time.time() - started < 30
        assert encryption_of(server, "acct-timeout")["keySource"] == "Microsoft.CognitiveServices"
    finally:
        os.environ["REQUESTS_CA_BUNDLE"] = saved
        server.stop()
        stop.set()
        for conn in held:
            conn.close()
        silent.close()


def test_location_answers_the_resource_when_the_operation_is_done(keyhold):
    """`Location` is the URL whose answer is the operation's result (the resource after a PUT
    or PATCH, as a JavaScript `beginUpdateAndWait` or a `final-state-via: location` poller
    reads it); `Azure-AsyncOperation` stays the operation status; a DELETE's `Location`
    answers 200 once it is done."""
    create_resource_group(keyhold, RG)
    put_account(keyhold, "ai-lro", kind="AIServices", identity={"type": "SystemAssigned"},
                allowProjectManagement=True)
    url = account_url(keyhold, "ai-lro")
    children = [(f"{url.split('?')[0]}/deployments/d1?{API}",
                 {"sku": {"name": "Standard", "capacity": 1},
                  "properties": {"model": {"format": "OpenAI", "name": "gpt-4o-mini", "version": "2024-07-18"}}}),
                (f"{url.split('?')[0]}/projects/p1?{API}", {"location": "westeurope", "properties": {}})]
    writes = [("PATCH", url, {"tags": {"step": "patched"}})] + [("PUT", u, b) for u, b in children]
    for method, target, body in writes:
        response = requests.request(method, target, json=body, headers=admin_headers(keyhold), timeout=10)
        assert response.status_code in (200, 201, 202), response.text
        location = response.headers["Location"]
        assert location == target, (method, location)
        status = requests.get(response.headers["Azure-AsyncOperation"], headers=admin_headers(keyhold), timeout=10)
        assert status.json()["status"] == "Succeeded", status.text
        result = requests.get(location, headers=admin_headers(keyhold), timeout=10)
        assert result.status_code == 200 and result.json()["id"].lower() == target.split("?")[0].split(
            keyhold.endpoint)[1].lower(), result.text
    assert requests.get(url, headers=admin_headers(keyhold), timeout=10).json()["tags"] == {"step": "patched"}
    # The SDK's update poller returns the account.
    updated = cs(keyhold).accounts.begin_update(RG, "ai-lro", {"tags": {"step": "sdk"}}).result()
    assert updated.name == "ai-lro" and updated.tags == {"step": "sdk"}
    for target in [u for u, _ in children] + [url]:
        deleted = requests.delete(target, headers=admin_headers(keyhold), timeout=10)
        assert deleted.status_code == 202, deleted.text
        done = requests.get(deleted.headers["Location"], headers=admin_headers(keyhold), timeout=10)
        assert done.status_code == 200 and done.json()["status"] == "Succeeded", done.text
