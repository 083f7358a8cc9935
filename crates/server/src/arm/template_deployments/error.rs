//! The deployments API's errors, mapped to the wire in one place: ARM's own errors (with the
//! store and identity mappings), the template language's (`InvalidTemplate` with its path in
//! `additionalInfo`, as ARM answers them), and preflight's `InvalidTemplateDeployment` with the
//! resources' errors as details.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keyhold_arm_template::{ArmError, TemplateError};
use serde_json::json;

use crate::http::ApiError;

/// Why a deployments request failed.
#[derive(Debug)]
pub(crate) enum DeployError {
    /// An ARM error of the ordinary shape (auth, absence, store, conflicts).
    Api(ApiError),
    /// The template, its parameters or an expression (synchronous 400).
    Template(TemplateError),
    /// An error of ARM's full shape (details, additional info) with its status.
    Arm(StatusCode, ArmError),
}

impl From<ApiError> for DeployError {
    fn from(e: ApiError) -> Self {
        DeployError::Api(e)
    }
}

impl From<TemplateError> for DeployError {
    fn from(e: TemplateError) -> Self {
        DeployError::Template(e)
    }
}

impl From<keyhold_store::StoreError> for DeployError {
    fn from(e: keyhold_store::StoreError) -> Self {
        DeployError::Api(ApiError::from(e))
    }
}

impl From<keyhold_identity::IdentityError> for DeployError {
    fn from(e: keyhold_identity::IdentityError) -> Self {
        DeployError::Api(ApiError::from(e))
    }
}

impl DeployError {
    /// A 409 naming a deployment that is still running.
    pub(crate) fn active(name: &str) -> Self {
        DeployError::Api(ApiError::new(
            StatusCode::CONFLICT,
            "DeploymentActive",
            format!(
                "Unable to edit or replace deployment '{name}': previous deployment is still active. Please see https://aka.ms/arm-deploy for usage details."
            ),
        ))
    }

    /// 404 for a deployment that does not exist (or lives elsewhere).
    pub(crate) fn not_found(name: &str) -> Self {
        DeployError::Api(ApiError::new(
            StatusCode::NOT_FOUND,
            "DeploymentNotFound",
            format!("Deployment '{name}' could not be found."),
        ))
    }
}

impl IntoResponse for DeployError {
    fn into_response(self) -> Response {
        match self {
            DeployError::Api(e) => e.into_response(),
            DeployError::Template(e) => (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({ "error": e.to_arm_error() })),
            )
                .into_response(),
            DeployError::Arm(status, e) => {
                (status, axum::Json(json!({ "error": e }))).into_response()
            }
        }
    }
}
