//! Deployments at subscription scope: resource groups created by the template, nested
//! deployments into them (ids, order, the group's location), subscription-level ids from
//! `resourceId()`/`subscriptionResourceId()`, and `resourceGroup()` refused where it has no
//! meaning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{FakeHost, SUBSCRIPTION, TENANT};
use keyhold_arm_template::{
    Deployment, DeploymentContext, DeploymentRequest, FixedClock, ProvisioningState,
};
use serde_json::json;

fn sub_context() -> DeploymentContext {
    DeploymentContext::at_subscription(TENANT, SUBSCRIPTION, "westeurope", "subdeploy")
        .with_clock(Arc::new(FixedClock(1_767_225_600)))
}

fn template() -> serde_json::Value {
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"rgName": {"type": "string"}},
        "resources": [
            {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01",
             "name": "[parameters('rgName')]", "location": "[deployment().location]"},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner",
             "resourceGroup": "[parameters('rgName')]",
             "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('rgName'))]"],
             "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                "template": {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                    "contentVersion": "1.0.0.0",
                    "resources": [{"type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                        "apiVersion": "2023-01-31", "name": "id1", "location": "[resourceGroup().location]"}],
                    "outputs": {"group": {"type": "string", "value": "[resourceGroup().name]"}}}}}
        ],
        "outputs": {
            "rgId": {"type": "string", "value": "[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('rgName'))]"},
            "plainId": {"type": "string", "value": "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'x')]"}
        }
    })
}

#[tokio::test]
async fn a_subscription_deployment_creates_a_group_and_deploys_into_it() {
    let host = FakeHost::new();
    let request =
        DeploymentRequest::new(template(), json!({"rgName": {"value": "rg-new"}})).unwrap();
    let d = Deployment::prepare(sub_context(), &request).unwrap();
    let validated = d.validate_response();
    assert_eq!(
        validated["id"],
        format!(
            "/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Resources/deployments/subdeploy"
        )
    );
    let outcome = d.run(&*host).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:?}",
        outcome.error
    );
    let rg = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-new");
    let puts = host.put_ids();
    assert_eq!(
        puts,
        vec![
            rg.clone(),
            format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"),
        ]
    );
    let (_, group_body) = &host.puts()[0];
    assert_eq!(group_body["location"], "westeurope");
    assert_eq!(outcome.output("rgId").unwrap(), &json!(rg));
    assert_eq!(
        outcome.output("plainId").unwrap(),
        &json!(format!(
            "/subscriptions/{SUBSCRIPTION}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x"
        ))
    );
    let nested = &outcome.nested[0];
    assert_eq!(
        nested.id,
        format!("{rg}/providers/Microsoft.Resources/deployments/inner")
    );
    assert_eq!(nested.output("group").unwrap(), &json!("rg-new"));
}

#[tokio::test]
async fn resource_group_is_not_available_at_subscription_scope() {
    let template = json!({
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [],
        "outputs": {"g": {"type": "string", "value": "[resourceGroup().name]"}}
    });
    let request = DeploymentRequest::new(template, json!({})).unwrap();
    let d = Deployment::prepare(sub_context(), &request).unwrap();
    let outcome = d.run(&*FakeHost::new()).await;
    assert_eq!(outcome.provisioning_state, ProvisioningState::Failed);
    let text = serde_json::to_string(&outcome.error).unwrap();
    assert!(text.contains("resourceGroup"), "{text}");
}
