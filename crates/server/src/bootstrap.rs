//! `bootstrap.json` (mode 0600 in the data directory): the admin service principal's
//! credentials and every endpoint a client needs, written at first start (docs/DESIGN.md section 5).
//! Later starts refresh the endpoint fields (the port may change) and keep the secret; if the
//! operator deleted the file, it stays deleted.

use std::path::Path;

use keyhold_identity::{BootstrapOutcome, Identity};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::config::Config;
use crate::data_dir::{DataDirError, read_private_file, write_private_file};

/// Endpoint fields of the file, for the current configuration and port.
fn endpoint_fields(config: &Config, port: u16, ca_pem: Option<&Path>) -> Value {
    let authority = format!("https://localhost:{port}");
    json!({
        "authority": authority,
        "managementEndpoint": format!("{authority}/"),
        "port": port,
        "vaultDomain": config.vault_domain,
        "aiDomain": config.ai_domain,
        "managementScope": format!("{}/.default", config.management_audience),
        "vaultScope": format!("{}/.default", config.vault_audience()),
        "aiScope": format!("{}/.default", config.ai_audience),
        "graphScope": format!("{}/.default", config.graph_audience),
        "graphEndpoint": format!("{}/", crate::http::auth::with_port(&config.graph_audience, port)),
        "caCertificate": ca_pem.and_then(|p| std::fs::canonicalize(p).ok()).map(|p| p.display().to_string()),
    })
}

/// Writes or refreshes the bootstrap file after `identity.bootstrap()`.
pub fn write(
    path: &Path,
    outcome: &BootstrapOutcome,
    config: &Config,
    port: u16,
    ca_pem: Option<&Path>,
) -> Result<(), DataDirError> {
    let mut doc = endpoint_fields(config, port, ca_pem);
    match outcome {
        BootstrapOutcome::Created {
            tenant,
            subscription,
            admin,
            secret,
        } => {
            doc["tenantId"] = json!(tenant.id);
            doc["subscriptionId"] = json!(subscription.id);
            doc["clientId"] = json!(admin.client_id);
            doc["objectId"] = json!(admin.object_id);
            doc["clientSecret"] = json!(secret.expose_secret());
        }
        BootstrapOutcome::Existing { .. } => {
            if !path.exists() {
                // Either removed after it was read (its secret is shown once), or this node
                // joined a store another node set up (that node wrote the file).
                tracing::info!(path = %path.display(), "no bootstrap.json here: the defaults exist in the store (made by an earlier start or another node; copy that node's bootstrap.json if you need it); not recreating it, since its secret is shown only once");
                return Ok(());
            }
            let old = Zeroizing::new(read_private_file(path)?);
            let Ok(Value::Object(mut existing)) = serde_json::from_slice::<Value>(&old) else {
                tracing::warn!(path = %path.display(), "bootstrap.json is not a JSON object; leaving it as it is");
                return Ok(());
            };
            if let Value::Object(fields) = doc {
                existing.extend(fields);
            }
            doc = Value::Object(existing);
        }
    }
    let bytes = Zeroizing::new(serde_json::to_vec_pretty(&doc).unwrap_or_default());
    write_private_file(path, &bytes)
}

/// The bootstrap tenant of an outcome.
pub fn tenant_of(outcome: &BootstrapOutcome) -> uuid::Uuid {
    match outcome {
        BootstrapOutcome::Created { tenant, .. } | BootstrapOutcome::Existing { tenant, .. } => {
            tenant.id
        }
    }
}

/// Runs the identity bootstrap.
pub async fn run(identity: &Identity) -> Result<BootstrapOutcome, keyhold_identity::IdentityError> {
    identity.bootstrap().await
}
