//! Deployment records in the record store: one per deployment (top-level and nested alike,
//! keyed by subscription, group and lower-cased name), and a marker per deployment that has
//! not finished, so the sweeper reads only those.
//!
//! What is stored is what ARM shows: the template (for `exportTemplate`), the parameters as
//! ARM echoes them (secure ones by type only — their values are never written), the outcome's
//! properties and operations, and the run's lease. Secure parameter values live only in the
//! memory of the node that accepted the PUT, for as long as it runs the deployment.

use std::collections::BTreeMap;

use keyhold_store::{Batch, Precondition, RecordStoreExt, Versioned, encode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::http::ApiError;
use crate::state::AppState;

/// The table of deployment records.
pub(crate) const DEPLOYMENTS: &str = "arm.deployments";
/// Deployments not finished yet (same keys as [`DEPLOYMENTS`]).
pub(crate) const ACTIVE: &str = "arm.deployments_active";

/// `provisioningState` values a deployment moves through (a finished run's own state,
/// `Succeeded` or `Failed`, comes from its outcome).
pub(crate) mod states {
    /// Accepted, not started yet.
    pub const ACCEPTED: &str = "Accepted";
    /// Running.
    pub const RUNNING: &str = "Running";
    /// Finished with errors (or interrupted).
    pub const FAILED: &str = "Failed";
    /// Stopped by `cancel`.
    pub const CANCELED: &str = "Canceled";
}

/// One deployment, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeploymentRecord {
    /// Full ARM id.
    pub id: String,
    /// Name as sent.
    pub name: String,
    /// Subscription.
    pub subscription: Uuid,
    /// Resource group (`None` at subscription scope).
    pub resource_group: Option<String>,
    /// `location` of a subscription-scope deployment.
    pub location: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// `provisioningState`.
    pub state: String,
    /// The id of the current long-running operation (`operationStatuses/{id}`).
    pub operation_id: String,
    /// `correlationId`.
    pub correlation_id: String,
    /// The template (top-level deployments only).
    pub template: Option<Value>,
    /// `templateHash`.
    pub template_hash: String,
    /// ARM's parameters echo (secure values by type only).
    pub parameters: Value,
    /// The outcome's `properties`, once finished.
    pub properties: Option<Value>,
    /// Operations (ARM's shape), final or as far as the run got.
    #[serde(default)]
    pub operations: Vec<Value>,
    /// Ids of resources written so far (while running).
    #[serde(default)]
    pub output_resources: Vec<String>,
    /// The error of a deployment that did not succeed.
    pub error: Option<Value>,
    /// Unix seconds.
    pub started: u64,
    /// Unix seconds.
    pub finished: Option<u64>,
    /// The node running it.
    pub lease_owner: Option<String>,
    /// Lease end (unix seconds).
    pub lease_until: u64,
    /// `cancel` was asked for.
    #[serde(default)]
    pub cancel_requested: bool,
    /// Object id of the principal that deployed it.
    pub caller: String,
    /// For a nested deployment, its parent's id.
    pub parent: Option<String>,
}

impl Versioned for DeploymentRecord {
    const KIND: &'static str = "arm.deployment";
    const SCHEMA: u16 = 1;
}

impl DeploymentRecord {
    /// Not finished.
    pub fn is_active(&self) -> bool {
        self.state == states::ACCEPTED || self.state == states::RUNNING
    }
}

/// The marker of an unfinished deployment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ActiveMarker {
    /// Unix seconds it was accepted.
    pub since: u64,
}

impl Versioned for ActiveMarker {
    const KIND: &'static str = "arm.deployment_active";
    const SCHEMA: u16 = 1;
}

/// `{sub}/rg/{group}/{name}` or `{sub}/sub/{name}`, lower case.
pub(crate) fn record_key(subscription: Uuid, group: Option<&str>, name: &str) -> String {
    match group {
        Some(g) => format!(
            "{subscription}/rg/{}/{}",
            g.to_ascii_lowercase(),
            name.to_ascii_lowercase()
        ),
        None => format!("{subscription}/sub/{}", name.to_ascii_lowercase()),
    }
}

/// The prefix of the deployments of one scope.
pub(crate) fn scope_prefix(subscription: Uuid, group: Option<&str>) -> String {
    match group {
        Some(g) => format!("{subscription}/rg/{}/", g.to_ascii_lowercase()),
        None => format!("{subscription}/sub/"),
    }
}

/// A deployment record and its version.
pub(crate) async fn load(
    state: &AppState,
    key: &str,
) -> Result<Option<(DeploymentRecord, u64)>, ApiError> {
    Ok(state
        .records()
        .get_typed::<DeploymentRecord>(DEPLOYMENTS, key)
        .await?)
}

/// The deployments of one scope, by name.
pub(crate) async fn list(
    state: &AppState,
    subscription: Uuid,
    group: Option<&str>,
) -> Result<Vec<DeploymentRecord>, ApiError> {
    Ok(state
        .records()
        .scan_typed::<DeploymentRecord>(DEPLOYMENTS, &scope_prefix(subscription, group), 1000)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

/// Writes an accepted deployment (replacing `previous`, the version read before, or creating
/// it) and its active marker, atomically.
pub(crate) async fn begin(
    state: &AppState,
    key: &str,
    record: &DeploymentRecord,
    previous: Option<u64>,
) -> Result<(), ApiError> {
    let expect = previous.map_or(Precondition::Absent, Precondition::Version);
    let marker = ActiveMarker {
        since: record.started,
    };
    state
        .records()
        .commit(
            Batch::new()
                .put_if(DEPLOYMENTS, key, encode(record)?, expect)
                .put(ACTIVE, key, encode(&marker)?),
        )
        .await?;
    Ok(())
}

/// Replaces a record at `version`; the new version.
pub(crate) async fn update(
    state: &AppState,
    key: &str,
    record: &DeploymentRecord,
    version: u64,
) -> Result<u64, keyhold_store::StoreError> {
    state
        .records()
        .put_typed(DEPLOYMENTS, key, record, Precondition::Version(version))
        .await
}

/// Writes a finished deployment at `version`, the records of its nested deployments, and
/// drops its active marker, atomically.
pub(crate) async fn finish(
    state: &AppState,
    key: &str,
    record: &DeploymentRecord,
    version: u64,
    nested: &[(String, DeploymentRecord)],
) -> Result<(), keyhold_store::StoreError> {
    let mut batch = Batch::new().put_if(
        DEPLOYMENTS,
        key,
        encode(record)?,
        Precondition::Version(version),
    );
    for (nested_key, nested_record) in nested {
        if nested_key != key {
            batch = batch.put(DEPLOYMENTS, nested_key, encode(nested_record)?);
        }
    }
    state
        .records()
        .commit(batch.delete(ACTIVE, key))
        .await
        .map(|_| ())
}

/// Deletes a deployment record (and its marker, if any).
pub(crate) async fn delete(state: &AppState, key: &str, version: u64) -> Result<(), ApiError> {
    state
        .records()
        .commit(
            Batch::new()
                .delete_if(DEPLOYMENTS, key, Precondition::Version(version))
                .delete(ACTIVE, key),
        )
        .await?;
    Ok(())
}

/// Keys of unfinished deployments (at most 1000 at a time).
pub(crate) async fn active_keys(state: &AppState) -> Result<Vec<String>, ApiError> {
    Ok(state
        .records()
        .scan_all(ACTIVE, "", 1000)
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .collect())
}

/// Drops the marker of a deployment that is no longer active.
pub(crate) async fn drop_marker(state: &AppState, key: &str) -> Result<(), ApiError> {
    state
        .records()
        .commit(Batch::new().delete(ACTIVE, key))
        .await?;
    Ok(())
}

/// Deletes every deployment record of a resource group (the group is being deleted; its
/// deployments go with it, as in ARM).
pub(crate) async fn delete_group(
    state: &AppState,
    subscription: Uuid,
    group: &str,
) -> Result<(), ApiError> {
    let prefix = scope_prefix(subscription, Some(group));
    let keys: Vec<String> = state
        .records()
        .scan_all(DEPLOYMENTS, &prefix, 1000)
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for chunk in keys.chunks(400) {
        let mut batch = Batch::new();
        for key in chunk {
            batch = batch.delete(DEPLOYMENTS, key).delete(ACTIVE, key);
        }
        state.records().commit(batch).await?;
    }
    Ok(())
}
