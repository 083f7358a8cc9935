//! `keyhold file …`: the Files API of an AI account, streamed both ways with progress bars
//! (on a terminal; plain output otherwise). Authenticates with the account's API key, fetched
//! through the management plane with the saved credentials.
//!
//! Downloads are written to `<file>.partial` and renamed only after the last (authenticated)
//! byte arrived and was synced, so a failed or tampered download never leaves a file that looks
//! complete.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::common::{Context, runtime};
use crate::output::Output;

const DATA_API: &str = "api-version=2024-10-21";

/// Options naming an account.
#[derive(Debug, Args)]
pub struct AccountRef {
    /// Account name.
    #[arg(long)]
    account: String,
    /// The account's resource group.
    #[arg(long, short = 'g')]
    resource_group: String,
    /// Subscription (default: the one saved by `keyhold login`).
    #[arg(long)]
    subscription: Option<String>,
}

/// `keyhold file …`.
#[derive(Debug, Subcommand)]
pub enum FileCommand {
    /// Upload a file (streamed, encrypted by the server under the account's key).
    Upload {
        #[command(flatten)]
        account: AccountRef,
        /// Local file.
        #[arg(long)]
        file: PathBuf,
        /// Purpose: fine-tune, assistants, batch, …
        #[arg(long, default_value = "fine-tune")]
        purpose: String,
    },
    /// List files.
    List(AccountRef),
    /// Show one file.
    Show {
        #[command(flatten)]
        account: AccountRef,
        /// File id.
        #[arg(long)]
        id: String,
    },
    /// Download a file's content.
    Download {
        #[command(flatten)]
        account: AccountRef,
        /// File id.
        #[arg(long)]
        id: String,
        /// Where to write it (must not exist).
        #[arg(long, short = 'f')]
        file: PathBuf,
    },
    /// Delete a file (its ciphertext and key are destroyed).
    Delete {
        #[command(flatten)]
        account: AccountRef,
        /// File id.
        #[arg(long)]
        id: String,
    },
}

struct DataPlane {
    http: reqwest::Client,
    base: String,
    key: String,
}

async fn data_plane(ctx: &Context, account: &AccountRef) -> Result<DataPlane, String> {
    let sub = ctx.subscription(account.subscription.as_deref())?;
    let path = format!(
        "subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.CognitiveServices/accounts/{}",
        account.resource_group, account.account
    );
    let shown = ctx
        .management(Method::GET, &format!("{path}?api-version=2025-09-01"), None)
        .await?;
    let endpoint = shown["properties"]["endpoint"]
        .as_str()
        .ok_or("the account has no endpoint")?
        .trim_end_matches('/')
        .to_owned();
    let keys = ctx
        .management(
            Method::POST,
            &format!("{path}/listKeys?api-version=2025-09-01"),
            None,
        )
        .await?;
    Ok(DataPlane {
        http: ctx.client.http().clone(),
        base: format!("{endpoint}/openai"),
        key: keys["key1"].as_str().ok_or("no API key")?.to_owned(),
    })
}

fn bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

async fn answer(response: reqwest::Response) -> Result<Value, String> {
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!(
            "{status}: {}",
            value["error"]["message"]
                .as_str()
                .unwrap_or("request failed")
        ))
    }
}

async fn upload(plane: &DataPlane, file: &Path, purpose: &str) -> Result<Value, String> {
    let handle = tokio::fs::File::open(file)
        .await
        .map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    let len = handle.metadata().await.map_err(|e| e.to_string())?.len();
    let name = file
        .file_name()
        .map_or_else(|| "upload".into(), |n| n.to_string_lossy().into_owned());
    let progress = bar(len, "upload");
    let tracked = progress.clone();
    let stream =
        tokio_util::io::ReaderStream::with_capacity(handle, 256 * 1024).inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                tracked.inc(chunk.len() as u64);
            }
        });
    let part =
        reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), len)
            .file_name(name);
    let form = reqwest::multipart::Form::new()
        .text("purpose", purpose.to_owned())
        .part("file", part);
    let response = plane
        .http
        .post(format!("{}/files?{DATA_API}", plane.base))
        .header("api-key", &plane.key)
        .multipart(form)
        .send()
        .await
        .map_err(|e| format!("upload failed: {e}"))?;
    progress.finish_and_clear();
    answer(response).await
}

async fn download(plane: &DataPlane, id: &str, output: &Path) -> Result<Value, String> {
    if output.exists() {
        return Err(format!(
            "{} exists; choose another --file",
            output.display()
        ));
    }
    let response = plane
        .http
        .get(format!("{}/files/{id}/content?{DATA_API}", plane.base))
        .header("api-key", &plane.key)
        .send()
        .await
        .map_err(|e| format!("download failed: {e}"))?;
    if !response.status().is_success() {
        return answer(response).await;
    }
    let len = response.content_length().unwrap_or(0);
    let partial = output.with_extension("partial");
    let mut out = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .await
        .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    let progress = bar(len, "download");
    let mut body = response.bytes_stream();
    let mut written = 0u64;
    let result = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                format!("the download was cut off after {written} bytes (the server stops a download whose data fails authentication): {e}")
            })?;
            out.write_all(&chunk).await.map_err(|e| e.to_string())?;
            written += chunk.len() as u64;
            progress.inc(chunk.len() as u64);
        }
        if len != 0 && written != len {
            return Err(format!("the download ended after {written} of {len} bytes"));
        }
        out.sync_all().await.map_err(|e| e.to_string())
    }
    .await;
    progress.finish_and_clear();
    if let Err(err) = result {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(err);
    }
    tokio::fs::rename(&partial, output)
        .await
        .map_err(|e| format!("cannot move the download into place: {e}"))?;
    Ok(serde_json::json!({ "id": id, "bytes": written, "output": output }))
}

/// Runs `keyhold file …`.
pub fn run(command: FileCommand, out: &Output) -> Result<(), String> {
    let ctx = Context::load()?;
    let value = runtime()?.block_on(async {
        match command {
            FileCommand::Upload {
                account,
                file,
                purpose,
            } => upload(&data_plane(&ctx, &account).await?, &file, &purpose).await,
            FileCommand::List(account) => {
                let plane = data_plane(&ctx, &account).await?;
                let response = plane
                    .http
                    .get(format!("{}/files?{DATA_API}", plane.base))
                    .header("api-key", &plane.key)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(answer(response).await?["data"].clone())
            }
            FileCommand::Show { account, id } => {
                let plane = data_plane(&ctx, &account).await?;
                let response = plane
                    .http
                    .get(format!("{}/files/{id}?{DATA_API}", plane.base))
                    .header("api-key", &plane.key)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                answer(response).await
            }
            FileCommand::Download { account, id, file } => {
                download(&data_plane(&ctx, &account).await?, &id, &file).await
            }
            FileCommand::Delete { account, id } => {
                let plane = data_plane(&ctx, &account).await?;
                let response = plane
                    .http
                    .delete(format!("{}/files/{id}?{DATA_API}", plane.base))
                    .header("api-key", &plane.key)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                answer(response).await
            }
        }
    })?;
    out.print(&value)
}
