//! `servicePrincipals` and `applications` (with `addPassword`/`removePassword`), as
//! `az ad sp create-for-rbac|show|list`, `az ad app …`, `az keyvault create` and
//! `az role assignment create --assignee` use them. Every lookup is within the caller's tenant:
//! an id of another tenant's object answers as if nothing had it.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keyhold_identity::Principal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::Call;
use super::error::GraphError;
use super::objects::{
    app_id_of_application, application_json, is_application, password_json, service_principal_json,
};
use super::routes::ObjectOp;

/// Largest Graph request body (display names, labels, id lists).
const MAX_BODY: u64 = 64 * 1024;

pub(crate) async fn body_json<T: serde::de::DeserializeOwned>(body: Body) -> Result<T, GraphError> {
    let bytes = crate::http::read_body(body, MAX_BODY).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        GraphError::bad_request(format!(
            "The request body is not valid for this operation: {e}"
        ))
    })
}

/// The caller's tenant's principal with object id `id`, or Graph's 404.
async fn principal_in_tenant(call: &Call<'_>, id: &str) -> Result<Principal, GraphError> {
    let oid = Uuid::parse_str(id).map_err(|_| GraphError::not_found(id))?;
    match call.state.identity().principal(oid).await {
        Ok(p) if p.tenant_id == call.tenant() => Ok(p),
        Ok(_) | Err(keyhold_identity::IdentityError::PrincipalNotFound(_)) => {
            Err(GraphError::not_found(id))
        }
        Err(e) => Err(e.into()),
    }
}

/// The caller's tenant's application with application object id `id`, or Graph's 404.
async fn application_in_tenant(call: &Call<'_>, id: &str) -> Result<Principal, GraphError> {
    let object = Uuid::parse_str(id).map_err(|_| GraphError::not_found(id))?;
    let app_id = app_id_of_application(object).to_string();
    match call
        .state
        .identity()
        .principal_by_client_id(call.tenant(), &app_id)
        .await
    {
        Ok(p) if is_application(&p) => Ok(p),
        Ok(_) | Err(keyhold_identity::IdentityError::PrincipalNotFound(_)) => {
            Err(GraphError::not_found(id))
        }
        Err(e) => Err(e.into()),
    }
}

async fn tenant_principals(call: &Call<'_>) -> Result<Vec<Principal>, GraphError> {
    Ok(call.state.identity().list_principals(call.tenant()).await?)
}

/// `GET /servicePrincipals`
pub async fn list_service_principals(call: &Call<'_>) -> Result<Response, GraphError> {
    let items = tenant_principals(call)
        .await?
        .iter()
        .map(service_principal_json)
        .collect();
    call.list("servicePrincipals", items)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewServicePrincipal {
    app_id: String,
}

/// `POST /servicePrincipals {"appId"}`: an application's service principal. In keyhold the
/// application is its own service principal, so this answers it (201) once the application
/// exists in the caller's tenant.
pub async fn create_service_principal(call: &Call<'_>, body: Body) -> Result<Response, GraphError> {
    let request: NewServicePrincipal = body_json(body).await?;
    let invalid = || {
        GraphError::bad_request(format!(
            "The appId '{}' of the service principal does not reference a valid application object.",
            request.app_id
        ))
    };
    let principal = match call
        .state
        .identity()
        .principal_by_client_id(call.tenant(), &request.app_id)
        .await
    {
        Ok(p) if is_application(&p) => p,
        Ok(_) | Err(keyhold_identity::IdentityError::PrincipalNotFound(_)) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    };
    Ok(call.object(
        StatusCode::CREATED,
        "servicePrincipals",
        service_principal_json(&principal),
    ))
}

/// `GET|DELETE /servicePrincipals/{id}`. Managed identities go with their resources only.
pub async fn service_principal(
    call: &Call<'_>,
    id: &str,
    delete: bool,
) -> Result<Response, GraphError> {
    let principal = principal_in_tenant(call, id).await?;
    if !delete {
        return Ok(call.object(
            StatusCode::OK,
            "servicePrincipals",
            service_principal_json(&principal),
        ));
    }
    if !is_application(&principal) {
        return Err(GraphError::bad_request(
            "A managed identity's service principal is deleted with its resource.",
        ));
    }
    call.state
        .identity()
        .delete_principal(principal.object_id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /applications`
pub async fn list_applications(call: &Call<'_>) -> Result<Response, GraphError> {
    let items = tenant_principals(call)
        .await?
        .iter()
        .filter(|p| is_application(p))
        .map(application_json)
        .collect();
    call.list("applications", items)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApplicationBody {
    display_name: Option<String>,
}

/// `POST /applications`: a new application (without a secret until `addPassword`).
pub async fn create_application(call: &Call<'_>, body: Body) -> Result<Response, GraphError> {
    let request: ApplicationBody = body_json(body).await?;
    let name = request
        .display_name
        .ok_or_else(|| GraphError::bad_request("Property 'displayName' is required."))?;
    let principal = call
        .state
        .identity()
        .create_application(call.tenant(), &name)
        .await?;
    Ok(call.object(
        StatusCode::CREATED,
        "applications",
        application_json(&principal),
    ))
}

/// `GET|PATCH|DELETE /applications/{id}`. PATCH changes `displayName` (other properties
/// keyhold has no use for are accepted and ignored).
pub async fn application(
    call: &Call<'_>,
    id: &str,
    op: ObjectOp,
    body: Body,
) -> Result<Response, GraphError> {
    let principal = application_in_tenant(call, id).await?;
    let identity = call.state.identity();
    match op {
        ObjectOp::Get => {
            Ok(call.object(StatusCode::OK, "applications", application_json(&principal)))
        }
        ObjectOp::Patch => {
            let request: ApplicationBody = body_json(body).await?;
            if let Some(name) = request.display_name {
                identity
                    .rename_principal(principal.object_id, &name)
                    .await?;
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        ObjectOp::Delete => {
            identity.delete_principal(principal.object_id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PasswordCredential {
    display_name: Option<String>,
    end_date_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddPassword {
    #[serde(default)]
    password_credential: PasswordCredential,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemovePassword {
    key_id: Uuid,
}

fn unix_of(text: &str) -> Result<u64, GraphError> {
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| GraphError::bad_request(format!("Invalid endDateTime '{text}'.")))?;
    u64::try_from(parsed.unix_timestamp())
        .map_err(|_| GraphError::bad_request(format!("Invalid endDateTime '{text}'.")))
}

/// `POST /applications/{id}/addPassword` (the new secret, shown once) or `…/removePassword`.
pub async fn password(
    call: &Call<'_>,
    id: &str,
    add: bool,
    body: Body,
) -> Result<Response, GraphError> {
    let principal = application_in_tenant(call, id).await?;
    let identity = call.state.identity();
    if !add {
        let request: RemovePassword = body_json(body).await?;
        identity
            .remove_secret(principal.object_id, request.key_id)
            .await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let request: AddPassword = body_json(body).await?;
    let credential = request.password_credential;
    let expires = credential
        .end_date_time
        .as_deref()
        .map(unix_of)
        .transpose()?;
    let (principal, secret, key_id) = identity
        .add_secret(principal.object_id, credential.display_name, expires)
        .await?;
    let stored = principal
        .secrets
        .iter()
        .find(|s| s.key_id == key_id)
        .ok_or_else(|| {
            GraphError::from(crate::http::ApiError::internal(&"added secret missing"))
        })?;
    let mut answer = password_json(stored);
    answer["secretText"] = json!(secret.expose_secret());
    answer["@odata.context"] =
        json!("https://graph.localhost/v1.0/$metadata#microsoft.graph.passwordCredential");
    Ok((StatusCode::OK, axum::Json(answer)).into_response())
}
