//! Creating an Azure Blob container, for the test harness (object_store reads and writes
//! blobs but does not create containers). One `PUT ?restype=container` signed with the
//! account's shared key (HMAC-SHA256 over the canonical request, as the Blob service
//! specifies for API version 2015-02-21 and later).

use aws_lc_rs::hmac;
use base64::Engine as _;

const API_VERSION: &str = "2023-11-03";

/// Creates `container` at `account_url` (`http(s)://host[:port]/<account>` for Azurite's
/// path-style URLs); an existing container is fine.
pub async fn create_container(
    account_url: &str,
    account: &str,
    key_base64: &str,
    container: &str,
) -> Result<(), String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(key_base64)
        .map_err(|e| format!("account key is not base64: {e}"))?;
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let url = format!(
        "{}/{container}?restype=container",
        account_url.trim_end_matches('/')
    );
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, path)| path.split('?').next().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let string_to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{API_VERSION}\n/{account}/{path}\nrestype:container"
    );
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &key),
        string_to_sign.as_bytes(),
    );
    let signature = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
    let response = reqwest::Client::new()
        .put(&url)
        .header("x-ms-date", &date)
        .header("x-ms-version", API_VERSION)
        .header("Content-Length", "0")
        .header("Authorization", format!("SharedKey {account}:{signature}"))
        .send()
        .await
        .map_err(|e| {
            let mut cause = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                cause = format!("{cause}: {inner}");
                source = inner.source();
            }
            format!("cannot reach {url}: {cause}")
        })?;
    let status = response.status();
    if status.is_success() || status == reqwest::StatusCode::CONFLICT {
        return Ok(());
    }
    Err(format!(
        "creating container {container}: {status} {}",
        response.text().await.unwrap_or_default()
    ))
}
