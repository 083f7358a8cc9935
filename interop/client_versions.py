"""Prints, as JSON, the api-version each installed official Python client sends by default:
the azure-mgmt-* clients' configuration defaults, azure-keyvault-keys' default, and the Azure
CLI's profile where it pins one. Run with the Python of the environment to inspect (the
interop venv, or the Azure CLI's own venv): `python interop/client_versions.py`."""
from __future__ import annotations

import importlib
import importlib.metadata
import json

# (name, plane, modules to look in (the first that has the class), client class, extra
# constructor arguments after the credential). azure-mgmt-resource 25+ keeps only the resources
# client, in `azure.mgmt.resource.resources`; its deployments client is a package of its own and
# its subscriptions client moved out (in the Azure CLI's venv the older layout is still found).
MGMT_CLIENTS = [
    ("azure-mgmt-keyvault", "Microsoft.KeyVault", ("azure.mgmt.keyvault",), "KeyVaultManagementClient", ("s",)),
    ("azure-mgmt-cognitiveservices", "Microsoft.CognitiveServices", ("azure.mgmt.cognitiveservices",),
     "CognitiveServicesManagementClient", ("s",)),
    ("azure-mgmt-msi", "Microsoft.ManagedIdentity", ("azure.mgmt.msi",), "ManagedServiceIdentityClient", ("s",)),
    ("azure-mgmt-resource", "Microsoft.Resources", ("azure.mgmt.resource", "azure.mgmt.resource.resources"),
     "ResourceManagementClient", ("s",)),
    ("azure-mgmt-resource", "Microsoft.Resources", ("azure.mgmt.resource", "azure.mgmt.resource.subscriptions"),
     "SubscriptionClient", ()),
    ("azure-mgmt-resource-deployments", "Microsoft.Resources/deployments", ("azure.mgmt.resource.deployments",),
     "DeploymentsMgmtClient", ("s",)),
]


def _client_class(modules: tuple, cls: str):
    """The class from the first of `modules` that has it, or None (a layout without it)."""
    for module in modules:
        try:
            found = getattr(importlib.import_module(module), cls, None)
        except ImportError:
            continue
        if found is not None:
            return found
    return None


class _Credential:
    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken
        return AccessToken("unused", 0)


def _package(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def collect() -> list[dict]:
    found = []
    for package, plane, modules, cls, args in MGMT_CLIENTS:
        version = _package(package)
        if version is None:
            continue
        client_class = _client_class(modules, cls)
        if client_class is None:
            continue
        client = client_class(_Credential(), *args)
        # Single-api clients keep it in their configuration; multi-api ones declare a default.
        api = getattr(client._config, "api_version", None) or getattr(client_class, "DEFAULT_API_VERSION", None)
        if api:
            found.append({"client": f"{package} {version} {cls}", "plane": plane, "apiVersion": api})
    keys = _package("azure-keyvault-keys")
    if keys is not None:
        from azure.keyvault.keys._shared.client_base import DEFAULT_VERSION
        found.append({"client": f"azure-keyvault-keys {keys}", "plane": "KeyVaultData",
                      "apiVersion": getattr(DEFAULT_VERSION, "value", str(DEFAULT_VERSION))})
    cli = _package("azure-cli-core")
    if cli is not None:
        from azure.cli.core.profiles import AZURE_API_PROFILES, ResourceType
        profile = AZURE_API_PROFILES["latest"]
        for resource_type, plane in [(ResourceType.MGMT_RESOURCE_RESOURCES, "Microsoft.Resources"),
                                     (ResourceType.MGMT_RESOURCE_SUBSCRIPTIONS, "Microsoft.Resources"),
                                     (ResourceType.MGMT_MSI, "Microsoft.ManagedIdentity"),
                                     (ResourceType.MGMT_KEYVAULT, "Microsoft.KeyVault"),
                                     (ResourceType.MGMT_COGNITIVESERVICES, "Microsoft.CognitiveServices"),
                                     (ResourceType.DATA_KEYVAULT_KEYS, "KeyVaultData")]:
            pinned = profile.get(resource_type)
            if isinstance(pinned, str):
                found.append({"client": f"azure-cli {cli} profile {resource_type.name}", "plane": plane,
                              "apiVersion": pinned})
    return found


if __name__ == "__main__":
    print(json.dumps(collect(), indent=1))
