//! The lenient JSON ARM accepts for deployment bodies. The Azure CLI splices the template
//! file's text into the request as `…, template:{…}}}` — an unquoted property name, and the
//! file may carry `//` and `/* */` comments and trailing commas (ARM's deserializer accepts
//! all three). This turns such text into strict JSON: comments are dropped, bare property
//! names quoted, trailing commas removed; strings are copied untouched.

/// Strict JSON text of a JSONC document (or the input's own error, if it stays invalid).
pub(crate) fn parse(text: &[u8]) -> Result<serde_json::Value, serde_json::Error> {
    match serde_json::from_slice(text) {
        Ok(v) => Ok(v),
        Err(strict) => {
            let Ok(text) = std::str::from_utf8(text) else {
                return Err(strict);
            };
            serde_json::from_str(&normalize(text)).map_err(|_| strict)
        }
    }
}

fn normalize(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                // A string, escapes included, copied as it is.
                out.push(c);
                i += 1;
                while i < chars.len() {
                    out.push(chars[i]);
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        out.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if chars[i - 1] == '"' {
                        break;
                    }
                }
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            ',' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                if !matches!(chars.get(j), Some('}' | ']')) {
                    out.push(c);
                }
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '$')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                if chars.get(j) == Some(&':') {
                    out.push('"');
                    out.push_str(&word);
                    out.push('"');
                } else {
                    out.push_str(&word);
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_the_azure_cli_sends_parses() {
        let body = br#"{"properties": {"parameters": {"a": {"value": "x // not a comment"}}, "mode": "Incremental", template:{
  // a comment
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  /* another */ "resources": [ {"name": "a\"b", "enabled": true, "n": null,}, ],
}}}"#;
        let v = parse(body).unwrap();
        assert_eq!(
            v["properties"]["parameters"]["a"]["value"],
            "x // not a comment"
        );
        assert_eq!(v["properties"]["mode"], "Incremental");
        assert_eq!(
            v["properties"]["template"]["resources"],
            json!([{"name": "a\"b", "enabled": true, "n": null}])
        );
    }

    #[test]
    fn strict_json_is_unchanged_and_errors_stay_errors() {
        assert_eq!(
            parse(br#"{"a": [1, "b"]}"#).unwrap(),
            json!({"a": [1, "b"]})
        );
        assert!(parse(b"{\"a\": }").is_err());
        assert!(parse(b"{a b: 1}").is_err());
        assert!(parse(b"\xff").is_err());
    }
}
