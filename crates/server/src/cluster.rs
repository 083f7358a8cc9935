//! Coherence between the nodes of a cluster (several `keyhold serve` over one PostgreSQL).
//!
//! Every node keeps in-memory lookups (vault records, resolved key versions) and unwrapped
//! account KEKs. A change made on one node must reach the others' caches, or a disabled key
//! would keep working there. So every vault change this node makes is also sent through
//! PostgreSQL `NOTIFY` (after it is committed), and changes from other nodes are applied
//! locally exactly like local ones: caches dropped, the revocation watcher re-checks the
//! affected accounts (typically within tens of milliseconds; the issue's bound is 1 s).
//!
//! `NOTIFY` is not durable, so two fallbacks cover lost messages: a listener that reconnects
//! treats it as "anything may have changed" ([`VaultEvent::AllChanged`]), and so does a
//! periodic timer (the key check interval). Sending retries in order until it succeeds, so a
//! short outage delays notifications rather than losing them.

use std::sync::Arc;
use std::time::Duration;

use keyhold_store_postgres::{FeedMessage, PgRecordStore};
use keyhold_vault::{EventSink, VaultEvent, Vaults};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

/// The longest pause between attempts to send a notification while PostgreSQL is away.
const MAX_SEND_PAUSE: Duration = Duration::from_secs(5);

/// One notification: which node made the change, and the change.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Envelope {
    node: Uuid,
    event: VaultEvent,
}

/// Queues this node's changes for sending.
struct Outbox {
    node: Uuid,
    queue: mpsc::UnboundedSender<String>,
}

impl EventSink for Outbox {
    fn forward(&self, event: &VaultEvent) {
        let envelope = Envelope {
            node: self.node,
            event: event.clone(),
        };
        match serde_json::to_string(&envelope) {
            Ok(payload) => {
                let _ = self.queue.send(payload);
            }
            Err(err) => tracing::warn!(error = %err, "cannot encode a change notification"),
        }
    }
}

/// What a received payload means for this node (`None`: its own change, or not ours).
fn decode_for(node: Uuid, payload: &str) -> Option<VaultEvent> {
    match serde_json::from_str::<Envelope>(payload) {
        Ok(envelope) if envelope.node == node => None,
        Ok(envelope) => Some(envelope.event),
        Err(err) => {
            tracing::warn!(error = %err, "ignoring an unreadable change notification");
            None
        }
    }
}

/// Joins this node to the cluster: sends its vault changes, applies the others', and
/// re-syncs every `resync_every`.
pub fn join(store: &PgRecordStore, vaults: Arc<Vaults>, resync_every: Duration) {
    let node = Uuid::new_v4();
    tracing::info!(%node, "cluster change feed on (PostgreSQL LISTEN/NOTIFY)");
    let (queue, mut outgoing) = mpsc::unbounded_channel::<String>();
    vaults.set_event_sink(Arc::new(Outbox { node, queue }));

    let sender = store.clone();
    tokio::spawn(async move {
        while let Some(payload) = outgoing.recv().await {
            let mut pause = Duration::from_millis(100);
            while let Err(err) = sender.notify(&payload).await {
                tracing::warn!(error = %err, "cannot send a change notification; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_SEND_PAUSE);
            }
        }
    });

    let mut feed = store.listen();
    let receiving = vaults.clone();
    tokio::spawn(async move {
        // The first connection reports a resync too; nothing is cached yet at that point.
        let mut connected_before = false;
        loop {
            match feed.recv().await {
                Ok(FeedMessage::Change(payload)) => {
                    if let Some(event) = decode_for(node, &payload) {
                        receiving.apply_remote(event);
                    }
                }
                Ok(FeedMessage::Resync) => {
                    if connected_before {
                        receiving.apply_remote(VaultEvent::AllChanged);
                    }
                    connected_before = true;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    receiving.apply_remote(VaultEvent::AllChanged);
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });

    tokio::spawn(async move {
        let start = tokio::time::Instant::now() + resync_every;
        let mut tick = tokio::time::interval_at(start, resync_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            vaults.apply_remote(VaultEvent::AllChanged);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_and_own_changes_are_skipped() {
        let me = Uuid::new_v4();
        let other = Uuid::new_v4();
        for event in [
            VaultEvent::KeyChanged {
                vault: "v".into(),
                key: "k".into(),
            },
            VaultEvent::VaultChanged { vault: "v".into() },
            VaultEvent::AllChanged,
        ] {
            let payload = serde_json::to_string(&Envelope {
                node: other,
                event: event.clone(),
            })
            .unwrap();
            assert_eq!(decode_for(me, &payload), Some(event.clone()));
            assert_eq!(
                decode_for(other, &payload),
                None,
                "own change applied twice"
            );
        }
        assert_eq!(decode_for(me, "not json"), None);
        assert_eq!(decode_for(me, r#"{"node":"x","event":{}}"#), None);
    }
}
