//! `/openai/fine_tuning/jobs` and `/openai/models`, in the shapes the `openai` SDK reads.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keyhold_platform::Account;
use keyhold_platform::finetune::{FineTuneJob, JobRequest};
use keyhold_platform::models::BASE_MODELS;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{limit_param, platform_error};
use crate::ai_api::routes::AiRoute;
use crate::ai_api::routes::JobPart;
use crate::http::ApiError;
use crate::http::api_version::query_param;
use crate::http::{RequestHead, json_body};
use crate::state::AppState;

/// `n_epochs` and friends: a number, `"auto"` or absent.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Auto<T> {
    Value(T),
    #[default]
    Unset,
    Text(String),
}

impl<T: Copy> Auto<T> {
    fn value(&self, param: &str) -> Result<Option<T>, ApiError> {
        match self {
            Auto::Value(v) => Ok(Some(*v)),
            Auto::Unset => Ok(None),
            Auto::Text(t) if t == "auto" => Ok(None),
            Auto::Text(t) => Err(ApiError::bad_request(
                "invalid_request_error",
                format!("{param}: {t:?} is invalid; give a number or \"auto\""),
            )),
        }
    }
}

#[derive(Deserialize, Default)]
struct HyperBody {
    #[serde(default)]
    n_epochs: Auto<u32>,
    #[serde(default)]
    batch_size: Auto<u32>,
    #[serde(default)]
    learning_rate_multiplier: Auto<f64>,
}

#[derive(Deserialize)]
struct SupervisedBody {
    #[serde(default)]
    hyperparameters: Option<HyperBody>,
}

#[derive(Deserialize)]
struct MethodBody {
    #[serde(rename = "type")]
    kind: String,
    supervised: Option<SupervisedBody>,
}

#[derive(Deserialize)]
struct CreateBody {
    model: String,
    training_file: String,
    validation_file: Option<String>,
    hyperparameters: Option<HyperBody>,
    suffix: Option<String>,
    seed: Option<u64>,
    method: Option<MethodBody>,
}

fn job_json(job: &FineTuneJob) -> Value {
    json!({
        "object": "fine_tuning.job",
        "id": job.id,
        "model": job.model,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "fine_tuned_model": job.fine_tuned_model,
        "organization_id": "org-keyhold",
        "result_files": job.result_files,
        "status": job.status,
        "validation_file": job.validation_file,
        "training_file": job.training_file,
        "hyperparameters": job.hyperparameters,
        "trained_tokens": job.trained_tokens,
        "error": job.error,
        "seed": job.seed,
        "suffix": job.suffix,
        "estimated_finish": null,
        "integrations": null,
        "method": { "type": "supervised", "supervised": { "hyperparameters": job.hyperparameters } },
    })
}

/// `after`/`limit` paging over a newest-first list of `(id, json)`.
fn page(
    head: &RequestHead,
    items: Vec<(String, Value)>,
    default_limit: usize,
) -> Result<Value, ApiError> {
    let limit = limit_param(head, default_limit, 1000)?;
    let start = match query_param(head.uri(), "after") {
        Some(after) => items
            .iter()
            .position(|(id, _)| *id == after)
            .map_or(items.len(), |i| i + 1),
        None => 0,
    };
    let rest = &items[start.min(items.len())..];
    let data: Vec<Value> = rest.iter().take(limit).map(|(_, v)| v.clone()).collect();
    Ok(json!({ "object": "list", "data": data, "has_more": rest.len() > limit }))
}

/// Runs one authorized fine-tuning or models request.
pub async fn handle(
    state: &AppState,
    account: &Account,
    route: AiRoute,
    head: &RequestHead,
    body: Body,
) -> Result<Response, ApiError> {
    let platform = state.platform();
    match route {
        AiRoute::CreateJob => {
            let body: CreateBody = json_body(state, body).await?;
            if let Some(m) = &body.method
                && m.kind != "supervised"
            {
                return Err(ApiError::bad_request(
                    "invalid_request_error",
                    format!("method.type {:?} is not supported; use supervised", m.kind),
                ));
            }
            let from_method = body
                .method
                .and_then(|m| m.supervised)
                .and_then(|s| s.hyperparameters);
            let hyper = from_method.or(body.hyperparameters).unwrap_or_default();
            let request = JobRequest {
                model: body.model,
                training_file: body.training_file,
                validation_file: body.validation_file,
                n_epochs: hyper.n_epochs.value("hyperparameters.n_epochs")?,
                batch_size: hyper.batch_size.value("hyperparameters.batch_size")?,
                learning_rate_multiplier: hyper
                    .learning_rate_multiplier
                    .value("hyperparameters.learning_rate_multiplier")?,
                suffix: body.suffix,
                seed: body.seed,
            };
            let job = platform
                .create_job(account, request)
                .await
                .map_err(platform_error)?;
            Ok((StatusCode::CREATED, axum::Json(job_json(&job))).into_response())
        }
        AiRoute::ListJobs => {
            let jobs = platform.jobs(account).await.map_err(platform_error)?;
            let items = jobs.iter().map(|j| (j.id.clone(), job_json(j))).collect();
            Ok(axum::Json(page(head, items, 20)?).into_response())
        }
        AiRoute::Job { id, part } => {
            let job = match part {
                JobPart::Cancel => platform.cancel_job(account, &id).await,
                _ => platform.job(account, &id).await,
            }
            .map_err(platform_error)?;
            let value =
                match part {
                    JobPart::Job | JobPart::Cancel => job_json(&job),
                    JobPart::Events => {
                        let items = job
                            .events
                            .iter()
                            .rev()
                            .map(|e| {
                                (
                                    e.id.clone(),
                                    json!({
                                        "object": "fine_tuning.job.event",
                                        "id": e.id,
                                        "created_at": e.created_at,
                                        "level": e.level,
                                        "message": e.message,
                                        "type": e.kind,
                                        "data": e.data,
                                    }),
                                )
                            })
                            .collect();
                        page(head, items, 20)?
                    }
                    JobPart::Checkpoints => {
                        let items = job
                        .checkpoints
                        .iter()
                        .rev()
                        .map(|c| {
                            (c.id.clone(), json!({
                                "object": "fine_tuning.job.checkpoint",
                                "id": c.id,
                                "created_at": c.created_at,
                                "fine_tuned_model_checkpoint": c.fine_tuned_model_checkpoint,
                                "fine_tuning_job_id": job.id,
                                "step_number": c.step_number,
                                "metrics": c.metrics,
                            }))
                        })
                        .collect();
                        page(head, items, 10)?
                    }
                };
            Ok(axum::Json(value).into_response())
        }
        AiRoute::ListModels => {
            let mut data: Vec<Value> = BASE_MODELS
                .iter()
                .map(|m| {
                    json!({
                        "object": "model",
                        "id": m.id(),
                        "created": 1_700_000_000u64,
                        "created_at": 1_700_000_000u64,
                        "owned_by": "system",
                        "status": "succeeded",
                        "lifecycle_status": "generally-available",
                        "capabilities": { "fine_tune": m.fine_tune, "inference": true, "chat_completion": true },
                    })
                })
                .collect();
            // Fine-tuned models are listed only while the key is usable (their names are
            // not secret, but listing them is part of the account's data).
            if platform.check_key_access(account).is_ok() {
                for m in platform
                    .fine_tuned_models(account)
                    .await
                    .map_err(platform_error)?
                {
                    data.push(model_json(&m));
                }
            }
            Ok(axum::Json(json!({ "object": "list", "data": data })).into_response())
        }
        AiRoute::DeleteModel { id } => {
            platform.check_key_access(account).map_err(platform_error)?;
            platform
                .delete_model(account, &id)
                .await
                .map_err(platform_error)?;
            Ok(axum::Json(json!({ "object": "model", "id": id, "deleted": true })).into_response())
        }
        AiRoute::GetModel { id } => {
            if let Some(m) = BASE_MODELS
                .iter()
                .find(|m| m.id().eq_ignore_ascii_case(&id))
            {
                return Ok(axum::Json(json!({
                    "object": "model", "id": m.id(), "created": 1_700_000_000u64, "owned_by": "system",
                    "status": "succeeded", "capabilities": { "fine_tune": m.fine_tune, "inference": true, "chat_completion": true },
                }))
                .into_response());
            }
            let m = platform
                .fine_tuned_model(account, &id)
                .await
                .map_err(platform_error)?;
            Ok(axum::Json(model_json(&m)).into_response())
        }
        _ => Err(ApiError::no_route(
            head.method().as_str(),
            head.uri().path(),
        )),
    }
}

fn model_json(m: &keyhold_platform::models::FineTunedModel) -> Value {
    json!({
        "object": "model",
        "id": m.id,
        "created": m.created_at,
        "created_at": m.created_at,
        "owned_by": "organization-owner",
        "model": m.base_model,
        "fine_tune": m.job_id,
        "status": "succeeded",
        "lifecycle_status": "generally-available",
        "capabilities": { "fine_tune": false, "inference": true, "chat_completion": true },
    })
}
