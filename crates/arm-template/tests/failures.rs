//! One test per failure shape: each answers ARM's code and a message naming what is wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{FakeHost, context, rg_id};
use keyhold_arm_template::{Deployment, DeploymentRequest, REDACTED, TemplateError};
use serde_json::{Value, json};

fn template(parameters: Value, resources: Value) -> Value {
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": parameters,
        "resources": resources,
    })
}

fn prepare(template: Value, parameters: Value) -> Result<Deployment, TemplateError> {
    Deployment::prepare(
        context("d1"),
        &DeploymentRequest::new(template, parameters)?,
    )
}

fn account(name: &str) -> Value {
    json!({"type": "Microsoft.CognitiveServices/accounts", "apiVersion": "2025-06-01", "name": name, "location": "eastus2", "properties": {}})
}

#[test]
fn bad_parameters_answer_invalid_template_naming_the_parameter() {
    let params = json!({
        "count": {"type": "int", "minValue": 1, "maxValue": 5},
        "name": {"type": "string", "minLength": 2, "maxLength": 4, "defaultValue": "abc"},
        "sku": {"type": "string", "allowedValues": ["S0", "S1"], "defaultValue": "S0"},
        "tags": {"type": "object", "defaultValue": {}},
    });
    let t = template(params, json!([]));
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({}),
            "count",
            "The value for the template parameter 'count' is not provided.",
        ),
        (
            json!({"count": {"value": "3"}}),
            "count",
            "Expected a value of type 'Integer', but received a value of type 'String'.",
        ),
        (
            json!({"count": {"value": 9}}),
            "count",
            "The value should be less than or equal to '5'.",
        ),
        (
            json!({"count": {"value": 0}}),
            "count",
            "The value should be greater than or equal to '1'.",
        ),
        (
            json!({"count": {"value": 1}, "name": {"value": "x"}}),
            "name",
            "Length of the value should be greater than or equal to '2'.",
        ),
        (
            json!({"count": {"value": 1}, "name": {"value": "toolong"}}),
            "name",
            "Length of the value should be less than or equal to '4'.",
        ),
        (
            json!({"count": {"value": 1}, "sku": {"value": "S9"}}),
            "sku",
            "The value is not part of the allowed value(s): 'S0,S1'.",
        ),
        (
            json!({"count": {"value": 1}, "tags": {"value": []}}),
            "tags",
            "Expected a value of type 'Object', but received a value of type 'Array'.",
        ),
        (
            json!({"count": {"value": 1}, "nope": {"value": 1}}),
            "",
            "The template parameters 'nope' in the parameters file are not valid",
        ),
    ];
    for (supplied, name, fragment) in cases {
        let e = prepare(t.clone(), supplied.clone()).unwrap_err();
        assert_eq!(e.code(), "InvalidTemplate", "{supplied}");
        let wire = e.to_arm_error();
        assert!(
            wire.message.contains(fragment),
            "{supplied}: {}",
            wire.message
        );
        assert!(
            wire.message
                .starts_with("Deployment template validation failed: '")
        );
        if !name.is_empty() {
            assert!(
                wire.message.contains(&format!("'{name}'")),
                "{}",
                wire.message
            );
            assert_eq!(
                wire.additional_info[0]["info"]["path"],
                format!("parameters.{name}")
            );
        }
    }
    assert!(prepare(t, json!({"count": {"value": 2}})).is_ok());
}

#[test]
fn unknown_function_names_the_function_and_path() {
    let mut r = account("a");
    r["properties"]["x"] = json!("[concat('a', nosuch(1))]");
    let e = prepare(template(json!({}), json!([r])), json!({})).unwrap_err();
    assert_eq!(e.code(), "InvalidTemplate");
    assert_eq!(
        e.to_string(),
        "The template function 'nosuch' is not valid. Please see https://aka.ms/arm-functions for usage details."
    );
    assert_eq!(e.path(), Some("resources[0].properties.x"));
}

#[test]
fn parse_error_carries_its_position() {
    let mut r = account("a");
    r["properties"]["bad"] = json!("[concat('a' 'b')]");
    let e = prepare(template(json!({}), json!([r])), json!({})).unwrap_err();
    match &e {
        TemplateError::ExpressionParse {
            path,
            position,
            expression,
            ..
        } => {
            assert_eq!(path, "resources[0].properties.bad");
            assert_eq!(*position, 11);
            assert_eq!(expression, "concat('a' 'b')");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string()
            .contains("expected token 'RightParenthesis' and actual 'String' at position '11'"),
        "{e}"
    );
}

#[test]
fn cycle_names_the_resources() {
    let mut a = account("a");
    a["dependsOn"] = json!(["[resourceId('Microsoft.CognitiveServices/accounts', 'b')]"]);
    let mut b = account("b");
    b["dependsOn"] = json!(["a"]);
    let e = prepare(template(json!({}), json!([a, b])), json!({})).unwrap_err();
    assert_eq!(e.code(), "InvalidTemplate");
    let msg = e.to_string();
    assert!(
        msg.starts_with("Circular dependency detected on resource: "),
        "{msg}"
    );
    assert!(
        msg.contains("/accounts/a'") && msg.contains("/accounts/b'"),
        "{msg}"
    );
}

#[test]
fn depends_on_naming_nothing_is_an_error() {
    let mut a = account("a");
    a["dependsOn"] = json!(["[resourceId('Microsoft.KeyVault/vaults', 'missing')]"]);
    let e = prepare(template(json!({}), json!([a])), json!({})).unwrap_err();
    assert!(matches!(e, TemplateError::DependencyNotFound { .. }));
    assert_eq!(e.path(), Some("resources[0].dependsOn[0]"));
    assert!(e.to_string().contains(&format!("The resource '{}/providers/Microsoft.KeyVault/vaults/missing' is not defined in the template.", rg_id())));
}

#[test]
fn copy_count_out_of_range() {
    for count in [json!(801), json!(-1), json!("3")] {
        let mut a = account("[format('a{0}', copyIndex())]");
        a["copy"] = json!({"name": "accounts", "count": count});
        let e = prepare(template(json!({}), json!([a])), json!({})).unwrap_err();
        assert!(matches!(e, TemplateError::InvalidCopyCount { .. }), "{e:?}");
        assert_eq!(e.code(), "InvalidTemplate");
        assert!(e.to_string().contains("cannot exceed '800'"));
        assert_eq!(e.path(), Some("resources[0].copy.count"));
    }
}

#[test]
fn functions_out_of_place() {
    let mut t = template(json!({}), json!([account("[reference('x').name]")]));
    let e = prepare(t.clone(), json!({})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "The template function 'reference' is not expected at this location. Please see https://aka.ms/arm-functions for usage details."
    );
    t["resources"] = json!([]);
    t["variables"] = json!({"stamp": "[utcNow()]"});
    let e = prepare(t, json!({})).unwrap_err();
    assert!(
        e.to_string()
            .contains("'utcNow' is not expected at this location")
    );
    assert_eq!(e.path(), Some("variables.stamp"));
}

#[test]
fn name_and_type_segments_must_match() {
    let e = prepare(template(json!({}), json!([account("a/b")])), json!({})).unwrap_err();
    assert!(
        e.to_string().contains("has incorrect segment lengths"),
        "{e}"
    );
}

#[test]
fn duplicate_resources_and_complete_mode() {
    let e = prepare(
        template(json!({}), json!([account("a"), account("A")])),
        json!({}),
    )
    .unwrap_err();
    assert!(matches!(e, TemplateError::DuplicateResource { .. }));
    let e = DeploymentRequest::from_properties(
        &json!({"mode": "Complete", "template": template(json!({}), json!([]))}),
    )
    .unwrap_err();
    assert_eq!(e.code(), "InvalidDeploymentMode");
    let e = DeploymentRequest::from_properties(
        &json!({"mode": "Incremental", "templateLink": {"uri": "https://x"}}),
    )
    .unwrap_err();
    assert_eq!(e.code(), "InvalidTemplate");
}

#[test]
fn malformed_templates() {
    let e = prepare(json!({"resources": [], "bogus": 1}), json!({})).unwrap_err();
    assert!(e.to_string().contains("Could not find member 'bogus'"));
    let e = prepare(
        json!({"resources": [{"type": "A/b", "name": "x"}]}),
        json!({}),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("missing the required property 'apiVersion'")
    );
    assert_eq!(e.path(), Some("resources[0]"));
    let e = prepare(json!({"resources": {"a": account("a")}}), json!({})).unwrap_err();
    assert!(e.to_string().contains("languageVersion '2.0'"));
}

const SECRET: &str = "Sup3r-Secret-Passw0rd";

#[tokio::test]
async fn secure_values_never_appear_in_anything_returned() {
    let t = json!({
        "contentVersion": "1.0.0.0",
        "parameters": {
            "adminPassword": {"type": "securestring"},
            "conn": {"type": "secureObject"},
        },
        "variables": {"copyOfSecret": "[parameters('adminPassword')]"},
        "resources": [
            {"type": "Microsoft.Sql/servers", "apiVersion": "2023-01-01", "name": "sql1", "location": "eastus2",
             "properties": {"administratorLoginPassword": "[parameters('adminPassword')]", "note": "[concat('pw=', variables('copyOfSecret'))]"}},
            {"type": "Microsoft.Web/sites", "apiVersion": "2023-01-01", "name": "web1", "location": "eastus2",
             "properties": {"siteConfig": "[parameters('conn')]"}},
        ],
        "outputs": {
            "secret": {"type": "securestring", "value": "[parameters('adminPassword')]"},
            "leaky": {"type": "string", "value": "[variables('copyOfSecret')]"},
            "obj": {"type": "secureObject", "value": "[parameters('conn')]"},
        },
    });
    let supplied = json!({"adminPassword": {"value": SECRET}, "conn": {"value": {"connectionString": "Server=x;Password=AnotherSecret99"}}});
    let d = prepare(t, supplied).unwrap();
    let host = FakeHost::new();
    // The web site fails with an error echoing its body, as some providers do.
    host.fail_type(
        "Microsoft.Web/sites",
        keyhold_arm_template::HostError::new(
            400,
            "BadRequest",
            "invalid siteConfig Server=x;Password=AnotherSecret99",
        ),
    );
    let outcome = d.run(host.as_ref()).await;
    // The host itself did receive the values.
    let sql = host
        .puts()
        .into_iter()
        .find(|(id, _)| id.contains("servers/sql1"))
        .unwrap();
    assert_eq!(sql.1["properties"]["administratorLoginPassword"], SECRET);

    let outcome_ok = {
        let host = FakeHost::new();
        d.run(host.as_ref()).await
    };
    let what_if = d.what_if(FakeHost::new().as_ref()).await.unwrap();
    let everything = [
        format!("{outcome:?}"),
        format!("{outcome_ok:?}"),
        outcome.properties().to_string(),
        outcome_ok.properties().to_string(),
        outcome
            .operations
            .iter()
            .map(|o| o.to_json(&outcome.id).to_string())
            .collect::<String>(),
        format!("{what_if:?}"),
        what_if.to_json().to_string(),
        d.validate_response().to_string(),
        d.parameters().to_string(),
        format!("{d:?}"),
        format!(
            "{:?}",
            DeploymentRequest::new(json!({}), json!({"adminPassword": {"value": SECRET}})).unwrap()
        ),
    ];
    for text in &everything {
        assert!(!text.contains(SECRET), "secret leaked: {text}");
        assert!(!text.contains("AnotherSecret99"), "secret leaked: {text}");
    }
    assert_eq!(
        outcome_ok.outputs["secret"],
        json!({"type": "SecureString"})
    );
    assert_eq!(outcome_ok.outputs["obj"], json!({"type": "SecureObject"}));
    assert_eq!(outcome_ok.output("leaky"), Some(&json!(REDACTED)));
    assert_eq!(
        d.parameters()["adminPassword"],
        json!({"type": "SecureString"})
    );
    assert!(what_if.to_json().to_string().contains(REDACTED));
}

#[tokio::test]
async fn secure_values_are_redacted_from_error_messages() {
    let t = json!({
        "parameters": {"pw": {"type": "securestring"}},
        "resources": [{"type": "Microsoft.Sql/servers", "apiVersion": "2023-01-01", "name": "sql1",
                       "properties": {"n": "[int(parameters('pw'))]"}}],
    });
    let d = prepare(t, json!({"pw": {"value": SECRET}})).unwrap();
    let e = d.what_if(FakeHost::new().as_ref()).await.unwrap_err();
    assert!(e.to_string().contains("is not a valid integer"), "{e}");
    assert!(!format!("{e} {e:?}").contains(SECRET), "{e}");
    let outcome = d.run(FakeHost::new().as_ref()).await;
    let text = format!("{:?} {}", outcome, outcome.properties());
    assert!(text.contains("is not a valid integer"));
    assert!(!text.contains(SECRET), "{text}");
}
