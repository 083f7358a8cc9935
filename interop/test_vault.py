"""Key Vault interop: vaults through azure-mgmt-keyvault, keys through the official
azure-keyvault-keys KeyClient and CryptographyClient with the challenge-resource check left on,
authorization (access policies, RBAC, firewall) and bad input answered with Azure's codes."""
from __future__ import annotations

import hashlib
import os
import uuid

import pytest
import requests
from azure.core.exceptions import (HttpResponseError, ResourceExistsError,
                                   ResourceNotFoundError)
from azure.keyvault.keys import (KeyClient, KeyRotationLifetimeAction, KeyRotationPolicy,
                                 KeyRotationPolicyAction)
from azure.keyvault.keys.crypto import (CryptographyClient, EncryptionAlgorithm,
                                        KeyWrapAlgorithm, SignatureAlgorithm)

from helpers import (ALL_KEY_PERMISSIONS, admin_headers, create_resource_group, create_service_principal,
                     create_vault, credential, key_client, mgmt, policy, whoami)

KV_API = "api-version=7.6"
LOCATION = "westeurope"


def vault_token(keyhold, cred=None) -> str:
    return (cred or credential(keyhold)).get_token(keyhold.bootstrap["vaultScope"]).token


def raw(keyhold, vault: str, method: str, path: str, token: str | None = None, **kwargs):
    headers = {"Authorization": f"Bearer {token or vault_token(keyhold)}"}
    sep = "&" if "?" in path else "?"
    return requests.request(method, f"{keyhold.vault_url(vault)}{path}{sep}{KV_API}", headers=headers,
                            timeout=30, **kwargs)


@pytest.fixture(scope="module")
def vault(keyhold):
    rg = create_resource_group(keyhold, "kv-rg")
    name = "kv-main"
    created = create_vault(keyhold, rg, name)
    assert created.properties.vault_uri == keyhold.vault_url(name) + "/"
    return name


def test_vault_management_lifecycle(keyhold):
    client = mgmt(keyhold)
    rg = create_resource_group(keyhold, "kv-mgmt-rg")
    vault = create_vault(keyhold, rg, "kv-life", enablePurgeProtection=True)
    assert vault.properties.enable_soft_delete is True
    assert vault.properties.soft_delete_retention_in_days == 7
    assert vault.properties.enable_purge_protection is True
    assert any(v.name == "kv-life" for v in client.vaults.list_by_resource_group(rg))
    patched = client.vaults.update(rg, "kv-life", {"tags": {"env": "test"}})
    assert patched.tags == {"env": "test"}
    # Purge protection cannot be turned off; soft delete cannot be turned off.
    for bad in ({"enablePurgeProtection": False}, {"enableSoftDelete": False}, {"softDeleteRetentionInDays": 3}):
        with pytest.raises(HttpResponseError) as err:
            client.vaults.begin_create_or_update(rg, "kv-life", {"location": LOCATION, "properties": {
                "tenantId": keyhold.bootstrap["tenantId"], "sku": {"family": "A", "name": "standard"}, **bad}}).result()
        assert err.value.status_code == 400, bad
    # The name is global and DNS-safe.
    with pytest.raises(HttpResponseError) as err:
        create_vault(keyhold, rg, "Bad_Name!")
    assert err.value.status_code == 400
    other_rg = create_resource_group(keyhold, "kv-other-rg")
    with pytest.raises(HttpResponseError) as err:
        create_vault(keyhold, other_rg, "kv-life")
    assert err.value.status_code == 409

    client.vaults.delete(rg, "kv-life")
    with pytest.raises(ResourceNotFoundError):
        client.vaults.get(rg, "kv-life")
    deleted = client.vaults.get_deleted("kv-life", LOCATION)
    assert deleted.properties.purge_protection_enabled is True
    assert any(d.name == "kv-life" for d in client.vaults.list_deleted())
    # Re-creating without createMode=recover is a conflict; recover brings it back with its settings.
    with pytest.raises(HttpResponseError) as err:
        create_vault(keyhold, rg, "kv-life")
    assert err.value.status_code == 409
    recovered = create_vault(keyhold, rg, "kv-life", createMode="recover")
    assert recovered.tags == {"env": "test"}
    client.vaults.delete(rg, "kv-life")
    with pytest.raises(HttpResponseError) as err:
        client.vaults.begin_purge_deleted("kv-life", LOCATION).result()
    assert err.value.status_code == 403  # purge protection

    create_vault(keyhold, rg, "kv-purgeable")
    client.vaults.delete(rg, "kv-purgeable")
    client.vaults.begin_purge_deleted("kv-purgeable", LOCATION).result()
    with pytest.raises(ResourceNotFoundError):
        client.vaults.get_deleted("kv-purgeable", LOCATION)


def test_key_lifecycle_with_key_client(keyhold, vault):
    client = key_client(keyhold, vault)
    key = client.create_rsa_key("life-key", size=2048, tags={"team": "a"})
    assert key.key_type == "RSA" and key.properties.version and len(key.properties.version) == 32
    assert key.id == f"{keyhold.vault_url(vault)}/keys/life-key/{key.properties.version}"
    assert sorted(key.key_operations) == sorted(["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"])
    assert key.properties.recovery_level == "CustomizedRecoverable+Purgeable"
    assert key.properties.recoverable_days == 7
    assert client.get_key("life-key").id == key.id
    assert client.get_key("life-key", key.properties.version).key.n == key.key.n
    assert "life-key" in [k.name for k in client.list_properties_of_keys()]

    updated = client.update_key_properties("life-key", enabled=False, tags={"team": "b"})
    assert updated.properties.enabled is False and updated.properties.tags == {"team": "b"}
    crypto = CryptographyClient(key, credential(keyhold))
    with pytest.raises(HttpResponseError) as err:
        crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, b"\0" * 256)
    assert err.value.status_code == 403
    client.update_key_properties("life-key", enabled=True)

    rotated = client.rotate_key("life-key")
    assert rotated.properties.version != key.properties.version
    versions = [v.version for v in client.list_properties_of_key_versions("life-key")]
    assert sorted(versions) == sorted([key.properties.version, rotated.properties.version])
    assert client.get_key("life-key").properties.version == rotated.properties.version

    policy_set = client.update_key_rotation_policy("life-key", KeyRotationPolicy(
        lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P30D")],
        expires_in="P90D"))
    assert policy_set.expires_in == "P90D"
    got = client.get_key_rotation_policy("life-key")
    assert got.lifetime_actions[0].time_after_create == "P30D"

    assert len(client.get_random_bytes(32)) == 32

    deleted = client.begin_delete_key("life-key").result()
    assert deleted.recovery_id == f"{keyhold.vault_url(vault)}/deletedkeys/life-key"
    assert deleted.scheduled_purge_date and deleted.deleted_date
    assert client.get_deleted_key("life-key").name == "life-key"
    assert "life-key" in [k.name for k in client.list_deleted_keys()]
    with pytest.raises(ResourceNotFoundError):
        client.get_key("life-key")
    with pytest.raises(ResourceExistsError) as err:
        client.create_rsa_key("life-key")
    assert "ObjectIsDeletedButRecoverable" in str(err.value)
    recovered = client.begin_recover_deleted_key("life-key").result()
    assert recovered.properties.version == rotated.properties.version
    client.begin_delete_key("life-key").result()
    client.purge_deleted_key("life-key")
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_key("life-key")


def test_paging_follows_next_link(keyhold, vault):
    client = key_client(keyhold, vault)
    for i in range(3):
        client.create_rsa_key(f"page-key-{i}")
    pages = list(client.list_properties_of_keys(max_page_size=1).by_page())
    names = [k.name for page in pages for k in page]
    assert len(pages) >= 3
    assert {"page-key-0", "page-key-1", "page-key-2"} <= set(names)
    assert len(names) == len(set(names))


@pytest.mark.parametrize("size", [2048, 3072, 4096])
def test_crypto_operations(keyhold, vault, size):
    client = key_client(keyhold, vault)
    key = client.create_rsa_key(f"crypto-{size}", size=size, hardware_protected=(size == 3072))
    assert key.key_type == ("RSA-HSM" if size == 3072 else "RSA")
    crypto = CryptographyClient(key.id, credential(keyhold))
    cek = os.urandom(32)
    for alg in (KeyWrapAlgorithm.rsa_oaep, KeyWrapAlgorithm.rsa_oaep_256):
        wrapped = crypto.wrap_key(alg, cek)
        assert wrapped.key_id == key.id
        assert crypto.unwrap_key(alg, wrapped.encrypted_key).key == cek
    for alg in (EncryptionAlgorithm.rsa_oaep, EncryptionAlgorithm.rsa_oaep_256):
        encrypted = crypto.encrypt(alg, b"plaintext bytes")
        assert crypto.decrypt(alg, encrypted.ciphertext).plaintext == b"plaintext bytes"
    digest = hashlib.sha256(b"message").digest()
    for alg in (SignatureAlgorithm.rs256, SignatureAlgorithm.ps256):
        signed = crypto.sign(alg, digest)
        assert crypto.verify(alg, digest, signed.signature).is_valid
        assert not crypto.verify(alg, hashlib.sha256(b"other").digest(), signed.signature).is_valid
    # A wrong ciphertext is one opaque error.
    with pytest.raises(HttpResponseError) as err:
        crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, b"\1" * (size // 8))
    assert err.value.status_code == 400


def test_versionless_camel_case_wrap(keyhold, vault):
    """The SDKs post `/keys/{name}/wrapKey` without a version (emulator issue #419)."""
    key_client(keyhold, vault).create_rsa_key("camel")
    response = raw(keyhold, vault, "POST", "/keys/camel/wrapKey",
                   json={"alg": "RSA-OAEP-256", "value": "AAAAAAAAAAAAAAAAAAAAAA"})
    assert response.status_code == 200, response.text
    assert "/keys/camel/" in response.json()["kid"]
    response = raw(keyhold, vault, "POST", "/keys/camel//unwrapkey",
                   json={"alg": "RSA-OAEP-256", "value": response.json()["value"]})
    assert response.status_code == 200 and response.json()["value"] == "AAAAAAAAAAAAAAAAAAAAAA"


def test_backup_restore(keyhold, vault):
    client = key_client(keyhold, vault)
    key = client.create_rsa_key("backed-up")
    client.rotate_key("backed-up")
    blob = client.backup_key("backed-up")
    client.begin_delete_key("backed-up").result()
    client.purge_deleted_key("backed-up")
    restored = client.restore_key_backup(blob)
    assert restored.name == "backed-up"
    assert len(list(client.list_properties_of_key_versions("backed-up"))) == 2
    assert client.get_key("backed-up", key.properties.version).key.n == key.key.n
    # Restoring over an existing key is a conflict; a tampered blob is refused.
    with pytest.raises(HttpResponseError) as err:
        client.restore_key_backup(blob)
    assert err.value.status_code == 409
    tampered = bytearray(blob)
    tampered[len(tampered) // 2] ^= 1
    with pytest.raises(HttpResponseError) as err:
        client.restore_key_backup(bytes(tampered))
    assert err.value.status_code == 400


def test_no_token_gets_the_challenge(keyhold, vault):
    response = requests.get(f"{keyhold.vault_url(vault)}/keys?{KV_API}", timeout=10)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    boot = keyhold.bootstrap
    assert f'authorization="{keyhold.endpoint}/{boot["tenantId"]}"' in challenge
    assert f'resource="https://{boot["vaultDomain"]}:{keyhold.port}"' in challenge
    # A management token is for another audience.
    mgmt_token = credential(keyhold).get_token(boot["managementScope"]).token
    wrong = raw(keyhold, vault, "GET", "/keys", token=mgmt_token)
    assert wrong.status_code == 401


def test_principal_without_permission_gets_403(keyhold, vault):
    sp = create_service_principal(keyhold, "kv-outsider")
    cred = credential(keyhold, sp["appId"], sp["clientSecret"])
    client = key_client(keyhold, vault, cred)
    key_client(keyhold, vault).create_rsa_key("guarded")
    with pytest.raises(HttpResponseError) as err:
        client.get_key("guarded")
    assert err.value.status_code == 403
    assert "does not have keys get permission" in str(err.value)
    mgmt(keyhold).vaults.update_access_policy(
        "kv-rg", vault, "add", {"properties": {"accessPolicies": [policy(keyhold, sp["id"], ["get", "unwrapKey"])]}})
    key = client.get_key("guarded")
    crypto = CryptographyClient(key, cred)
    wrapped = key_client(keyhold, vault).get_key("guarded")
    wrapped = CryptographyClient(wrapped, credential(keyhold)).wrap_key(KeyWrapAlgorithm.rsa_oaep, b"k" * 32)
    assert crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep, wrapped.encrypted_key).key == b"k" * 32
    with pytest.raises(HttpResponseError) as err:
        crypto.sign(SignatureAlgorithm.rs256, hashlib.sha256(b"x").digest())
    assert err.value.status_code == 403
    # Removing the policy takes effect on the next request.
    mgmt(keyhold).vaults.update_access_policy(
        "kv-rg", vault, "remove", {"properties": {"accessPolicies": [policy(keyhold, sp["id"], ["unwrapKey"])]}})
    with pytest.raises(HttpResponseError) as err:
        crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep, wrapped.encrypted_key)
    assert err.value.status_code == 403
    assert client.get_key("guarded").name == "guarded"


def test_rbac_vault_uses_role_assignments(keyhold):
    boot = keyhold.bootstrap
    rg = create_resource_group(keyhold, "kv-rbac-rg")
    vault = create_vault(keyhold, rg, "kv-rbac", enableRbacAuthorization=True, accessPolicies=[])
    sp = create_service_principal(keyhold, "kv-crypto-user")
    cred = credential(keyhold, sp["appId"], sp["clientSecret"])
    admin = key_client(keyhold, "kv-rbac")
    # The admin is Owner, which grants no data actions: it needs a Key Vault role too.
    with pytest.raises(HttpResponseError) as err:
        admin.create_rsa_key("rbac-key")
    assert err.value.status_code == 403

    def assign(principal: str, role_name: str):
        definitions = requests.get(
            f"{keyhold.endpoint}{vault.id}/providers/Microsoft.Authorization/roleDefinitions"
            f"?api-version=2022-04-01&$filter=roleName eq '{role_name}'",
            headers=admin_headers(keyhold), timeout=10).json()["value"]
        response = requests.put(
            f"{keyhold.endpoint}{vault.id}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
            "?api-version=2022-04-01", headers=admin_headers(keyhold), timeout=10,
            json={"properties": {"roleDefinitionId": definitions[0]["id"], "principalId": principal}})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    assign(whoami(keyhold)["objectId"], "Key Vault Crypto Officer")
    key = admin.create_rsa_key("rbac-key")
    user_crypto = CryptographyClient(key.id, cred)
    with pytest.raises(HttpResponseError) as err:
        user_crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, b"\0" * 256)
    assert err.value.status_code == 403
    assignment = assign(sp["id"], "Key Vault Crypto User")
    wrapped = CryptographyClient(key, credential(keyhold)).wrap_key(KeyWrapAlgorithm.rsa_oaep_256, b"s" * 32)
    assert user_crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key).key == b"s" * 32
    with pytest.raises(HttpResponseError) as err:
        key_client(keyhold, "kv-rbac", cred).create_rsa_key("not-allowed")
    assert err.value.status_code == 403
    requests.delete(f"{keyhold.endpoint}{assignment}?api-version=2022-04-01", headers=admin_headers(keyhold),
                    timeout=10).raise_for_status()
    with pytest.raises(HttpResponseError) as err:
        user_crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key)
    assert err.value.status_code == 403
    assert boot["tenantId"]


def test_firewall(keyhold):
    rg = create_resource_group(keyhold, "kv-fw-rg")
    create_vault(keyhold, rg, "kv-fw", networkAcls={"defaultAction": "Deny", "bypass": "None", "ipRules": []})
    response = raw(keyhold, "kv-fw", "GET", "/keys")
    assert response.status_code == 403
    assert response.json()["error"]["innererror"]["code"] == "ForbiddenByFirewall"
    mgmt(keyhold).vaults.update(rg, "kv-fw", {"properties": {
        "networkAcls": {"defaultAction": "Deny", "bypass": "None", "ipRules": [{"value": "127.0.0.0/8"}]}}})
    assert raw(keyhold, "kv-fw", "GET", "/keys").status_code == 200


def test_purge_under_purge_protection_is_refused(keyhold):
    rg = create_resource_group(keyhold, "kv-pp-rg")
    create_vault(keyhold, rg, "kv-protected", enablePurgeProtection=True)
    client = key_client(keyhold, "kv-protected")
    key = client.create_rsa_key("kept")
    assert key.properties.recovery_level == "CustomizedRecoverable"
    client.begin_delete_key("kept").result()
    with pytest.raises(HttpResponseError) as err:
        client.purge_deleted_key("kept")
    assert err.value.status_code == 403
    assert client.get_deleted_key("kept").name == "kept"


def test_bad_input_gets_azure_codes_and_changes_nothing(keyhold, vault):
    client = key_client(keyhold, vault)
    key = client.create_rsa_key("strict", key_operations=["wrapKey", "unwrapKey"])
    other = client.create_rsa_key("strict-other")
    cases = [
        ("POST", "/keys/strict/create", {"data": "{not json"}, 400, "BadParameter"),
        ("POST", "/keys/strict//wrapkey", {"json": {"alg": "RSA-OAEP", "value": "*not base64*"}}, 400, "BadParameter"),
        ("POST", "/keys/strict//wrapkey", {"json": {"alg": "RSA-OAEP-512", "value": "AAAA"}}, 400, "BadParameter"),
        ("POST", "/keys/sized/create", {"json": {"kty": "RSA", "key_size": 3000}}, 400, "BadParameter"),
        ("POST", "/keys/typed/create", {"json": {"kty": "DSA"}}, 400, "BadParameter"),
        ("POST", "/keys/strict//sign", {"json": {"alg": "RS256", "value": "AAAA"}}, 403, "Forbidden"),
        ("POST", "/keys/bad_name!/create", {"json": {"kty": "RSA"}}, 400, "BadParameter"),
        ("GET", f"/keys/strict/{other.properties.version}", {}, 404, "KeyNotFound"),
        ("PATCH", "/keys/strict", {"json": {"key_ops": ["fly"]}}, 400, "BadParameter"),
        ("POST", "/keys/strict//wrapkey", {"data": b"x" * (300 * 1024)}, 413, "RequestEntityTooLarge"),
        ("POST", "/rng", {"json": {"count": 500}}, 400, "BadParameter"),
    ]
    for method, path, body, status, code in cases:
        response = raw(keyhold, vault, method, path, **body)
        assert response.status_code == status, (path, response.text)
        assert response.json()["error"]["code"] == code, (path, response.text)
    after = client.get_key("strict")
    assert after.properties.version == key.properties.version
    assert after.key_operations == ["wrapKey", "unwrapKey"]
    names = [k.name for k in client.list_properties_of_keys()]
    assert "sized" not in names and "typed" not in names
    unknown_version = raw(keyhold, vault, "GET", "/keys/strict?api-version=1999-01-01")
    assert unknown_version.status_code == 400
    # Expired and not-yet-valid keys refuse operations with Forbidden/KeyDisabled.
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    crypto = CryptographyClient(key.id, credential(keyhold))
    for attrs in ({"expires_on": now - datetime.timedelta(minutes=1)},
                  {"not_before": now + datetime.timedelta(hours=1)}):
        client.update_key_properties("strict", **attrs)
        with pytest.raises(HttpResponseError) as err:
            crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep, b"\0" * 256)
        assert err.value.status_code == 403 and "KeyDisabled" in str(err.value)
        response = raw(keyhold, vault, "PATCH", "/keys/strict", json={"attributes": {"exp": None, "nbf": None}})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("curve,alg,hash_name", [("P-256", SignatureAlgorithm.es256, "sha256"),
                                                  ("P-384", SignatureAlgorithm.es384, "sha384"),
                                                  ("P-521", SignatureAlgorithm.es512, "sha512")])
def test_ec_keys_sign_and_verify(keyhold, vault, curve, alg, hash_name):
    client = key_client(keyhold, vault)
    key = client.create_ec_key(f"ec-{curve.lower()}", curve=curve, hardware_protected=(curve == "P-384"))
    assert key.key_type == ("EC-HSM" if curve == "P-384" else "EC")
    assert key.key.crv == curve and sorted(key.key_operations) == ["sign", "verify"]
    crypto = CryptographyClient(key.id, credential(keyhold))
    digest = hashlib.new(hash_name, b"message").digest()
    signed = crypto.sign(alg, digest)
    assert crypto.verify(alg, digest, signed.signature).is_valid
    assert not crypto.verify(alg, hashlib.new(hash_name, b"other").digest(), signed.signature).is_valid
    # The signature also verifies with the `cryptography` package from the public JWK alone.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils
    curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
    public = ec.EllipticCurvePublicNumbers(int.from_bytes(key.key.x, "big"), int.from_bytes(key.key.y, "big"),
                                           curves[curve]).public_key()
    half = len(signed.signature) // 2
    der = utils.encode_dss_signature(int.from_bytes(signed.signature[:half], "big"),
                                     int.from_bytes(signed.signature[half:], "big"))
    public.verify(der, digest, ec.ECDSA(utils.Prehashed(getattr(hashes, hash_name.upper())())))
    with pytest.raises(HttpResponseError) as err:
        client.create_ec_key("ec-bad", curve="P-192")
    assert err.value.status_code == 400


def test_oct_hsm_keys_wrap_and_gcm(keyhold, vault):
    client = key_client(keyhold, vault)
    key = client.create_oct_key("oct-key", size=256, hardware_protected=True)
    assert key.key_type == "oct-HSM"
    assert key.key.k is None
    crypto = CryptographyClient(key.id, credential(keyhold))
    cek = os.urandom(32)
    wrapped = crypto.wrap_key(KeyWrapAlgorithm.aes_256, cek)
    assert len(wrapped.encrypted_key) == 40
    assert crypto.unwrap_key(KeyWrapAlgorithm.aes_256, wrapped.encrypted_key).key == cek
    encrypted = crypto.encrypt(EncryptionAlgorithm.a256_gcm, b"secret", additional_authenticated_data=b"ctx")
    assert encrypted.iv and encrypted.tag
    decrypted = crypto.decrypt(EncryptionAlgorithm.a256_gcm, encrypted.ciphertext, iv=encrypted.iv,
                               authentication_tag=encrypted.tag,
                               additional_authenticated_data=b"ctx")
    assert decrypted.plaintext == b"secret"
    with pytest.raises(HttpResponseError) as err:
        crypto.decrypt(EncryptionAlgorithm.a256_gcm, encrypted.ciphertext, iv=encrypted.iv,
                       authentication_tag=encrypted.tag, additional_authenticated_data=b"other")
    assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:
        client.create_oct_key("oct-soft", size=256, hardware_protected=False)
    assert err.value.status_code == 400


def test_rsa1_5_and_import(keyhold, vault):
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from azure.keyvault.keys import JsonWebKey
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = private.private_numbers()
    to_bytes = lambda n: n.to_bytes((n.bit_length() + 7) // 8, "big")
    jwk = JsonWebKey(kty="RSA", n=to_bytes(numbers.public_numbers.n), e=to_bytes(numbers.public_numbers.e),
                     d=to_bytes(numbers.d), p=to_bytes(numbers.p), q=to_bytes(numbers.q),
                     dp=to_bytes(numbers.dmp1), dq=to_bytes(numbers.dmq1), qi=to_bytes(numbers.iqmp))
    client = key_client(keyhold, vault)
    imported = client.import_key("imported", jwk)
    assert imported.key.n == jwk.n and imported.key.d is None
    crypto = CryptographyClient(imported.id, credential(keyhold))
    # Encrypted outside keyhold with PKCS#1 v1.5, decrypted inside.
    ciphertext = private.public_key().encrypt(b"legacy", padding.PKCS1v15())
    assert crypto.decrypt(EncryptionAlgorithm.rsa1_5, ciphertext).plaintext == b"legacy"
    # A public-only JWK cannot be imported.
    with pytest.raises(HttpResponseError) as err:
        client.import_key("public-only", JsonWebKey(kty="RSA", n=jwk.n, e=jwk.e))
    assert err.value.status_code == 400
