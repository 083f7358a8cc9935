//! The audit log: every data-plane and management operation, appended to a hash-chained,
//! append-only sequence of records.
//!
//! Each entry carries the SHA-256 hash of its predecessor, and its own hash covers that link
//! plus every field, so removing, reordering or editing any entry breaks the chain at that
//! point; [`verify_chain`] reports the first broken link. A head record (`seq`, `hash`) is
//! updated in the same atomic batch as each append and guarded by compare-and-swap, so two
//! writers (two nodes) can never fork the chain: the loser re-reads the head and retries.
//!
//! Appends are group-committed: one writer task drains whatever entries are waiting and
//! commits them as one record (keyed by the group's last sequence number, holding the group's
//! entries in order) in one durable batch, and each caller's future resolves only after its
//! entry is durable. Under load one fsync covers many operations, so auditing every unwrap costs
//! little throughput while every acknowledged operation is on record.
//!
//! Entries hold names, ids and outcomes, never key material, tokens or payloads.

use std::sync::Arc;

use aws_lc_rs::digest;
use keyhold_store::{Batch, Precondition, RecordStore, StoreError};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

const ENTRIES: &str = "audit.entries";
const HEAD: &str = "audit.head";
const HEAD_KEY: &str = "head";
/// How often a group is re-tried when other writers (nodes) keep moving the head.
const MAX_APPEND_ATTEMPTS: usize = 200;
/// The hash that precedes the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const MAX_GROUP: usize = 256;

/// What happened (the caller fills this in; the log adds sequence, time and hashes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Caller: object id of the principal, or `anonymous`.
    pub caller: String,
    /// Operation, e.g. `KeyUnwrap`, `VaultPut`.
    pub operation: String,
    /// Vault name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
    /// Key name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Key version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Outcome: HTTP status and error code (`200`, `403 Forbidden`).
    pub result: String,
    /// Client address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3, … without gaps.
    pub seq: u64,
    /// Unix milliseconds.
    pub time_ms: u64,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// Hash of the previous entry (hex), [`GENESIS`] for the first.
    pub prev: String,
    /// SHA-256 (hex) over `prev` and the entry's fields.
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Head {
    seq: u64,
    hash: String,
}

/// The hash of an entry: SHA-256 over a canonical rendering of every field but `hash`.
pub fn entry_hash(entry: &AuditEntry) -> String {
    let e = &entry.event;
    let fields: [&str; 9] = [
        &entry.prev,
        &entry.seq.to_string(),
        &entry.time_ms.to_string(),
        &e.caller,
        &e.operation,
        e.vault.as_deref().unwrap_or(""),
        e.key.as_deref().unwrap_or(""),
        e.version.as_deref().unwrap_or(""),
        &e.result,
    ];
    let mut ctx = digest::Context::new(&digest::SHA256);
    for field in fields
        .iter()
        .chain(std::iter::once(&e.client_ip.as_deref().unwrap_or("")))
    {
        // Length-prefixed, so no two different entries render the same bytes.
        ctx.update(&(field.len() as u64).to_be_bytes());
        ctx.update(field.as_bytes());
    }
    hex::encode(ctx.finish().as_ref())
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {seq}: {reason}")]
pub struct ChainBreak {
    /// The first entry that does not verify.
    pub seq: u64,
    /// Why.
    pub reason: String,
}

/// Verifies a run of entries, in order, starting after `prev` (hash) at sequence
/// `prev_seq + 1`. Returns the last (seq, hash).
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = &'a AuditEntry>,
    mut prev_seq: u64,
    prev: &str,
) -> Result<(u64, String), ChainBreak> {
    let mut prev = prev.to_owned();
    for entry in entries {
        let fail = |reason: &str| ChainBreak {
            seq: entry.seq,
            reason: reason.to_owned(),
        };
        if entry.seq != prev_seq + 1 {
            return Err(ChainBreak {
                seq: prev_seq + 1,
                reason: format!(
                    "entry {} is missing (found {} next)",
                    prev_seq + 1,
                    entry.seq
                ),
            });
        }
        if entry.prev != prev {
            return Err(fail("its link does not match the previous entry's hash"));
        }
        if entry_hash(entry) != entry.hash {
            return Err(fail("its contents do not match its hash (edited)"));
        }
        prev_seq = entry.seq;
        prev.clone_from(&entry.hash);
    }
    Ok((prev_seq, prev))
}

type Reply = oneshot::Sender<Result<u64, String>>;

/// How long a group of batched entries waits for more before it is committed.
const BATCH_LINGER: std::time::Duration = std::time::Duration::from_millis(10);

/// The audit log.
pub struct AuditLog {
    records: Arc<dyn RecordStore>,
    queue: mpsc::UnboundedSender<(AuditEvent, Reply)>,
}

impl AuditLog {
    /// Opens the log and starts its writer task (needs a tokio runtime).
    pub fn start(records: Arc<dyn RecordStore>) -> Arc<AuditLog> {
        let (queue, receiver) = mpsc::unbounded_channel();
        tokio::spawn(writer(records.clone(), receiver));
        Arc::new(AuditLog { records, queue })
    }

    /// Appends an event; resolves once it is durable, with its sequence number.
    pub async fn append(&self, event: AuditEvent) -> Result<u64, StoreError> {
        let (reply, wait) = oneshot::channel();
        self.queue
            .send((event, reply))
            .map_err(|_| StoreError::Unavailable("the audit writer has stopped".into()))?;
        wait.await
            .map_err(|_| StoreError::Unavailable("the audit writer has stopped".into()))?
            .map_err(StoreError::Unavailable)
    }

    /// Queues an event for the next group commit without waiting for it to be durable: for
    /// operations that use no key and change nothing (a chat answered by a model already in
    /// memory), whose record may be lost in a crash without hiding any key use. Every key use
    /// and every change is appended with [`AuditLog::append`], which waits.
    pub fn append_batched(&self, event: AuditEvent) {
        let (reply, _) = oneshot::channel();
        if self.queue.send((event, reply)).is_err() {
            tracing::warn!("the audit writer has stopped; a batched audit entry is lost");
        }
    }

    /// Entries after sequence `after`, at most about `max` (whole groups); and whether more
    /// follow.
    pub async fn entries(
        &self,
        after: u64,
        max: usize,
    ) -> Result<(Vec<AuditEntry>, bool), StoreError> {
        let max = max.clamp(1, 100_000);
        let mut out = Vec::new();
        let mut cursor = format!("{after:020}");
        loop {
            // Groups are keyed by their last sequence number: every group after `cursor`
            // holds at least one entry after it.
            let page = self.records.scan(ENTRIES, "", Some(&cursor), 100).await?;
            for (key, record) in &page.items {
                let group: Vec<AuditEntry> = serde_json::from_slice(&record.value)
                    .map_err(|e| StoreError::Decode(e.to_string()))?;
                out.extend(group.into_iter().filter(|e| e.seq > after));
                cursor.clone_from(key);
                if out.len() >= max {
                    let more = page.next.is_some() || key != &page.items[page.items.len() - 1].0;
                    return Ok((out, more));
                }
            }
            if page.next.is_none() {
                return Ok((out, false));
            }
        }
    }

    /// The newest sequence number and hash.
    pub async fn head(&self) -> Result<(u64, String), StoreError> {
        Ok(read_head(self.records.as_ref())
            .await?
            .map_or((0, GENESIS.to_owned()), |(h, _)| (h.seq, h.hash)))
    }
}

async fn read_head(records: &dyn RecordStore) -> Result<Option<(Head, u64)>, StoreError> {
    match records.get(HEAD, HEAD_KEY).await? {
        Some(r) => Ok(Some((
            serde_json::from_slice(&r.value).map_err(|e| StoreError::Decode(e.to_string()))?,
            r.version,
        ))),
        None => Ok(None),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

async fn writer(
    records: Arc<dyn RecordStore>,
    mut receiver: mpsc::UnboundedReceiver<(AuditEvent, Reply)>,
) {
    while let Some(first) = receiver.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(item) => group.push(item),
                Err(_) => break,
            }
        }
        // A group of batched entries only (nobody waits on them) lingers a little for more,
        // so keyless traffic costs one commit per few milliseconds, not one per request; the
        // first entry someone waits on ends the wait at once.
        let nobody_waits = |group: &[(AuditEvent, Reply)]| group.iter().all(|(_, r)| r.is_closed());
        if nobody_waits(&group) {
            let deadline = tokio::time::Instant::now() + BATCH_LINGER;
            while group.len() < MAX_GROUP && nobody_waits(&group) {
                match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Some(item)) => group.push(item),
                    Ok(None) | Err(_) => break,
                }
            }
        }
        let outcome = commit_group(records.as_ref(), &group).await;
        for (i, (_, reply)) in group.into_iter().enumerate() {
            let _ = reply.send(match &outcome {
                Ok(first_seq) => Ok(first_seq + i as u64),
                Err(e) => Err(e.to_string()),
            });
        }
    }
}

/// Appends a group in one batch; retries when another writer moved the head.
async fn commit_group(
    records: &dyn RecordStore,
    group: &[(AuditEvent, Reply)],
) -> Result<u64, StoreError> {
    let mut attempt: u64 = 0;
    for _ in 0..MAX_APPEND_ATTEMPTS {
        let (head, expect) = match read_head(records).await? {
            Some((h, v)) => (h, Precondition::Version(v)),
            None => (
                Head {
                    seq: 0,
                    hash: GENESIS.to_owned(),
                },
                Precondition::Absent,
            ),
        };
        let mut entries = Vec::with_capacity(group.len());
        let (mut seq, mut prev) = (head.seq, head.hash);
        let time_ms = now_ms();
        for (event, _) in group {
            seq += 1;
            let mut entry = AuditEntry {
                seq,
                time_ms,
                event: event.clone(),
                prev: prev.clone(),
                hash: String::new(),
            };
            entry.hash = entry_hash(&entry);
            prev.clone_from(&entry.hash);
            entries.push(entry);
        }
        let bytes = serde_json::to_vec(&entries).map_err(|e| StoreError::Decode(e.to_string()))?;
        let mut batch =
            Batch::new().put_if(ENTRIES, &format!("{seq:020}"), bytes, Precondition::Absent);
        let head = serde_json::to_vec(&Head { seq, hash: prev })
            .map_err(|e| StoreError::Decode(e.to_string()))?;
        batch = batch.put_if(HEAD, HEAD_KEY, head, expect);
        match records.commit(batch).await {
            Ok(_) => return Ok(seq + 1 - group.len() as u64),
            Err(StoreError::Conflict { .. }) => {
                // Another node's writer moved the head. Without a pause the fastest writer
                // keeps winning and the others starve; a short random one spreads them out.
                attempt += 1;
                let jitter = u64::from(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.subsec_nanos())
                        % 1000,
                );
                let pause_us = (attempt.min(20) * 250).saturating_add(jitter * attempt.min(20));
                tokio::time::sleep(std::time::Duration::from_micros(pause_us)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable(
        "the audit log is contended; retry".into(),
    ))
}
