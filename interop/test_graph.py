"""The Microsoft Graph subset against the real binary, as the Azure CLI and azure-identity use
it: a token for `graphScope` (and for the endpoint with its port, as `az` asks), service
principals filtered as `az ad sp show|list` and `az keyvault create` filter them, an
application created, given a password and its service principal (the `create-for-rbac`
sequence) whose secret then gets tokens, `directoryObjects/getByIds`, `/me` refused as Graph
refuses it for applications, Graph's error shape, and no object of another tenant ever."""
from __future__ import annotations

import uuid

import pytest
import requests
from azure.identity import ClientSecretCredential

from conftest import STORE
from helpers import admin_headers, credential

pytestmark = pytest.mark.skipif(STORE != "embedded", reason="directory only: embedded pass only")


def graph(keyhold, cred=None, port_form=False):
    boot = keyhold.bootstrap
    scope = f"{boot['graphEndpoint']}.default" if port_form else boot["graphScope"]
    token = (cred or credential(keyhold)).get_token(scope).token
    base = boot["graphEndpoint"].rstrip("/") + "/v1.0"
    return base, {"Authorization": f"Bearer {token}"}


def test_graph_endpoint_and_both_audiences(keyhold):
    boot = keyhold.bootstrap
    assert boot["graphEndpoint"] == f"https://graph.localhost:{keyhold.port}/"
    for port_form in (False, True):
        base, headers = graph(keyhold, port_form=port_form)
        response = requests.get(f"{base}/organization", headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["value"][0]["id"] == boot["tenantId"]
    # A management token is not a Graph token.
    response = requests.get(f"{base}/organization", headers=admin_headers(keyhold), timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_service_principals_filters_and_select(keyhold):
    boot = keyhold.bootstrap
    base, headers = graph(keyhold)
    app_id = boot["clientId"]
    for flt in [f"servicePrincipalNames/any(c:c eq '{app_id}')", f"appId eq '{app_id}'",
                "startswith(displayName,'keyhold-adm')"]:
        response = requests.get(f"{base}/servicePrincipals", params={"$filter": flt}, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        value = response.json()["value"]
        assert [sp["appId"] for sp in value] == [app_id], (flt, value)
        assert value[0]["id"] == boot["objectId"] and value[0]["servicePrincipalType"] == "Application"
    selected = requests.get(f"{base}/servicePrincipals", params={"$filter": f"appId eq '{app_id}'",
                                                                  "$select": "id"}, headers=headers, timeout=10)
    assert set(selected.json()["value"][0]) <= {"id", "@odata.type"}
    one = requests.get(f"{base}/servicePrincipals/{boot['objectId']}", headers=headers, timeout=10)
    assert one.status_code == 200 and one.json()["appId"] == app_id
    assert all("secretText" not in c or c["secretText"] is None for c in one.json()["passwordCredentials"])
    missing = requests.get(f"{base}/servicePrincipals/{uuid.uuid4()}", headers=headers, timeout=10)
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["code"] == "Request_ResourceNotFound" and "innerError" in error
    bad = requests.get(f"{base}/servicePrincipals", params={"$filter": "appId ne 'x'"}, headers=headers, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_me_is_refused_for_an_application_token(keyhold):
    base, headers = graph(keyhold)
    response = requests.get(f"{base}/me", headers=headers, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


def test_create_for_rbac_sequence_gives_a_working_secret(keyhold):
    boot = keyhold.bootstrap
    base, headers = graph(keyhold)
    app = requests.post(f"{base}/applications", json={"displayName": "graph-rbac"}, headers=headers, timeout=10)
    assert app.status_code == 201, app.text
    app = app.json()
    assert app["passwordCredentials"] == [] and app["id"] != app["appId"]
    fetched = requests.get(f"{base}/applications/{app['id']}", headers=headers, timeout=10)
    assert fetched.status_code == 200 and fetched.json()["appId"] == app["appId"]
    password = requests.post(f"{base}/applications/{app['id']}/addPassword",
                             json={"passwordCredential": {"displayName": "rbac",
                                                          "endDateTime": "2099-01-01T00:00:00Z"}},
                             headers=headers, timeout=10)
    assert password.status_code == 200, password.text
    secret = password.json()
    assert secret["secretText"] and secret["displayName"] == "rbac" and secret["hint"] == secret["secretText"][:3]
    sp = requests.post(f"{base}/servicePrincipals", json={"appId": app["appId"], "accountEnabled": True},
                       headers=headers, timeout=10)
    assert sp.status_code == 201, sp.text
    new = ClientSecretCredential(boot["tenantId"], app["appId"], secret["secretText"],
                                 authority=boot["authority"], disable_instance_discovery=True)
    assert new.get_token(boot["managementScope"]).token
    # The stubs the CLI asks for when it names role-assignment principals.
    stubs = requests.post(f"{base}/directoryObjects/getByIds",
                          json={"ids": [sp.json()["id"], str(uuid.uuid4())], "types": ["servicePrincipal"]},
                          headers=headers, timeout=10)
    assert [s["@odata.type"] for s in stubs.json()["value"]] == ["#microsoft.graph.servicePrincipal"]
    # The secret removed: it authenticates no more.
    removed = requests.post(f"{base}/applications/{app['id']}/removePassword", json={"keyId": secret["keyId"]},
                            headers=headers, timeout=10)
    assert removed.status_code == 204, removed.text
    again = ClientSecretCredential(boot["tenantId"], app["appId"], secret["secretText"],
                                   authority=boot["authority"], disable_instance_discovery=True)
    with pytest.raises(Exception):
        again.get_token(boot["managementScope"])
    unknown = requests.post(f"{base}/servicePrincipals", json={"appId": str(uuid.uuid4())}, headers=headers, timeout=10)
    assert unknown.status_code == 400 and "does not reference" in unknown.json()["error"]["message"]
    deleted = requests.delete(f"{base}/applications/{app['id']}", headers=headers, timeout=10)
    assert deleted.status_code == 204
    assert requests.get(f"{base}/applications/{app['id']}", headers=headers, timeout=10).status_code == 404


def test_another_tenant_sees_nothing_of_this_one(keyhold):
    boot = keyhold.bootstrap
    created = requests.post(f"{keyhold.endpoint}/keyhold/v1/tenants", json={"displayName": "graph-b"},
                            headers=admin_headers(keyhold), timeout=10)
    assert created.status_code == 201, created.text
    b = created.json()
    cred = ClientSecretCredential(b["tenantId"], b["admin"]["appId"], b["admin"]["clientSecret"],
                                  authority=boot["authority"], disable_instance_discovery=True)
    base, headers = graph(keyhold, cred)
    listed = requests.get(f"{base}/servicePrincipals", headers=headers, timeout=10).json()["value"]
    assert boot["clientId"] not in str(listed) and listed, listed
    for path in [f"servicePrincipals/{boot['objectId']}"]:
        assert requests.get(f"{base}/{path}", headers=headers, timeout=10).status_code == 404
    stubs = requests.post(f"{base}/directoryObjects/getByIds", json={"ids": [boot["objectId"]]},
                          headers=headers, timeout=10)
    assert stubs.json()["value"] == []
    sp = requests.post(f"{base}/servicePrincipals", json={"appId": boot["clientId"]}, headers=headers, timeout=10)
    assert sp.status_code == 400
