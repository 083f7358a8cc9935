//! ARM long-running operations, as the Azure SDK pollers follow them: a write answered with
//! `Azure-AsyncOperation` (or only `Location`) is polled until the operation ends, waiting
//! `Retry-After` seconds between polls; a finished PUT or PATCH then reads the resource again
//! from its own URL (ARM's final state for these verbs), a finished DELETE answers nothing.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::{ClientError, KeyholdClient, decode};

/// How long [`KeyholdClient::request_lro`] waits for an operation to end.
pub const LRO_TIMEOUT: Duration = Duration::from_secs(600);

/// The longest wait between two polls, whatever `Retry-After` asks for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Where and how often to poll, read from a response's headers.
#[derive(Debug, PartialEq, Eq)]
struct Poll {
    /// `Azure-AsyncOperation`: an operation-status document with a `status` field.
    status_url: Option<String>,
    /// `Location`: answers 202 until done, then the result.
    location: Option<String>,
    /// `Retry-After` in seconds (default 1).
    retry_after: Duration,
}

impl Poll {
    fn from_headers(headers: &HeaderMap) -> Option<Poll> {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status_url = text("azure-asyncoperation");
        let location = text(LOCATION.as_str());
        if status_url.is_none() && location.is_none() {
            return None;
        }
        let retry_after = text(RETRY_AFTER.as_str())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map_or(Duration::from_secs(1), Duration::from_secs)
            .min(MAX_RETRY_AFTER);
        Some(Poll {
            status_url,
            location,
            retry_after,
        })
    }
}

/// The terminal states of an ARM operation-status document.
fn terminal(status: &str) -> bool {
    ["succeeded", "failed", "canceled", "cancelled"]
        .iter()
        .any(|s| status.eq_ignore_ascii_case(s))
}

impl KeyholdClient {
    /// Like [`KeyholdClient::request_json`], for ARM writes that may be long-running: follows
    /// the operation headers of the answer until the operation ends (at most
    /// [`LRO_TIMEOUT`]). Polls once at once (keyhold's operations usually end with the
    /// request), then every `Retry-After` seconds. Returns the resource as a fresh GET sees
    /// it for PUT and PATCH, the final `Location` answer otherwise (`Value::Null` when
    /// empty). A failed or cancelled operation is [`ClientError::Api`] with its error.
    pub async fn request_lro(
        &self,
        method: Method,
        url: &str,
        scope: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let url = self.absolute(url);
        let token = self.token(scope).await?;
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(token.token.as_str());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.send(request, &url).await?;
        let status = response.status();
        let poll = Poll::from_headers(response.headers());
        let first = decode(response, &url).await?;
        let Some(poll) = poll else {
            return Ok(first);
        };
        if status != StatusCode::CREATED
            && status != StatusCode::ACCEPTED
            && poll.status_url.is_none()
        {
            // A plain 200 with a Location header is just a pointer, not an operation.
            return Ok(first);
        }
        let deadline = Instant::now() + LRO_TIMEOUT;
        let mut wait = Duration::ZERO;
        loop {
            if Instant::now() + wait > deadline {
                return Err(ClientError::Config(format!(
                    "the operation on {url} did not finish within {} s",
                    LRO_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(wait).await;
            wait = poll.retry_after;
            if let Some(status_url) = &poll.status_url {
                let op = self
                    .request_json(Method::GET, status_url, scope, None)
                    .await?;
                let state = op["status"].as_str().unwrap_or("InProgress");
                if !terminal(state) {
                    continue;
                }
                if !state.eq_ignore_ascii_case("succeeded") {
                    return Err(ClientError::Api {
                        status: status.as_u16(),
                        code: op["error"]["code"]
                            .as_str()
                            .unwrap_or("OperationFailed")
                            .to_owned(),
                        message: op["error"]["message"]
                            .as_str()
                            .map_or_else(|| format!("the operation ended {state}"), str::to_owned),
                    });
                }
                return match method {
                    Method::PUT | Method::PATCH => {
                        self.request_json(Method::GET, &url, scope, None).await
                    }
                    _ => Ok(Value::Null),
                };
            }
            if let Some(location) = &poll.location {
                let location = self.absolute(location);
                let token = self.token(scope).await?;
                let request = self.http.get(&location).bearer_auth(token.token.as_str());
                let response = self.send(request, &location).await?;
                if response.status() == StatusCode::ACCEPTED {
                    continue;
                }
                return decode(response, &location).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn poll_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(Poll::from_headers(&headers), None);
        headers.insert(
            "azure-asyncoperation",
            HeaderValue::from_static("https://h/op/1"),
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(
            Poll::from_headers(&headers),
            Some(Poll {
                status_url: Some("https://h/op/1".into()),
                location: None,
                retry_after: Duration::from_secs(3),
            })
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("86400"));
        assert_eq!(
            Poll::from_headers(&headers).unwrap().retry_after,
            MAX_RETRY_AFTER
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(
            Poll::from_headers(&headers).unwrap().retry_after,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn terminal_states() {
        for s in ["Succeeded", "failed", "Canceled", "Cancelled"] {
            assert!(terminal(s), "{s}");
        }
        for s in ["InProgress", "Running", "Accepted", ""] {
            assert!(!terminal(s), "{s}");
        }
    }
}
