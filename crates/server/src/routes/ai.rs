//! AI data-plane paths on an account's host (`{account}.{ai-domain}`), parsed into [`AiRoute`].
//! Both the dated style (`/openai/files?api-version=…`) and the v1 style (`/openai/v1/files`)
//! are accepted.

use axum::http::Method;

use super::RouteError;

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
            (Method::GET, "/openai/models", Err(RouteError::NotFound)),
            (Method::GET, "/files", Err(RouteError::NotFound)),
        ];
        for (method, path, expected) in rows {
            assert_eq!(run(method.clone(), path), expected, "{method} {path}");
        }
    }
}
