//! ARM's limits on what a resource carries, checked before anything is stored: at most 50
//! tags per resource, names of at most 512 characters without `< > % & \ ? /`, values of at
//! most 256 characters (Azure's documented tag limits).

use std::collections::BTreeMap;

use crate::http::ApiError;

/// Most tags one resource may carry.
pub const MAX_TAGS: usize = 50;
/// Longest tag name, in characters.
pub const MAX_TAG_NAME: usize = 512;
/// Longest tag value, in characters.
pub const MAX_TAG_VALUE: usize = 256;

/// 400 unless `tags` is within ARM's limits.
pub fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if tags.len() > MAX_TAGS {
        return Err(ApiError::bad_request(
            "InvalidTag",
            format!(
                "A resource may have at most {MAX_TAGS} tags; the request has {}.",
                tags.len()
            ),
        ));
    }
    for (name, value) in tags {
        let shown: String = name.chars().take(40).collect();
        if name.is_empty() || name.chars().count() > MAX_TAG_NAME {
            return Err(ApiError::bad_request(
                "InvalidTag",
                format!("Tag names must be 1 to {MAX_TAG_NAME} characters long ('{shown}…')."),
            ));
        }
        if name.contains(['<', '>', '%', '&', '\\', '?', '/']) {
            return Err(ApiError::bad_request(
                "InvalidTagNameCharacters",
                format!(
                    "The tag name '{shown}' has characters that are not allowed: '<,>,%,&,\\,?,/'."
                ),
            ));
        }
        if value.chars().count() > MAX_TAG_VALUE {
            return Err(ApiError::bad_request(
                "InvalidTag",
                format!("The value of tag '{shown}' is longer than {MAX_TAG_VALUE} characters."),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn tags_within_and_beyond_the_limits() {
        assert!(check_tags(&tags(&[("env", "prod".into())])).is_ok());
        assert!(check_tags(&tags(&[("v", "x".repeat(MAX_TAG_VALUE))])).is_ok());
        let many: BTreeMap<String, String> = (0..=MAX_TAGS)
            .map(|i| (format!("t{i}"), String::new()))
            .collect();
        let cases = [
            (many, "InvalidTag"),
            (tags(&[("v", "x".repeat(MAX_TAG_VALUE + 1))]), "InvalidTag"),
            (tags(&[("", String::new())]), "InvalidTag"),
            (
                tags(&[("n".repeat(MAX_TAG_NAME + 1).as_str(), String::new())]),
                "InvalidTag",
            ),
            (tags(&[("a/b", String::new())]), "InvalidTagNameCharacters"),
            (tags(&[("a%b", String::new())]), "InvalidTagNameCharacters"),
        ];
        for (tags, code) in cases {
            assert_eq!(check_tags(&tags).unwrap_err().code(), code);
        }
    }
}
