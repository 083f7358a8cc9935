//! The revocation watcher's scheduling: when account keys are re-checked. A key state change
//! (key disabled, deleted, new version, access policy, RBAC or firewall change, expiry, a
//! disabled identity) is recorded on the account and audited.
//!
//! Two workers share [`Platform::recheck`](keyhold_platform::Platform::recheck):
//!
//! - **Targeted**: a change to a vault or one of its keys (on this node or, through the
//!   cluster feed, on another) re-checks the accounts whose key is in that vault. Changes that
//!   arrive while a pass runs are coalesced into the next pass, one per vault.
//! - **Sweep**: every account, every key-check interval (expiry, remote vaults, anything no
//!   event reports) and whenever changes may have been missed (`AllChanged`: a cluster
//!   re-sync, a lagging subscriber).
//!
//! They are separate so that a restored or revoked key takes effect within milliseconds even
//! while a sweep over many accounts (some behind slow or unreachable vaults) is running; a
//! sweep re-checks several accounts at a time for the same reason. Running both at once is
//! safe: each re-check reads the account, probes the vault after that read, and writes only a
//! transition, with compare-and-swap on what it read, so no outcome older than the stored one
//! can overwrite it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use keyhold_platform::Platform;
use keyhold_vault::{AuditEvent, AuditLog, VaultEvent, Vaults};
use tokio::sync::Notify;
use tokio::sync::broadcast::error::RecvError;

use crate::metrics::Metrics;

/// How many accounts one pass re-checks at the same time.
const PARALLEL_RECHECKS: usize = 8;

/// Changes heard but not yet re-checked.
#[derive(Debug, Default, PartialEq)]
struct Pending {
    /// Vaults (lower case) whose accounts the targeted worker re-checks next.
    vaults: BTreeSet<String>,
    /// Whether the sweeper must re-check every account next (and drop cached KEKs).
    everything: bool,
}

impl Pending {
    /// Records `event`; returns which worker to wake.
    fn add(&mut self, event: &VaultEvent) -> Wake {
        match event {
            VaultEvent::KeyChanged { vault, .. } | VaultEvent::VaultChanged { vault } => {
                self.vaults.insert(vault.to_ascii_lowercase());
                Wake::Targeted
            }
            VaultEvent::AllChanged => {
                self.everything = true;
                Wake::Sweeper
            }
        }
    }
}

/// The worker an event is for.
#[derive(Debug, PartialEq)]
enum Wake {
    Targeted,
    Sweeper,
}

/// What the workers share.
struct Watcher {
    platform: Arc<Platform>,
    audit: Arc<AuditLog>,
    metrics: Arc<Metrics>,
    pending: Mutex<Pending>,
    targeted: Notify,
    sweeper: Notify,
}

/// Starts the watcher: a listener for vault events, the targeted worker and the sweeper.
pub fn spawn(
    platform: Arc<Platform>,
    vaults: &Vaults,
    audit: Arc<AuditLog>,
    metrics: Arc<Metrics>,
    interval_secs: u64,
) {
    let watcher = Arc::new(Watcher {
        platform,
        audit,
        metrics,
        pending: Mutex::new(Pending::default()),
        targeted: Notify::new(),
        sweeper: Notify::new(),
    });

    let mut events = vaults.subscribe();
    let listener = watcher.clone();
    tokio::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(RecvError::Lagged(_)) => VaultEvent::AllChanged,
                Err(RecvError::Closed) => return,
            };
            let wake = match listener.pending.lock() {
                Ok(mut pending) => pending.add(&event),
                Err(_) => return,
            };
            // A permit is stored when the worker is busy, so no wake-up is lost.
            match wake {
                Wake::Targeted => listener.targeted.notify_one(),
                Wake::Sweeper => listener.sweeper.notify_one(),
            }
        }
    });

    let targeted = watcher.clone();
    tokio::spawn(async move {
        loop {
            targeted.targeted.notified().await;
            let vaults = match targeted.pending.lock() {
                Ok(mut pending) => std::mem::take(&mut pending.vaults),
                Err(_) => return,
            };
            for vault in vaults {
                targeted.pass(Some(&vault), true).await;
            }
        }
    });

    tokio::spawn(async move {
        // The first timed sweep waits one interval: at start-up the listener (which local
        // vault checks call) is not up yet, and the stored states are still current.
        let period = Duration::from_secs(interval_secs);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = watcher.sweeper.notified() => {}
            }
            let everything = match watcher.pending.lock() {
                Ok(mut pending) => std::mem::take(&mut pending.everything),
                Err(_) => return,
            };
            watcher.pass(None, everything).await;
        }
    });
}

impl Watcher {
    /// Re-checks the accounts whose key is in `vault` (all accounts with a customer-managed
    /// key when `None`), several at a time.
    async fn pass(&self, vault: Option<&str>, drop_cached_keks: bool) {
        let names = match self.platform.cmk_accounts(vault).await {
            Ok(names) => names,
            Err(err) => {
                tracing::warn!(error = %err, "key watcher cannot list accounts");
                return;
            }
        };
        futures::stream::iter(names)
            .for_each_concurrent(PARALLEL_RECHECKS, |name| async move {
                // A change in the vault (an old version disabled, say) must reach KEKs wrapped
                // by any version: drop the cached ones; the next use unwraps again.
                if drop_cached_keks {
                    self.platform.forget_keks(&name);
                }
                self.recheck(&name).await;
            })
            .await;
    }

    /// Re-checks one account; a transition is counted, logged and audited.
    async fn recheck(&self, name: &str) {
        let transition = match self.platform.recheck(name).await {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(account = %name, error = %err, "key re-check failed");
                return;
            }
        };
        // A state change is logged as one; the same state with a new version (the account
        // followed a rotation) or a new reason is logged as what it is.
        if transition.from != transition.to {
            self.metrics.transition(transition.to);
            tracing::info!(account = %transition.account, from = %transition.from,
                to = %transition.to, reason = transition.reason.as_deref().unwrap_or(""),
                "customer-managed key state changed");
        } else {
            tracing::info!(account = %transition.account, status = %transition.to,
                version = %transition.version, reason = transition.reason.as_deref().unwrap_or(""),
                "customer-managed key re-checked: same state, new version or reason");
        }
        let event = AuditEvent {
            caller: "keyhold".into(),
            operation: "AccountKeyStatus".into(),
            vault: Some(transition.vault),
            key: Some(transition.key),
            version: Some(transition.version),
            result: match transition.reason {
                Some(reason) => format!("{} -> {}: {reason}", transition.from, transition.to),
                None => format!("{} -> {}", transition.from, transition.to),
            },
            client_ip: None,
        };
        if let Err(err) = self.audit.append(event).await {
            tracing::warn!(error = %err, "cannot audit a key state change");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_coalesced_per_vault_and_routed_to_their_worker() {
        let mut pending = Pending::default();
        let table = [
            (
                VaultEvent::KeyChanged {
                    vault: "KV-A".into(),
                    key: "k1".into(),
                },
                Wake::Targeted,
            ),
            (
                VaultEvent::KeyChanged {
                    vault: "kv-a".into(),
                    key: "k2".into(),
                },
                Wake::Targeted,
            ),
            (
                VaultEvent::VaultChanged {
                    vault: "kv-b".into(),
                },
                Wake::Targeted,
            ),
            (VaultEvent::AllChanged, Wake::Sweeper),
        ];
        for (event, wake) in &table {
            assert_eq!(&pending.add(event), wake, "{event:?}");
        }
        assert_eq!(
            pending,
            Pending {
                vaults: ["kv-a".to_owned(), "kv-b".to_owned()].into(),
                everything: true,
            }
        );
    }
}
