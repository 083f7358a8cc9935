//! Blob URLs: `s3://bucket[/prefix]` and `az://container[/prefix]`.
//!
//! Credentials and endpoints come from the services' usual environment variables, never from
//! the URL (which is printed in logs and errors): `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL` (an S3-compatible server), `AWS_ALLOW_HTTP=true` (plain
//! HTTP, for a server on loopback); `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`,
//! `AZURE_STORAGE_ENDPOINT`, `AZURE_ALLOW_HTTP`, or `AZURE_STORAGE_USE_EMULATOR=true` with
//! `AZURITE_BLOB_STORAGE_URL` for Azurite.

use std::sync::Arc;

use keyhold_store::StoreError;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;

use crate::ObjectBlobStore;

/// A parsed blob URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobUrl {
    /// An S3 bucket (AWS or any S3-compatible server).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix inside it (`""` for none).
        prefix: String,
    },
    /// An Azure Blob Storage container (or Azurite).
    Azure {
        /// Container name.
        container: String,
        /// Key prefix inside it.
        prefix: String,
    },
}

impl BlobUrl {
    /// Parses `s3://bucket[/prefix]` or `az://container[/prefix]`; the message says what is
    /// wrong.
    pub fn parse(url: &str) -> Result<BlobUrl, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or("a blob URL looks like s3://bucket[/prefix] or az://container[/prefix]")?;
        if rest.contains(['?', '#', '@']) {
            return Err(
                "a blob URL holds no credentials, options or fragments: set them in the \
                        environment (AWS_* or AZURE_* variables)"
                    .into(),
            );
        }
        let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_end_matches('/').to_owned();
        let valid_name = (3..=63).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_name {
            return Err(format!(
                "{name:?} is not a valid bucket or container name (3-63 characters of a-z, 0-9, \
                 '-' and '.')"
            ));
        }
        if !prefix.is_empty() {
            keyhold_store::validate_blob_key(&prefix).map_err(|e| e.to_string())?;
        }
        match scheme {
            "s3" => Ok(BlobUrl::S3 {
                bucket: name.to_owned(),
                prefix,
            }),
            "az" | "azure" => Ok(BlobUrl::Azure {
                container: name.to_owned(),
                prefix,
            }),
            other => Err(format!(
                "unknown blob URL scheme {other:?} (s3://, az:// or file://)"
            )),
        }
    }
}

/// Opens the engine for `url`, configured from the environment.
pub fn open_url(url: &BlobUrl) -> Result<ObjectBlobStore, StoreError> {
    let config =
        |e: object_store::Error| StoreError::Engine(format!("object store configuration: {e}"));
    match url {
        BlobUrl::S3 { bucket, prefix } => {
            let store = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(config)?;
            ObjectBlobStore::new(Arc::new(store), prefix)
        }
        BlobUrl::Azure { container, prefix } => {
            let store = MicrosoftAzureBuilder::from_env()
                .with_container_name(container)
                .build()
                .map_err(config)?;
            ObjectBlobStore::new(Arc::new(store), prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            BlobUrl::parse("s3://keyhold-blobs").unwrap(),
            BlobUrl::S3 {
                bucket: "keyhold-blobs".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            BlobUrl::parse("az://blobs/node-a/").unwrap(),
            BlobUrl::Azure {
                container: "blobs".into(),
                prefix: "node-a".into()
            }
        );
        for bad in [
            "blobs",
            "s3://",
            "s3://AB",
            "s3://b",
            "gs://bucket",
            "s3://bucket?secret=x",
            "s3://key:secret@bucket",
            "s3://bucket/../x",
            "s3://bucket/a//b",
        ] {
            assert!(BlobUrl::parse(bad).is_err(), "{bad}");
        }
        let message = BlobUrl::parse("s3://key:hunter2@bucket").unwrap_err();
        assert!(!message.contains("hunter2"), "{message}");
    }
}
