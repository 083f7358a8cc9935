"""Shared helpers of the interop tests: credentials, admin headers, directory and ARM setup."""
from __future__ import annotations

import requests
from azure.identity import ClientSecretCredential
from azure.keyvault.keys import KeyClient
from azure.mgmt.keyvault import KeyVaultManagementClient

RG_API = "api-version=2024-11-01"


def credential(keyhold, client_id=None, secret=None) -> ClientSecretCredential:
    boot = keyhold.bootstrap
    return ClientSecretCredential(
        boot["tenantId"],
        client_id or boot["clientId"],
        secret or boot["clientSecret"],
        authority=boot["authority"],
        disable_instance_discovery=True,
    )


def admin_headers(keyhold) -> dict:
    token = credential(keyhold).get_token(keyhold.bootstrap["managementScope"]).token
    return {"Authorization": f"Bearer {token}"}


def create_service_principal(keyhold, name: str) -> dict:
    boot = keyhold.bootstrap
    response = requests.post(
        f"{keyhold.endpoint}/keyhold/v1/tenants/{boot['tenantId']}/servicePrincipals",
        headers=admin_headers(keyhold), json={"displayName": name}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def create_resource_group(keyhold, name: str, location: str = "westeurope") -> str:
    boot = keyhold.bootstrap
    url = f"{keyhold.endpoint}/subscriptions/{boot['subscriptionId']}/resourcegroups/{name}?{RG_API}"
    response = requests.put(url, headers=admin_headers(keyhold), json={"location": location}, timeout=10)
    assert response.status_code in (200, 201), response.text
    return name


ALL_KEY_PERMISSIONS = ["get", "list", "update", "create", "import", "delete", "recover", "backup",
                       "restore", "encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify",
                       "purge", "rotate", "getrotationpolicy", "setrotationpolicy"]


def whoami(keyhold, cred=None) -> dict:
    cred = cred or credential(keyhold)
    token = cred.get_token(keyhold.bootstrap["managementScope"]).token
    response = requests.get(f"{keyhold.endpoint}/keyhold/v1/whoami",
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def mgmt(keyhold) -> KeyVaultManagementClient:
    boot = keyhold.bootstrap
    return KeyVaultManagementClient(credential(keyhold), boot["subscriptionId"], base_url=keyhold.endpoint,
                                    credential_scopes=[boot["managementScope"]])


def policy(keyhold, object_id: str, keys: list[str]) -> dict:
    return {"tenantId": keyhold.bootstrap["tenantId"], "objectId": object_id, "permissions": {"keys": keys}}


def create_vault(keyhold, rg: str, name: str, **properties) -> dict:
    boot = keyhold.bootstrap
    props = {"tenantId": boot["tenantId"], "sku": {"family": "A", "name": "standard"},
             "softDeleteRetentionInDays": 7,
             "accessPolicies": [policy(keyhold, whoami(keyhold)["objectId"], ALL_KEY_PERMISSIONS)]}
    props.update(properties)
    poller = mgmt(keyhold).vaults.begin_create_or_update(rg, name, {"location": "westeurope", "properties": props})
    return poller.result()


def key_client(keyhold, vault: str, cred=None) -> KeyClient:
    return KeyClient(keyhold.vault_url(vault), cred or credential(keyhold))
