//! ARM's template functions. Each module holds one family; [`call`] dispatches by lower-cased
//! name. `if`, `and` and `or` are lazy and live in the evaluator.

mod arrays;
mod conversion;
mod deployment;
mod format;
pub(crate) mod hash;
mod logic;
mod numeric;
mod strings;

use serde_json::Value;

pub(crate) use deployment::dotnet_date;

use crate::error::TemplateError;
use crate::eval::{EvalError, EvalResult, Evaluator, fail, type_name};

/// Calls the built-in function `lower` (as written: `name`) with evaluated arguments.
pub(crate) fn call(ev: &Evaluator<'_>, lower: &str, name: &str, args: Vec<Value>) -> EvalResult {
    let a = Args { name, values: args };
    let families: [fn(&str, &Args<'_>) -> Option<EvalResult>; 6] = [
        strings::call,
        arrays::call,
        logic::call,
        numeric::call,
        conversion::call,
        hash::call,
    ];
    for family in families {
        if let Some(result) = family(lower, &a) {
            return result;
        }
    }
    if lower == "format" {
        return format::call(&a);
    }
    if let Some(result) = deployment::call(ev, lower, &a) {
        return result;
    }
    Err(EvalError::Template(TemplateError::UnknownFunction {
        path: String::new(),
        name: name.to_string(),
    }))
}

/// Every built-in function name, lower-cased (what `validate` accepts statically).
const KNOWN: &[&str] = &[
    "if",
    "and",
    "or",
    "not",
    "equals",
    "true",
    "false",
    "null",
    "greater",
    "greaterorequals",
    "less",
    "lessorequals",
    "concat",
    "tolower",
    "toupper",
    "trim",
    "replace",
    "split",
    "substring",
    "startswith",
    "endswith",
    "indexof",
    "lastindexof",
    "padleft",
    "base64",
    "base64tostring",
    "createarray",
    "createobject",
    "array",
    "length",
    "empty",
    "contains",
    "first",
    "last",
    "take",
    "skip",
    "union",
    "intersection",
    "range",
    "items",
    "objectkeys",
    "coalesce",
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "min",
    "max",
    "json",
    "string",
    "int",
    "bool",
    "uniquestring",
    "guid",
    "format",
    "parameters",
    "variables",
    "resourcegroup",
    "subscription",
    "tenant",
    "deployment",
    "environment",
    "resourceid",
    "subscriptionresourceid",
    "tenantresourceid",
    "extensionresourceid",
    "reference",
    "listkeys",
    "utcnow",
    "copyindex",
];

/// Whether `name` is a built-in function (case-insensitive).
pub(crate) fn is_known(name: &str) -> bool {
    KNOWN.contains(&name.to_ascii_lowercase().as_str())
}

/// Evaluated arguments of one call, with typed accessors that answer ARM's errors.
pub(crate) struct Args<'a> {
    /// The function name as written.
    pub name: &'a str,
    /// The argument values.
    pub values: Vec<Value>,
}

impl Args<'_> {
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Checks `min..=max` arguments.
    pub(crate) fn arity(&self, min: usize, max: usize) -> EvalResult<()> {
        let n = self.values.len();
        if n < min || n > max {
            let expected = if min == max {
                format!("'{min}'")
            } else if max == usize::MAX {
                format!("at least '{min}'")
            } else {
                format!("between '{min}' and '{max}'")
            };
            return fail(format!(
                "The template language function '{}' must have {expected} argument(s), but {n} were provided.",
                self.name
            ));
        }
        Ok(())
    }

    pub(crate) fn get(&self, i: usize) -> &Value {
        self.values.get(i).unwrap_or(&Value::Null)
    }

    fn wrong_type<T>(&self, i: usize, expected: &str) -> EvalResult<T> {
        fail(format!(
            "The template language function '{}' expects its parameter{} to be of type '{expected}'. The provided value is of type '{}'.",
            self.name,
            ordinal(i),
            type_name(self.get(i))
        ))
    }

    pub(crate) fn str(&self, i: usize) -> EvalResult<&str> {
        match self.get(i) {
            Value::String(s) => Ok(s),
            _ => self.wrong_type(i, "String"),
        }
    }

    pub(crate) fn int(&self, i: usize) -> EvalResult<i64> {
        match self.get(i).as_i64() {
            Some(n) => Ok(n),
            None => self.wrong_type(i, "Integer"),
        }
    }

    pub(crate) fn bool(&self, i: usize) -> EvalResult<bool> {
        match self.get(i) {
            Value::Bool(b) => Ok(*b),
            _ => self.wrong_type(i, "Boolean"),
        }
    }

    pub(crate) fn array(&self, i: usize) -> EvalResult<&Vec<Value>> {
        match self.get(i) {
            Value::Array(a) => Ok(a),
            _ => self.wrong_type(i, "Array"),
        }
    }

    /// All arguments as strings.
    pub(crate) fn strs(&self) -> EvalResult<Vec<&str>> {
        (0..self.len()).map(|i| self.str(i)).collect()
    }

    /// An ARM evaluation error for this function.
    pub(crate) fn error<T>(&self, detail: impl std::fmt::Display) -> EvalResult<T> {
        fail(format!(
            "Unable to evaluate template language function '{}': {detail}",
            self.name
        ))
    }
}

fn ordinal(i: usize) -> String {
    match i {
        0 => " 1".into(),
        n => format!(" {}", n + 1),
    }
}

/// Renders a value as `string()` and `format()` do: strings bare, booleans `True`/`False`,
/// others compact JSON.
pub(crate) fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Evaluating one expression against a fixed context, for the function tables.

    use std::collections::BTreeMap;
    use std::sync::Arc;

    use serde_json::{Value, json};

    use crate::context::{DeploymentContext, FixedClock};
    use crate::eval::{Env, EvalError, EvalResult, Evaluator, Loops, Names, NoReferences, Site};
    use crate::expr::parse;
    use crate::template::UserFunctions;

    struct Fixed(BTreeMap<String, Value>);
    impl Names for Fixed {
        fn parameter(&self, name: &str) -> EvalResult {
            self.0
                .get(name)
                .cloned()
                .ok_or_else(|| EvalError::Template(crate::TemplateError::eval("no such parameter")))
        }
        fn variable(&self, name: &str) -> EvalResult {
            self.parameter(name)
        }
    }

    pub(crate) fn context() -> DeploymentContext {
        DeploymentContext::new("tid-0000", "sub-1111", "rg1", "eastus2", "dep1")
            .with_clock(Arc::new(FixedClock(1_700_000_000)))
    }

    /// Evaluates `text` (no brackets) at `site`, with `parameters('p')` = `{"a":[1,2]}`.
    pub(crate) fn eval_at(text: &str, site: Site) -> Result<Value, String> {
        let ctx = context();
        let deployment = json!({"name": "dep1"});
        let functions = UserFunctions::default();
        let env = Env {
            ctx: &ctx,
            deployment: &deployment,
            functions: &functions,
        };
        let names = Fixed(BTreeMap::from([("p".to_string(), json!({"a": [1, 2]}))]));
        let ev = Evaluator {
            env: &env,
            names: &names,
            refs: &NoReferences,
            site,
            loops: Loops {
                resource: Some(("loop".into(), 2)),
                properties: vec![],
            },
            lenient: false,
        };
        let e = parse(text).map_err(|e| e.message)?;
        ev.expr(&e).map_err(|e| match e {
            EvalError::Template(t) => t.to_string(),
            other => format!("{other:?}"),
        })
    }

    pub(crate) fn eval(text: &str) -> Result<Value, String> {
        eval_at(text, Site::ResourceBody)
    }

    /// Runs a table: each row is an expression and either `Ok(json)` or `Err(fragment of the
    /// message)`.
    pub(crate) fn table(rows: &[(&str, Result<Value, &str>)]) {
        for (text, expected) in rows {
            let got = eval(text);
            match (expected, &got) {
                (Ok(v), Ok(g)) => assert_eq!(g, v, "{text}"),
                (Err(fragment), Err(message)) => {
                    assert!(message.contains(fragment), "{text}: {message}")
                }
                _ => panic!("{text}: expected {expected:?}, got {got:?}"),
            }
        }
    }
}
