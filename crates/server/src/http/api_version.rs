//! `api-version` handling. Azure requires the query parameter on every ARM and Key Vault call;
//! keyhold accepts the versions the current official SDKs and CLIs send, and answers any other
//! with a 400 that lists the supported ones, as ARM does.

use axum::http::Uri;

use crate::http::ApiError;

/// Versions of `Microsoft.Resources` (subscriptions, tenants, resource groups).
pub const RESOURCES: &[&str] = &[
    "2016-06-01",
    "2019-11-01",
    "2020-01-01",
    "2021-01-01",
    "2021-04-01",
    "2022-09-01",
    "2022-12-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-03-01",
];

/// Versions of `Microsoft.ManagedIdentity`.
pub const MANAGED_IDENTITY: &[&str] = &[
    "2018-11-30",
    "2021-09-30-preview",
    "2022-01-31-preview",
    "2023-01-31",
    "2023-07-31-preview",
    "2024-11-30",
    "2025-01-31-preview",
];

/// Versions of `Microsoft.Authorization` role assignments and definitions.
pub const AUTHORIZATION: &[&str] = &[
    "2015-07-01",
    "2018-01-01-preview",
    "2020-04-01-preview",
    "2020-10-01-preview",
    "2022-04-01",
    "2022-05-01-preview",
];

/// The value of one query parameter, percent-decoded.
pub fn query_param(uri: &Uri, name: &str) -> Option<String> {
    let query = uri.query()?;
    url_pairs(query)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

/// Returns the request's `api-version` if it is one of `supported`, else the ARM error.
pub fn require(uri: &Uri, resource_type: &str, supported: &[&str]) -> Result<String, ApiError> {
    let Some(version) = query_param(uri, "api-version") else {
        return Err(ApiError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    if supported.iter().any(|s| s.eq_ignore_ascii_case(&version)) {
        return Ok(version);
    }
    Err(ApiError::bad_request(
        "InvalidApiVersionParameter",
        format!(
            "The api-version '{version}' is invalid for {resource_type}. The supported versions \
             are '{}'.",
            supported.join(",")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_table() {
        let rows = [
            ("/x?api-version=2022-12-01", Ok("2022-12-01")),
            ("/x?a=b&API-VERSION=2021-01-01", Ok("2021-01-01")),
            (
                "/x?api-version=1999-01-01",
                Err("InvalidApiVersionParameter"),
            ),
            ("/x", Err("MissingApiVersionParameter")),
            ("/x?api-version=", Err("InvalidApiVersionParameter")),
        ];
        for (uri, expected) in rows {
            let uri: Uri = uri.parse().unwrap();
            match (require(&uri, "resourceGroups", RESOURCES), expected) {
                (Ok(v), Ok(e)) => assert_eq!(v, e),
                (Err(err), Err(code)) => {
                    assert_eq!(err.code(), code, "{uri}");
                    if code == "InvalidApiVersionParameter" {
                        assert!(
                            err.message().contains("2022-12-01"),
                            "lists supported versions"
                        );
                    }
                }
                (got, _) => panic!("{uri}: unexpected {got:?}"),
            }
        }
    }

    #[test]
    fn query_values_are_decoded() {
        let uri: Uri = "/msi/token?resource=https%3A%2F%2Fvault.localhost&x=1"
            .parse()
            .unwrap();
        assert_eq!(
            query_param(&uri, "resource").as_deref(),
            Some("https://vault.localhost")
        );
        assert_eq!(query_param(&uri, "missing"), None);
    }
}
