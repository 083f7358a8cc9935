"""Identity interop: the official azure-identity credentials against keyhold's token service,
real RS256 JWTs checked with the `cryptography` package against the published JWKS, and the
management plane rejecting every bad token."""
from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential, ManagedIdentityCredential
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from helpers import admin_headers, create_service_principal, credential

ARM = "api-version=2022-12-01"


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def claims_of(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[1]))


def test_bootstrap_file_has_the_contract_fields(keyhold):
    boot = keyhold.bootstrap
    for field in ["tenantId", "subscriptionId", "clientId", "clientSecret", "authority",
                  "managementEndpoint", "vaultDomain", "managementScope", "vaultScope", "aiScope",
                  "graphScope", "graphEndpoint"]:
        assert boot.get(field), field
    mode = (keyhold.data_dir / "bootstrap.json").stat().st_mode & 0o777
    assert mode == 0o600


@pytest.mark.parametrize("scope_field", ["managementScope", "vaultScope", "aiScope", "graphScope"])
def test_client_secret_credential_gets_verifiable_tokens(keyhold, scope_field):
    boot = keyhold.bootstrap
    token = credential(keyhold).get_token(boot[scope_field])
    assert token.expires_on > time.time() + 3000
    header = json.loads(b64url_decode(token.token.split(".")[0]))
    claims = claims_of(token.token)
    assert header["alg"] == "RS256" and header["kid"]
    assert claims["tid"] == boot["tenantId"]
    assert claims["appid"] == boot["clientId"]
    assert claims["aud"] == boot[scope_field].removesuffix("/.default")
    assert claims["iss"] == f"{boot['authority']}/{boot['tenantId']}/v2.0"

    # The signature verifies with the key the discovery document points to.
    discovery = requests.get(
        f"{boot['authority']}/{boot['tenantId']}/v2.0/.well-known/openid-configuration", timeout=10
    ).json()
    assert discovery["issuer"] == claims["iss"]
    assert discovery["token_endpoint"].endswith("/oauth2/v2.0/token")
    jwks = requests.get(discovery["jwks_uri"], timeout=10).json()
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    public = rsa.RSAPublicNumbers(
        int.from_bytes(b64url_decode(jwk["e"]), "big"), int.from_bytes(b64url_decode(jwk["n"]), "big")
    ).public_key()
    signing_input, signature = token.token.rsplit(".", 1)
    public.verify(b64url_decode(signature), signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())


def test_az_login_flow_lists_the_subscription(keyhold):
    """What `az login --service-principal` does after the token: list subscriptions."""
    boot = keyhold.bootstrap
    response = requests.get(f"{keyhold.endpoint}/subscriptions?{ARM}", headers=admin_headers(keyhold), timeout=10)
    assert response.status_code == 200, response.text
    subs = response.json()["value"]
    assert any(s["subscriptionId"] == boot["subscriptionId"] and s["tenantId"] == boot["tenantId"]
               and s["state"] == "Enabled" for s in subs)
    tenants = requests.get(f"{keyhold.endpoint}/tenants?{ARM}", headers=admin_headers(keyhold), timeout=10)
    assert tenants.status_code == 200
    assert tenants.json()["value"][0]["tenantId"] == boot["tenantId"]


def test_wrong_secret_and_unknown_client(keyhold):
    with pytest.raises(ClientAuthenticationError) as wrong:
        credential(keyhold, secret="not-the-secret").get_token(keyhold.bootstrap["managementScope"])
    assert "AADSTS7000215" in str(wrong.value)
    with pytest.raises(ClientAuthenticationError) as unknown:
        credential(keyhold, client_id=str(uuid.uuid4())).get_token(keyhold.bootstrap["managementScope"])
    assert "AADSTS700016" in str(unknown.value)


def test_unknown_scope_is_refused(keyhold):
    with pytest.raises(ClientAuthenticationError) as err:
        credential(keyhold).get_token("https://not-a-keyhold-api.example/.default")
    assert "invalid_scope" in str(err.value) or "AADSTS1002012" in str(err.value)


def test_management_rejects_missing_and_bad_tokens(keyhold):
    url = f"{keyhold.endpoint}/subscriptions?{ARM}"
    missing = requests.get(url, timeout=10)
    assert missing.status_code == 401
    assert "Bearer" in missing.headers["WWW-Authenticate"]
    good = credential(keyhold).get_token(keyhold.bootstrap["managementScope"]).token
    vault_token = credential(keyhold).get_token(keyhold.bootstrap["vaultScope"]).token
    header, payload, sig = good.split(".")
    forged_claims = claims_of(good) | {"oid": str(uuid.uuid4())}
    forged = ".".join([header, base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).decode().rstrip("="), sig])
    none_alg = ".".join([
        base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("="), payload, ""])
    cases = {
        "wrong audience": vault_token,
        "tampered payload": forged,
        "alg none": none_alg,
        "garbage": "not.a.jwt",
        "oversized": "a" * 20000,
    }
    codes = set()
    for name, token in cases.items():
        response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 401, (name, response.text)
        code = response.json()["error"]["code"]
        codes.add(code)
        assert token[:40] not in response.text or name == "garbage", "tokens are never echoed"
    assert len(codes) == len(cases), f"each failure has its own code: {codes}"


def test_disabling_a_principal_takes_effect_at_once(keyhold):
    boot = keyhold.bootstrap
    sp = create_service_principal(keyhold, "short-lived")
    assert sp["clientSecret"] and sp["appId"] and sp["id"]
    listing = requests.get(f"{keyhold.endpoint}/keyhold/v1/tenants/{boot['tenantId']}/servicePrincipals",
                           headers=admin_headers(keyhold), timeout=10).json()
    assert any(p["appId"] == sp["appId"] for p in listing["value"])
    assert all("clientSecret" not in p for p in listing["value"]), "secrets are shown once only"

    # Give it Reader on the subscription so it can list subscriptions.
    assignment = requests.put(
        f"{keyhold.endpoint}/subscriptions/{boot['subscriptionId']}/providers/Microsoft.Authorization/"
        f"roleAssignments/{uuid.uuid4()}?api-version=2022-04-01",
        headers=admin_headers(keyhold),
        json={"properties": {
            "roleDefinitionId": f"/subscriptions/{boot['subscriptionId']}/providers/Microsoft.Authorization/"
                                "roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "principalId": sp["id"]}},
        timeout=10)
    assert assignment.status_code in (200, 201), assignment.text

    token = credential(keyhold, sp["appId"], sp["clientSecret"]).get_token(boot["managementScope"]).token
    url = f"{keyhold.endpoint}/subscriptions?{ARM}"
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200

    disable = requests.patch(
        f"{keyhold.endpoint}/keyhold/v1/tenants/{boot['tenantId']}/servicePrincipals/{sp['appId']}",
        headers=admin_headers(keyhold), json={"accountEnabled": False}, timeout=10)
    assert disable.status_code == 200, disable.text
    rejected = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert rejected.status_code == 401
    assert rejected.json()["error"]["code"] == "PrincipalDisabled"
    with pytest.raises(ClientAuthenticationError):
        credential(keyhold, sp["appId"], sp["clientSecret"]).get_token(boot["managementScope"])

    delete = requests.delete(
        f"{keyhold.endpoint}/keyhold/v1/tenants/{boot['tenantId']}/servicePrincipals/{sp['appId']}",
        headers=admin_headers(keyhold), timeout=10)
    assert delete.status_code in (200, 204)
    gone = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert gone.status_code == 401
    assert gone.json()["error"]["code"] == "PrincipalNotFound"


def test_reader_cannot_write(keyhold):
    boot = keyhold.bootstrap
    sp = create_service_principal(keyhold, "reader-only")
    requests.put(
        f"{keyhold.endpoint}/subscriptions/{boot['subscriptionId']}/providers/Microsoft.Authorization/"
        f"roleAssignments/{uuid.uuid4()}?api-version=2022-04-01",
        headers=admin_headers(keyhold),
        json={"properties": {
            "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "principalId": sp["id"]}},
        timeout=10).raise_for_status()
    token = credential(keyhold, sp["appId"], sp["clientSecret"]).get_token(boot["managementScope"]).token
    headers = {"Authorization": f"Bearer {token}"}
    rg_url = f"{keyhold.endpoint}/subscriptions/{boot['subscriptionId']}/resourcegroups/reader-rg?api-version=2024-11-01"
    denied = requests.put(rg_url, headers=headers, json={"location": "westeurope"}, timeout=10)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "AuthorizationFailed"
    created = requests.put(rg_url, headers=admin_headers(keyhold), json={"location": "westeurope"}, timeout=10)
    assert created.status_code == 201, created.text
    read = requests.get(rg_url, headers=headers, timeout=10)
    assert read.status_code == 200 and read.json()["location"] == "westeurope"


def test_managed_identity_credential(keyhold, monkeypatch):
    boot = keyhold.bootstrap
    sub = boot["subscriptionId"]
    rg = f"/subscriptions/{sub}/resourcegroups/mi-rg"
    requests.put(f"{keyhold.endpoint}{rg}?api-version=2024-11-01", headers=admin_headers(keyhold),
                 json={"location": "westeurope"}, timeout=10).raise_for_status()
    identity_id = f"/subscriptions/{sub}/resourceGroups/mi-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/workload"
    created = requests.put(f"{keyhold.endpoint}{identity_id}?api-version=2023-01-31",
                           headers=admin_headers(keyhold), json={"location": "westeurope"}, timeout=10)
    assert created.status_code in (200, 201), created.text
    identity = created.json()
    assert identity["properties"]["principalId"] and identity["properties"]["clientId"]
    assert identity["properties"]["tenantId"] == boot["tenantId"]

    binding = requests.post(f"{keyhold.endpoint}/keyhold/v1/workloadBindings", headers=admin_headers(keyhold),
                            json={"identities": [identity_id]}, timeout=10)
    assert binding.status_code == 201, binding.text
    monkeypatch.setenv("IDENTITY_ENDPOINT", binding.json()["identityEndpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", binding.json()["identityHeader"])

    cred = ManagedIdentityCredential(client_id=identity["properties"]["clientId"])
    token = cred.get_token(boot["vaultScope"])
    claims = claims_of(token.token)
    assert claims["oid"] == identity["properties"]["principalId"]
    assert claims["aud"] == boot["vaultScope"].removesuffix("/.default")

    monkeypatch.setenv("IDENTITY_HEADER", "wrong-secret")
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential(client_id=identity["properties"]["clientId"]).get_token(boot["vaultScope"])
