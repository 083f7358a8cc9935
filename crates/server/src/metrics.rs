//! The counters keyhold keeps in memory since start (customer-managed key state transitions
//! by target state), served by `GET /metrics` (`metrics_api.rs`).

use std::sync::atomic::{AtomicU64, Ordering};

/// In-memory counters.
#[derive(Debug, Default)]
pub struct Metrics {
    to_active: AtomicU64,
    to_inaccessible: AtomicU64,
}

impl Metrics {
    /// Counts a key state transition.
    pub fn transition(&self, to: keyhold_platform::KeyStatus) {
        let counter = if to == keyhold_platform::KeyStatus::Active {
            &self.to_active
        } else {
            &self.to_inaccessible
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Transitions to `Active` since start.
    pub fn to_active(&self) -> u64 {
        self.to_active.load(Ordering::Relaxed)
    }

    /// Transitions to `KeyInaccessible` since start.
    pub fn to_inaccessible(&self) -> u64 {
        self.to_inaccessible.load(Ordering::Relaxed)
    }
}
