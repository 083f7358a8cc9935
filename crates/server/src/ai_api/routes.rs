//! AI data-plane paths on an account's host (`{account}.{ai-domain}`), parsed into [`AiRoute`].
//! Both the dated style (`/openai/files?api-version=…`) and the v1 style (`/openai/v1/files`)
//! are accepted.

use axum::http::Method;

use crate::http::RouteError;
use crate::http::authz::Access;

/// A parsed AI data-plane request (the path style, dated or `/openai/v1/`, is beside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AiRoute {
    /// `GET /openai/files`
    ListFiles,
    /// `POST /openai/files`
    UploadFile,
    /// `GET /openai/files/{id}`
    GetFile {
        /// File id.
        id: String,
    },
    /// `DELETE /openai/files/{id}`
    DeleteFile {
        /// File id.
        id: String,
    },
    /// `GET /openai/files/{id}/content`
    FileContent {
        /// File id.
        id: String,
    },
    /// `GET /openai/fine_tuning/jobs`
    ListJobs,
    /// `POST /openai/fine_tuning/jobs`
    CreateJob,
    /// `GET /openai/fine_tuning/jobs/{id}[/events|/checkpoints]`, `POST …/{id}/cancel`.
    Job {
        /// Job id.
        id: String,
        /// What of the job.
        part: JobPart,
    },
    /// `GET /openai/models`
    ListModels,
    /// `GET /openai/models/{id}`
    GetModel {
        /// Model id.
        id: String,
    },
    /// `DELETE /openai/models/{id}`
    DeleteModel {
        /// Model id.
        id: String,
    },
    /// `POST /openai/deployments/{d}/chat/completions` (deployment in the path) or
    /// `POST /openai/v1/chat/completions` (deployment in the body's `model`).
    ChatCompletions {
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
    /// Cancel it (`POST`).
    Cancel,
}

crate::route_kinds! {
    /// One kind per [`AiRoute`] variant (a job's parts are one kind each).
    pub enum AiRouteKind {
        ListFiles, UploadFile, GetFile, DeleteFile, FileContent, ListJobs, CreateJob, GetJob,
        ListJobEvents, ListJobCheckpoints, CancelJob, ListModels, GetModel, DeleteModel,
        ChatCompletions,
    }
}

/// A parsed account-host path: the operation and whether it used the `/openai/v1/` style
/// (which needs no api-version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiRequest {
    /// `/openai/v1/…`.
    pub v1: bool,
    /// The operation.
    pub route: AiRoute,
}

#[cfg(test)]
const OPENAI: &str = "Microsoft.CognitiveServices/accounts/OpenAI";

impl AiRoute {
    /// The route's kind.
    pub fn kind(&self) -> AiRouteKind {
        use AiRouteKind as K;
        match self {
            AiRoute::ListFiles => K::ListFiles,
            AiRoute::UploadFile => K::UploadFile,
            AiRoute::GetFile { .. } => K::GetFile,
            AiRoute::DeleteFile { .. } => K::DeleteFile,
            AiRoute::FileContent { .. } => K::FileContent,
            AiRoute::ListJobs => K::ListJobs,
            AiRoute::CreateJob => K::CreateJob,
            AiRoute::Job { part, .. } => match part {
                JobPart::Job => K::GetJob,
                JobPart::Events => K::ListJobEvents,
                JobPart::Checkpoints => K::ListJobCheckpoints,
                JobPart::Cancel => K::CancelJob,
            },
            AiRoute::ListModels => K::ListModels,
            AiRoute::GetModel { .. } => K::GetModel,
            AiRoute::DeleteModel { .. } => K::DeleteModel,
            AiRoute::ChatCompletions { .. } => K::ChatCompletions,
        }
    }

    /// The data action the route needs on the account (Azure OpenAI's names; an api-key of
    /// the account stands for all of them).
    pub fn access(&self) -> Access {
        Access::AiData(match self {
            AiRoute::FileContent { .. } => {
                "Microsoft.CognitiveServices/accounts/OpenAI/files/content/read"
            }
            AiRoute::ListFiles | AiRoute::GetFile { .. } => {
                "Microsoft.CognitiveServices/accounts/OpenAI/files/read"
            }
            AiRoute::UploadFile | AiRoute::DeleteFile { .. } => {
                "Microsoft.CognitiveServices/accounts/OpenAI/files/write"
            }
            AiRoute::ListJobs
            | AiRoute::Job {
                part: JobPart::Job | JobPart::Events | JobPart::Checkpoints,
                ..
            } => "Microsoft.CognitiveServices/accounts/OpenAI/fine-tunes/read",
            AiRoute::CreateJob
            | AiRoute::Job {
                part: JobPart::Cancel,
                ..
            } => "Microsoft.CognitiveServices/accounts/OpenAI/fine-tunes/write",
            AiRoute::ListModels | AiRoute::GetModel { .. } => {
                "Microsoft.CognitiveServices/accounts/OpenAI/models/read"
            }
            AiRoute::DeleteModel { .. } => {
                "Microsoft.CognitiveServices/accounts/OpenAI/models/delete"
            }
            AiRoute::ChatCompletions { .. } => {
                "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"
            }
        })
    }
}

/// Parses an account-host path (segments original and lower-cased).
pub fn parse(method: &Method, segments: &[&str], lower: &[&str]) -> Result<AiRequest, RouteError> {
    let (v1, rest, rest_lower) = match lower {
        ["openai", "v1", ..] => (true, &segments[2..], &lower[2..]),
        ["openai", ..] => (false, &segments[1..], &lower[1..]),
        _ => return Err(RouteError::NotFound),
    };
    let by_method = |choices: Vec<(Method, AiRoute)>, allow: &'static str| {
        choices
            .into_iter()
            .find(|(m, _)| m == method)
            .map(|(_, route)| AiRequest { v1, route })
            .ok_or(RouteError::MethodNotAllowed(allow))
    };
    let id = |i: usize| rest[i].to_owned();
    match rest_lower {
        ["files"] => by_method(
            vec![
                (Method::GET, AiRoute::ListFiles),
                (Method::POST, AiRoute::UploadFile),
            ],
            "GET, POST",
        ),
        ["files", _] => by_method(
            vec![
                (Method::GET, AiRoute::GetFile { id: id(1) }),
                (Method::DELETE, AiRoute::DeleteFile { id: id(1) }),
            ],
            "GET, DELETE",
        ),
        ["files", _, "content"] => by_method(
            vec![(Method::GET, AiRoute::FileContent { id: id(1) })],
            "GET",
        ),
        ["fine_tuning", "jobs"] => by_method(
            vec![
                (Method::GET, AiRoute::ListJobs),
                (Method::POST, AiRoute::CreateJob),
            ],
            "GET, POST",
        ),
        ["fine_tuning", "jobs", _] => by_method(
            vec![(
                Method::GET,
                AiRoute::Job {
                    id: id(2),
                    part: JobPart::Job,
                },
            )],
            "GET",
        ),
        ["fine_tuning", "jobs", _, part] => {
            let (part, allowed, allow) = match *part {
                "events" => (JobPart::Events, Method::GET, "GET"),
                "checkpoints" => (JobPart::Checkpoints, Method::GET, "GET"),
                "cancel" => (JobPart::Cancel, Method::POST, "POST"),
                _ => return Err(RouteError::NotFound),
            };
            by_method(vec![(allowed, AiRoute::Job { id: id(2), part })], allow)
        }
        ["models"] => by_method(vec![(Method::GET, AiRoute::ListModels)], "GET"),
        ["models", _] => by_method(
            vec![
                (Method::GET, AiRoute::GetModel { id: id(1) }),
                (Method::DELETE, AiRoute::DeleteModel { id: id(1) }),
            ],
            "GET, DELETE",
        ),
        ["chat", "completions"] if v1 => by_method(
            vec![(Method::POST, AiRoute::ChatCompletions { deployment: None })],
            "POST",
        ),
        ["deployments", _, "chat", "completions"] => by_method(
            vec![(
                Method::POST,
                AiRoute::ChatCompletions {
                    deployment: Some(id(1)),
                },
            )],
            "POST",
        ),
        _ => Err(RouteError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(method: Method, path: &str) -> Result<AiRequest, RouteError> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        parse(&method, &segments, &lower)
    }

    #[test]
    fn ai_table() {
        let r = |v1: bool, route: AiRoute| Ok(AiRequest { v1, route });
        let rows = [
            (Method::GET, "/openai/files", r(false, AiRoute::ListFiles)),
            (
                Method::POST,
                "/openai/v1/files",
                r(true, AiRoute::UploadFile),
            ),
            (
                Method::PUT,
                "/openai/files",
                Err(RouteError::MethodNotAllowed("GET, POST")),
            ),
            (
                Method::GET,
                "/openai/files/file-AbC",
                r(
                    false,
                    AiRoute::GetFile {
                        id: "file-AbC".into(),
                    },
                ),
            ),
            (
                Method::DELETE,
                "/openai/v1/files/file-1",
                r(
                    true,
                    AiRoute::DeleteFile {
                        id: "file-1".into(),
                    },
                ),
            ),
            (
                Method::GET,
                "/openai/files/file-1/content",
                r(
                    false,
                    AiRoute::FileContent {
                        id: "file-1".into(),
                    },
                ),
            ),
            (
                Method::POST,
                "/openai/files/file-1/content",
                Err(RouteError::MethodNotAllowed("GET")),
            ),
            (Method::GET, "/openai/models", r(false, AiRoute::ListModels)),
            (
                Method::DELETE,
                "/openai/v1/models/gpt-4o-mini-2024-07-18.ft-abc",
                r(
                    true,
                    AiRoute::DeleteModel {
                        id: "gpt-4o-mini-2024-07-18.ft-abc".into(),
                    },
                ),
            ),
            (
                Method::POST,
                "/openai/fine_tuning/jobs",
                r(false, AiRoute::CreateJob),
            ),
            (
                Method::GET,
                "/openai/v1/fine_tuning/jobs/ftjob-1/events",
                r(
                    true,
                    AiRoute::Job {
                        id: "ftjob-1".into(),
                        part: JobPart::Events,
                    },
                ),
            ),
            (
                Method::GET,
                "/openai/fine_tuning/jobs/ftjob-1/checkpoints",
                r(
                    false,
                    AiRoute::Job {
                        id: "ftjob-1".into(),
                        part: JobPart::Checkpoints,
                    },
                ),
            ),
            (
                Method::POST,
                "/openai/fine_tuning/jobs/ftjob-1/cancel",
                r(
                    false,
                    AiRoute::Job {
                        id: "ftjob-1".into(),
                        part: JobPart::Cancel,
                    },
                ),
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
                r(
                    false,
                    AiRoute::ChatCompletions {
                        deployment: Some("My-Dep".into()),
                    },
                ),
            ),
            (
                Method::POST,
                "/openai/v1/chat/completions",
                r(true, AiRoute::ChatCompletions { deployment: None }),
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

    #[test]
    fn every_ai_route_kind_declares_its_data_action() {
        let rows = [
            (Method::GET, "/openai/files", "files/read"),
            (Method::POST, "/openai/files", "files/write"),
            (Method::GET, "/openai/files/f", "files/read"),
            (Method::DELETE, "/openai/files/f", "files/write"),
            (Method::GET, "/openai/files/f/content", "files/content/read"),
            (Method::GET, "/openai/fine_tuning/jobs", "fine-tunes/read"),
            (Method::POST, "/openai/fine_tuning/jobs", "fine-tunes/write"),
            (Method::GET, "/openai/fine_tuning/jobs/j", "fine-tunes/read"),
            (
                Method::GET,
                "/openai/fine_tuning/jobs/j/events",
                "fine-tunes/read",
            ),
            (
                Method::GET,
                "/openai/fine_tuning/jobs/j/checkpoints",
                "fine-tunes/read",
            ),
            (
                Method::POST,
                "/openai/fine_tuning/jobs/j/cancel",
                "fine-tunes/write",
            ),
            (Method::GET, "/openai/models", "models/read"),
            (Method::GET, "/openai/models/m", "models/read"),
            (Method::DELETE, "/openai/models/m", "models/delete"),
            (
                Method::POST,
                "/openai/deployments/d/chat/completions",
                "deployments/chat/completions/action",
            ),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (method, path, action) in rows {
            let request = run(method.clone(), path).unwrap();
            seen.insert(request.route.kind());
            assert_eq!(
                request.route.access(),
                Access::AiData(format!("{OPENAI}/{action}").leak()),
                "{method} {path}"
            );
        }
        let missing: Vec<&str> = AiRouteKind::ALL
            .iter()
            .filter(|k| !seen.contains(k))
            .map(|k| k.name())
            .collect();
        assert!(missing.is_empty(), "AI routes without a row: {missing:?}");
    }
}
