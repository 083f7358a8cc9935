//! The steps of a master-key rotation (start, prepare, commit, apply, verify, finish); the
//! design and its crash-safety argument are in `master_key_rotation.rs`.

use keyhold_store::{Batch, Precondition, RecordStore, StoreError, decode, encode};

use crate::master_key_check::{
    CHECK_KEY, HISTORY_KEY, KeyHistory, ROTATION_KEY, RetiredKey, RotationPhase, RotationRecord,
    SYSTEM, check_value, opens_check, retired_check, rotation_check,
};
use crate::master_key_rotation::{
    MAX_BATCH_RECORDS, Pending, Reached, Rotation, RotationError, RotationProgress, RotationStep,
    SHADOWS, Shadow, Standing, assess, observe, shadow_key,
};
use crate::master_key_sites::{ResealError, reseal_record, sealed_namespaces};

const MAX_BATCH_VALUE_BYTES: usize = 32 * 1024 * 1024;
/// Records per scan page.
pub(crate) const PAGE: usize = 1000;

/// Commits a batch; a failed precondition means something else wrote the record.
pub(crate) async fn commit(
    records: &dyn RecordStore,
    progress: &dyn RotationProgress,
    pending: Pending,
) -> Result<(), RotationError> {
    if pending.batch.is_empty() {
        return Ok(());
    }
    match records.commit(pending.batch).await {
        Ok(_) => {
            progress.durable_write();
            Ok(())
        }
        Err(StoreError::Conflict { namespace, key, .. }) => {
            Err(RotationError::StoreChanged(format!("{namespace}/{key}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Records of every master-sealed namespace (for the progress bar).
pub(crate) async fn count(
    records: &dyn RecordStore,
    namespaces: &[&str],
) -> Result<u64, StoreError> {
    let mut total = 0u64;
    for namespace in namespaces {
        let mut after: Option<String> = None;
        loop {
            let page = records.scan(namespace, "", after.as_deref(), PAGE).await?;
            total += page.items.len() as u64;
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    Ok(total)
}

impl Rotation<'_> {
    fn full(&self, pending: &Pending) -> bool {
        pending.records >= self.batch.clamp(1, MAX_BATCH_RECORDS)
            || pending.bytes >= MAX_BATCH_VALUE_BYTES
    }

    fn reseal(
        &self,
        namespace: &str,
        key: &str,
        value: &[u8],
    ) -> Result<Option<Vec<u8>>, RotationError> {
        reseal_record(namespace, key, value, self.resealer, self.now).map_err(|source| {
            RotationError::Record {
                namespace: namespace.to_owned(),
                key: key.to_owned(),
                source: Box::new(source),
            }
        })
    }

    fn file_error(&self, source: ResealError) -> RotationError {
        RotationError::File {
            path: self.ca.path().to_path_buf(),
            source: Box::new(source),
        }
    }

    fn counted(&mut self, namespace: &str) {
        *self
            .summary
            .resealed
            .entry(namespace.to_owned())
            .or_default() += 1;
    }

    /// Runs the rotation from wherever the store stands up to [`Reached::Verified`] (or finds
    /// it already done). Every step checks the keys against the store again first.
    pub(crate) async fn advance(
        &mut self,
        records: &dyn RecordStore,
    ) -> Result<Reached, RotationError> {
        let mut first = true;
        loop {
            let seen = observe(records).await?;
            let standing = assess(
                &seen,
                self.resealer.old(),
                Some(self.resealer.new_key()),
                self.origin,
            )?;
            match standing {
                Standing::AlreadyRotated => {
                    self.summary.already_rotated = true;
                    // Another node's own file, after the shared store was rotated from elsewhere.
                    if self
                        .ca
                        .apply(self.resealer)
                        .map_err(|e| self.file_error(e))?
                    {
                        self.progress.durable_write();
                        self.summary.files.push(self.ca.path().to_path_buf());
                    }
                    return Ok(Reached::AlreadyRotated);
                }
                Standing::Fresh => {
                    let record = RotationRecord {
                        old_check: rotation_check(self.resealer.old())?,
                        new_check: rotation_check(self.resealer.new_key())?,
                        phase: RotationPhase::Preparing,
                        started: self.now,
                    };
                    let check = seen.check.map_or(0, |c| c.version);
                    let batch = Batch::new()
                        .check(SYSTEM, CHECK_KEY, Precondition::Version(check))
                        .put_if(SYSTEM, ROTATION_KEY, encode(&record)?, Precondition::Absent);
                    let mut pending = Pending::new();
                    pending.batch = batch;
                    commit(records, self.progress, pending).await?;
                }
                Standing::InProgress(record, version) => {
                    if first {
                        self.summary.resumed_from = Some(record.phase);
                    }
                    match record.phase {
                        RotationPhase::Preparing => {
                            self.prepare(records).await?;
                            let check = seen.check.ok_or(RotationError::NoCheckRecord)?;
                            if !opens_check(self.resealer.old(), &check.value) {
                                return Err(RotationError::OldKeyMismatch(self.origin.clone()));
                            }
                            let committed = RotationRecord {
                                phase: RotationPhase::Committed,
                                ..record
                            };
                            let mut pending = Pending::new();
                            pending.batch = Batch::new()
                                .put_if(
                                    SYSTEM,
                                    CHECK_KEY,
                                    check_value(self.resealer.new_key())?,
                                    Precondition::Version(check.version),
                                )
                                .put_if(
                                    SYSTEM,
                                    ROTATION_KEY,
                                    encode(&committed)?,
                                    Precondition::Version(version),
                                );
                            commit(records, self.progress, pending).await?;
                        }
                        RotationPhase::Committed => {
                            self.apply(records).await?;
                            self.verify(records).await?;
                            let verified = RotationRecord {
                                phase: RotationPhase::Verified,
                                ..record
                            };
                            let mut pending = Pending::new();
                            pending.batch = Batch::new().put_if(
                                SYSTEM,
                                ROTATION_KEY,
                                encode(&verified)?,
                                Precondition::Version(version),
                            );
                            commit(records, self.progress, pending).await?;
                        }
                        RotationPhase::Verified => return Ok(Reached::Verified),
                    }
                }
            }
            first = false;
        }
    }

    /// Step 2: a shadow for every record that holds a value under the old key.
    async fn prepare(&mut self, records: &dyn RecordStore) -> Result<(), RotationError> {
        let namespaces: Vec<&str> = sealed_namespaces().collect();
        self.progress
            .step(RotationStep::Prepare, count(records, &namespaces).await?);
        for namespace in namespaces {
            let mut after: Option<String> = None;
            let mut pending = Pending::new();
            loop {
                let page = records.scan(namespace, "", after.as_deref(), PAGE).await?;
                for (key, record) in &page.items {
                    self.progress.advance(1);
                    let skey = shadow_key(namespace, key)?;
                    let existing = records.get(SHADOWS, &skey).await?;
                    let made_from = existing
                        .as_ref()
                        .map(|e| decode::<Shadow>(&e.value).map(|s| s.source_version))
                        .transpose()?;
                    if made_from == Some(record.version) {
                        continue;
                    }
                    let expect = existing
                        .as_ref()
                        .map_or(Precondition::Absent, |e| Precondition::Version(e.version));
                    let Some(value) = self.reseal(namespace, key, &record.value)? else {
                        if existing.is_some() {
                            pending.batch = std::mem::take(&mut pending.batch)
                                .delete_if(SHADOWS, &skey, expect);
                        }
                        continue;
                    };
                    let shadow = encode(&Shadow {
                        namespace: namespace.to_owned(),
                        key: key.clone(),
                        source_version: record.version,
                        value: hex::encode(&value),
                    })?;
                    pending.bytes += shadow.len();
                    pending.records += 1;
                    pending.batch = std::mem::take(&mut pending.batch)
                        .check(namespace, key, Precondition::Version(record.version))
                        .put_if(SHADOWS, &skey, shadow, expect);
                    if self.full(&pending) {
                        commit(
                            records,
                            self.progress,
                            std::mem::replace(&mut pending, Pending::new()),
                        )
                        .await?;
                    }
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            commit(records, self.progress, pending).await?;
        }
        if self
            .ca
            .prepare(self.resealer)
            .map_err(|e| self.file_error(e))?
        {
            self.progress.durable_write();
        }
        Ok(())
    }

    /// Step 4: every shadow replaces its original (or, if the original changed since, what it
    /// holds now is re-sealed), and is deleted in the same batch.
    async fn apply(&mut self, records: &dyn RecordStore) -> Result<(), RotationError> {
        self.progress
            .step(RotationStep::Apply, count(records, &[SHADOWS]).await?);
        let mut after: Option<String> = None;
        let mut pending = Pending::new();
        loop {
            let page = records.scan(SHADOWS, "", after.as_deref(), PAGE).await?;
            for (skey, stored) in &page.items {
                self.progress.advance(1);
                let shadow: Shadow = decode(&stored.value)?;
                let drop_shadow = Precondition::Version(stored.version);
                let current = records.get(&shadow.namespace, &shadow.key).await?;
                let mut batch = std::mem::take(&mut pending.batch);
                match current {
                    None => {}
                    Some(current) if current.version == shadow.source_version => {
                        let value = hex::decode(&shadow.value)
                            .map_err(|_| StoreError::Decode(format!("shadow {skey} is damaged")))?;
                        pending.bytes += value.len();
                        batch = batch.put_if(
                            &shadow.namespace,
                            &shadow.key,
                            value,
                            Precondition::Version(current.version),
                        );
                        self.counted(&shadow.namespace);
                    }
                    Some(current) => {
                        if let Some(value) =
                            self.reseal(&shadow.namespace, &shadow.key, &current.value)?
                        {
                            pending.bytes += value.len();
                            batch = batch.put_if(
                                &shadow.namespace,
                                &shadow.key,
                                value,
                                Precondition::Version(current.version),
                            );
                            self.counted(&shadow.namespace);
                            self.summary.late += 1;
                        }
                    }
                }
                pending.batch = batch.delete_if(SHADOWS, skey, drop_shadow);
                pending.records += 1;
                if self.full(&pending) {
                    commit(
                        records,
                        self.progress,
                        std::mem::replace(&mut pending, Pending::new()),
                    )
                    .await?;
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        commit(records, self.progress, pending).await?;
        if self
            .ca
            .apply(self.resealer)
            .map_err(|e| self.file_error(e))?
        {
            self.progress.durable_write();
            self.summary.files.push(self.ca.path().to_path_buf());
        }
        Ok(())
    }

    /// Step 5: everything opens with the new key; stragglers under the old key are re-sealed.
    async fn verify(&mut self, records: &dyn RecordStore) -> Result<(), RotationError> {
        let namespaces: Vec<&str> = sealed_namespaces().collect();
        self.progress
            .step(RotationStep::Verify, count(records, &namespaces).await?);
        for namespace in namespaces {
            let mut after: Option<String> = None;
            let mut pending = Pending::new();
            loop {
                let page = records.scan(namespace, "", after.as_deref(), PAGE).await?;
                for (key, record) in &page.items {
                    self.progress.advance(1);
                    if let Some(value) = self.reseal(namespace, key, &record.value)? {
                        pending.bytes += value.len();
                        pending.records += 1;
                        pending.batch = std::mem::take(&mut pending.batch).put_if(
                            namespace,
                            key,
                            value,
                            Precondition::Version(record.version),
                        );
                        self.counted(namespace);
                        self.summary.late += 1;
                        if self.full(&pending) {
                            commit(
                                records,
                                self.progress,
                                std::mem::replace(&mut pending, Pending::new()),
                            )
                            .await?;
                        }
                    }
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            commit(records, self.progress, pending).await?;
        }
        let check = records
            .get(SYSTEM, CHECK_KEY)
            .await?
            .ok_or(RotationError::NoCheckRecord)?;
        if !opens_check(self.resealer.new_key(), &check.value) {
            return Err(RotationError::StoreChanged(format!("{SYSTEM}/{CHECK_KEY}")));
        }
        if self
            .ca
            .apply(self.resealer)
            .map_err(|e| self.file_error(e))?
        {
            self.progress.durable_write();
            self.summary.late += 1;
        }
        if !self
            .ca
            .opens_with(self.resealer.new_key())
            .map_err(|e| self.file_error(e))?
        {
            return Err(RotationError::StoreChanged(
                self.ca.path().display().to_string(),
            ));
        }
        Ok(())
    }

    /// Step 6 (after any store rewrite): removes the rotation record and records the old key
    /// as retired, in one batch. Only the new key opens the data from here on.
    pub(crate) async fn finish(&mut self, records: &dyn RecordStore) -> Result<(), RotationError> {
        let Some(rotation) = records.get(SYSTEM, ROTATION_KEY).await? else {
            return Ok(());
        };
        let record: RotationRecord = decode(&rotation.value)?;
        if record.phase != RotationPhase::Verified {
            return Err(RotationError::StoreChanged(format!(
                "{SYSTEM}/{ROTATION_KEY}"
            )));
        }
        let stored = records.get(SYSTEM, HISTORY_KEY).await?;
        let mut history = match &stored {
            Some(h) => decode::<KeyHistory>(&h.value)?,
            None => KeyHistory::default(),
        };
        history.retired.push(RetiredKey {
            check: retired_check(self.resealer.old())?,
            retired: self.now,
        });
        let mut pending = Pending::new();
        pending.batch = Batch::new()
            .delete_if(
                SYSTEM,
                ROTATION_KEY,
                Precondition::Version(rotation.version),
            )
            .put_if(
                SYSTEM,
                HISTORY_KEY,
                encode(&history)?,
                stored.map_or(Precondition::Absent, |h| Precondition::Version(h.version)),
            );
        commit(records, self.progress, pending).await
    }
}

#[cfg(test)]
#[path = "master_key_rotation_tests.rs"]
mod tests;
