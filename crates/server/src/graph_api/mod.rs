//! The part of Microsoft Graph the Azure CLI and SDKs call, on the service host under
//! `/v1.0/…` (and `/beta/…`), for tokens of the Graph audience (`https://graph.localhost`, or
//! with the port: the Azure CLI uses its Graph endpoint, `https://graph.localhost:{port}/`, as
//! the resource too). It shows keyhold's directory as Graph does: service principals (managed
//! identities included), applications with their password credentials, directory objects by
//! id, the organization, and `/me` (which an application token has none of).
//!
//! Every request goes through one gate: a Graph-audience token, the access its route declares
//! (`routes.rs`: reads for any principal of the tenant, writes with the directory's actions at
//! the caller's tenant scope), then the handler, which reads and writes the caller's own tenant
//! only; every outcome is audited before it is answered. Errors have Graph's shape
//! (`error.rs`).

mod directory;
mod error;
mod objects;
mod odata;
mod principals;
pub mod routes;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use keyhold_vault::AuditEvent;
use serde_json::{Value, json};

use crate::graph_api::error::GraphError;
use crate::graph_api::routes::GraphRoute;
use crate::http::api_version::query_param;
use crate::http::auth::Api;
use crate::http::authz::{self, Grant};
use crate::http::{ApiError, RequestHead};
use crate::state::AppState;

/// What a handler needs of the request.
pub(crate) struct Call<'a> {
    pub state: &'a AppState,
    pub head: &'a RequestHead,
    pub grant: &'a Grant,
}

impl Call<'_> {
    /// The caller's tenant: the only one any Graph route reads or writes.
    pub fn tenant(&self) -> uuid::Uuid {
        self.grant.caller.principal.tenant_id
    }

    /// A list answer with Graph's `@odata.context`, after `$filter`, `$select` and `$top`.
    pub fn list(&self, entity_set: &str, items: Vec<Value>) -> Result<Response, GraphError> {
        let filter = match query_param(self.head.uri(), "$filter") {
            Some(text) => Some(odata::Filter::parse(&text)?),
            None => None,
        };
        let select = query_param(self.head.uri(), "$select");
        let top = query_param(self.head.uri(), "$top")
            .and_then(|t| t.parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        let value: Vec<Value> = items
            .into_iter()
            .filter(|item| filter.as_ref().is_none_or(|f| f.matches(item)))
            .take(top)
            .map(|item| odata::select(item, select.as_deref()))
            .collect();
        Ok(self.answer(
            axum::http::StatusCode::OK,
            json!({
                "@odata.context": self.context(entity_set),
                "value": value,
            }),
        ))
    }

    /// One object, after `$select`, with its `@odata.context`.
    pub fn object(
        &self,
        status: axum::http::StatusCode,
        entity_set: &str,
        mut item: Value,
    ) -> Response {
        item = odata::select(item, query_param(self.head.uri(), "$select").as_deref());
        item["@odata.context"] = json!(format!("{}/$entity", self.context(entity_set)));
        self.answer(status, item)
    }

    fn context(&self, entity_set: &str) -> String {
        format!(
            "{}/v1.0/$metadata#{entity_set}",
            crate::http::auth::with_port(
                &self.state.config().graph_audience,
                self.state.public_port()
            )
        )
    }

    fn answer(&self, status: axum::http::StatusCode, body: Value) -> Response {
        (status, axum::Json(body)).into_response()
    }
}

/// Dispatches one Graph request (see the module documentation).
pub async fn handle(state: &AppState, route: GraphRoute, request: Request) -> Response {
    let (head, body) = RequestHead::split(request);
    let mut event = AuditEvent {
        caller: "anonymous".into(),
        operation: format!("Graph.{} {}", route.kind().name(), head.method()),
        ..AuditEvent::default()
    };
    let result = async {
        let grant = authz::for_api(state, &head, &route.access(), None, Api::Graph).await?;
        event.caller = grant.caller.principal.object_id.to_string();
        let call = Call {
            state,
            head: &head,
            grant: &grant,
        };
        dispatch(&call, route, body).await
    }
    .await;
    let response = match result {
        Ok(response) => {
            event.result = response.status().as_u16().to_string();
            response
        }
        Err(err) => {
            event.result = format!("{} {}", err.status().as_u16(), err.code());
            err.into_response()
        }
    };
    if let Err(err) = state.audit().append(event).await {
        // A directory call that cannot be audited is not acknowledged.
        return GraphError::from(ApiError::from(err)).into_response();
    }
    response
}

async fn dispatch(call: &Call<'_>, route: GraphRoute, body: Body) -> Result<Response, GraphError> {
    match route {
        GraphRoute::Me => Err(GraphError::me_needs_a_user()),
        GraphRoute::Organization => directory::organization(call).await,
        GraphRoute::ListUsers => call.list("users", Vec::new()),
        GraphRoute::GetByIds => directory::get_by_ids(call, body).await,
        GraphRoute::ListServicePrincipals => principals::list_service_principals(call).await,
        GraphRoute::CreateServicePrincipal => {
            principals::create_service_principal(call, body).await
        }
        GraphRoute::ServicePrincipal { id, delete } => {
            principals::service_principal(call, &id, delete).await
        }
        GraphRoute::ListApplications => principals::list_applications(call).await,
        GraphRoute::CreateApplication => principals::create_application(call, body).await,
        GraphRoute::Application { id, op } => principals::application(call, &id, op, body).await,
        GraphRoute::ApplicationPassword { id, add } => {
            principals::password(call, &id, add, body).await
        }
    }
}
