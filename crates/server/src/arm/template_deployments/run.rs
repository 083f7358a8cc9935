//! Running a deployment in the background, under a lease.
//!
//! The node that accepts a PUT runs the deployment itself: the secure parameter values exist
//! only in its memory (they are never stored), so no other node could resume it. While it
//! runs, it renews a lease on the record every few seconds, writing the operations done so
//! far, and watches for `cancel`. If the node dies (SIGKILL, power loss, a crash), its lease
//! expires and the sweeper of any node marks the deployment `Failed` with
//! `DeploymentInterrupted`, listing what was deployed before: a deployment never stays
//! `Running` forever. Deploying the same template again finishes the job (incremental mode
//! leaves resources that are already as declared unchanged).

use std::sync::OnceLock;
use std::time::Duration;

use keyhold_arm_template::{Deployment, DeploymentOutcome, ResourceId};
use keyhold_identity::AuthenticatedPrincipal;
use keyhold_store::StoreError;
use serde_json::{Value, json};

use super::host::{ArmHost, Progress};
use super::store::{self, DeploymentRecord, states};
use crate::state::AppState;

/// How long a run's claim lasts without renewal.
pub(crate) const LEASE_SECS: u64 = 10;
/// Renewal period, in one-second ticks (each tick also looks for `cancel`).
const RENEW_TICKS: u32 = 3;

/// This process's name as a lease owner.
pub(crate) fn node_id() -> &'static str {
    static NODE: OnceLock<String> = OnceLock::new();
    NODE.get_or_init(|| format!("deployer-{}", uuid::Uuid::new_v4()))
}

fn now() -> u64 {
    keyhold_platform::Platform::now()
}

/// What a run needs besides the prepared deployment.
pub(crate) struct RunSpec {
    /// Record key.
    pub key: String,
    /// The long-running operation it belongs to.
    pub operation_id: String,
    /// The caller whose grants every resource is deployed with.
    pub caller: AuthenticatedPrincipal,
    /// Location, for provider errors.
    pub location: String,
    /// The deployment's id.
    pub deployment_id: String,
}

/// Starts the run in the background.
pub(crate) fn spawn(state: AppState, spec: RunSpec, deployment: Deployment) {
    tokio::spawn(async move {
        if let Err(err) = run(&state, &spec, &deployment).await {
            tracing::warn!(deployment = %spec.deployment_id, error = %err, "deployment record could not be written; the sweeper will end it");
        }
    });
}

enum Ended {
    Finished(Box<DeploymentOutcome>),
    Canceled,
    /// The record is gone or belongs to a newer PUT: this run's result is not wanted.
    Superseded,
}

async fn run(state: &AppState, spec: &RunSpec, deployment: &Deployment) -> Result<(), StoreError> {
    let host = ArmHost::new(
        state.clone(),
        spec.caller.clone(),
        &spec.location,
        &spec.deployment_id,
    );
    if transition(state, spec, |r| r.state = states::RUNNING.into())
        .await?
        .is_none()
    {
        return Ok(());
    }
    let ended = {
        let running = deployment.run(&host);
        tokio::pin!(running);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let mut ticks = 0u32;
        loop {
            tokio::select! {
                outcome = &mut running => break Ended::Finished(Box::new(outcome)),
                _ = tick.tick() => {
                    ticks += 1;
                    match store::load(state, &spec.key).await {
                        Ok(Some((r, v))) if r.operation_id == spec.operation_id => {
                            if r.cancel_requested {
                                break Ended::Canceled;
                            }
                            if ticks.is_multiple_of(RENEW_TICKS) {
                                let mut r = r;
                                r.lease_until = now() + LEASE_SECS;
                                apply_progress(&mut r, &host.progress());
                                // A conflict (a cancel just written) is read at the next tick.
                                let _ = store::update(state, &spec.key, &r, v).await;
                            }
                        }
                        Ok(_) => break Ended::Superseded,
                        // The store is down for now: keep running, the lease says how long.
                        Err(_) => {}
                    }
                }
            }
        }
    };
    finish(state, spec, ended, &host.progress()).await
}

/// Applies `change` to the run's record if it still belongs to this run; the new version.
async fn transition(
    state: &AppState,
    spec: &RunSpec,
    change: impl Fn(&mut DeploymentRecord),
) -> Result<Option<u64>, StoreError> {
    for _ in 0..keyhold_store::CONFLICT_ATTEMPTS {
        let Some((mut r, v)) = store::load(state, &spec.key)
            .await
            .map_err(|_| StoreError::Unavailable("deployment record".into()))?
        else {
            return Ok(None);
        };
        if r.operation_id != spec.operation_id {
            return Ok(None);
        }
        change(&mut r);
        r.lease_owner = Some(node_id().to_owned());
        r.lease_until = now() + LEASE_SECS;
        match store::update(state, &spec.key, &r, v).await {
            Ok(v) => return Ok(Some(v)),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// The operations done so far, in the record (while running, or when stopped early).
fn apply_progress(r: &mut DeploymentRecord, progress: &Progress) {
    r.operations = progress
        .operations
        .iter()
        .map(|o| o.to_json(&r.id))
        .collect();
    r.output_resources = progress
        .operations
        .iter()
        .filter(|o| o.error.is_none())
        .map(|o| o.resource_id.to_string())
        .collect();
}

async fn finish(
    state: &AppState,
    spec: &RunSpec,
    ended: Ended,
    progress: &Progress,
) -> Result<(), StoreError> {
    for _ in 0..keyhold_store::CONFLICT_ATTEMPTS {
        let Some((mut r, version)) = store::load(state, &spec.key)
            .await
            .map_err(|_| StoreError::Unavailable("deployment record".into()))?
        else {
            return Ok(());
        };
        if r.operation_id != spec.operation_id {
            return Ok(());
        }
        let mut nested = Vec::new();
        match &ended {
            Ended::Finished(outcome) => {
                apply_outcome(&mut r, outcome);
                collect_nested(&r, outcome, &mut nested);
            }
            Ended::Canceled => {
                apply_progress(&mut r, progress);
                r.state = states::CANCELED.into();
            }
            Ended::Superseded => return Ok(()),
        }
        r.finished = Some(now());
        r.lease_owner = None;
        match store::finish(state, &spec.key, &r, version, &nested).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The engine's outcome in a record.
fn apply_outcome(r: &mut DeploymentRecord, outcome: &DeploymentOutcome) {
    r.state = outcome.provisioning_state.as_str().into();
    r.properties = Some(outcome.properties());
    r.operations = outcome
        .operations
        .iter()
        .map(|o| o.to_json(&outcome.id))
        .collect();
    r.output_resources = outcome
        .output_resources
        .iter()
        .map(ToString::to_string)
        .collect();
    r.error = outcome.error.as_ref().map(|e| json!(e));
}

/// Records of the nested deployments a run made (each at its own scope), with their keys.
fn collect_nested(
    parent: &DeploymentRecord,
    outcome: &DeploymentOutcome,
    out: &mut Vec<(String, DeploymentRecord)>,
) {
    for n in &outcome.nested {
        let Ok(id) = ResourceId::parse(&n.id) else {
            continue;
        };
        let Some(subscription) = id
            .subscription_id()
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
        else {
            continue;
        };
        let group = id.resource_group().map(str::to_owned);
        let mut record = DeploymentRecord {
            id: n.id.clone(),
            name: n.name.clone(),
            subscription,
            resource_group: group.clone(),
            location: parent.location.clone(),
            tags: Default::default(),
            state: String::new(),
            operation_id: uuid::Uuid::new_v4().to_string(),
            correlation_id: parent.correlation_id.clone(),
            template: None,
            template_hash: String::new(),
            parameters: n.parameters.clone(),
            properties: None,
            operations: Vec::new(),
            output_resources: Vec::new(),
            error: None,
            started: u64::try_from(n.started).unwrap_or(0),
            finished: u64::try_from(n.finished).ok(),
            lease_owner: None,
            lease_until: 0,
            cancel_requested: false,
            caller: parent.caller.clone(),
            parent: Some(parent.id.clone()),
        };
        apply_outcome(&mut record, n);
        out.push((
            store::record_key(subscription, group.as_deref(), &n.name),
            record,
        ));
        collect_nested(parent, n, out);
    }
}

/// Ends deployments whose node stopped: every few seconds, any unfinished deployment whose
/// lease expired is marked `Failed` with `DeploymentInterrupted` (what it deployed before
/// stays listed in its operations).
pub fn spawn_sweeper(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = sweep(&state).await {
                tracing::warn!(error = %err.code(), "deployment sweep failed; retrying");
            }
        }
    });
}

/// One sweep; the number of deployments it ended.
pub(crate) async fn sweep(state: &AppState) -> Result<usize, crate::http::ApiError> {
    let mut ended = 0;
    for key in store::active_keys(state).await? {
        let Some((mut r, version)) = store::load(state, &key).await? else {
            store::drop_marker(state, &key).await?;
            continue;
        };
        if !r.is_active() {
            store::drop_marker(state, &key).await?;
            continue;
        }
        if r.lease_until > now() {
            continue;
        }
        r.state = states::FAILED.into();
        r.error = Some(interrupted(&r));
        r.finished = Some(now());
        r.lease_owner = None;
        match store::finish(state, &key, &r, version, &[]).await {
            Ok(()) => {
                tracing::info!(deployment = %r.id, "deployment interrupted: its node stopped before it finished");
                ended += 1;
            }
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(ended)
}

fn interrupted(r: &DeploymentRecord) -> Value {
    json!({
        "code": "DeploymentFailed",
        "message": "At least one resource deployment operation failed. Please list deployment operations for details.",
        "details": [{
            "code": "DeploymentInterrupted",
            "message": format!(
                "The node running deployment '{}' stopped before it finished, after {} resource operation(s). Deploy the template again to finish: resources already deployed are left as they are.",
                r.name,
                r.operations.len()
            ),
        }],
    })
}
