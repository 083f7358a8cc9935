//! What every API's route parser answers when no route matches.

/// Why no route matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No API has this path on this host.
    NotFound,
    /// The path exists but not for this method; lists the allowed ones.
    MethodNotAllowed(&'static str),
}
