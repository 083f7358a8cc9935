//! `-o table` and `-o tsv`, shaped like az's (knack's `_TableOutput` and `_TsvOutput`).
//!
//! Table: a list of objects is one row per object, with one column per key (the union of
//! every row's keys; first letter capitalised, as az does), a dashed rule under the header,
//! columns two spaces apart. Without `--query`, `id`, `type` and `etag` are left out as az
//! leaves them out, and columns are sorted by name; with a query, its multiselect hash
//! decides the order. Unlike az, which drops nested values, a nested object or list is shown
//! compactly as JSON, cut to [`MAX_NESTED`] characters. A scalar result is one `Result`
//! column; a list of lists gives `Column1`, `Column2`, ….
//!
//! TSV: one line per item, values only, tab-separated: an object's values in key order (or
//! the query's order), a nested list as its length, a nested object as an empty field, null as
//! an empty field; a scalar as itself. Made for `$(keyhold … --query … -o tsv)`.

use serde_json::{Map, Value};

/// Keys az leaves out of tables (unless a query asks for them).
const SKIP_KEYS: &[&str] = &["id", "type", "etag"];

/// The longest rendering of a nested value in a table cell.
pub const MAX_NESTED: usize = 60;

/// One cell's text: strings bare, nested values as compact JSON (cut), no line breaks.
fn cell(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(_) | Value::Object(_) => {
            let compact = value.to_string();
            if compact.chars().count() > MAX_NESTED {
                let cut: String = compact.chars().take(MAX_NESTED - 1).collect();
                format!("{cut}…")
            } else {
                compact
            }
        }
    };
    text.replace(['\n', '\r', '\t'], " ")
}

fn capitalize(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Orders `keys` (in first-seen order) by `columns` first.
fn order(keys: Vec<String>, columns: Option<&[String]>) -> Vec<String> {
    let Some(columns) = columns else {
        return keys;
    };
    let mut ordered: Vec<String> = columns
        .iter()
        .filter(|c| keys.contains(c))
        .cloned()
        .collect();
    ordered.extend(keys.into_iter().filter(|k| !columns.contains(k)));
    ordered
}

/// The rows of a result: each a list of (column, cell) pairs.
fn rows(value: &Value, columns: Option<&[String]>) -> Vec<Vec<(String, String)>> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let skip = |k: &str| columns.is_none() && SKIP_KEYS.contains(&k);
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(map) => {
                let keys: Vec<String> = map
                    .iter()
                    .filter(|(k, v)| !skip(k) && !v.is_null())
                    .map(|(k, _)| k.clone())
                    .collect();
                order(keys, columns)
                    .into_iter()
                    .map(|k| (k.clone(), cell(&map[&k])))
                    .collect()
            }
            Value::Array(values) => values
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("Column{}", i + 1), cell(v)))
                .collect(),
            scalar => vec![("Result".to_owned(), cell(scalar))],
        })
        .collect()
}

/// Renders a result as an az-style table (empty for an empty list).
pub fn table(value: &Value, columns: Option<&[String]>) -> String {
    let rows = rows(value, columns);
    let mut headers: Vec<String> = Vec::new();
    for row in &rows {
        for (key, _) in row {
            if !headers.contains(key) {
                headers.push(key.clone());
            }
        }
    }
    if headers.is_empty() {
        return String::new();
    }
    let headers = match columns {
        Some(_) => order(headers, columns),
        None => {
            headers.sort();
            headers
        }
    };
    let grid: Vec<Vec<&str>> = rows
        .iter()
        .map(|row| {
            headers
                .iter()
                .map(|h| {
                    row.iter()
                        .find(|(k, _)| k == h)
                        .map_or("", |(_, v)| v.as_str())
                })
                .collect()
        })
        .collect();
    let titles: Vec<String> = headers.iter().map(|h| capitalize(h)).collect();
    let widths: Vec<usize> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| {
            grid.iter()
                .map(|r| r[i].chars().count())
                .chain([t.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(titles.iter().map(String::as_str).collect());
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&line(rules.iter().map(String::as_str).collect()));
    for row in grid {
        out.push_str(&line(row));
    }
    out
}

fn tsv_field(value: &Value) -> String {
    match value {
        Value::Array(items) => items.len().to_string(),
        Value::Object(_) | Value::Null => String::new(),
        scalar => cell(scalar),
    }
}

fn tsv_object(map: &Map<String, Value>, columns: Option<&[String]>) -> String {
    let keys = order(map.keys().cloned().collect(), columns);
    keys.iter()
        .map(|k| tsv_field(&map[k]))
        .collect::<Vec<_>>()
        .join("\t")
}

/// Renders a result as tab-separated values, one line per item.
pub fn tsv(value: &Value, columns: Option<&[String]>) -> String {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = String::new();
    for item in items {
        let line = match item {
            Value::Object(map) => tsv_object(map, columns),
            Value::Array(values) => values.iter().map(tsv_field).collect::<Vec<_>>().join("\t"),
            scalar => cell(scalar),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn list_of_objects_is_one_row_each() {
        let v = json!([
            { "name": "rg1", "location": "westeurope", "id": "/subscriptions/s/resourceGroups/rg1",
              "type": "Microsoft.Resources/resourceGroups", "properties": { "provisioningState": "Succeeded" } },
            { "name": "group-two", "location": "northeurope", "managedBy": "/x", "tags": null },
        ]);
        let expected = "\
Location     ManagedBy  Name       Properties
-----------  ---------  ---------  ---------------------------------
westeurope              rg1        {\"provisioningState\":\"Succeeded\"}
northeurope  /x         group-two
";
        assert_eq!(table(&v, None), expected);
    }

    #[test]
    fn query_columns_keep_their_order_and_ids() {
        let v = json!([{ "name": "a", "id": "/1" }, { "name": "bb", "id": "/2" }]);
        let expected = "Name  Id\n----  --\na     /1\nbb    /2\n";
        assert_eq!(table(&v, Some(&cols(&["name", "id"]))), expected);
    }

    #[test]
    fn scalars_lists_and_empty() {
        assert_eq!(table(&json!("kv1"), None), "Result\n------\nkv1\n");
        assert_eq!(
            table(&json!([["a", 1], ["b", true]]), None),
            "Column1  Column2\n-------  -------\na        1\nb        true\n"
        );
        assert_eq!(table(&json!([]), None), "");
        assert_eq!(table(&json!(["x", "y"]), None), "Result\n------\nx\ny\n");
    }

    #[test]
    fn nested_values_are_compact_and_cut() {
        let long: Vec<String> = (0..40).map(|i| format!("op{i}")).collect();
        let out = table(&json!({ "ops": long, "multi": "a\nb" }), None);
        let row = out.lines().nth(2).unwrap();
        assert!(row.starts_with("a b    [\"op0\",\"op1\""), "{row}");
        assert!(row.ends_with('…'), "{row}");
        assert_eq!(
            row.chars().count(),
            "a b    ".chars().count() + MAX_NESTED,
            "{row}"
        );
    }

    #[test]
    fn tsv_like_az() {
        let v = json!([
            { "name": "kv1", "enabled": true, "tags": { "a": "b" }, "ops": ["get", "wrapKey"], "exp": null },
            { "name": "kv2", "enabled": false, "tags": {}, "ops": [], "exp": 5 },
        ]);
        assert_eq!(tsv(&v, None), "true\t\tkv1\t2\t\nfalse\t5\tkv2\t0\t\n");
        assert_eq!(
            tsv(&v, Some(&cols(&["name", "enabled"]))),
            "kv1\ttrue\t\t2\t\nkv2\tfalse\t5\t0\t\n"
        );
        assert_eq!(tsv(&json!(["a", "b"]), None), "a\nb\n");
        assert_eq!(tsv(&json!("one"), None), "one\n");
        assert_eq!(tsv(&json!([[1, "x"]]), None), "1\tx\n");
    }
}
