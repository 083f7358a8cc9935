//! The OData query options the Graph clients send: `$filter` with `eq` on a property,
//! `startswith(property,'…')` and `collection/any(x:x eq '…')`, joined by `and` (what
//! `az ad sp list|show`, `az ad app list`, `az keyvault create` and `az role assignment create`
//! send); `$select` (a comma-separated list of properties) and `$top`. Anything else is refused
//! with `Request_UnsupportedQuery` rather than answered unfiltered.

use serde_json::{Map, Value};

use super::error::GraphError;

/// One condition of a `$filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Clause {
    /// `property eq 'value'`
    Eq(String, String),
    /// `startswith(property,'value')`
    StartsWith(String, String),
    /// `collection/any(x:x eq 'value')`
    AnyEq(String, String),
}

/// A parsed `$filter`: every clause must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter(Vec<Clause>);

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }
    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }
    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        let rest = self.rest();
        if rest.len() >= token.len() && rest[..token.len()].eq_ignore_ascii_case(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (len > 0).then(|| {
            self.at += len;
            &rest[..len]
        })
    }
    /// `'…'` with `''` for a quote.
    fn quoted(&mut self) -> Option<String> {
        self.skip_ws();
        let rest = self.rest().strip_prefix('\'')?;
        let mut out = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                    chars.next();
                    out.push('\'');
                    continue;
                }
                self.at += 1 + i + 1;
                return Some(out);
            }
            out.push(c);
        }
        None
    }
}

impl Filter {
    /// Parses a `$filter` value.
    pub fn parse(text: &str) -> Result<Filter, GraphError> {
        let unsupported = || {
            GraphError::unsupported_query(format!(
                "Unsupported or invalid query filter clause specified: '{text}'."
            ))
        };
        let mut cursor = Cursor { text, at: 0 };
        let mut clauses = Vec::new();
        loop {
            let clause = if cursor.eat("startswith(") {
                let property = cursor.ident().ok_or_else(unsupported)?.to_owned();
                if !cursor.eat(",") {
                    return Err(unsupported());
                }
                let value = cursor.quoted().ok_or_else(unsupported)?;
                if !cursor.eat(")") {
                    return Err(unsupported());
                }
                Clause::StartsWith(property, value)
            } else {
                let property = cursor.ident().ok_or_else(unsupported)?.to_owned();
                if cursor.eat("/any(") {
                    let var = cursor.ident().ok_or_else(unsupported)?.to_owned();
                    let same = cursor.eat(":") && cursor.ident() == Some(var.as_str());
                    if !same || !cursor.eat("eq") {
                        return Err(unsupported());
                    }
                    let value = cursor.quoted().ok_or_else(unsupported)?;
                    if !cursor.eat(")") {
                        return Err(unsupported());
                    }
                    Clause::AnyEq(property, value)
                } else if cursor.eat("eq") {
                    Clause::Eq(property, cursor.quoted().ok_or_else(unsupported)?)
                } else {
                    return Err(unsupported());
                }
            };
            clauses.push(clause);
            cursor.skip_ws();
            if cursor.rest().is_empty() {
                return Ok(Filter(clauses));
            }
            if !cursor.eat("and ") {
                return Err(unsupported());
            }
        }
    }

    /// True when `object` (a Graph JSON object) satisfies every clause. Comparisons ignore
    /// case, as Graph's do for these properties.
    pub fn matches(&self, object: &Value) -> bool {
        let field = |name: &str| -> Option<&Value> {
            object
                .as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        self.0.iter().all(|clause| match clause {
            Clause::Eq(p, v) => field(p).is_some_and(|f| text(f).eq_ignore_ascii_case(v)),
            Clause::StartsWith(p, v) => field(p).is_some_and(|f| {
                let f = text(f).to_lowercase();
                f.starts_with(&v.to_lowercase())
            }),
            Clause::AnyEq(p, v) => field(p)
                .and_then(Value::as_array)
                .is_some_and(|items| items.iter().any(|i| text(i).eq_ignore_ascii_case(v))),
        })
    }
}

/// `$select`: keeps only the named properties (any case), or everything when absent.
pub fn select(object: Value, select: Option<&str>) -> Value {
    let Some(select) = select.filter(|s| !s.trim().is_empty()) else {
        return object;
    };
    let wanted: Vec<String> = select
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    match object {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| k.starts_with('@') || wanted.contains(&k.to_ascii_lowercase()))
                .collect::<Map<String, Value>>(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn filters_the_clients_send() {
        let sp = json!({"appId": "AB-1", "displayName": "ci-pipeline", "servicePrincipalNames": ["ab-1"]});
        let rows = [
            ("appId eq 'ab-1'", true),
            ("appId eq 'ab-2'", false),
            ("displayName eq 'ci-pipeline'", true),
            ("startswith(displayName,'CI')", true),
            ("startswith( displayName , 'pipe')", false),
            ("servicePrincipalNames/any(c:c eq 'AB-1')", true),
            ("servicePrincipalNames/any(x:x eq 'zz')", false),
            ("identifierUris/any(s:s eq 'api://x')", false),
            ("appId eq 'ab-1' and startswith(displayName,'ci')", true),
            ("appId eq 'ab-1' and displayName eq 'other'", false),
            ("displayName eq 'it''s'", false),
        ];
        for (text, expected) in rows {
            let filter = Filter::parse(text).unwrap_or_else(|_| panic!("{text} should parse"));
            assert_eq!(filter.matches(&sp), expected, "{text}");
        }
        let quoted = Filter::parse("displayName eq 'it''s'").unwrap();
        assert!(quoted.matches(&json!({"displayName": "it's"})));
    }

    #[test]
    fn unsupported_filters_are_refused() {
        for text in [
            "appId ne 'x'",
            "appId eq x",
            "appId eq 'x' or appId eq 'y'",
            "servicePrincipalNames/any(c:d eq 'x')",
            "endswith(displayName,'x')",
            "appId eq 'x' and",
            "appId eq 'x",
            "",
        ] {
            assert!(Filter::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn select_keeps_named_properties() {
        let v = json!({"id": "1", "appId": "2", "displayName": "d", "@odata.type": "t"});
        assert_eq!(
            select(v.clone(), Some("appId, ID")),
            json!({"id": "1", "appId": "2", "@odata.type": "t"})
        );
        assert_eq!(select(v.clone(), None), v);
    }
}
