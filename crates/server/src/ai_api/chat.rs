//! `POST /openai/deployments/{d}/chat/completions` (and `/openai/v1/chat/completions` with the
//! deployment as `model`): OpenAI response shapes, `stream: true` as server-sent events
//! (`chat.completion.chunk` objects, then `data: [DONE]`), usage counts.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use keyhold_platform::Account;
use keyhold_platform::deployments::ChatAnswer;
use keyhold_platform::responder::ChatMessage;
use serde::Deserialize;
use serde_json::{Value, json};

use super::platform_error;
use crate::http::ApiError;
use crate::http::json_body;
use crate::state::AppState;

#[derive(Deserialize)]
struct MessageBody {
    role: String,
    #[serde(default)]
    content: Value,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

#[derive(Deserialize)]
struct ChatBody {
    model: Option<String>,
    messages: Vec<MessageBody>,
    #[serde(default)]
    stream: bool,
    stream_options: Option<StreamOptions>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    n: Option<u32>,
}

/// Text of a message's content: a string, or the text parts of an array.
fn text_of(content: &Value) -> Result<String, ApiError> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(parts) => Ok(parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n")),
        _ => Err(ApiError::bad_request(
            "invalid_request_error",
            "messages[].content must be a string or an array of content parts",
        )),
    }
}

/// Runs one authorized chat request.
pub async fn handle(
    state: &AppState,
    account: &Account,
    deployment: Option<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let body: ChatBody = json_body(state, body).await?;
    let deployment = deployment.or(body.model.clone()).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_request_error",
            "model (the deployment name) is required",
        )
    })?;
    if body.messages.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_request_error",
            "messages must hold at least one message",
        ));
    }
    if body.n.is_some_and(|n| n != 1) {
        return Err(ApiError::bad_request(
            "invalid_request_error",
            "only n = 1 is supported",
        ));
    }
    let mut messages = Vec::with_capacity(body.messages.len());
    for m in &body.messages {
        if !matches!(
            m.role.as_str(),
            "system" | "developer" | "user" | "assistant" | "tool"
        ) {
            return Err(ApiError::bad_request(
                "invalid_request_error",
                format!("message role {:?} is invalid", m.role),
            ));
        }
        messages.push(ChatMessage {
            role: m.role.clone(),
            content: text_of(&m.content)?,
        });
    }
    let max_tokens = body.max_completion_tokens.or(body.max_tokens);
    let answer = state
        .platform()
        .chat(account, &deployment, &messages, max_tokens)
        .await
        .map_err(|e| match e {
            keyhold_platform::PlatformError::ObjectNotFound { kind: "deployment", .. } => ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "DeploymentNotFound",
                format!("The API deployment {deployment} for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."),
            ),
            other => platform_error(other),
        })?;
    let id = format!(
        "chatcmpl-{}",
        hex::encode(keyhold_crypto::random_bytes(12).map_err(|e| platform_error(e.into()))?)
    );
    let created = keyhold_platform::Platform::now();
    let key_use = KeyUse(answer.used_key);
    if !body.stream {
        let mut response = axum::Json(json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": answer.model,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": answer.content, "refusal": null },
                "finish_reason": answer.finish_reason,
                "logprobs": null,
            }],
            "usage": usage(&answer),
            "system_fingerprint": null,
        }))
        .into_response();
        response.extensions_mut().insert(key_use);
        return Ok(response);
    }
    let include_usage = body.stream_options.is_some_and(|o| o.include_usage);
    let events = sse_events(&id, created, &answer, include_usage);
    let mut response = Body::from_stream(futures::stream::iter(
        events.into_iter().map(Ok::<_, std::io::Error>),
    ))
    .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response.extensions_mut().insert(key_use);
    Ok(response)
}

/// Whether answering a chat used the account's key, for the audit: a chat answered from a
/// model already in memory is audited in the next batch instead of before the answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyUse(pub(crate) bool);

fn usage(answer: &ChatAnswer) -> Value {
    json!({
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    })
}

/// The SSE frames of a streamed answer: the role, the text word by word, the finish reason,
/// the usage (when asked), then `[DONE]`.
fn sse_events(id: &str, created: u64, answer: &ChatAnswer, include_usage: bool) -> Vec<Bytes> {
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": answer.model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish, "logprobs": null }],
            "system_fingerprint": null,
        })
    };
    let mut frames = vec![chunk(json!({ "role": "assistant", "content": "" }), None)];
    for piece in answer.content.split_inclusive(' ') {
        frames.push(chunk(json!({ "content": piece }), None));
    }
    frames.push(chunk(json!({}), Some(&answer.finish_reason)));
    if include_usage {
        frames.push(json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": answer.model,
            "choices": [],
            "usage": usage(answer),
        }));
    }
    let mut out: Vec<Bytes> = frames
        .iter()
        .map(|f| Bytes::from(format!("data: {f}\n\n")))
        .collect();
    out.push(Bytes::from_static(b"data: [DONE]\n\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_frames_rebuild_the_answer() {
        let answer = ChatAnswer {
            model: "m".into(),
            content: "Remove the access policy.".into(),
            finish_reason: "stop".into(),
            prompt_tokens: 5,
            completion_tokens: 5,
            used_key: false,
        };
        let frames = sse_events("chatcmpl-1", 1, &answer, true);
        let mut text = String::new();
        let mut saw_usage = false;
        for frame in &frames[..frames.len() - 1] {
            let s = std::str::from_utf8(frame).unwrap();
            let v: Value = serde_json::from_str(s.strip_prefix("data: ").unwrap().trim()).unwrap();
            if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
                text.push_str(c);
            }
            saw_usage |= v["usage"]["total_tokens"] == 10;
        }
        assert_eq!(text, answer.content);
        assert!(saw_usage);
        assert_eq!(&frames[frames.len() - 1][..], b"data: [DONE]\n\n");
        assert_eq!(
            text_of(&json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]))
                .unwrap(),
            "a\nb"
        );
        assert!(text_of(&json!(5)).is_err());
    }
}
