//! Runner behaviour: ordering, concurrency, failures, copy loops, conditions, existing
//! resources, languageVersion 2.0, nested deployments (inner, outer, other group), outputs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;

use common::{FakeHost, SUBSCRIPTION, context, rg_id};
use keyhold_arm_template::{
    Deployment, DeploymentOutcome, DeploymentRequest, HostError, ProvisioningState,
};
use serde_json::{Value, json};

fn res(t: &str, name: &str) -> Value {
    json!({"type": t, "apiVersion": "2024-01-01", "name": name, "properties": {}})
}

fn account(name: &str) -> Value {
    res("Microsoft.CognitiveServices/accounts", name)
}

async fn run_on(
    host: &FakeHost,
    template: Value,
    parameters: Value,
    parallel: usize,
) -> DeploymentOutcome {
    let mut ctx = context("d1");
    ctx.max_parallel = parallel;
    let d =
        Deployment::prepare(ctx, &DeploymentRequest::new(template, parameters).unwrap()).unwrap();
    d.run(host).await
}

async fn run(template: Value) -> (std::sync::Arc<FakeHost>, DeploymentOutcome) {
    let host = FakeHost::new();
    let outcome = run_on(&host, template, json!({}), 8).await;
    (host, outcome)
}

#[tokio::test]
async fn a_failure_stops_only_its_dependents() {
    let mut b = account("b");
    b["dependsOn"] = json!(["[resourceId('Microsoft.Unknown/things', 'a')]"]);
    let t = json!({"resources": [res("Microsoft.Unknown/things", "a"), b, account("c")]});
    let host = FakeHost::new();
    host.fail_type(
        "Microsoft.Unknown/things",
        HostError::no_registered_provider("Microsoft.Unknown/things", "2024-01-01", "eastus2"),
    );
    let outcome = run_on(&host, t, json!({}), 8).await;
    assert_eq!(outcome.provisioning_state, ProvisioningState::Failed);
    assert_eq!(
        host.put_ids().len(),
        2,
        "b must not be attempted: {:?}",
        host.put_ids()
    );
    let error = outcome.error.clone().unwrap();
    assert_eq!(error.code, "DeploymentFailed");
    assert_eq!(error.details.len(), 1);
    assert_eq!(error.details[0].code, "NoRegisteredProviderFound");
    assert_eq!(
        error.details[0].message,
        "No registered resource provider found for location 'eastus2' and API version '2024-01-01' for type 'things'."
    );
    assert_eq!(
        error.details[0].target.as_deref(),
        Some(format!("{}/providers/Microsoft.Unknown/things/a", rg_id()).as_str())
    );
    let states: Vec<_> = outcome
        .operations
        .iter()
        .map(|o| {
            (
                o.resource_id.last_name().to_string(),
                o.provisioning_state,
                o.status_code.clone(),
            )
        })
        .collect();
    assert!(
        states.contains(&("a".into(), ProvisioningState::Failed, "BadRequest".into())),
        "{states:?}"
    );
    assert!(
        states.contains(&("c".into(), ProvisioningState::Succeeded, "OK".into())),
        "{states:?}"
    );
    assert_eq!(states.len(), 2);
    let op = outcome
        .operations
        .iter()
        .find(|o| o.provisioning_state == ProvisioningState::Failed)
        .unwrap()
        .to_json(&outcome.id);
    assert_eq!(
        op["properties"]["statusMessage"]["error"]["code"],
        "NoRegisteredProviderFound"
    );
    assert_eq!(outcome.properties()["error"]["code"], "DeploymentFailed");
}

#[tokio::test]
async fn independent_resources_run_concurrently_within_the_bound() {
    let resources: Vec<Value> = (0..6).map(|i| account(&format!("a{i}"))).collect();
    let host = FakeHost::slow(30);
    run_on(&host, json!({"resources": resources}), json!({}), 2).await;
    assert_eq!(host.max_in_flight.load(Ordering::SeqCst), 2);
    let host = FakeHost::slow(30);
    run_on(&host, json!({"resources": resources}), json!({}), 8).await;
    assert_eq!(host.max_in_flight.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn copy_loops_serial_batches_and_property_copies() {
    let mut r = account("[format('acct{0}', copyIndex(1))]");
    r["copy"] = json!({"name": "accts", "count": 4, "mode": "serial", "batchSize": 2});
    r["properties"] = json!({"copy": [{"name": "disks", "count": 2, "input": {"lun": "[copyIndex('disks')]", "of": "[copyIndex()]"}}]});
    let mut after = account("after");
    after["dependsOn"] = json!(["accts"]);
    let host = FakeHost::slow(5);
    let outcome = run_on(&host, json!({"resources": [r, after]}), json!({}), 8).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:?}",
        outcome.error
    );
    let ids: Vec<String> = host
        .put_ids()
        .iter()
        .map(|i| i.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 5);
    let pos = |n: &str| ids.iter().position(|i| i == n).unwrap();
    assert!(
        pos("acct1") < pos("acct3") && pos("acct2") < pos("acct4"),
        "{ids:?}"
    );
    assert_eq!(ids[4], "after");
    let (_, body) = host
        .puts()
        .into_iter()
        .find(|(id, _)| id.ends_with("acct3"))
        .unwrap();
    assert_eq!(
        body["properties"]["disks"],
        json!([{"lun": 0, "of": 2}, {"lun": 1, "of": 2}])
    );
}

#[tokio::test]
async fn conditions_skip_and_references_to_skipped_resources_fail_only_when_evaluated() {
    let mut off = account("off");
    off["condition"] = json!(false);
    let mut lazy = account("lazy");
    lazy["properties"] = json!({"x": "[if(false(), reference('off').endpoint, 'fallback')]"});
    lazy["dependsOn"] = json!(["off"]);
    let (host, outcome) = run(json!({"resources": [off.clone(), lazy]})).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:?}",
        outcome.error
    );
    assert_eq!(host.put_ids().len(), 1);
    assert_eq!(host.puts()[0].1["properties"]["x"], "fallback");

    let mut eager = account("eager");
    eager["properties"] = json!({"x": "[reference(resourceId('Microsoft.CognitiveServices/accounts', 'off'), '2024-01-01').endpoint]"});
    let (_, outcome) = run(json!({"resources": [off, eager]})).await;
    assert_eq!(outcome.provisioning_state, ProvisioningState::Failed);
    let detail = &outcome.error.unwrap().details[0];
    assert_eq!(detail.code, "ResourceNotFound", "{detail:?}");
}

#[tokio::test]
async fn existing_resources_are_read_never_written() {
    let vault_id = format!("{}/providers/Microsoft.KeyVault/vaults/kv1", rg_id());
    let t = json!({
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "resources": {
            "vault": {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "kv1", "existing": true},
            "acct": {"type": "Microsoft.CognitiveServices/accounts", "apiVersion": "2025-06-01", "name": "a1",
                     "properties": {"vault": "[reference('vault').vaultUri]"}, "dependsOn": ["vault"]},
        },
        "outputs": {"uri": {"type": "string", "value": "[reference('vault').vaultUri]"}},
    });
    let host = FakeHost::new();
    host.seed(
        &vault_id,
        json!({"id": vault_id, "properties": {"vaultUri": "https://kv1.vault.azure.net/"}}),
    );
    let outcome = run_on(&host, t.clone(), json!({}), 8).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:?}",
        outcome.error
    );
    assert_eq!(host.put_ids().len(), 1);
    assert_eq!(
        host.puts()[0].1["properties"]["vault"],
        "https://kv1.vault.azure.net/"
    );
    assert_eq!(
        outcome.output("uri"),
        Some(&json!("https://kv1.vault.azure.net/"))
    );
    assert_eq!(outcome.operations.len(), 1);

    let empty = FakeHost::new();
    let outcome = run_on(&empty, t, json!({}), 8).await;
    assert_eq!(outcome.provisioning_state, ProvisioningState::Failed);
    assert_eq!(outcome.error.unwrap().details[0].code, "ResourceNotFound");
    assert!(empty.puts().is_empty());
}

#[tokio::test]
async fn implicit_dependencies_from_reference_and_list_keys() {
    let mut user = account("user");
    user["properties"] = json!({
        "endpoint": "[reference(resourceId('Microsoft.CognitiveServices/accounts', 'src')).endpoint]",
        "key": "[listKeys(resourceId('Microsoft.CognitiveServices/accounts', 'src'), '2024-01-01').key1]",
    });
    let (host, outcome) = run(json!({"resources": [user, account("src")]})).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:?}",
        outcome.error
    );
    assert!(host.put_index("/accounts/src") < host.put_index("/accounts/user"));
    let body = &host.puts()[1].1;
    assert_eq!(
        body["properties"]["endpoint"],
        "https://src.cognitiveservices.azure.com/"
    );
    assert_eq!(body["properties"]["key"], "key1-of-src");
    assert_eq!(
        outcome.dependencies[0]["dependsOn"][0]["resourceName"],
        "src"
    );
}

#[tokio::test]
async fn external_references_are_read_from_the_host() {
    let ext = format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/other/providers/Microsoft.Storage/storageAccounts/st1"
    );
    let mut r = account("a");
    r["properties"] = json!({"blob": format!("[reference('{ext}', '2023-05-01').primaryEndpoints.blob]"), "loc": format!("[reference('{ext}', '2023-05-01', 'full').location]")});
    let host = FakeHost::new();
    host.seed(&ext, json!({"location": "westus", "properties": {"primaryEndpoints": {"blob": "https://st1.blob/"}}}));
    let outcome = run_on(&host, json!({"resources": [r]}), json!({}), 8).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:?}",
        outcome.error
    );
    assert_eq!(
        host.puts()[0].1["properties"],
        json!({"blob": "https://st1.blob/", "loc": "westus"})
    );
}

#[tokio::test]
async fn nested_deployments_inner_outer_and_another_group() {
    let inner = json!({
        "type": "Microsoft.Resources/deployments", "apiVersion": "2025-04-01", "name": "inner",
        "properties": {
            "mode": "Incremental",
            "expressionEvaluationOptions": {"scope": "inner"},
            "parameters": {"n": {"value": "[variables('prefix')]"}},
            "template": {
                "parameters": {"n": {"type": "string"}},
                "variables": {"prefix": "shadowed"},
                "resources": [account("[format('{0}-in', parameters('n'))]")],
                "outputs": {"made": {"type": "string", "value": "[format('{0}-in', parameters('n'))]"}},
            },
        },
    });
    let outer = json!({
        "type": "Microsoft.Resources/deployments", "apiVersion": "2025-04-01", "name": "outer",
        "properties": {"mode": "Incremental", "template": {"resources": [account("[format('{0}-out', variables('prefix'))]")]}},
    });
    let mut user = account("user");
    user["properties"] = json!({"from": "[reference('inner').outputs.made.value]"});
    user["dependsOn"] = json!(["inner"]);
    let elsewhere = json!({
        "type": "Microsoft.Resources/deployments", "apiVersion": "2025-04-01", "name": "elsewhere", "resourceGroup": "rg2",
        "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                       "template": {"resources": [{"type": "Microsoft.CognitiveServices/accounts", "apiVersion": "2024-01-01", "name": "far", "location": "[resourceGroup().location]"}]}},
    });
    let t = json!({"variables": {"prefix": "p"}, "resources": [inner, outer, user, elsewhere]});
    let host = FakeHost::new();
    host.seed(
        &format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg2"),
        json!({"location": "westeurope"}),
    );
    let outcome = run_on(&host, t.clone(), json!({}), 8).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:?}",
        outcome.error
    );
    host.put_index("/accounts/p-in");
    host.put_index("/accounts/p-out");
    let user_body = host
        .puts()
        .into_iter()
        .find(|(id, _)| id.ends_with("/user"))
        .unwrap()
        .1;
    assert_eq!(user_body["properties"]["from"], "p-in");
    let far = host
        .puts()
        .into_iter()
        .find(|(id, _)| id.ends_with("/far"))
        .unwrap();
    assert!(far.0.contains("/resourceGroups/rg2/"));
    assert_eq!(far.1["location"], "westeurope");
    assert_eq!(outcome.nested.len(), 3);

    // A group that does not exist fails that nested deployment only.
    let host = FakeHost::new();
    let outcome = run_on(&host, t, json!({}), 8).await;
    assert_eq!(outcome.provisioning_state, ProvisioningState::Failed);
    let details = outcome.error.unwrap().details;
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].code, "ResourceGroupNotFound");
}

#[tokio::test]
async fn a_failed_nested_deployment_fails_its_parent_with_details() {
    let nested = json!({
        "type": "Microsoft.Resources/deployments", "apiVersion": "2025-04-01", "name": "child",
        "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                       "template": {"resources": [res("Microsoft.Unknown/things", "x")]}},
    });
    let host = FakeHost::new();
    host.fail_type(
        "Microsoft.Unknown/things",
        HostError::new(409, "Conflict", "busy"),
    );
    let outcome = run_on(&host, json!({"resources": [nested]}), json!({}), 8).await;
    let error = outcome.error.unwrap();
    assert_eq!(error.code, "DeploymentFailed");
    assert_eq!(error.details[0].code, "DeploymentFailed");
    assert!(
        error.details[0]
            .target
            .as_deref()
            .unwrap()
            .ends_with("/deployments/child")
    );
    assert_eq!(error.details[0].details[0].code, "Conflict");
    assert_eq!(outcome.operations[0].status_code, "Conflict");
    assert_eq!(outcome.nested[0].operations[0].status_code, "Conflict");
}

#[tokio::test]
async fn outputs_user_functions_and_output_errors() {
    let t = json!({
        "functions": [{"namespace": "kh", "members": {"name": {"parameters": [{"name": "p", "type": "string"}], "output": {"type": "string", "value": "[toUpper(parameters('p'))]"}}}}],
        "parameters": {"n": {"type": "int", "defaultValue": 3}},
        "resources": [account("[kh.name('abc')]")],
        "outputs": {
            "name": {"type": "string", "value": "[kh.name('x')]"},
            "list": {"type": "array", "copy": {"count": "[parameters('n')]", "input": "[copyIndex()]"}},
            "skipped": {"type": "string", "condition": false, "value": "[createArray()[5]]"},
        },
    });
    let (host, outcome) = run(t).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:?}",
        outcome.error
    );
    assert!(host.put_ids()[0].ends_with("/accounts/ABC"));
    assert_eq!(outcome.output("name"), Some(&json!("X")));
    assert_eq!(outcome.output("list"), Some(&json!([0, 1, 2])));
    assert!(!outcome.outputs.contains_key("skipped"));

    let bad = json!({"resources": [], "outputs": {"o": {"type": "int", "value": "text"}}});
    let (_, outcome) = run(bad).await;
    assert_eq!(outcome.provisioning_state, ProvisioningState::Failed);
    assert_eq!(
        outcome.error.unwrap().code,
        "DeploymentOutputEvaluationFailed"
    );
}

#[tokio::test]
async fn runtime_expression_errors_fail_the_resource() {
    let mut r = account("a");
    r["properties"] = json!({"x": "[createArray()[3]]"});
    let (_, outcome) = run(json!({"resources": [r]})).await;
    let detail = &outcome.error.unwrap().details[0];
    assert_eq!(detail.code, "InvalidTemplate");
    assert!(detail.message.starts_with("Deployment template validation failed: 'Unable to process template language expressions for resource"), "{}", detail.message);
    assert!(
        detail.message.contains("array index '3' is out of bounds"),
        "{}",
        detail.message
    );
}

#[tokio::test]
async fn child_resources_declared_inside_their_parent() {
    let mut vault = res("Microsoft.KeyVault/vaults", "kv1");
    vault["resources"] = json!([
        {"type": "accessPolicies", "apiVersion": "2022-07-01", "name": "add", "properties": {"literal": "[[not an expression]"}},
        {"type": "Microsoft.KeyVault/vaults/keys", "apiVersion": "2022-07-01", "name": "kv1/k1", "properties": {}},
    ]);
    let t = json!({
        "variables": {"copy": [{"name": "names", "count": 2, "input": "[format('n{0}', copyIndex('names'))]"}]},
        "resources": [vault],
        "outputs": {"names": {"type": "array", "value": "[variables('names')]"}},
    });
    let (host, outcome) = run(t).await;
    assert_eq!(
        outcome.provisioning_state,
        ProvisioningState::Succeeded,
        "{:?}",
        outcome.error
    );
    let ids = host.put_ids();
    assert!(ids[0].ends_with("/vaults/kv1"));
    assert!(
        ids.iter()
            .any(|i| i.ends_with("/vaults/kv1/accessPolicies/add"))
    );
    assert!(ids.iter().any(|i| i.ends_with("/vaults/kv1/keys/k1")));
    let policy = host
        .puts()
        .into_iter()
        .find(|(id, _)| id.ends_with("/add"))
        .unwrap()
        .1;
    assert_eq!(policy["properties"]["literal"], "[not an expression]");
    assert_eq!(outcome.output("names"), Some(&json!(["n0", "n1"])));
}
