//! The reference templates (Microsoft's CMK samples, read from `../shared/reference/templates/`)
//! against the in-memory host: template 30 runs fully and sends what ARM would send; the others
//! parse, validate, plan, what-if and run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{FakeHost, SUBSCRIPTION, TENANT, context, load, rg_id};
use keyhold_arm_template::{ChangeType, Deployment, DeploymentRequest, ProvisioningState, guid};
use serde_json::{Value, json};

fn foundry30_parameters() -> Value {
    json!({
        "aiFoundryName": {"value": "foundry-cmk-test"},
        "location": {"value": "eastus2"},
        "keyVaultName": {"value": "kv-cmk"},
        "keyName": {"value": "cmk"},
        "keyVersion": {"value": "0123456789abcdef0123456789abcdef"},
    })
}

#[tokio::test]
async fn foundry_30_runs_fully_in_order_with_the_bodies_arm_sends() {
    let template = load("foundry-30-customer-managed-keys.azuredeploy.json");
    let request = DeploymentRequest::new(template, foundry30_parameters()).unwrap();
    let deployment = Deployment::prepare(context("main"), &request).unwrap();
    let host = FakeHost::new();
    let outcome = deployment.run(host.as_ref()).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:#?}",
        outcome.error
    );

    let account_id = format!(
        "{}/providers/Microsoft.CognitiveServices/accounts/foundry-cmk-test",
        rg_id()
    );
    let puts = host.puts();
    assert_eq!(puts.len(), 5, "{:?}", host.put_ids());
    // The account comes first; everything else depends on it.
    assert_eq!(puts[0].0, account_id);
    assert_eq!(
        puts[0].1,
        json!({
            "location": "eastus2",
            "identity": {"type": "SystemAssigned"},
            "kind": "AIServices",
            "sku": {"name": "S0"},
            "properties": {
                "publicNetworkAccess": "Enabled",
                "allowProjectManagement": true,
                "customSubDomainName": "foundry-cmk-test",
                "disableLocalAuth": false,
            },
        })
    );
    let project = host.put_index("/accounts/foundry-cmk-test/projects/foundry-cmk-test-proj");
    let model = host.put_index("/accounts/foundry-cmk-test/deployments/gpt-4.1-mini");
    let policy = host.put_index("/providers/Microsoft.KeyVault/vaults/kv-cmk/accessPolicies/add");
    assert!(project > 0 && model > 0 && policy > 0);
    assert_eq!(
        puts[model].1,
        json!({"sku": {"capacity": 1, "name": "GlobalStandard"}, "properties": {"model": {"name": "gpt-4.1-mini", "format": "OpenAI", "version": "2025-04-14"}}})
    );
    assert_eq!(
        puts[project].1,
        json!({"identity": {"type": "SystemAssigned"}, "location": "eastus2", "properties": {"displayName": "project", "description": "My first project"}})
    );
    // The nested updateEncryption deployment (scope inner) gets the account's principal
    // through reference(..., 'full').identity.principalId.
    let principal = guid(&["principal", &account_id]);
    assert_eq!(
        puts[policy].1,
        json!({"properties": {"accessPolicies": [{
            "objectId": principal,
            "tenantId": TENANT,
            "permissions": {
                "keys": ["get", "wrapKey", "unwrapKey", "sign", "verify", "encrypt", "decrypt", "wrapKey", "unwrapKey"],
                "secrets": ["get", "list"],
            },
        }]}})
    );
    let update = puts.iter().rposition(|(id, _)| *id == account_id).unwrap();
    assert!(update > 0);
    assert_eq!(
        puts[update].1["properties"]["encryption"],
        json!({"keySource": "Microsoft.KeyVault", "keyVaultProperties": {
            "keyVaultUri": "https://kv-cmk.vault.azure.net/", "keyName": "cmk", "keyVersion": "0123456789abcdef0123456789abcdef"}})
    );
    assert_eq!(puts[update].1["location"], "eastus2");

    // Outputs, operations and the nested deployment's own record.
    assert_eq!(outcome.output("accountId"), Some(&json!(account_id)));
    assert_eq!(
        outcome.output("accountName"),
        Some(&json!("foundry-cmk-test"))
    );
    assert_eq!(outcome.operations.len(), 4);
    assert_eq!(outcome.nested.len(), 1);
    let nested = &outcome.nested[0];
    assert_eq!(nested.name, "updateEncryption");
    assert_eq!(nested.operations.len(), 2);
    assert_eq!(
        nested.parameters["aiFoundryPrincipal"]["value"],
        json!(principal)
    );
    assert_eq!(outcome.all_operations().len(), 6);
    let props = outcome.properties();
    assert_eq!(props["provisioningState"], "Succeeded");
    assert_eq!(
        props["outputs"]["accountName"],
        json!({"type": "String", "value": "foundry-cmk-test"})
    );
    let op = outcome.operations[0].to_json(&outcome.id);
    assert_eq!(op["properties"]["provisioningState"], "Succeeded");
    assert_eq!(op["properties"]["statusCode"], "OK");
}

#[tokio::test]
async fn foundry_30_runs_with_its_own_parameters_file() {
    let template = load("foundry-30-customer-managed-keys.azuredeploy.json");
    let parameters = load("foundry-30-customer-managed-keys.deployment.parameters.json");
    let request = DeploymentRequest::new(template, parameters).unwrap();
    let deployment = Deployment::prepare(context("main"), &request).unwrap();
    assert_eq!(deployment.validated_resources().len(), 4);
    let host = FakeHost::new();
    let outcome = deployment.run(host.as_ref()).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:#?}",
        outcome.error
    );
    assert_eq!(
        outcome.output("accountName"),
        Some(&json!("<your-foundry-name>"))
    );
}

#[tokio::test]
async fn foundry_30_validate_and_what_if() {
    let template = load("foundry-30-customer-managed-keys.azuredeploy.json");
    let request = DeploymentRequest::new(template, foundry30_parameters()).unwrap();
    let deployment = Deployment::prepare(context("main"), &request).unwrap();
    let v = deployment.validate_response();
    assert_eq!(
        v["properties"]["validatedResources"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        v["properties"]["parameters"]["location"],
        json!({"type": "String", "value": "eastus2"})
    );

    let host = FakeHost::new();
    let w = deployment.what_if(host.as_ref()).await.unwrap();
    // Account, project, model deployment, then the nested access policy and account update.
    assert_eq!(w.changes.len(), 5);
    assert!(
        w.changes
            .iter()
            .all(|c| c.change_type == ChangeType::Create)
    );
    let policy = w
        .changes
        .iter()
        .find(|c| c.resource_id.resource_type() == "Microsoft.KeyVault/vaults/accessPolicies")
        .unwrap();
    // The principal comes from an account this deployment creates: left as the expression.
    let object_id = &policy.after.as_ref().unwrap()["properties"]["accessPolicies"][0]["objectId"];
    assert_eq!(object_id, "[parameters('aiFoundryPrincipal')]");
    assert!(host.puts().is_empty(), "what-if wrote");

    // After a run, a second what-if sees everything in place…
    deployment.run(host.as_ref()).await;
    let again = deployment.what_if(host.as_ref()).await.unwrap();
    let types: Vec<_> = again
        .changes
        .iter()
        .map(|c| {
            (
                c.resource_id.resource_type().to_string(),
                c.change_type,
                c.delta.clone(),
            )
        })
        .collect();
    assert!(
        again
            .changes
            .iter()
            .all(|c| c.change_type == ChangeType::NoChange),
        "{types:#?}"
    );
    // …and a new key version is a Modify of the nested account update, with its delta.
    let mut parameters = foundry30_parameters();
    parameters["keyVersion"] = json!({"value": "ffff"});
    let template = load("foundry-30-customer-managed-keys.azuredeploy.json");
    let rotated = Deployment::prepare(
        context("main"),
        &DeploymentRequest::new(template, parameters).unwrap(),
    )
    .unwrap();
    let w = rotated.what_if(host.as_ref()).await.unwrap();
    let update = w.changes.last().unwrap();
    assert_eq!(update.change_type, ChangeType::Modify);
    assert_eq!(update.delta.len(), 1, "{:#?}", update.delta);
    assert_eq!(
        update.delta[0].path,
        "properties.encryption.keyVaultProperties.keyVersion"
    );
    assert_eq!(
        update.delta[0].before,
        Some(json!("0123456789abcdef0123456789abcdef"))
    );
    assert_eq!(update.delta[0].after, Some(json!("ffff")));
    let wire = w.to_json();
    assert_eq!(wire["status"], "Succeeded");
    assert_eq!(wire["properties"]["changes"][4]["changeType"], "Modify");
    assert_eq!(
        wire["properties"]["changes"][4]["delta"][0]["propertyChangeType"],
        "Modify"
    );
}

fn foundry31_parameters() -> Value {
    let mut p = load("foundry-31-customer-managed-keys-standard-agent.deployment.parameters.json");
    p["parameters"]["location"] = json!({"value": "eastus"});
    p["parameters"]["aiFoundryName"] = json!({"value": "aifstd"});
    p["parameters"]["projectName"] = json!({"value": "proj1"});
    p
}

#[tokio::test]
async fn foundry_31_parses_validates_plans_and_runs() {
    let template = load("foundry-31-customer-managed-keys-standard-agent.azuredeploy.json");
    let request = DeploymentRequest::new(template, foundry31_parameters()).unwrap();
    let deployment = Deployment::prepare(context("main"), &request).unwrap();
    let resources = deployment.validated_resources();
    let ids: Vec<String> = resources
        .iter()
        .map(|r| r.id.last_name().to_string())
        .collect();
    assert_eq!(resources.len(), 11, "{ids:#?}");
    // deploymentTimestamp defaults to utcNow('yyyyMMddHHmmss') from the context's clock.
    assert_eq!(
        deployment.parameters()["deploymentTimestamp"]["value"],
        "20260101000000"
    );
    let host = FakeHost::new();
    let w = deployment.what_if(host.as_ref()).await.unwrap();
    // Before anything exists, resources named from other resources' outputs cannot be named
    // yet; the others are all Create.
    assert!(w.changes.len() >= 8, "{}", w.changes.len());
    assert!(
        w.changes
            .iter()
            .all(|c| c.change_type == ChangeType::Create)
    );
    let outcome = deployment.run(host.as_ref()).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:#?}",
        outcome.error
    );
    let ids = host.put_ids();
    // Conditional dependencies were created (none passed in), role assignments landed as
    // extension resources on them, and the capability host came last.
    assert!(
        ids.iter()
            .any(|i| i.contains("/providers/Microsoft.DocumentDB/databaseAccounts/"))
    );
    assert!(ids.iter().any(
        |i| i.contains("/providers/Microsoft.Storage/storageAccounts/")
            && i.contains("/providers/Microsoft.Authorization/roleAssignments/")
    ));
    let caphost = host.put_index("/capabilityHosts/projcaphost");
    let policy = host.put_index("/accessPolicies/add");
    assert!(policy < caphost);
    assert!(outcome.all_operations().len() >= 15);
}

#[tokio::test]
async fn quickstart_prereq_and_main_parse_validate_and_run() {
    let prereq = load("quickstart-aistudio-cmk-service-side-encryption.prereq.azuredeploy.json");
    let request = DeploymentRequest::new(
        prereq,
        json!({"keyVaultName": {"value": "kvcmk"}, "location": {"value": "eastus"}, "cosmosDbId": {"value": "c0000000-0000-0000-0000-000000000000"}, "tenantId": {"value": TENANT}}),
    );
    let deployment = Deployment::prepare(context("prereq"), &request.unwrap()).unwrap();
    let host = FakeHost::new();
    let outcome = deployment.run(host.as_ref()).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:#?}",
        outcome.error
    );
    assert_eq!(
        outcome.output("cmk_keyvault_vault_uri"),
        Some(&json!("https://kvcmk.vault.azure.net/"))
    );
    assert_eq!(
        outcome.output("cmk_keyvault_key_version"),
        Some(&json!("0123456789abcdef0123456789abcdef"))
    );

    let main = load("quickstart-aistudio-cmk-service-side-encryption.azuredeploy.json");
    let parameters = json!({
        "cmk_keyvault_id": {"value": outcome.output("cmk_keyvault").unwrap()},
        "cmk_keyvault_vault_uri": {"value": outcome.output("cmk_keyvault_vault_uri").unwrap()},
        "cmk_keyvault_key_name": {"value": outcome.output("cmk_keyvault_key_name").unwrap()},
        "cmk_keyvault_key_version": {"value": outcome.output("cmk_keyvault_key_version").unwrap()},
    });
    let deployment = Deployment::prepare(
        context("main"),
        &DeploymentRequest::new(main, parameters).unwrap(),
    )
    .unwrap();
    assert_eq!(deployment.validated_resources().len(), 2);
    let outcome = deployment.run(host.as_ref()).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:#?}",
        outcome.error
    );
    // The hub connection's key came from listKeys() of the AI services account.
    let connection = host
        .puts()
        .into_iter()
        .find(|(id, _)| id.contains("/workspaces/") && id.contains("/connections/"))
        .unwrap();
    assert!(
        connection.1["properties"]["credentials"]["key"]
            .as_str()
            .unwrap()
            .starts_with("key1-of-ais")
    );
    // uniqueString(resourceGroup().id) shortened to 4 characters names the dependencies.
    let suffix = &keyhold_arm_template::unique_string(&[&rg_id()])[..4];
    assert!(
        host.put_ids()
            .iter()
            .any(|id| id.ends_with(&format!("/vaults/kv-demo-{suffix}"))),
        "{:?}",
        host.put_ids()
    );
    let _ = SUBSCRIPTION;
}
