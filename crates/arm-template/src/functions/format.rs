//! `format(template, args…)`: .NET composite formatting — `{0}`, `{1,-5}`, `{0:D3}`, `{{`/`}}`.
//! Numeric format strings supported: `D`/`d` (zero-padded), `X`/`x` (hex), `N`/`n` (grouped,
//! with decimals) and all-zero custom patterns (`000`). Values other than integers are
//! rendered as `string()` does, whatever the format string.

use serde_json::Value;

use super::{Args, display};
use crate::eval::EvalResult;

pub(super) fn call(a: &Args<'_>) -> EvalResult {
    a.arity(1, usize::MAX)?;
    let template: Vec<char> = a.str(0)?.chars().collect();
    let args = &a.values[1..];
    let mut out = String::new();
    let mut i = 0;
    while i < template.len() {
        match template[i] {
            '{' if template.get(i + 1) == Some(&'{') => {
                out.push('{');
                i += 2;
            }
            '}' if template.get(i + 1) == Some(&'}') => {
                out.push('}');
                i += 2;
            }
            '{' => {
                let Some(end) = template[i..].iter().position(|c| *c == '}') else {
                    return a.error("Input string was not in a correct format.");
                };
                let item: String = template[i + 1..i + end].iter().collect();
                out.push_str(&item_text(a, &item, args)?);
                i += end + 1;
            }
            '}' => return a.error("Input string was not in a correct format."),
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(Value::String(out))
}

fn item_text(a: &Args<'_>, item: &str, args: &[Value]) -> EvalResult<String> {
    let (head, spec) = item
        .split_once(':')
        .map_or((item, None), |(h, s)| (h, Some(s)));
    let (index, align) = head
        .split_once(',')
        .map_or((head, None), |(i, w)| (i, Some(w)));
    let index: usize = match index.trim().parse() {
        Ok(i) => i,
        Err(_) => return a.error("Input string was not in a correct format."),
    };
    let Some(value) = args.get(index) else {
        return a.error(
            "Index (zero based) must be greater than or equal to zero and less than the size of the argument list.",
        );
    };
    let text = match (spec, value.as_i64()) {
        (Some(spec), Some(n)) => number(n, spec),
        _ => display(value),
    };
    let width: i64 = match align.map(|w| w.trim().parse::<i64>()) {
        None => 0,
        Some(Ok(w)) => w,
        Some(Err(_)) => return a.error("Input string was not in a correct format."),
    };
    let pad = usize::try_from(width.unsigned_abs())
        .unwrap_or(0)
        .saturating_sub(text.chars().count());
    Ok(if width < 0 {
        format!("{text}{}", " ".repeat(pad))
    } else {
        format!("{}{text}", " ".repeat(pad))
    })
}

fn number(n: i64, spec: &str) -> String {
    let mut chars = spec.chars();
    let kind = chars.next().unwrap_or('G');
    let digits: Option<usize> = chars.as_str().parse().ok();
    match kind {
        'D' | 'd' => {
            let width = digits.unwrap_or(0);
            let body = format!("{:0width$}", n.unsigned_abs());
            if n < 0 { format!("-{body}") } else { body }
        }
        'X' => format!("{:0width$X}", n, width = digits.unwrap_or(0)),
        'x' => format!("{:0width$x}", n, width = digits.unwrap_or(0)),
        'N' | 'n' => {
            let grouped = group(n.unsigned_abs());
            let decimals = digits.unwrap_or(2);
            let sign = if n < 0 { "-" } else { "" };
            if decimals == 0 {
                format!("{sign}{grouped}")
            } else {
                format!("{sign}{grouped}.{}", "0".repeat(decimals))
            }
        }
        _ if spec.chars().all(|c| c == '0') => {
            let width = spec.len();
            let body = format!("{:0width$}", n.unsigned_abs());
            if n < 0 { format!("-{body}") } else { body }
        }
        _ => n.to_string(),
    }
}

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::test_support::table;

    #[test]
    fn format_function() {
        table(&[
            ("format('{0}-proj', 'x')", Ok(json!("x-proj"))),
            ("format('{0}/{1}', 'a', 'b')", Ok(json!("a/b"))),
            ("format('{1}{0}{1}', 'a', 'b')", Ok(json!("bab"))),
            ("format('{{literal}} {0}', 1)", Ok(json!("{literal} 1"))),
            ("format('{0:D3}', 7)", Ok(json!("007"))),
            ("format('{0:d}', -7)", Ok(json!("-7"))),
            ("format('{0:X}', 255)", Ok(json!("FF"))),
            ("format('{0:x4}', 255)", Ok(json!("00ff"))),
            ("format('{0:N0}', 1234567)", Ok(json!("1,234,567"))),
            ("format('{0:N}', 1234)", Ok(json!("1,234.00"))),
            ("format('{0:000}', 5)", Ok(json!("005"))),
            ("format('[{0,4}]', 'ab')", Ok(json!("[  ab]"))),
            ("format('[{0,-4}]', 'ab')", Ok(json!("[ab  ]"))),
            ("format('{0}', true())", Ok(json!("True"))),
            ("format('{0}', createArray(1))", Ok(json!("[1]"))),
            ("format('{1}', 'a')", Err("Index (zero based)")),
            ("format('{0', 'a')", Err("not in a correct format")),
            ("format('}', 'a')", Err("not in a correct format")),
            ("format(1)", Err("to be of type 'String'")),
        ]);
    }
}
