//! Integer functions: `add`, `sub`, `mul`, `div`, `mod`, `min`, `max`.

use serde_json::Value;

use super::Args;
use crate::eval::EvalResult;

pub(super) fn call(name: &str, a: &Args<'_>) -> Option<EvalResult> {
    Some(match name {
        "add" => binary(a, i64::checked_add),
        "sub" => binary(a, i64::checked_sub),
        "mul" => binary(a, i64::checked_mul),
        "div" => divide(a, i64::checked_div),
        "mod" => divide(a, i64::checked_rem),
        "min" => extreme(a, false),
        "max" => extreme(a, true),
        _ => return None,
    })
}

fn binary(a: &Args<'_>, op: fn(i64, i64) -> Option<i64>) -> EvalResult {
    a.arity(2, 2)?;
    match op(a.int(0)?, a.int(1)?) {
        Some(v) => Ok(Value::from(v)),
        None => a.error("the result is out of the range of a 64-bit integer."),
    }
}

fn divide(a: &Args<'_>, op: fn(i64, i64) -> Option<i64>) -> EvalResult {
    a.arity(2, 2)?;
    if a.int(1)? == 0 {
        return a.error("the divisor must not be zero.");
    }
    binary(a, op)
}

fn extreme(a: &Args<'_>, max: bool) -> EvalResult {
    a.arity(1, usize::MAX)?;
    let values: Vec<Value> = match a.get(0) {
        Value::Array(items) if a.len() == 1 => items.clone(),
        _ => a.values.clone(),
    };
    let mut best: Option<i64> = None;
    for v in &values {
        let Some(n) = v.as_i64() else {
            return a.error("the arguments must be integers or one array of integers.");
        };
        best = Some(match best {
            Some(b) if (max && b >= n) || (!max && b <= n) => b,
            _ => n,
        });
    }
    match best {
        Some(b) => Ok(Value::from(b)),
        None => a.error("the array must not be empty."),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::test_support::table;

    #[test]
    fn numeric_functions() {
        table(&[
            ("add(1, 2)", Ok(json!(3))),
            ("add(9223372036854775807, 1)", Err("out of the range")),
            ("sub(1, 2)", Ok(json!(-1))),
            ("mul(3, -2)", Ok(json!(-6))),
            ("div(7, 2)", Ok(json!(3))),
            ("div(1, 0)", Err("must not be zero")),
            ("mod(7, 3)", Ok(json!(1))),
            ("mod(7, 0)", Err("must not be zero")),
            ("add('1', 2)", Err("to be of type 'Integer'")),
            ("min(3, 1, 2)", Ok(json!(1))),
            ("max(createArray(3, 7, 2))", Ok(json!(7))),
            ("max(createArray())", Err("must not be empty")),
            ("min('a')", Err("must be integers")),
        ]);
    }
}
