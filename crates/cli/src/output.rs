//! How client commands print their result, like az: the global `-o/--output json|table|tsv`
//! (default json) and `--query <JMESPath>`. Every result goes through the same steps: Unix
//! epoch time fields become ISO-8601 UTC ([`crate::times`]), then the query is applied
//! ([`crate::query`]), then the format ([`crate::table`] for table and tsv). JSON is
//! pretty-printed with sorted keys, as az prints it.

use std::io::Write;

use clap::Args;
use serde_json::Value;

use crate::query::Query;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Pretty JSON.
    #[default]
    Json,
    /// Columns with headers.
    Table,
    /// Tab-separated values.
    Tsv,
    /// Nothing (as az's `-o none`: for scripts that only need the exit status).
    None,
}

/// Parses `-o`: a helpful message for a value that is not a format (such as a file name,
/// since `-o` used to be `file download`'s destination).
fn parse_format(text: &str) -> Result<Format, String> {
    match text.to_ascii_lowercase().as_str() {
        "json" => Ok(Format::Json),
        "table" => Ok(Format::Table),
        "tsv" => Ok(Format::Tsv),
        "none" => Ok(Format::None),
        _ => Err(format!(
            "'{text}' is not an output format: use json, table, tsv or none (`file download` \
             takes the file to write as --file)"
        )),
    }
}

/// The global output options.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format: json, table, tsv or none.
    #[arg(
        short = 'o',
        long = "output",
        global = true,
        default_value = "json",
        value_parser = parse_format,
        value_name = "FORMAT"
    )]
    format: Format,
    /// JMESPath query applied to the result before formatting, e.g. "[].{name:name, id:id}".
    #[arg(long, global = true, value_name = "JMESPATH")]
    query: Option<String>,
}

/// Output settings for one command.
#[derive(Debug, Default)]
pub struct Output {
    format: Format,
    query: Option<Query>,
}

impl Output {
    /// From the parsed flags (the query is compiled here, so a bad one fails before any call).
    pub fn from_args(args: &OutputArgs) -> Result<Output, String> {
        Ok(Output {
            format: args.format,
            query: args.query.as_deref().map(Query::parse).transpose()?,
        })
    }

    /// The text to print for a result.
    pub fn render(&self, value: &Value) -> Result<String, String> {
        let mut value = value.clone();
        crate::times::humanize(&mut value);
        let value = match &self.query {
            Some(q) => q.apply(&value)?,
            None => value,
        };
        let columns = self.query.as_ref().and_then(Query::columns);
        Ok(match self.format {
            Format::Json => {
                let mut text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
                text.push('\n');
                text
            }
            Format::Table => crate::table::table(&value, columns),
            Format::Tsv => crate::table::tsv(&value, columns),
            Format::None => String::new(),
        })
    }

    /// Prints a result on stdout.
    pub fn print(&self, value: &Value) -> Result<(), String> {
        let text = self.render(value)?;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to stdout: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn output(format: Format, query: Option<&str>) -> Output {
        Output {
            format,
            query: query.map(|q| Query::parse(q).unwrap()),
        }
    }

    #[test]
    fn formats_parse_case_insensitively_and_explain_mistakes() {
        assert_eq!(parse_format("TABLE"), Ok(Format::Table));
        assert_eq!(parse_format("tsv"), Ok(Format::Tsv));
        assert_eq!(parse_format("none"), Ok(Format::None));
        assert_eq!(output(Format::None, None).render(&json!([1])).unwrap(), "");
        let err = parse_format("back.jsonl").unwrap_err();
        assert!(
            err.contains("json, table, tsv or none") && err.contains("--file"),
            "{err}"
        );
    }

    #[test]
    fn times_become_iso_before_the_query_and_in_every_format() {
        let key = json!({ "key": { "kid": "https://kv/keys/k/1" },
                          "attributes": { "created": 1_700_000_000, "enabled": true } });
        let json_out = output(Format::Json, None).render(&key).unwrap();
        assert!(
            json_out.contains("\"created\": \"2023-11-14T22:13:20Z\""),
            "{json_out}"
        );
        let tsv_out = output(Format::Tsv, Some("attributes.created"))
            .render(&key)
            .unwrap();
        assert_eq!(tsv_out, "2023-11-14T22:13:20Z\n");
        let table_out = output(
            Format::Table,
            Some("{created: attributes.created, on: attributes.enabled}"),
        )
        .render(&key)
        .unwrap();
        assert_eq!(
            table_out,
            "Created               On\n--------------------  ----\n2023-11-14T22:13:20Z  true\n"
        );
    }

    #[test]
    fn json_is_pretty_and_sorted() {
        let out = output(Format::Json, None)
            .render(&json!({ "b": 1, "a": [1] }))
            .unwrap();
        assert_eq!(out, "{\n  \"a\": [\n    1\n  ],\n  \"b\": 1\n}\n");
    }
}
