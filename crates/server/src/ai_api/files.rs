//! `/openai/files`: multipart uploads streamed straight into the envelope encryptor (constant
//! memory, nothing plaintext on disk), lists, metadata, streamed decrypting downloads, deletes.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyhold_platform::files::{FileContent, FileObject};
use keyhold_platform::{Account, PlatformError};
use serde_json::{Value, json};

use super::{limit_param, platform_error};
use crate::ai_api::routes::AiRoute;
use crate::http::ApiError;
use crate::http::RequestHead;
use crate::http::api_version::query_param;
use crate::state::AppState;

fn file_json(file: &FileObject) -> Value {
    json!({
        "object": "file",
        "id": file.id,
        "bytes": file.bytes,
        "created_at": file.created_at,
        "filename": file.filename,
        "purpose": file.purpose,
        "status": file.status,
        "status_details": file.status_details,
    })
}

/// Runs one authorized files request.
pub async fn handle(
    state: &AppState,
    account: &Account,
    route: AiRoute,
    head: &RequestHead,
    body: Body,
) -> Result<Response, ApiError> {
    let platform = state.platform();
    match route {
        AiRoute::UploadFile => {
            let file = upload(state, account, head, body).await?;
            Ok((StatusCode::CREATED, axum::Json(file_json(&file))).into_response())
        }
        AiRoute::ListFiles => {
            let purpose = query_param(head.uri(), "purpose");
            let after = query_param(head.uri(), "after");
            let limit = limit_param(head, 10_000, 10_000)?;
            let (files, has_more) = platform
                .list_files(account, purpose.as_deref(), after.as_deref(), limit)
                .await
                .map_err(platform_error)?;
            let data: Vec<Value> = files.iter().map(file_json).collect();
            Ok(axum::Json(json!({
                "object": "list",
                "data": data,
                "has_more": has_more,
                "first_id": files.first().map(|f| f.id.clone()),
                "last_id": files.last().map(|f| f.id.clone()),
            }))
            .into_response())
        }
        AiRoute::DeleteFile { id } => {
            platform.check_key_access(account).map_err(platform_error)?;
            platform
                .delete_file(account, &id)
                .await
                .map_err(platform_error)?;
            Ok(axum::Json(json!({ "object": "file", "deleted": true, "id": id })).into_response())
        }
        AiRoute::GetFile { id } => {
            let file = platform.file(account, &id).await.map_err(platform_error)?;
            Ok(axum::Json(file_json(&file)).into_response())
        }
        AiRoute::FileContent { id } => {
            let (file, content) = platform
                .open_content(account, &id)
                .await
                .map_err(platform_error)?;
            let mut response = Body::from_stream(stream(content)).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            if let Ok(value) = HeaderValue::from_str(&file.bytes.to_string()) {
                headers.insert(header::CONTENT_LENGTH, value);
            }
            Ok(response)
        }
        _ => Err(ApiError::no_route(
            head.method().as_str(),
            head.uri().path(),
        )),
    }
}

/// Decrypted chunks as a body stream; an error ends the body early (the client sees a cut
/// connection, never unauthenticated bytes).
fn stream(content: FileContent) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::unfold(Some(content), |state| async move {
        let mut content = state?;
        match content.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk)), Some(content))),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(error = %err, "download stopped: the stored object failed authentication");
                Some((Err(std::io::Error::other("decryption failed")), None))
            }
        }
    })
}

/// Longest non-file field read (`purpose` and anything else sent along).
const MAX_FIELD: usize = 1024;

/// A small text field, bounded.
async fn small_text(mut field: multer::Field<'_>) -> Result<String, ApiError> {
    let mut text = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| ApiError::bad_request("invalidPayload", format!("cannot read a field: {e}")))?
    {
        if text.len() + chunk.len() > MAX_FIELD {
            return Err(ApiError::bad_request(
                "invalidPayload",
                format!("a form field other than file is longer than {MAX_FIELD} bytes"),
            ));
        }
        text.extend_from_slice(&chunk);
    }
    String::from_utf8(text)
        .map(|t| t.trim().to_owned())
        .map_err(|_| ApiError::bad_request("invalidPayload", "a form field is not UTF-8"))
}

/// Streams the multipart body. Its parts may come in any order: the `file` streams through
/// encryption as it arrives whether or not `purpose` came before it; a `purpose` after the
/// file is applied before the upload is published (the JSONL validation a fine-tune purpose
/// needs ran while the file streamed, see `Platform::begin_upload_without_purpose`), and an
/// upload without a valid purpose is dropped, leaving nothing behind.
async fn upload(
    state: &AppState,
    account: &Account,
    head: &RequestHead,
    body: Body,
) -> Result<FileObject, ApiError> {
    let bad = |m: &str| ApiError::bad_request("invalidPayload", m.to_owned());
    let content_type = head
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| bad("the upload must be multipart/form-data with fields purpose and file"))?;
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let mut purpose: Option<String> = None;
    let mut upload: Option<keyhold_platform::files::FileUpload<'_>> = None;
    let platform = state.platform();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                if let Some(upload) = upload.take() {
                    upload.abort().await.map_err(platform_error)?;
                }
                return Err(bad(&format!("the multipart body is malformed: {e}")));
            }
        };
        match field.name() {
            Some("purpose") => {
                let text = match small_text(field).await {
                    Ok(text) => text,
                    Err(err) => {
                        if let Some(upload) = upload.take() {
                            upload.abort().await.map_err(platform_error)?;
                        }
                        return Err(err);
                    }
                };
                match upload.as_mut() {
                    Some(pending) => {
                        if let Err(err) = pending.set_purpose(&text) {
                            if let Some(upload) = upload.take() {
                                upload.abort().await.map_err(platform_error)?;
                            }
                            return Err(platform_error(err));
                        }
                    }
                    None if purpose.is_some() => {
                        return Err(bad("the upload has more than one purpose field"));
                    }
                    None => purpose = Some(text),
                }
            }
            Some("file") => {
                if let Some(upload) = upload.take() {
                    upload.abort().await.map_err(platform_error)?;
                    return Err(bad("the upload has more than one file field"));
                }
                let filename = field.file_name().unwrap_or("upload").to_owned();
                let limit = state.config().max_file_bytes;
                let mut started = match &purpose {
                    Some(p) => platform.begin_upload(account, &filename, p, limit).await,
                    None => {
                        platform
                            .begin_upload_without_purpose(account, &filename, limit)
                            .await
                    }
                }
                .map_err(platform_error)?;
                let mut field = field;
                loop {
                    let chunk = match field.chunk().await {
                        Ok(Some(chunk)) => chunk,
                        Ok(None) => break,
                        Err(e) => {
                            started.abort().await.map_err(platform_error)?;
                            return Err(bad(&format!("the upload was cut off: {e}")));
                        }
                    };
                    if let Err(err) = started.write(&chunk).await {
                        started.abort().await.map_err(platform_error)?;
                        return Err(platform_error(err));
                    }
                }
                upload = Some(started);
            }
            // Other fields are read (bounded) and ignored.
            _ => {
                if let Err(err) = small_text(field).await {
                    if let Some(upload) = upload.take() {
                        upload.abort().await.map_err(platform_error)?;
                    }
                    return Err(err);
                }
            }
        }
    }
    match upload {
        Some(upload) => upload.finish().await.map_err(platform_error),
        None => Err(platform_error(PlatformError::InvalidUpload(
            "the upload has no file field".into(),
        ))),
    }
}
