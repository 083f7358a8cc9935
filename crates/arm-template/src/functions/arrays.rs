//! Array and object functions: `createArray`, `createObject`, `array`, `length`, `empty`,
//! `contains`, `first`, `last`, `take`, `skip`, `union`, `intersection`, `range`, `items`,
//! `objectKeys`, `coalesce`. Where ARM allows, they also take strings.

use serde_json::{Map, Value};

use super::Args;
use crate::eval::EvalResult;

pub(super) fn call(name: &str, a: &Args<'_>) -> Option<EvalResult> {
    Some(match name {
        "createarray" => Ok(Value::Array(a.values.clone())),
        "createobject" => create_object(a),
        "array" => a.arity(1, 1).map(|()| match a.get(0) {
            Value::Array(items) => Value::Array(items.clone()),
            other => Value::Array(vec![other.clone()]),
        }),
        "length" => length(a),
        "empty" => a.arity(1, 1).map(|()| Value::Bool(is_empty(a.get(0)))),
        "contains" => contains(a),
        "first" => ends(a, true),
        "last" => ends(a, false),
        "take" => take_skip(a, true),
        "skip" => take_skip(a, false),
        "union" => union(a),
        "intersection" => intersection(a),
        "range" => range(a),
        "items" => items(a),
        "objectkeys" => a.arity(1, 1).and_then(|()| match a.get(0) {
            Value::Object(m) => Ok(Value::Array(m.keys().cloned().map(Value::String).collect())),
            _ => a.error("the argument must be an object."),
        }),
        "coalesce" => a.arity(1, usize::MAX).map(|()| {
            a.values
                .iter()
                .find(|v| !v.is_null())
                .cloned()
                .unwrap_or(Value::Null)
        }),
        _ => return None,
    })
}

fn create_object(a: &Args<'_>) -> EvalResult {
    if !a.len().is_multiple_of(2) {
        return a
            .error("the function requires an even number of arguments (name and value pairs).");
    }
    let mut m = Map::new();
    for i in (0..a.len()).step_by(2) {
        m.insert(a.str(i)?.to_string(), a.get(i + 1).clone());
    }
    Ok(Value::Object(m))
}

fn length(a: &Args<'_>) -> EvalResult {
    a.arity(1, 1)?;
    let n = match a.get(0) {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.len(),
        Value::Object(m) => m.len(),
        _ => return a.error("the argument must be a string, an array or an object."),
    };
    Ok(Value::from(n))
}

pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn contains(a: &Args<'_>) -> EvalResult {
    a.arity(2, 2)?;
    let found = match (a.get(0), a.get(1)) {
        (Value::String(s), item) => s.contains(&super::display(item)),
        (Value::Array(items), item) => items.contains(item),
        (Value::Object(m), Value::String(key)) => m.keys().any(|k| k.eq_ignore_ascii_case(key)),
        _ => return a.error("the first argument must be a string, an array or an object."),
    };
    Ok(Value::Bool(found))
}

fn ends(a: &Args<'_>, first: bool) -> EvalResult {
    a.arity(1, 1)?;
    match a.get(0) {
        Value::Array(items) => Ok(if first { items.first() } else { items.last() }
            .cloned()
            .unwrap_or(Value::Null)),
        Value::String(s) => {
            let c = if first {
                s.chars().next()
            } else {
                s.chars().last()
            };
            Ok(Value::from(c.map(String::from).unwrap_or_default()))
        }
        _ => a.error("the argument must be a string or an array."),
    }
}

fn take_skip(a: &Args<'_>, take: bool) -> EvalResult {
    a.arity(2, 2)?;
    let n = usize::try_from(a.int(1)?.max(0)).unwrap_or(0);
    match a.get(0) {
        Value::Array(items) => {
            let n = n.min(items.len());
            Ok(Value::Array(if take {
                items[..n].to_vec()
            } else {
                items[n..].to_vec()
            }))
        }
        Value::String(s) => Ok(Value::from(if take {
            s.chars().take(n).collect::<String>()
        } else {
            s.chars().skip(n).collect::<String>()
        })),
        _ => a.error("the first argument must be a string or an array."),
    }
}

fn union(a: &Args<'_>) -> EvalResult {
    a.arity(2, usize::MAX)?;
    if a.values.iter().all(Value::is_array) {
        let mut out: Vec<Value> = Vec::new();
        for v in a.values.iter().filter_map(Value::as_array).flatten() {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        return Ok(Value::Array(out));
    }
    if a.values.iter().all(Value::is_object) {
        let mut out = Value::Object(Map::new());
        for v in &a.values {
            merge(&mut out, v);
        }
        return Ok(out);
    }
    a.error("all arguments must be arrays, or all must be objects.")
}

/// Deep merge as `union` does for objects: nested objects merge, anything else is replaced.
fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(dst), Value::Object(src)) => {
            for (k, v) in src {
                match dst.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        dst.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (dst, src) => *dst = src.clone(),
    }
}

fn intersection(a: &Args<'_>) -> EvalResult {
    a.arity(2, usize::MAX)?;
    if a.values.iter().all(Value::is_array) {
        let first = a.array(0)?;
        let mut out: Vec<Value> = Vec::new();
        for v in first {
            if a.values[1..]
                .iter()
                .all(|o| o.as_array().is_some_and(|o| o.contains(v)))
                && !out.contains(v)
            {
                out.push(v.clone());
            }
        }
        return Ok(Value::Array(out));
    }
    if let Some(Value::Object(first)) = a.values.first()
        && a.values.iter().all(Value::is_object)
    {
        let out: Map<String, Value> = first
            .iter()
            .filter(|(k, v)| a.values[1..].iter().all(|o| o.get(k.as_str()) == Some(v)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        return Ok(Value::Object(out));
    }
    a.error("all arguments must be arrays, or all must be objects.")
}

fn range(a: &Args<'_>) -> EvalResult {
    a.arity(2, 2)?;
    let (start, count) = (a.int(0)?, a.int(1)?);
    if !(0..=10_000).contains(&count) {
        return a.error(format!("the count '{count}' must be between 0 and 10000."));
    }
    match start.checked_add(count) {
        Some(_) => Ok(Value::Array(
            (start..start + count).map(Value::from).collect(),
        )),
        None => a.error("the start and count overflow."),
    }
}

fn items(a: &Args<'_>) -> EvalResult {
    a.arity(1, 1)?;
    match a.get(0) {
        Value::Object(m) => {
            let mut pairs: Vec<(&String, &Value)> = m.iter().collect();
            pairs.sort_by_key(|(k, _)| k.to_lowercase());
            Ok(Value::Array(
                pairs
                    .into_iter()
                    .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
                    .collect(),
            ))
        }
        _ => a.error("the argument must be an object."),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::test_support::table;

    #[test]
    fn array_and_object_functions() {
        table(&[
            ("createArray(1, 'a')", Ok(json!([1, "a"]))),
            ("createArray()", Ok(json!([]))),
            (
                "createObject('a', 1, 'b', createArray(2))",
                Ok(json!({"a": 1, "b": [2]})),
            ),
            ("createObject('a')", Err("even number of arguments")),
            ("array('x')", Ok(json!(["x"]))),
            ("array(createArray(1))", Ok(json!([1]))),
            ("length('abc')", Ok(json!(3))),
            ("length(createArray(1, 2))", Ok(json!(2))),
            ("length(parameters('p'))", Ok(json!(1))),
            ("length(1)", Err("must be a string, an array or an object")),
            ("empty('')", Ok(json!(true))),
            ("empty(createArray())", Ok(json!(true))),
            ("empty(json('{\"a\":1}'))", Ok(json!(false))),
            ("empty(null())", Ok(json!(true))),
            ("contains('OneTwo', 'Two')", Ok(json!(true))),
            ("contains('OneTwo', 'two')", Ok(json!(false))),
            ("contains(createArray(1, 2), 2)", Ok(json!(true))),
            ("contains(parameters('p'), 'A')", Ok(json!(true))),
            ("contains(1, 1)", Err("first argument must be")),
            ("first(createArray(1, 2))", Ok(json!(1))),
            ("last(createArray(1, 2))", Ok(json!(2))),
            ("last(split('a/b', '/'))", Ok(json!("b"))),
            ("first('abc')", Ok(json!("a"))),
            ("first(createArray())", Ok(json!(null))),
            ("take(createArray(1, 2, 3), 2)", Ok(json!([1, 2]))),
            ("skip(createArray(1, 2, 3), 2)", Ok(json!([3]))),
            ("take('abc', 5)", Ok(json!("abc"))),
            ("skip('abc', 1)", Ok(json!("bc"))),
            (
                "union(createArray(1, 2), createArray(2, 3))",
                Ok(json!([1, 2, 3])),
            ),
            (
                "union(json('{\"a\":{\"x\":1},\"b\":1}'), json('{\"a\":{\"y\":2}}'))",
                Ok(json!({"a": {"x": 1, "y": 2}, "b": 1})),
            ),
            (
                "union(createArray(1), 'x')",
                Err("all arguments must be arrays"),
            ),
            (
                "intersection(createArray(1, 2, 3), createArray(2, 3, 4))",
                Ok(json!([2, 3])),
            ),
            (
                "intersection(json('{\"a\":1,\"b\":2}'), json('{\"a\":1,\"b\":3}'))",
                Ok(json!({"a": 1})),
            ),
            ("range(5, 3)", Ok(json!([5, 6, 7]))),
            ("range(0, -1)", Err("must be between 0 and 10000")),
            (
                "items(json('{\"b\":2,\"a\":1}'))",
                Ok(json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])),
            ),
            (
                "objectKeys(json('{\"b\":2,\"a\":1}'))",
                Ok(json!(["a", "b"])),
            ),
            ("coalesce(null(), null(), 'x')", Ok(json!("x"))),
            ("coalesce(null())", Ok(json!(null))),
        ]);
    }
}
