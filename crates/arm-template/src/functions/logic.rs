//! Comparison and logic functions: `equals`, `not`, `true`, `false`, `null`, `greater`,
//! `greaterOrEquals`, `less`, `lessOrEquals`. (`if`, `and` and `or` are lazy and live in the
//! evaluator.)

use std::cmp::Ordering;

use serde_json::Value;

use super::Args;
use crate::eval::EvalResult;

pub(super) fn call(name: &str, a: &Args<'_>) -> Option<EvalResult> {
    Some(match name {
        "equals" => a.arity(2, 2).map(|()| Value::Bool(a.get(0) == a.get(1))),
        "not" => a.arity(1, 1).and_then(|()| Ok(Value::Bool(!a.bool(0)?))),
        "true" => a.arity(0, 0).map(|()| Value::Bool(true)),
        "false" => a.arity(0, 0).map(|()| Value::Bool(false)),
        "null" => a.arity(0, 0).map(|()| Value::Null),
        "greater" => compare(a, |o| o == Ordering::Greater),
        "greaterorequals" => compare(a, |o| o != Ordering::Less),
        "less" => compare(a, |o| o == Ordering::Less),
        "lessorequals" => compare(a, |o| o != Ordering::Greater),
        _ => return None,
    })
}

fn compare(a: &Args<'_>, test: fn(Ordering) -> bool) -> EvalResult {
    a.arity(2, 2)?;
    let ordering = match (a.get(0), a.get(1)) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x
                .as_f64()
                .unwrap_or(0.0)
                .partial_cmp(&y.as_f64().unwrap_or(0.0))
                .unwrap_or(Ordering::Equal),
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => {
            return a.error("the parameters must be both integers or both strings.");
        }
    };
    Ok(Value::Bool(test(ordering)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::test_support::table;

    #[test]
    fn logic_functions() {
        table(&[
            ("equals(1, 1)", Ok(json!(true))),
            ("equals('a', 'A')", Ok(json!(false))),
            ("equals(createArray(1), createArray(1))", Ok(json!(true))),
            ("equals(1)", Err("must have '2' argument(s)")),
            ("not(true())", Ok(json!(false))),
            ("not('x')", Err("to be of type 'Boolean'")),
            ("and(true(), false())", Ok(json!(false))),
            ("and(false(), variables('missing'))", Ok(json!(false))),
            ("or(true(), variables('missing'))", Ok(json!(true))),
            ("or(false(), false())", Ok(json!(false))),
            ("and(true(), 1)", Err("to be of type 'Boolean'")),
            ("and(true())", Err("at least '2'")),
            ("if(true(), 'a', createArray()[5])", Ok(json!("a"))),
            ("if(false(), createArray()[5], 'b')", Ok(json!("b"))),
            (
                "if('x', 1, 2)",
                Err("first parameter to be of type 'Boolean'"),
            ),
            ("if(true(), 1)", Err("must have '3' argument(s)")),
            ("greater(2, 1)", Ok(json!(true))),
            ("greater('a', 'b')", Ok(json!(false))),
            ("greaterOrEquals(2, 2)", Ok(json!(true))),
            ("less(1, 2)", Ok(json!(true))),
            ("lessOrEquals(3, 2)", Ok(json!(false))),
            ("less(1, 'a')", Err("both integers or both strings")),
            ("null()", Ok(json!(null))),
            ("true(1)", Err("must have '0' argument(s)")),
        ]);
    }
}
