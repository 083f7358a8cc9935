//! `GET /metrics`: Prometheus text for operators. Authenticated like the management plane
//! (a management token whose principal may `Keyhold.Metrics/read` at the directory root).
//!
//! Counters kept in memory since start: customer-managed key state transitions by target
//! state. Gauges computed per scrape: accounts and their stored ciphertext (soft-deleted
//! accounts included, as they keep accruing storage until purged), audit log length.

use std::fmt::Write as _;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::ApiError;
use crate::http::RequestHead;
use crate::state::AppState;

fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Renders the metrics.
pub async fn handle(state: &AppState, head: &RequestHead) -> Response {
    let result = async {
        crate::http::authz::management(state, head, &crate::routes::Route::Metrics.access(), None)
            .await?;
        let usage = state
            .platform()
            .usage()
            .await
            .map_err(crate::arm::error::platform_error)?;
        let (audit_len, _) = state.audit().head().await?;
        let m = state.metrics();
        let mut out = String::new();
        let _ = writeln!(out, "# HELP keyhold_key_status_transitions_total Customer-managed key state changes seen by the watcher since start.");
        let _ = writeln!(out, "# TYPE keyhold_key_status_transitions_total counter");
        let _ = writeln!(out, "keyhold_key_status_transitions_total{{to=\"Active\"}} {}", m.to_active());
        let _ = writeln!(out, "keyhold_key_status_transitions_total{{to=\"KeyInaccessible\"}} {}", m.to_inaccessible());
        let _ = writeln!(out, "# HELP keyhold_account_stored_encrypted_bytes Ciphertext bytes an account stores (soft-deleted accounts included until purged).");
        let _ = writeln!(out, "# TYPE keyhold_account_stored_encrypted_bytes gauge");
        for u in &usage {
            let _ = writeln!(
                out,
                "keyhold_account_stored_encrypted_bytes{{account=\"{}\",kind=\"{}\",deleted=\"{}\"}} {}",
                label(&u.account), label(&u.kind), u.deleted, u.stored_encrypted_bytes
            );
        }
        let _ = writeln!(out, "# HELP keyhold_account_stored_objects Objects an account stores.");
        let _ = writeln!(out, "# TYPE keyhold_account_stored_objects gauge");
        for u in &usage {
            let _ = writeln!(
                out,
                "keyhold_account_stored_objects{{account=\"{}\",deleted=\"{}\"}} {}",
                label(&u.account), u.deleted, u.objects
            );
        }
        let _ = writeln!(out, "# HELP keyhold_account_key_accessible 1 when the account's key is usable (or Microsoft-managed).");
        let _ = writeln!(out, "# TYPE keyhold_account_key_accessible gauge");
        for u in usage.iter().filter(|u| !u.deleted) {
            let _ = writeln!(
                out,
                "keyhold_account_key_accessible{{account=\"{}\"}} {}",
                label(&u.account),
                u8::from(u.key_status != "KeyInaccessible")
            );
        }
        let counters: [Counter; 5] = [
            ("keyhold_account_training_runs", "Fine-tuning jobs an account created.", |u| u.training_runs),
            ("keyhold_account_trained_tokens", "Tokens an account's succeeded jobs trained on (epochs included).", |u| u.trained_tokens),
            ("keyhold_account_prompt_tokens_served", "Prompt tokens of an account's chat completions.", |u| u.tokens.prompt),
            ("keyhold_account_completion_tokens_served", "Completion tokens an account's deployments produced.", |u| u.tokens.completion),
            ("keyhold_account_chat_requests", "Chat completions an account's deployments answered.", |u| u.tokens.requests),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            for u in &usage {
                let _ = writeln!(out, "{name}{{account=\"{}\",deleted=\"{}\"}} {}", label(&u.account), u.deleted, value(u));
            }
        }
        let _ = writeln!(out, "# HELP keyhold_audit_entries Entries in the audit log.");
        let _ = writeln!(out, "# TYPE keyhold_audit_entries gauge");
        let _ = writeln!(out, "keyhold_audit_entries {audit_len}");
        Ok::<String, ApiError>(out)
    }
    .await;
    match result {
        Ok(text) => {
            let mut response = text.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            response
        }
        Err(err) => err.into_response(),
    }
}

/// A per-account counter: metric name, help text, and how to read it from the usage.
type Counter = (
    &'static str,
    &'static str,
    fn(&keyhold_platform::metering::Usage) -> u64,
);
