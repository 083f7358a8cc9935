//! Trainers: a fine-tuning job hands one the decrypted conversations and gets back epoch
//! reports and, at the end, a model artifact.
//!
//! A run is a stream of [`TrainerEvent`]s; dropping the run stops the trainer (the built-in
//! one's task is aborted, an external command is killed), which is how a job stops at once
//! when it is cancelled or its key becomes unusable.
//!
//! [`ExternalTrainer`] runs a command: the conversations go to its stdin, the artifact comes
//! back on its stdout and epoch reports on its stderr, so no plaintext training data is ever
//! written to disk by keyhold (what the command does with it is the command's business; run it
//! in a sandbox if it is not yours).

use std::process::Stdio;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::responder::{ChatMessage, Pair, Responder};

/// Largest artifact accepted from a trainer.
pub const MAX_ARTIFACT: usize = 256 * 1024 * 1024;

/// One training conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// Its messages.
    pub messages: Vec<ChatMessage>,
}

/// What a trainer learns from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainingData {
    /// Training conversations.
    pub train: Vec<Example>,
    /// Validation conversations (may be empty).
    pub validation: Vec<Example>,
}

/// Hyperparameters (resolved: no `auto`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyperparameters {
    /// Passes over the data.
    pub n_epochs: u32,
    /// Examples per step.
    pub batch_size: u32,
    /// Learning-rate multiplier.
    pub learning_rate_multiplier: f64,
}

/// What a job asks a trainer to do.
#[derive(Debug, Clone)]
pub struct TrainingRequest {
    /// Base model.
    pub base_model: String,
    /// Hyperparameters.
    pub hyperparameters: Hyperparameters,
    /// Seed.
    pub seed: u64,
    /// Data.
    pub data: TrainingData,
}

/// One epoch's report.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: u32,
    /// Steps done so far.
    pub step: u64,
    /// Training loss.
    pub train_loss: f64,
    /// Training accuracy.
    pub train_accuracy: f64,
    /// Validation loss, with a validation set.
    pub valid_loss: Option<f64>,
    /// Validation accuracy.
    pub valid_accuracy: Option<f64>,
    /// The model as of this epoch, when the trainer offers one.
    pub checkpoint: Option<Vec<u8>>,
}

/// What a run reports.
#[derive(Debug)]
pub enum TrainerEvent {
    /// An epoch finished.
    Epoch(EpochReport),
    /// Training finished with this artifact.
    Done(Vec<u8>),
    /// Training failed (the message names no training data).
    Failed(String),
}

/// A running training; drop it to stop the trainer.
pub struct TrainingRun {
    events: mpsc::Receiver<TrainerEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl TrainingRun {
    /// The next event; `None` when the trainer stopped without a final event.
    pub async fn next(&mut self) -> Option<TrainerEvent> {
        self.events.recv().await
    }
}

impl Drop for TrainingRun {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A trainer.
pub trait Trainer: Send + Sync {
    /// A short name for events (`built-in responder`, the command's name).
    fn name(&self) -> String;
    /// Starts training.
    fn start(&self, request: TrainingRequest) -> TrainingRun;
}

/// The number of optimizer steps of an epoch.
fn steps_per_epoch(examples: usize, batch: u32) -> u64 {
    (examples as u64).div_ceil(u64::from(batch.max(1)))
}

/// The built-in trainer ([`Responder`]).
#[derive(Debug, Default)]
pub struct BuiltinTrainer;

impl Trainer for BuiltinTrainer {
    fn name(&self) -> String {
        "built-in responder".into()
    }

    fn start(&self, request: TrainingRequest) -> TrainingRun {
        let (tx, events) = mpsc::channel(16);
        let task = tokio::spawn(async move {
            let pairs = |examples: &[Example]| -> Vec<Pair> {
                examples
                    .iter()
                    .filter_map(|e| Pair::from_messages(&e.messages))
                    .collect()
            };
            let train = pairs(&request.data.train);
            let validation = pairs(&request.data.validation);
            if train.is_empty() {
                let _ = tx
                    .send(TrainerEvent::Failed(
                        "the training file has no user message followed by an assistant reply"
                            .into(),
                    ))
                    .await;
                return;
            }
            let mut responder = Responder::new(&request.base_model, train);
            let steps =
                steps_per_epoch(responder.examples.len(), request.hyperparameters.batch_size);
            for epoch in 1..=request.hyperparameters.n_epochs {
                let (back, train_metrics) = match tokio::task::spawn_blocking(move || {
                    let m = responder.epoch(request.seed, epoch);
                    (responder, m)
                })
                .await
                {
                    Ok(done) => done,
                    Err(_) => {
                        let _ = tx
                            .send(TrainerEvent::Failed("the trainer crashed".into()))
                            .await;
                        return;
                    }
                };
                responder = back;
                let valid = (!validation.is_empty()).then(|| responder.evaluate(&validation));
                let report = EpochReport {
                    epoch,
                    step: steps * u64::from(epoch),
                    train_loss: train_metrics.loss,
                    train_accuracy: train_metrics.accuracy,
                    valid_loss: valid.map(|v| v.loss),
                    valid_accuracy: valid.map(|v| v.accuracy),
                    checkpoint: Some(responder.to_artifact()),
                };
                if tx.send(TrainerEvent::Epoch(report)).await.is_err() {
                    return;
                }
            }
            let _ = tx.send(TrainerEvent::Done(responder.to_artifact())).await;
        });
        TrainingRun { events, task }
    }
}

/// A trainer that runs a command.
///
/// Protocol: keyhold writes to the command's stdin one JSON object per line — first
/// `{"keyhold_trainer": 1, "base_model": …, "hyperparameters": {…}, "seed": …}`, then one
/// `{"split": "train"|"validation", "messages": […]}` per conversation — and closes it. The
/// command writes the artifact to stdout, and may write progress to stderr as JSON lines
/// `{"epoch": n, "step": s, "train_loss": x, "train_accuracy": y, "valid_loss": …,
/// "valid_accuracy": …}` (other stderr lines are ignored, so they never reach keyhold's logs,
/// where they could leak training data). Exit status 0 means success. An artifact in the
/// built-in responder format is served by the built-in inference backend; any other artifact
/// needs the upstream inference endpoint.
#[derive(Debug, Clone)]
pub struct ExternalTrainer {
    /// Program and arguments.
    pub command: Vec<String>,
}

impl Trainer for ExternalTrainer {
    fn name(&self) -> String {
        self.command.first().cloned().unwrap_or_default()
    }

    fn start(&self, request: TrainingRequest) -> TrainingRun {
        let (tx, events) = mpsc::channel(16);
        let command = self.command.clone();
        let task = tokio::spawn(async move {
            let outcome = run_command(&command, request, &tx).await;
            let _ = tx
                .send(match outcome {
                    Ok(artifact) => TrainerEvent::Done(artifact),
                    Err(message) => TrainerEvent::Failed(message),
                })
                .await;
        });
        TrainingRun { events, task }
    }
}

async fn run_command(
    command: &[String],
    request: TrainingRequest,
    tx: &mpsc::Sender<TrainerEvent>,
) -> Result<Vec<u8>, String> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| "no trainer command is configured".to_owned())?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the trainer command {program}: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("the trainer has no stdin")?;
    let mut stdout = child.stdout.take().ok_or("the trainer has no stdout")?;
    let stderr = child.stderr.take().ok_or("the trainer has no stderr")?;

    let header = serde_json::json!({
        "keyhold_trainer": 1,
        "base_model": request.base_model,
        "hyperparameters": request.hyperparameters,
        "seed": request.seed,
    });
    let feed = async move {
        let mut line = serde_json::to_vec(&header).unwrap_or_default();
        line.push(b'\n');
        stdin.write_all(&line).await?;
        let splits = [
            ("train", &request.data.train),
            ("validation", &request.data.validation),
        ];
        for (split, examples) in splits {
            for example in examples {
                let mut line = serde_json::to_vec(
                    &serde_json::json!({ "split": split, "messages": example.messages }),
                )
                .unwrap_or_default();
                line.push(b'\n');
                stdin.write_all(&line).await?;
            }
        }
        stdin.shutdown().await
    };
    let read_artifact = async move {
        let mut artifact = Vec::new();
        (&mut stdout)
            .take(MAX_ARTIFACT as u64 + 1)
            .read_to_end(&mut artifact)
            .await?;
        Ok::<_, std::io::Error>(artifact)
    };
    let progress = async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(report) = parse_progress(&line)
                && tx.send(TrainerEvent::Epoch(report)).await.is_err()
            {
                break;
            }
        }
    };
    let (fed, artifact, ()) = tokio::join!(feed, read_artifact, progress);
    let status = child
        .wait()
        .await
        .map_err(|e| format!("the trainer command failed: {e}"))?;
    if !status.success() {
        return Err(format!("the trainer command exited with {status}"));
    }
    fed.map_err(|e| format!("the trainer command stopped reading its input: {e}"))?;
    let artifact = artifact.map_err(|e| format!("cannot read the trainer's artifact: {e}"))?;
    if artifact.len() > MAX_ARTIFACT {
        return Err(format!("the artifact is larger than {MAX_ARTIFACT} bytes"));
    }
    if artifact.is_empty() {
        return Err("the trainer command wrote no artifact".into());
    }
    Ok(artifact)
}

/// Reads one progress line of an external trainer (`None` for anything else).
pub fn parse_progress(line: &str) -> Option<EpochReport> {
    let v: Value = serde_json::from_str(line.trim()).ok()?;
    let epoch = u32::try_from(v.get("epoch")?.as_u64()?).ok()?;
    let f = |k: &str| v.get(k).and_then(Value::as_f64);
    Some(EpochReport {
        epoch,
        step: v.get("step").and_then(Value::as_u64).unwrap_or(0),
        train_loss: f("train_loss").unwrap_or(0.0),
        train_accuracy: f("train_accuracy").unwrap_or(0.0),
        valid_loss: f("valid_loss"),
        valid_accuracy: f("valid_accuracy"),
        checkpoint: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(n_epochs: u32) -> TrainingRequest {
        let ex = |p: &str, r: &str| Example {
            messages: vec![
                ChatMessage {
                    role: "user".into(),
                    content: p.into(),
                },
                ChatMessage {
                    role: "assistant".into(),
                    content: r.into(),
                },
            ],
        };
        TrainingRequest {
            base_model: "gpt-4o-mini".into(),
            hyperparameters: Hyperparameters {
                n_epochs,
                batch_size: 1,
                learning_rate_multiplier: 1.0,
            },
            seed: 42,
            data: TrainingData {
                train: vec![
                    ex("ping", "pong"),
                    ex("marco", "polo"),
                    ex("knock knock", "who is there"),
                ],
                validation: vec![ex("ping?", "pong")],
            },
        }
    }

    #[tokio::test]
    async fn builtin_reports_every_epoch_then_the_artifact() {
        let mut run = BuiltinTrainer.start(request(3));
        let mut epochs = Vec::new();
        let artifact = loop {
            match run.next().await.unwrap() {
                TrainerEvent::Epoch(e) => epochs.push(e),
                TrainerEvent::Done(a) => break a,
                TrainerEvent::Failed(m) => panic!("{m}"),
            }
        };
        assert_eq!(
            epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(epochs[2].step, 9);
        assert_eq!(epochs[2].valid_accuracy, Some(1.0));
        let model = Responder::from_artifact(&artifact).unwrap();
        assert_eq!(model.answer("marco"), "polo");
    }

    #[tokio::test]
    async fn external_command_gets_the_data_on_stdin_and_returns_stdout() {
        // Counts the lines it was given, reports one epoch, and answers with the count.
        let script = r#"n=$(wc -l); echo "not json" >&2; echo '{"epoch":1,"step":4,"train_loss":0.5}' >&2; printf "lines=%s" "$n""#;
        let trainer = ExternalTrainer {
            command: vec!["sh".into(), "-c".into(), script.into()],
        };
        let mut run = trainer.start(request(1));
        let mut epochs = Vec::new();
        let artifact = loop {
            match run.next().await.unwrap() {
                TrainerEvent::Epoch(e) => epochs.push(e),
                TrainerEvent::Done(a) => break a,
                TrainerEvent::Failed(m) => panic!("{m}"),
            }
        };
        // Header + 3 train + 1 validation.
        assert_eq!(String::from_utf8(artifact).unwrap().trim(), "lines=5");
        assert_eq!(epochs.len(), 1);
        assert_eq!(epochs[0].train_loss, 0.5);
    }

    #[tokio::test]
    async fn external_failures_are_reported_without_data() {
        for (command, expected) in [
            (
                vec![
                    "sh".to_owned(),
                    "-c".into(),
                    "cat >/dev/null; echo secret-data >&2; exit 3".into(),
                ],
                "exited",
            ),
            (
                vec!["sh".to_owned(), "-c".into(), "cat >/dev/null".into()],
                "no artifact",
            ),
            (vec!["/nonexistent/trainer".to_owned()], "cannot start"),
        ] {
            let mut run = ExternalTrainer { command }.start(request(1));
            match run.next().await.unwrap() {
                TrainerEvent::Failed(m) => {
                    assert!(m.contains(expected), "{m}");
                    assert!(!m.contains("secret"), "{m}");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
