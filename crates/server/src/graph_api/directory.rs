//! `organization` (the caller's tenant) and `directoryObjects/getByIds` (what the Azure CLI
//! calls to name the principals of role assignments and to check an `--assignee` object id).

use axum::body::Body;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::Call;
use super::error::GraphError;
use super::objects::{
    app_id_of_application, application_json, is_application, organization_json,
    service_principal_json,
};
use super::principals::body_json;

/// Most ids one `getByIds` call takes (Graph's limit).
const MAX_IDS: usize = 1000;

/// `GET /organization`
pub async fn organization(call: &Call<'_>) -> Result<Response, GraphError> {
    let tenant = call.state.identity().tenant(call.tenant()).await?;
    call.list("organization", vec![organization_json(&tenant)])
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetByIds {
    ids: Vec<String>,
    #[serde(default)]
    types: Vec<String>,
}

/// `POST /directoryObjects/getByIds`: the caller's tenant's service principals (and, when
/// `types` asks for them, applications) among `ids`; ids naming nothing, or another tenant's
/// objects, are left out as Graph leaves out unknown ids.
pub async fn get_by_ids(call: &Call<'_>, body: Body) -> Result<Response, GraphError> {
    let request: GetByIds = body_json(body).await?;
    if request.ids.len() > MAX_IDS {
        return Err(GraphError::bad_request(format!(
            "At most {MAX_IDS} ids can be looked up at once."
        )));
    }
    let wants = |t: &str| {
        request.types.is_empty() || request.types.iter().any(|x| x.eq_ignore_ascii_case(t))
    };
    let identity = call.state.identity();
    let mut value: Vec<Value> = Vec::new();
    for id in &request.ids {
        let Ok(oid) = Uuid::parse_str(id) else {
            continue;
        };
        if wants("servicePrincipal")
            && let Ok(p) = identity.principal(oid).await
            && p.tenant_id == call.tenant()
        {
            value.push(service_principal_json(&p));
            continue;
        }
        if wants("application")
            && let Ok(p) = identity
                .principal_by_client_id(call.tenant(), &app_id_of_application(oid).to_string())
                .await
            && is_application(&p)
        {
            value.push(application_json(&p));
        }
    }
    call.list("directoryObjects", value)
}
