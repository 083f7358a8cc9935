//! String functions: `concat`, `toLower`, `toUpper`, `replace`, `split`, `substring`,
//! `startsWith`, `endsWith`, `trim`, `indexOf`, `lastIndexOf`, `padLeft`, `base64`,
//! `base64ToString`.
//!
//! As in ARM, `startsWith`, `endsWith`, `indexOf` and `lastIndexOf` ignore case; `replace`
//! and `contains` do not. Lengths and offsets count characters.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::{Args, display};
use crate::eval::EvalResult;

pub(super) fn call(name: &str, a: &Args<'_>) -> Option<EvalResult> {
    Some(match name {
        "concat" => concat(a),
        "tolower" => a
            .arity(1, 1)
            .and_then(|()| Ok(Value::from(a.str(0)?.to_lowercase()))),
        "toupper" => a
            .arity(1, 1)
            .and_then(|()| Ok(Value::from(a.str(0)?.to_uppercase()))),
        "trim" => a
            .arity(1, 1)
            .and_then(|()| Ok(Value::from(a.str(0)?.trim()))),
        "replace" => replace(a),
        "split" => split(a),
        "substring" => substring(a),
        "startswith" => a.arity(2, 2).and_then(|()| {
            Ok(Value::Bool(
                a.str(0)?
                    .to_lowercase()
                    .starts_with(&a.str(1)?.to_lowercase()),
            ))
        }),
        "endswith" => a.arity(2, 2).and_then(|()| {
            Ok(Value::Bool(
                a.str(0)?
                    .to_lowercase()
                    .ends_with(&a.str(1)?.to_lowercase()),
            ))
        }),
        "indexof" => index_of(a, false),
        "lastindexof" => index_of(a, true),
        "padleft" => pad_left(a),
        "base64" => a
            .arity(1, 1)
            .and_then(|()| Ok(Value::from(STANDARD.encode(a.str(0)?)))),
        "base64tostring" => base64_to_string(a),
        _ => return None,
    })
}

fn concat(a: &Args<'_>) -> EvalResult {
    if a.values.iter().any(Value::is_array) {
        let mut out = Vec::new();
        for (i, v) in a.values.iter().enumerate() {
            match v {
                Value::Array(items) => out.extend(items.iter().cloned()),
                Value::Null => {}
                _ => return a.array(i).map(|_| Value::Null),
            }
        }
        return Ok(Value::Array(out));
    }
    let mut out = String::new();
    for v in &a.values {
        match v {
            Value::Object(_) => {
                return a.error("the arguments must be strings, integers, booleans or arrays.");
            }
            other => out.push_str(&display(other)),
        }
    }
    Ok(Value::String(out))
}

fn replace(a: &Args<'_>) -> EvalResult {
    a.arity(3, 3)?;
    let (s, old, new) = (a.str(0)?, a.str(1)?, a.str(2)?);
    if old.is_empty() {
        return a.error("the old string must not be empty.");
    }
    Ok(Value::from(s.replace(old, new)))
}

fn split(a: &Args<'_>) -> EvalResult {
    a.arity(2, 2)?;
    let s = a.str(0)?;
    let delimiters: Vec<String> = match a.get(1) {
        Value::String(d) => vec![d.clone()],
        Value::Array(items) => items
            .iter()
            .map(|d| d.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => return a.str(1).map(|_| Value::Null),
    };
    let mut parts = vec![s.to_string()];
    for d in delimiters.iter().filter(|d| !d.is_empty()) {
        parts = parts
            .iter()
            .flat_map(|p| p.split(d.as_str()).map(str::to_string).collect::<Vec<_>>())
            .collect();
    }
    Ok(Value::Array(parts.into_iter().map(Value::String).collect()))
}

fn substring(a: &Args<'_>) -> EvalResult {
    a.arity(1, 3)?;
    let chars: Vec<char> = a.str(0)?.chars().collect();
    let start = if a.len() > 1 { a.int(1)? } else { 0 };
    let total = i64::try_from(chars.len()).unwrap_or(i64::MAX);
    let length = if a.len() > 2 {
        a.int(2)?
    } else {
        total - start
    };
    if start < 0 || length < 0 || start > total || start + length > total {
        return a.error(format!(
            "The index and length parameters must refer to a location within the string. The index parameter: '{start}', the length parameter: '{length}', the length of the string parameter: '{total}'."
        ));
    }
    let (s, l) = (
        usize::try_from(start).unwrap_or(0),
        usize::try_from(length).unwrap_or(0),
    );
    Ok(Value::from(chars[s..s + l].iter().collect::<String>()))
}

fn index_of(a: &Args<'_>, last: bool) -> EvalResult {
    a.arity(2, 2)?;
    if let Value::Array(items) = a.get(0) {
        let found = if last {
            items.iter().rposition(|v| v == a.get(1))
        } else {
            items.iter().position(|v| v == a.get(1))
        };
        return Ok(Value::from(
            found.map_or(-1, |i| i64::try_from(i).unwrap_or(-1)),
        ));
    }
    let s: Vec<char> = a.str(0)?.to_lowercase().chars().collect();
    let needle: Vec<char> = a.str(1)?.to_lowercase().chars().collect();
    if needle.is_empty() {
        return Ok(Value::from(
            if last { s.len() as i64 - 1 } else { 0 }.max(0),
        ));
    }
    let mut positions = (0..s.len()).filter(|&i| s[i..].starts_with(&needle));
    let found = if last {
        positions.next_back()
    } else {
        positions.next()
    };
    Ok(Value::from(
        found.map_or(-1, |i| i64::try_from(i).unwrap_or(-1)),
    ))
}

fn pad_left(a: &Args<'_>) -> EvalResult {
    a.arity(2, 3)?;
    let s = match a.get(0) {
        Value::Number(n) => n.to_string(),
        _ => a.str(0)?.to_string(),
    };
    let total = usize::try_from(a.int(1)?).unwrap_or(0);
    let pad = if a.len() > 2 {
        let p: Vec<char> = a.str(2)?.chars().collect();
        if p.len() != 1 {
            return a.error("the padding character must be a single character.");
        }
        p[0]
    } else {
        ' '
    };
    let len = s.chars().count();
    Ok(Value::from(format!(
        "{}{s}",
        pad.to_string().repeat(total.saturating_sub(len))
    )))
}

fn base64_to_string(a: &Args<'_>) -> EvalResult {
    a.arity(1, 1)?;
    match STANDARD
        .decode(a.str(0)?)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
    {
        Some(s) => Ok(Value::from(s)),
        None => a.error("the value is not a valid base64 encoding of a UTF-8 string."),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::test_support::table;

    #[test]
    fn string_functions() {
        table(&[
            ("concat('a', 'b', 1, true())", Ok(json!("ab1True"))),
            (
                "concat(createArray(1), createArray(2, 3))",
                Ok(json!([1, 2, 3])),
            ),
            (
                "concat(createArray(1), 'x')",
                Err("expects its parameter 2 to be of type 'Array'"),
            ),
            ("concat(json('{}'))", Err("must be strings")),
            ("toLower('AbC')", Ok(json!("abc"))),
            ("toUpper('AbC')", Ok(json!("ABC"))),
            (
                "toUpper(1)",
                Err(
                    "expects its parameter 1 to be of type 'String'. The provided value is of type 'Integer'",
                ),
            ),
            ("trim('  x ')", Ok(json!("x"))),
            ("replace('a-b-c', '-', '')", Ok(json!("abc"))),
            ("replace('abc', '', 'x')", Err("must not be empty")),
            ("split('a/b/c', '/')", Ok(json!(["a", "b", "c"]))),
            (
                "split('a,b;c', createArray(',', ';'))",
                Ok(json!(["a", "b", "c"])),
            ),
            ("split('', '/')", Ok(json!([""]))),
            ("substring('hello', 1, 3)", Ok(json!("ell"))),
            ("substring('hello', 2)", Ok(json!("llo"))),
            (
                "substring('abc', 0, 4)",
                Err("must refer to a location within the string"),
            ),
            (
                "substring('abc', -1, 1)",
                Err("must refer to a location within the string"),
            ),
            ("startsWith('Hello', 'he')", Ok(json!(true))),
            ("endsWith('Hello', 'LO')", Ok(json!(true))),
            ("endsWith('Hello', 'x')", Ok(json!(false))),
            ("indexOf('abcABC', 'B')", Ok(json!(1))),
            ("lastIndexOf('abcABC', 'b')", Ok(json!(4))),
            ("indexOf('abc', 'z')", Ok(json!(-1))),
            ("indexOf(createArray(1, 2), 2)", Ok(json!(1))),
            ("padLeft('7', 3, '0')", Ok(json!("007"))),
            ("padLeft(7, 2)", Ok(json!(" 7"))),
            ("padLeft('abc', 2, '0')", Ok(json!("abc"))),
            ("padLeft('a', 3, 'xy')", Err("single character")),
            ("base64('one, two')", Ok(json!("b25lLCB0d28="))),
            ("base64ToString('b25lLCB0d28=')", Ok(json!("one, two"))),
            ("base64ToString('%%%')", Err("not a valid base64")),
            (
                "toLower()",
                Err("must have '1' argument(s), but 0 were provided"),
            ),
        ]);
    }
}
