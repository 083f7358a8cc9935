//! What every API shares and no API owns: the request head and bodies, responses, the error
//! type, authentication, the route-permission layer, api-versions and the audit trail of
//! management calls. Nothing in this module imports an API module.

pub mod api_version;
pub mod auth;
pub mod authz;
pub mod error;
pub mod request;
pub mod response;
pub mod routing;

pub use error::ApiError;
pub use request::{RequestHead, json_body, read_body};
pub use response::{empty, json, rfc3339};
pub use routing::RouteError;
