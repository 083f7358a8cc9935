//! Fine-tuning jobs on the real embedded store: the job's scratch is ciphertext under an
//! ephemeral key (no training text reaches the disk, so `hbiWorkspace` needs no special path);
//! a job whose worker died too often fails with `job_interrupted` instead of staying `running`;
//! scratch left behind is swept; a normal run makes a model and leaves no scratch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use keyhold_platform::finetune::{FineTuneJob, JobRequest};
use keyhold_platform::trainer::{BuiltinTrainer, ExternalTrainer, Trainer};
use keyhold_store::{BlobStore, LocalBlobStore, Precondition, RecordStoreExt, RedbRecordStore};
use tokio::io::AsyncReadExt;

const SECRET_PROMPT: &str = "the launch code is tangerine-violet-42";

async fn wait_until<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not reached in 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scratch_is_ciphertext_interrupted_jobs_fail_and_normal_jobs_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let records = Arc::new(RedbRecordStore::open(&dir.path().join("store.redb")).unwrap());
    let blobs: Arc<dyn BlobStore> =
        Arc::new(LocalBlobStore::open(&dir.path().join("blobs")).unwrap());
    let platform = common::mmk_platform(records.clone(), blobs.clone());
    let account = common::mmk_account(&platform, "acct").await;
    let training: String = (0..20)
        .map(|i| {
            serde_json::json!({ "messages": [
                { "role": "user", "content": format!("{SECRET_PROMPT} #{i}") },
                { "role": "assistant", "content": format!("answer {i}") },
            ] })
            .to_string()
                + "\n"
        })
        .collect();
    let mut upload = platform
        .begin_upload(&account, "t.jsonl", "fine-tune", u64::MAX)
        .await
        .unwrap();
    upload.write(training.as_bytes()).await.unwrap();
    let file = upload.finish().await.unwrap();
    let request = || JobRequest {
        model: "gpt-4o-mini".into(),
        training_file: file.id.clone(),
        n_epochs: Some(2),
        ..JobRequest::default()
    };

    // A trainer that never finishes: the job stays running with its scratch in place.
    let stuck: Arc<dyn Trainer> = Arc::new(ExternalTrainer {
        command: vec!["sh".into(), "-c".into(), "cat >/dev/null; sleep 600".into()],
    });
    let job = platform.create_job(&account, request()).await.unwrap();
    let worker = {
        let (platform, stuck) = (platform.clone(), stuck.clone());
        tokio::spawn(async move { platform.finetune_step("w1", &stuck).await })
    };
    wait_until(|| async { platform.job(&account, &job.id).await.unwrap().status == "running" })
        .await;
    let scratch = blobs.list("scratch/", None, 10).await.unwrap();
    assert_eq!(scratch.len(), 1, "the prepared dataset is in scratch");
    let mut raw = Vec::new();
    blobs
        .get(&scratch[0].key)
        .await
        .unwrap()
        .reader
        .read_to_end(&mut raw)
        .await
        .unwrap();
    assert!(raw.len() > training.len() / 2);
    let needle = b"tangerine-violet";
    assert!(
        !raw.windows(needle.len()).any(|w| w == needle),
        "scratch must be ciphertext"
    );

    // The worker dies (its task is dropped, the trainer killed): the lease is left behind.
    worker.abort();
    let _ = worker.await;
    let key = format!("acct/{}", job.id);
    let (mut stored, version) = records
        .get_typed::<FineTuneJob>("platform.finetune_jobs", &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "running");
    assert_eq!(stored.attempts, 1);
    // Pretend it already died twice more and its lease ran out.
    stored.attempts = 3;
    stored.lease_until = 0;
    records
        .put_typed(
            "platform.finetune_jobs",
            &key,
            &stored,
            Precondition::Version(version),
        )
        .await
        .unwrap();
    let builtin: Arc<dyn Trainer> = Arc::new(BuiltinTrainer);
    assert!(platform.finetune_step("w2", &builtin).await.unwrap());
    let failed = platform.job(&account, &job.id).await.unwrap();
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.error.unwrap().code, "job_interrupted");
    assert!(
        !platform.finetune_step("w2", &builtin).await.unwrap(),
        "nothing left to run"
    );

    // The dead worker's scratch is unreadable without its key; the start-up sweep removes it.
    assert_eq!(platform.sweep_scratch().await.unwrap(), 1);
    assert!(blobs.list("scratch/", None, 10).await.unwrap().is_empty());

    // A normal run: a model, a results file, no scratch left.
    let job = platform.create_job(&account, request()).await.unwrap();
    assert!(platform.finetune_step("w3", &builtin).await.unwrap());
    let done = platform.job(&account, &job.id).await.unwrap();
    assert_eq!(done.status, "succeeded", "{:?}", done.error);
    assert_eq!(done.checkpoints.len(), 2);
    let model = platform
        .fine_tuned_model(&account, done.fine_tuned_model.as_deref().unwrap())
        .await
        .unwrap();
    let artifact = platform.model_artifact(&account, &model).await.unwrap();
    assert!(String::from_utf8_lossy(&artifact).contains("keyhold-responder/1"));
    assert!(blobs.list("scratch/", None, 10).await.unwrap().is_empty());
    // The model's ciphertext does not hold the training text either.
    let mut raw = Vec::new();
    blobs
        .get(&model.blob)
        .await
        .unwrap()
        .reader
        .read_to_end(&mut raw)
        .await
        .unwrap();
    assert!(!raw.windows(needle.len()).any(|w| w == needle));
}
