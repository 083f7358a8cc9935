//! `Microsoft.Resources/deployments`: ARM template deployments, the engine Azure Resource
//! Manager is, over the template language of `keyhold_arm_template`.
//!
//! - `routes.rs`: the route type, its parser and ARM's permission of each route.
//! - `prepare.rs`: body → prepared deployment; `validate`'s preflight; `jsonc.rs` the
//!   lenient JSON the Azure CLI sends.
//! - `host.rs`: the engine's `ResourceHost`, which sends every resource through the ARM gate
//!   and handlers as the deployment's caller (no template can bypass a check).
//! - `run.rs`: the background run under a lease, cancel, and the sweeper that ends
//!   deployments whose node stopped.
//! - `store.rs`: deployment records (no secure value is ever stored).
//! - `api.rs`: the handlers; `shapes.rs` the wire shapes; `context.rs` keyhold's
//!   `environment()`; `error.rs` the one error mapping.

mod api;
mod context;
mod error;
mod host;
mod jsonc;
mod prepare;
pub mod routes;
mod run;
mod shapes;
mod store;

use axum::body::Body;
use axum::response::{IntoResponse, Response};

pub use run::spawn_sweeper;
pub(crate) use store::delete_group as delete_group_deployments;

use crate::arm::error::api_version;
use crate::http::api_version::Plane;
use crate::http::authz::Grant;
use crate::http::{ApiError, RequestHead};
use crate::state::AppState;
use routes::DeploymentsRoute;

/// Dispatches a deployments request (authorized and audited by the ARM gate).
pub async fn handle(
    state: &AppState,
    head: &RequestHead,
    body: Body,
    route: DeploymentsRoute,
    grant: &Grant,
) -> Result<Response, ApiError> {
    let api_version = api_version(head.uri(), Plane::Deployments)?;
    let result = match &route {
        DeploymentsRoute::List { scope } => api::list(state, grant, scope).await,
        DeploymentsRoute::Deployment { scope, name, op } => match op {
            crate::arm::routes::ResourceOp::Put => {
                api::put(state, head, body, grant, scope, name, api_version.as_sent()).await
            }
            op => api::get_or_delete(state, grant, scope, name, *op).await,
        },
        DeploymentsRoute::Action {
            scope,
            name,
            action,
        } => api::action(state, body, grant, scope, name, *action).await,
        DeploymentsRoute::ListOperations { scope, name } => {
            api::operations(state, grant, scope, name, None).await
        }
        DeploymentsRoute::Operation { scope, name, id } => {
            api::operations(state, grant, scope, name, Some(id)).await
        }
        DeploymentsRoute::Status { scope, name, id } => {
            api::status(state, head, grant, scope, name, id).await
        }
    };
    Ok(result.unwrap_or_else(IntoResponse::into_response))
}
