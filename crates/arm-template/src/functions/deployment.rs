//! Functions about the deployment and its resources: `parameters`, `variables`,
//! `resourceGroup`, `subscription`, `tenant`, `deployment`, `environment`, `resourceId`,
//! `subscriptionResourceId`, `tenantResourceId`, `extensionResourceId`, `reference`,
//! `listKeys`, `utcNow`, `copyIndex`.

use serde_json::{Value, json};

use super::Args;
use crate::error::TemplateError;
use crate::eval::{EvalError, EvalResult, Evaluator, Site};
use crate::resource_id::ResourceId;

pub(super) fn call(ev: &Evaluator<'_>, name: &str, a: &Args<'_>) -> Option<EvalResult> {
    let ctx = ev.env.ctx;
    Some(match name {
        "parameters" => a.arity(1, 1).and_then(|()| ev.names.parameter(a.str(0)?)),
        "variables" => {
            if ev.site == Site::Function {
                return Some(not_allowed(a));
            }
            a.arity(1, 1).and_then(|()| ev.names.variable(a.str(0)?))
        }
        "resourcegroup" if ctx.at_subscription => a.error(
            "the function is not available in a deployment at subscription scope; use subscription() or a nested deployment into a resource group.".to_string(),
        ),
        "resourcegroup" => a.arity(0, 0).map(|()| {
            json!({
                "id": ctx.resource_group_id().as_str(),
                "name": ctx.resource_group.name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": ctx.resource_group.location,
                "properties": {"provisioningState": "Succeeded"},
            })
        }),
        "subscription" => a.arity(0, 0).map(|()| {
            json!({
                "id": format!("/subscriptions/{}", ctx.subscription_id),
                "subscriptionId": ctx.subscription_id,
                "tenantId": ctx.tenant_id,
                "displayName": ctx.subscription_display_name,
            })
        }),
        "tenant" => a.arity(0, 0).map(|()| {
            json!({
                "id": format!("/tenants/{}", ctx.tenant_id),
                "tenantId": ctx.tenant_id,
                "countryCode": "",
                "displayName": "",
            })
        }),
        "deployment" => a.arity(0, 0).map(|()| ev.env.deployment.clone()),
        "environment" => a.arity(0, 0).map(|()| ctx.environment.clone()),
        "resourceid" => resource_id(ev, a),
        "subscriptionresourceid" => subscription_resource_id(ev, a),
        "tenantresourceid" => a.arity(2, usize::MAX).and_then(|()| make_id(a, "", 0)),
        "extensionresourceid" => a.arity(3, usize::MAX).and_then(|()| {
            let scope = a.str(0)?;
            if ResourceId::parse(scope).is_err() {
                return a.error(format!("the scope '{scope}' is not a valid resource id."));
            }
            make_id(a, scope, 1)
        }),
        "reference" => reference(ev, a),
        "listkeys" => {
            if !ev.site.allows_references() {
                return Some(not_allowed(a));
            }
            a.arity(2, 2)
                .and_then(|()| ev.refs.list_keys(a.str(0)?, a.str(1)?))
        }
        "utcnow" => utc_now(ev, a),
        "copyindex" => copy_index(ev, a),
        _ => return None,
    })
}

fn not_allowed(a: &Args<'_>) -> EvalResult {
    Err(EvalError::Template(TemplateError::FunctionNotAllowed {
        path: String::new(),
        name: a.name.to_string(),
    }))
}

/// Builds `{scope}/providers/{type}/{names}` from args `type_at..`.
fn make_id(a: &Args<'_>, scope: &str, type_at: usize) -> EvalResult {
    let resource_type = a.str(type_at)?;
    let names: Vec<&str> = (type_at + 1..a.len())
        .map(|i| a.str(i))
        .collect::<EvalResult<_>>()?;
    match ResourceId::under(scope, resource_type, &names) {
        Ok(id) => Ok(Value::from(id.as_str())),
        Err(e) => a.error(format!("{}.", e.0)),
    }
}

fn resource_id(ev: &Evaluator<'_>, a: &Args<'_>) -> EvalResult {
    a.arity(2, usize::MAX)?;
    let type_at = (0..a.len().min(3))
        .find(|&i| a.get(i).as_str().is_some_and(|s| s.contains('/')))
        .unwrap_or(0);
    let ctx = ev.env.ctx;
    if type_at == 0 && ctx.at_subscription {
        // At subscription scope, an id without a group is a subscription-level id.
        return make_id(a, &format!("/subscriptions/{}", ctx.subscription_id), 0);
    }
    let (subscription, group) = match type_at {
        0 => (
            ctx.subscription_id.as_str(),
            ctx.resource_group.name.as_str(),
        ),
        1 => (ctx.subscription_id.as_str(), a.str(0)?),
        _ => (a.str(0)?, a.str(1)?),
    };
    make_id(
        a,
        &format!("/subscriptions/{subscription}/resourceGroups/{group}"),
        type_at,
    )
}

fn subscription_resource_id(ev: &Evaluator<'_>, a: &Args<'_>) -> EvalResult {
    a.arity(2, usize::MAX)?;
    let explicit = a.get(0).as_str().is_some_and(|s| !s.contains('/'));
    let (subscription, type_at) = if explicit {
        (a.str(0)?, 1)
    } else {
        (ev.env.ctx.subscription_id.as_str(), 0)
    };
    make_id(a, &format!("/subscriptions/{subscription}"), type_at)
}

fn reference(ev: &Evaluator<'_>, a: &Args<'_>) -> EvalResult {
    if !ev.site.allows_references() {
        return not_allowed(a);
    }
    a.arity(1, 3)?;
    let target = a.str(0)?;
    let api_version = if a.len() > 1 { Some(a.str(1)?) } else { None };
    let full = match a.len() {
        3 => {
            let mode = a.str(2)?;
            if !mode.eq_ignore_ascii_case("full") {
                return a.error(format!(
                    "the third parameter must be 'Full'; '{mode}' is not valid."
                ));
            }
            true
        }
        _ => false,
    };
    ev.refs.reference(target, api_version, full)
}

fn copy_index(ev: &Evaluator<'_>, a: &Args<'_>) -> EvalResult {
    a.arity(0, 2)?;
    let (loop_name, offset) = match (a.get(0), a.get(1)) {
        (Value::Null, _) => (None, 0),
        (Value::Number(_), _) => (None, a.int(0)?),
        (Value::String(s), Value::Null) => (Some(s.as_str()), 0),
        (Value::String(s), _) => (Some(s.as_str()), a.int(1)?),
        _ => return a.str(0).map(|_| Value::Null),
    };
    let loops = &ev.loops;
    let found = match loop_name {
        None => loops.resource.as_ref().or(loops.properties.last()),
        Some(n) => loops
            .properties
            .iter()
            .rev()
            .chain(loops.resource.iter())
            .find(|(name, _)| name.eq_ignore_ascii_case(n)),
    };
    match found {
        Some((_, index)) => Ok(Value::from(index + offset)),
        None if loop_name.is_some() => a.error(format!(
            "The copy loop '{}' is not found.",
            loop_name.unwrap_or_default()
        )),
        None => not_allowed(a),
    }
}

fn utc_now(ev: &Evaluator<'_>, a: &Args<'_>) -> EvalResult {
    if ev.site != Site::ParameterDefault {
        return not_allowed(a);
    }
    a.arity(0, 1)?;
    let pattern = if a.len() == 1 {
        a.str(0)?
    } else {
        "yyyyMMddTHHmmssZ"
    };
    let Ok(now) = time::OffsetDateTime::from_unix_timestamp(ev.env.ctx.clock.now()) else {
        return a.error("the clock is out of range.");
    };
    Ok(Value::from(dotnet_date(now, pattern)))
}

/// .NET date formatting for the patterns templates use: the standard `u`, `s`, `o` and
/// custom `yyyy yy MM M dd d HH H mm ss fff…` with everything else literal.
pub(crate) fn dotnet_date(t: time::OffsetDateTime, pattern: &str) -> String {
    let pattern = match pattern {
        "u" => "yyyy-MM-dd HH:mm:ssZ",
        "s" => "yyyy-MM-ddTHH:mm:ss",
        "o" | "O" => "yyyy-MM-ddTHH:mm:ss.fffffffZ",
        "d" => "M/d/yyyy",
        other => other,
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|x| **x == c).count();
        let text = match (c, run) {
            ('y', 4..) => format!("{:04}", t.year()),
            ('y', _) => format!("{:02}", t.year() % 100),
            ('M', 1) => format!("{}", u8::from(t.month())),
            ('M', _) => format!("{:02}", u8::from(t.month())),
            ('d', 1) => format!("{}", t.day()),
            ('d', _) => format!("{:02}", t.day()),
            ('H', 1) => format!("{}", t.hour()),
            ('H', _) => format!("{:02}", t.hour()),
            ('m', _) => format!("{:02}", t.minute()),
            ('s', _) => format!("{:02}", t.second()),
            ('f', n) => format!("{:09}", t.nanosecond()).chars().take(n).collect(),
            (c, n) => c.to_string().repeat(n),
        };
        out.push_str(&text);
        i += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::eval::Site;
    use crate::functions::test_support::{eval_at, table};

    #[test]
    fn deployment_functions() {
        table(&[
            ("parameters('p').a[1]", Ok(json!(2))),
            ("parameters('nope')", Err("no such parameter")),
            ("resourceGroup().location", Ok(json!("eastus2"))),
            (
                "resourceGroup().id",
                Ok(json!("/subscriptions/sub-1111/resourceGroups/rg1")),
            ),
            ("subscription().tenantId", Ok(json!("tid-0000"))),
            ("subscription().subscriptionId", Ok(json!("sub-1111"))),
            ("tenant().tenantId", Ok(json!("tid-0000"))),
            ("deployment().name", Ok(json!("dep1"))),
            (
                "environment().suffixes.keyvaultDns",
                Ok(json!(".vault.azure.net")),
            ),
            (
                "resourceId('Microsoft.CognitiveServices/accounts', 'a')",
                Ok(json!(
                    "/subscriptions/sub-1111/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/a"
                )),
            ),
            (
                "resourceId('Microsoft.KeyVault/vaults/accessPolicies', 'kv', 'add')",
                Ok(json!(
                    "/subscriptions/sub-1111/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv/accessPolicies/add"
                )),
            ),
            (
                "resourceId('otherRg', 'Microsoft.Storage/storageAccounts', 'st')",
                Ok(json!(
                    "/subscriptions/sub-1111/resourceGroups/otherRg/providers/Microsoft.Storage/storageAccounts/st"
                )),
            ),
            (
                "resourceId('s2', 'g2', 'Microsoft.Storage/storageAccounts', 'st')",
                Ok(json!(
                    "/subscriptions/s2/resourceGroups/g2/providers/Microsoft.Storage/storageAccounts/st"
                )),
            ),
            (
                "resourceId('Microsoft.KeyVault/vaults', 'a', 'b')",
                Err("requires '1' resource name argument(s)"),
            ),
            (
                "resourceId('Microsoft.KeyVault/vaults')",
                Err("must have at least '2'"),
            ),
            (
                "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'r1')",
                Ok(json!(
                    "/subscriptions/sub-1111/providers/Microsoft.Authorization/roleDefinitions/r1"
                )),
            ),
            (
                "subscriptionResourceId('s9', 'Microsoft.Authorization/roleDefinitions', 'r1')",
                Ok(json!(
                    "/subscriptions/s9/providers/Microsoft.Authorization/roleDefinitions/r1"
                )),
            ),
            (
                "tenantResourceId('Microsoft.Management/managementGroups', 'mg')",
                Ok(json!("/providers/Microsoft.Management/managementGroups/mg")),
            ),
            (
                "extensionResourceId('/subscriptions/s/resourceGroups/g', 'Microsoft.Resources/deployments', 'd')",
                Ok(json!(
                    "/subscriptions/s/resourceGroups/g/providers/Microsoft.Resources/deployments/d"
                )),
            ),
            (
                "extensionResourceId('nope', 'Microsoft.Resources/deployments', 'd')",
                Err("not a valid resource id"),
            ),
            ("copyIndex()", Ok(json!(2))),
            ("copyIndex(1)", Ok(json!(3))),
            ("copyIndex('loop', 10)", Ok(json!(12))),
            ("copyIndex('other')", Err("'other' is not found")),
            ("utcNow()", Err("'utcNow' is not expected at this location")),
            (
                "reference('x', '2020-01-01', 'part')",
                Err("must be 'Full'"),
            ),
            (
                "nosuchfunction(1)",
                Err("The template function 'nosuchfunction' is not valid"),
            ),
            (
                "listKeys('/subscriptions/s/resourceGroups/g/providers/A/b/c')",
                Err("must have '2'"),
            ),
        ]);
    }

    #[test]
    fn site_rules() {
        assert!(
            eval_at("reference('x')", Site::Variable)
                .unwrap_err()
                .contains("'reference' is not expected at this location")
        );
        assert!(
            eval_at("listKeys('x', '1')", Site::ResourceHeader)
                .unwrap_err()
                .contains("not expected at this location")
        );
        assert!(
            eval_at("variables('p')", Site::Function)
                .unwrap_err()
                .contains("not expected")
        );
        assert_eq!(
            eval_at("utcNow()", Site::ParameterDefault).unwrap(),
            json!("20231114T221320Z")
        );
        assert_eq!(
            eval_at("utcNow('yyyyMMddHHmmss')", Site::ParameterDefault).unwrap(),
            json!("20231114221320")
        );
        assert_eq!(
            eval_at("utcNow('u')", Site::ParameterDefault).unwrap(),
            json!("2023-11-14 22:13:20Z")
        );
        assert_eq!(
            eval_at("utcNow('d')", Site::ParameterDefault).unwrap(),
            json!("11/14/2023")
        );
    }
}
