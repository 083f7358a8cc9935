//! AI data-plane paths on an account's host (`{account}.{ai-domain}`), parsed into [`AiRoute`].
//! Both the dated style (`/openai/files?api-version=…`) and the v1 style (`/openai/v1/files`)
//! are accepted.

use axum::http::Method;

use crate::http::RouteError;

/// A parsed AI data-plane request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AiRoute {
    /// `GET /openai/files` (list) or `POST` (upload).
    Files {
        /// v1 path style (no api-version needed).
        v1: bool,
    },
    /// `GET|DELETE /openai/files/{id}`.
    File {
        /// v1 path style.
        v1: bool,
        /// File id.
        id: String,
    },
    /// `GET /openai/files/{id}/content`.
    FileContent {
        /// v1 path style.
        v1: bool,
        /// File id.
        id: String,
    },
    /// `GET|POST /openai/fine_tuning/jobs`.
    Jobs {
        /// v1 path style.
        v1: bool,
    },
    /// `GET /openai/fine_tuning/jobs/{id}[/events|/checkpoints]`, `POST …/{id}/cancel`.
    Job {
        /// v1 path style.
        v1: bool,
        /// Job id.
        id: String,
        /// What of the job.
        part: JobPart,
    },
    /// `GET /openai/models`.
    Models {
        /// v1 path style.
        v1: bool,
    },
    /// `GET|DELETE /openai/models/{id}`.
    Model {
        /// v1 path style.
        v1: bool,
        /// Model id.
        id: String,
    },
    /// `POST /openai/deployments/{d}/chat/completions` (deployment in the path) or
    /// `POST /openai/v1/chat/completions` (deployment in the body's `model`).
    ChatCompletions {
        /// v1 path style.
        v1: bool,
        /// Deployment from the path.
        deployment: Option<String>,
    },
}

/// Which part of a fine-tuning job a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobPart {
    /// The job.
    Job,
    /// Its events.
    Events,
    /// Its checkpoints.
    Checkpoints,
    /// Cancel it.
    Cancel,
}

impl AiRoute {
    /// Whether the request used the `/openai/v1/` path style (no api-version needed).
    pub fn is_v1(&self) -> bool {
        match self {
            AiRoute::Files { v1 }
            | AiRoute::File { v1, .. }
            | AiRoute::FileContent { v1, .. }
            | AiRoute::Jobs { v1 }
            | AiRoute::Job { v1, .. }
            | AiRoute::Models { v1 }
            | AiRoute::Model { v1, .. }
            | AiRoute::ChatCompletions { v1, .. } => *v1,
        }
    }
}

/// Parses an account-host path (segments original and lower-cased).
pub fn parse(method: &Method, segments: &[&str], lower: &[&str]) -> Result<AiRoute, RouteError> {
    let (v1, rest, rest_lower) = match lower {
        ["openai", "v1", ..] => (true, &segments[2..], &lower[2..]),
        ["openai", ..] => (false, &segments[1..], &lower[1..]),
        _ => return Err(RouteError::NotFound),
    };
    let only = |allowed: &[Method], allow: &'static str, route: AiRoute| {
        if allowed.contains(method) {
            Ok(route)
        } else {
            Err(RouteError::MethodNotAllowed(allow))
        }
    };
    match rest_lower {
        ["files"] => only(
            &[Method::GET, Method::POST],
            "GET, POST",
            AiRoute::Files { v1 },
        ),
        ["files", _] => only(
            &[Method::GET, Method::DELETE],
            "GET, DELETE",
            AiRoute::File {
                v1,
                id: rest[1].to_owned(),
            },
        ),
        ["files", _, "content"] => only(
            &[Method::GET],
            "GET",
            AiRoute::FileContent {
                v1,
                id: rest[1].to_owned(),
            },
        ),
        ["fine_tuning", "jobs"] => only(
            &[Method::GET, Method::POST],
            "GET, POST",
            AiRoute::Jobs { v1 },
        ),
        ["fine_tuning", "jobs", _] => only(
            &[Method::GET],
            "GET",
            AiRoute::Job {
                v1,
                id: rest[2].to_owned(),
                part: JobPart::Job,
            },
        ),
        ["fine_tuning", "jobs", _, part] => {
            let (part, allowed, allow) = match *part {
                "events" => (JobPart::Events, Method::GET, "GET"),
                "checkpoints" => (JobPart::Checkpoints, Method::GET, "GET"),
                "cancel" => (JobPart::Cancel, Method::POST, "POST"),
                _ => return Err(RouteError::NotFound),
            };
            only(
                &[allowed],
                allow,
                AiRoute::Job {
                    v1,
                    id: rest[2].to_owned(),
                    part,
                },
            )
        }
        ["models"] => only(&[Method::GET], "GET", AiRoute::Models { v1 }),
        ["models", _] => only(
            &[Method::GET, Method::DELETE],
            "GET, DELETE",
            AiRoute::Model {
                v1,
                id: rest[1].to_owned(),
            },
        ),
        ["chat", "completions"] if v1 => only(
            &[Method::POST],
            "POST",
            AiRoute::ChatCompletions {
                v1,
                deployment: None,
            },
        ),
        ["deployments", _, "chat", "completions"] => only(
            &[Method::POST],
            "POST",
            AiRoute::ChatCompletions {
                v1,
                deployment: Some(rest[1].to_owned()),
            },
        ),
        _ => Err(RouteError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(method: Method, path: &str) -> Result<AiRoute, RouteError> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        parse(&method, &segments, &lower)
    }

    #[test]
    fn ai_table() {
        let rows = [
            (
                Method::GET,
                "/openai/files",
                Ok(AiRoute::Files { v1: false }),
            ),
            (
                Method::POST,
                "/openai/v1/files",
                Ok(AiRoute::Files { v1: true }),
            ),
            (
                Method::PUT,
                "/openai/files",
                Err(RouteError::MethodNotAllowed("GET, POST")),
            ),
            (
                Method::GET,
                "/openai/files/file-AbC",
                Ok(AiRoute::File {
                    v1: false,
                    id: "file-AbC".into(),
                }),
            ),
            (
                Method::DELETE,
                "/openai/v1/files/file-1",
                Ok(AiRoute::File {
                    v1: true,
                    id: "file-1".into(),
                }),
            ),
            (
                Method::GET,
                "/openai/files/file-1/content",
                Ok(AiRoute::FileContent {
                    v1: false,
                    id: "file-1".into(),
                }),
            ),
            (
                Method::POST,
                "/openai/files/file-1/content",
                Err(RouteError::MethodNotAllowed("GET")),
            ),
            (
                Method::GET,
                "/openai/models",
                Ok(AiRoute::Models { v1: false }),
            ),
            (
                Method::DELETE,
                "/openai/v1/models/gpt-4o-mini-2024-07-18.ft-abc",
                Ok(AiRoute::Model {
                    v1: true,
                    id: "gpt-4o-mini-2024-07-18.ft-abc".into(),
                }),
            ),
            (
                Method::POST,
                "/openai/fine_tuning/jobs",
                Ok(AiRoute::Jobs { v1: false }),
            ),
            (
                Method::GET,
                "/openai/v1/fine_tuning/jobs/ftjob-1/events",
                Ok(AiRoute::Job {
                    v1: true,
                    id: "ftjob-1".into(),
                    part: JobPart::Events,
                }),
            ),
            (
                Method::GET,
                "/openai/fine_tuning/jobs/ftjob-1/checkpoints",
                Ok(AiRoute::Job {
                    v1: false,
                    id: "ftjob-1".into(),
                    part: JobPart::Checkpoints,
                }),
            ),
            (
                Method::POST,
                "/openai/fine_tuning/jobs/ftjob-1/cancel",
                Ok(AiRoute::Job {
                    v1: false,
                    id: "ftjob-1".into(),
                    part: JobPart::Cancel,
                }),
            ),
            (
                Method::GET,
                "/openai/fine_tuning/jobs/ftjob-1/cancel",
                Err(RouteError::MethodNotAllowed("POST")),
            ),
            (
                Method::GET,
                "/openai/fine_tuning/jobs/ftjob-1/other",
                Err(RouteError::NotFound),
            ),
            (
                Method::POST,
                "/openai/deployments/My-Dep/chat/completions",
                Ok(AiRoute::ChatCompletions {
                    v1: false,
                    deployment: Some("My-Dep".into()),
                }),
            ),
            (
                Method::POST,
                "/openai/v1/chat/completions",
                Ok(AiRoute::ChatCompletions {
                    v1: true,
                    deployment: None,
                }),
            ),
            (
                Method::POST,
                "/openai/chat/completions",
                Err(RouteError::NotFound),
            ),
            (Method::GET, "/files", Err(RouteError::NotFound)),
        ];
        for (method, path, expected) in rows {
            assert_eq!(run(method.clone(), path), expected, "{method} {path}");
        }
    }
}
