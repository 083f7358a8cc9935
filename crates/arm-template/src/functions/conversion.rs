//! Conversion functions: `json`, `string`, `int`, `bool`.

use serde_json::Value;

use super::{Args, display};
use crate::eval::EvalResult;

pub(super) fn call(name: &str, a: &Args<'_>) -> Option<EvalResult> {
    Some(match name {
        "json" => json(a),
        "string" => a.arity(1, 1).map(|()| Value::from(display(a.get(0)))),
        "int" => int(a),
        "bool" => boolean(a),
        _ => return None,
    })
}

fn json(a: &Args<'_>) -> EvalResult {
    a.arity(1, 1)?;
    match serde_json::from_str::<Value>(a.str(0)?) {
        Ok(v) => Ok(v),
        Err(e) => a.error(format!("the argument is not valid JSON: {e}.")),
    }
}

fn int(a: &Args<'_>) -> EvalResult {
    a.arity(1, 1)?;
    match a.get(0) {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(Value::from(i)),
            // `int(1.7)` truncates, as .NET's conversion does.
            None => Ok(Value::from(n.as_f64().unwrap_or(0.0).trunc() as i64)),
        },
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(i) => Ok(Value::from(i)),
            Err(_) => a.error(format!("the string '{s}' is not a valid integer.")),
        },
        _ => a.str(0).map(|_| Value::Null),
    }
}

fn boolean(a: &Args<'_>) -> EvalResult {
    a.arity(1, 1)?;
    match a.get(0) {
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::Number(n) => Ok(Value::Bool(n.as_i64() != Some(0))),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        Value::String(s) => a.error(format!("the string '{s}' is not a valid boolean.")),
        _ => a.bool(0).map(Value::Bool),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::test_support::table;

    #[test]
    fn conversion_functions() {
        table(&[
            ("json('{\"a\": [1, true]}')", Ok(json!({"a": [1, true]}))),
            ("json('null')", Ok(json!(null))),
            ("json('{')", Err("not valid JSON")),
            ("string(12)", Ok(json!("12"))),
            ("string(true())", Ok(json!("True"))),
            ("string(createArray('a', 1))", Ok(json!("[\"a\",1]"))),
            ("string('x')", Ok(json!("x"))),
            ("int('42')", Ok(json!(42))),
            ("int(7)", Ok(json!(7))),
            ("int('4x')", Err("not a valid integer")),
            ("bool('True')", Ok(json!(true))),
            ("bool(0)", Ok(json!(false))),
            ("bool('yes')", Err("not a valid boolean")),
        ]);
    }
}
