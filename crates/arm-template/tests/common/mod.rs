//! Test support: an in-memory `ResourceHost` that answers like a resource provider, and the
//! reference templates from `../shared/reference/templates/`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use keyhold_arm_template::{
    DeploymentContext, FixedClock, HostError, ResourceHost, ResourceId, guid,
};
use serde_json::{Value, json};

/// One call the host received.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    Put {
        id: String,
        api_version: String,
        body: Value,
    },
    Get {
        id: String,
    },
    ListKeys {
        id: String,
    },
}

#[derive(Default)]
pub struct FakeHost {
    pub resources: Mutex<HashMap<String, Value>>,
    pub calls: Mutex<Vec<Call>>,
    /// Lower-cased type → the error every PUT of it answers.
    pub failures: Mutex<HashMap<String, HostError>>,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    /// Milliseconds each PUT takes.
    pub put_delay_ms: u64,
}

impl FakeHost {
    pub fn new() -> Arc<Self> {
        Arc::new(FakeHost::default())
    }

    pub fn slow(ms: u64) -> Arc<Self> {
        Arc::new(FakeHost {
            put_delay_ms: ms,
            ..FakeHost::default()
        })
    }

    pub fn fail_type(&self, resource_type: &str, error: HostError) {
        self.failures
            .lock()
            .unwrap()
            .insert(resource_type.to_ascii_lowercase(), error);
    }

    /// Seeds an existing resource (as GET would return it).
    pub fn seed(&self, id: &str, body: Value) {
        self.resources
            .lock()
            .unwrap()
            .insert(id.to_ascii_lowercase(), body);
    }

    pub fn puts(&self) -> Vec<(String, Value)> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter_map(|c| match c {
                Call::Put { id, body, .. } => Some((id.clone(), body.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn put_ids(&self) -> Vec<String> {
        self.puts().into_iter().map(|(id, _)| id).collect()
    }

    /// Position of the first PUT of `id_suffix` (panics if none).
    pub fn put_index(&self, id_suffix: &str) -> usize {
        self.put_ids()
            .iter()
            .position(|id| {
                id.to_ascii_lowercase()
                    .ends_with(&id_suffix.to_ascii_lowercase())
            })
            .unwrap_or_else(|| panic!("no PUT of {id_suffix}: {:?}", self.put_ids()))
    }
}

/// What a provider adds to a PUT body: id, name, type, provisioning state, and the read-only
/// properties the reference templates read back.
fn as_provider_returns(id: &ResourceId, body: &Value) -> Value {
    let mut out = body.clone();
    if !out.is_object() {
        out = json!({});
    }
    out["id"] = json!(id.as_str());
    out["name"] = json!(id.last_name());
    out["type"] = json!(id.resource_type());
    if out.get("properties").is_none_or(|p| !p.is_object()) {
        out["properties"] = json!({});
    }
    let p = &mut out["properties"];
    p["provisioningState"] = json!("Succeeded");
    let t = id.resource_type().to_ascii_lowercase();
    let n = id.last_name();
    match t.as_str() {
        "microsoft.cognitiveservices/accounts" => {
            p["endpoint"] = json!(format!("https://{n}.cognitiveservices.azure.com/"));
        }
        "microsoft.cognitiveservices/accounts/projects" => {
            p["internalId"] = json!(guid(&[id.as_str()]).replace('-', ""));
        }
        "microsoft.keyvault/vaults" => {
            p["vaultUri"] = json!(format!("https://{n}.vault.azure.net/"))
        }
        "microsoft.keyvault/vaults/keys" => {
            let vault = id.name().split('/').next().unwrap_or_default().to_string();
            p["keyUriWithVersion"] = json!(format!(
                "https://{vault}.vault.azure.net/keys/{n}/0123456789abcdef0123456789abcdef"
            ));
        }
        "microsoft.documentdb/databaseaccounts" => {
            p["documentEndpoint"] = json!(format!("https://{n}.documents.azure.com:443/"))
        }
        "microsoft.storage/storageaccounts" => {
            p["primaryEndpoints"] = json!({"blob": format!("https://{n}.blob.core.windows.net/")})
        }
        _ => {}
    }
    if let Some(identity) = out.get_mut("identity")
        && identity
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.contains("SystemAssigned"))
    {
        identity["principalId"] = json!(guid(&["principal", id.as_str()]));
        identity["tenantId"] = json!("72f988bf-0000-0000-0000-000000000001");
    }
    out
}

#[async_trait]
impl ResourceHost for FakeHost {
    async fn put(
        &self,
        id: &ResourceId,
        api_version: &str,
        body: Value,
    ) -> Result<Value, HostError> {
        self.calls.lock().unwrap().push(Call::Put {
            id: id.to_string(),
            api_version: api_version.to_string(),
            body: body.clone(),
        });
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if self.put_delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(self.put_delay_ms)).await;
        } else {
            tokio::task::yield_now().await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some(e) = self
            .failures
            .lock()
            .unwrap()
            .get(&id.resource_type().to_ascii_lowercase())
        {
            return Err(e.clone());
        }
        let stored = as_provider_returns(id, &body);
        self.resources
            .lock()
            .unwrap()
            .insert(id.key(), stored.clone());
        Ok(stored)
    }

    async fn get(&self, id: &ResourceId, _api_version: &str) -> Result<Option<Value>, HostError> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Get { id: id.to_string() });
        Ok(self.resources.lock().unwrap().get(&id.key()).cloned())
    }

    async fn list_keys(&self, id: &ResourceId, _api_version: &str) -> Result<Value, HostError> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::ListKeys { id: id.to_string() });
        Ok(json!({"key1": format!("key1-of-{}", id.last_name()), "key2": "key2"}))
    }
}

pub const TENANT: &str = "tttttttt-0000-0000-0000-000000000000";
pub const SUBSCRIPTION: &str = "ssssssss-0000-0000-0000-000000000000";

pub fn context(deployment: &str) -> DeploymentContext {
    DeploymentContext::new(TENANT, SUBSCRIPTION, "rg1", "eastus2", deployment)
        .with_clock(Arc::new(FixedClock(1_767_225_600)))
}

pub fn rg_id() -> String {
    format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg1")
}

/// `../shared/reference/templates` from the repository root; fails loudly if missing.
pub fn templates_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/templates"
    ));
    assert!(
        dir.is_dir(),
        "the reference templates are missing: looked for {} (the shared/ folder beside the repository, ../shared/reference/templates from the repository root)",
        dir.display()
    );
    dir
}

pub fn load(name: &str) -> Value {
    let path = templates_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}
