//! `--query`: JMESPath over a command's result, as `az --query` does, by the `jmespath`
//! crate (the JMESPath project's own Rust implementation, which passes the specification's
//! compliance suite). JMESPath objects have no key order, so the key order of a trailing
//! multiselect hash (`[].{name:name, id:id}`) is read from the expression itself: tables
//! show their columns in the order the user wrote them, as az does.

use jmespath::ast::Ast;
use serde_json::Value;

/// A compiled `--query`.
pub struct Query {
    expression: jmespath::Expression<'static>,
    columns: Option<Vec<String>>,
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Query")
            .field(&self.expression.as_str())
            .finish()
    }
}

impl Query {
    /// Compiles a JMESPath expression; the error shows where it fails to parse.
    pub fn parse(text: &str) -> Result<Query, String> {
        let expression = jmespath::compile(text).map_err(|e| format!("invalid --query: {e}"))?;
        let columns = hash_keys(expression.as_ast());
        Ok(Query {
            expression,
            columns,
        })
    }

    /// Evaluates the query against `value`.
    pub fn apply(&self, value: &Value) -> Result<Value, String> {
        let data = jmespath::Variable::try_from(value)
            .map_err(|e| format!("cannot query this result: {e}"))?;
        let result = self
            .expression
            .search(data)
            .map_err(|e| format!("--query failed: {e}"))?;
        serde_json::to_value(&*result).map_err(|e| format!("--query gave an odd result: {e}"))
    }

    /// The keys of the multiselect hash the expression ends in, in the order written.
    pub fn columns(&self) -> Option<&[String]> {
        self.columns.as_deref()
    }
}

/// The key order of the hash that the result's items (or the result) are built by.
fn hash_keys(ast: &Ast) -> Option<Vec<String>> {
    match ast {
        Ast::MultiHash { elements, .. } => Some(elements.iter().map(|kv| kv.key.clone()).collect()),
        Ast::Projection { rhs, .. } | Ast::Subexpr { rhs, .. } => hash_keys(rhs),
        Ast::Condition { then, .. } => hash_keys(then),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data() -> Value {
        json!([
            { "name": "kv1", "id": "/s/1", "location": "westeurope",
              "properties": { "enablePurgeProtection": true, "sku": { "name": "standard" } },
              "tags": { "env": "dev" } },
            { "name": "kv2", "id": "/s/2", "location": "northeurope",
              "properties": { "enablePurgeProtection": false, "sku": { "name": "premium" } },
              "tags": {} },
        ])
    }

    /// The subset of JMESPath that az users rely on, one row per feature.
    #[test]
    fn az_style_queries() {
        let cases: &[(&str, Value)] = &[
            ("[0].name", json!("kv1")),
            ("[*].name", json!(["kv1", "kv2"])),
            ("[].name", json!(["kv1", "kv2"])),
            ("[].properties.sku.name", json!(["standard", "premium"])),
            ("[?location=='northeurope'].name", json!(["kv2"])),
            ("[?properties.enablePurgeProtection].name", json!(["kv1"])),
            ("[?location!='northeurope'] | [0].tags.env", json!("dev")),
            (
                "[].{name:name, purge:properties.enablePurgeProtection}",
                json!([{ "name": "kv1", "purge": true }, { "name": "kv2", "purge": false }]),
            ),
            ("[?name=='nope']", json!([])),
            ("length(@)", json!(2)),
            ("[?contains(name, '2')].id | [0]", json!("/s/2")),
            ("[].missing", json!([])),
            ("[0].missing", Value::Null),
            ("sort_by(@, &location)[].name", json!(["kv2", "kv1"])),
        ];
        for (query, expected) in cases {
            let q = Query::parse(query).unwrap();
            assert_eq!(&q.apply(&data()).unwrap(), expected, "{query}");
        }
    }

    #[test]
    fn column_order_comes_from_the_expression() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            (
                "[].{Name:name, Id:id, Loc:location}",
                Some(&["Name", "Id", "Loc"]),
            ),
            ("{z:name, a:id}", Some(&["z", "a"])),
            ("[?location=='x'].{b:name, a:id}", Some(&["b", "a"])),
            ("value[].{b:name, a:id}", Some(&["b", "a"])),
            ("[].name", None),
            ("[0]", None),
        ];
        for (query, expected) in cases {
            let q = Query::parse(query).unwrap();
            let got: Option<Vec<&str>> =
                q.columns().map(|c| c.iter().map(String::as_str).collect());
            assert_eq!(got.as_deref(), *expected, "{query}");
        }
    }

    #[test]
    fn parse_errors_point_at_the_query() {
        let err = Query::parse("[?name=='x'").unwrap_err();
        assert!(err.starts_with("invalid --query"), "{err}");
    }
}
