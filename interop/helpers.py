"""Shared helpers of the interop tests: credentials, admin headers, directory and ARM setup."""
from __future__ import annotations

import requests
from azure.identity import ClientSecretCredential

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
