//! The built-in model: a retrieval responder over the training conversations.
//!
//! A trained responder answers a conversation with the assistant reply of the training
//! example whose user prompt is most similar to the conversation's last user message.
//! Similarity is a weighted overlap of word unigrams and bigrams, normalised by length;
//! the weights start at the n-grams' inverse document frequency and are *learned*: each epoch
//! walks the examples in a seeded order and, whenever an example's prompt scores a wrong reply
//! within the margin of its own, raises the weights of the n-grams that identify it and lowers
//! those shared with the impostor (a perceptron on the ranking). Loss is the mean hinge loss of
//! that ranking; accuracy is the share of examples ranked first. Deterministic for a seed.
//!
//! It is small on purpose: it trains on one core in milliseconds per thousand examples, so the
//! whole fine-tuning story (jobs, checkpoints, encrypted artifacts, deployments, revocation)
//! runs for real on a laptop. Users with a real trainer plug it in through
//! [`crate::trainer::ExternalTrainer`].

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// The artifact format this module reads and writes.
pub const FORMAT: &str = "keyhold-responder/1";
const MARGIN: f64 = 0.1;
const STEP: f64 = 0.25;
/// Negatives examined per example and epoch (keeps an epoch linear in the data size).
const NEGATIVES: usize = 32;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// Text.
    pub content: String,
}

/// A training conversation reduced to what the responder learns: the last user prompt before
/// the last assistant reply, and that reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// The user prompt.
    pub prompt: String,
    /// The assistant reply.
    pub response: String,
}

impl Pair {
    /// The pair of a conversation (`None` without a user message followed by a reply).
    pub fn from_messages(messages: &[ChatMessage]) -> Option<Pair> {
        let reply = messages.iter().rposition(|m| m.role == "assistant")?;
        let prompt = messages[..reply].iter().rev().find(|m| m.role == "user")?;
        Some(Pair {
            prompt: prompt.content.clone(),
            response: messages[reply].content.clone(),
        })
    }
}

/// A trained (or training) responder: the artifact's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Responder {
    /// [`FORMAT`].
    pub format: String,
    /// The base model it was tuned from.
    pub base_model: String,
    /// Learned n-gram weights.
    pub weights: BTreeMap<String, f64>,
    /// The examples it answers from.
    pub examples: Vec<Pair>,
    #[serde(skip)]
    grams: Vec<HashSet<String>>,
}

/// Lower-cased word tokens.
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A count of tokens as the usage fields report them (words and punctuation marks).
pub fn count_tokens(text: &str) -> u64 {
    // The same count as `tokens(text).len()` plus the punctuation marks, in one pass and
    // without allocating (it runs on every chat request).
    let mut count = 0u64;
    let mut in_word = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if !in_word {
                count += 1;
                in_word = true;
            }
        } else {
            in_word = false;
            if c.is_ascii_punctuation() {
                count += 1;
            }
        }
    }
    count
}

fn grams(text: &str) -> HashSet<String> {
    let words = tokens(text);
    let mut out: HashSet<String> = words.iter().cloned().collect();
    for pair in words.windows(2) {
        out.insert(format!("{} {}", pair[0], pair[1]));
    }
    out
}

/// Ranking metrics of one pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Mean hinge loss of the ranking.
    pub loss: f64,
    /// Share of examples whose own reply ranks first.
    pub accuracy: f64,
}

/// A deterministic generator (SplitMix64) for the seeded example order.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

impl Responder {
    /// A responder over `examples` with IDF weights (epoch 0).
    pub fn new(base_model: &str, examples: Vec<Pair>) -> Responder {
        let grams: Vec<HashSet<String>> = examples.iter().map(|p| grams(&p.prompt)).collect();
        let mut df: HashMap<&str, usize> = HashMap::new();
        for set in &grams {
            for g in set {
                *df.entry(g.as_str()).or_default() += 1;
            }
        }
        let n = examples.len().max(1) as f64;
        let weights = df
            .into_iter()
            .map(|(g, d)| (g.to_owned(), (1.0 + n / d as f64).ln()))
            .collect();
        Responder {
            format: FORMAT.into(),
            base_model: base_model.to_owned(),
            weights,
            examples,
            grams,
        }
    }

    /// Reads an artifact.
    pub fn from_artifact(bytes: &[u8]) -> Option<Responder> {
        let mut r: Responder = serde_json::from_slice(bytes).ok()?;
        if r.format != FORMAT {
            return None;
        }
        r.grams = r.examples.iter().map(|p| grams(&p.prompt)).collect();
        Some(r)
    }

    /// The artifact bytes.
    pub fn to_artifact(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn score(&self, query: &HashSet<String>, index: usize) -> f64 {
        let target = &self.grams[index];
        let shared: f64 = query
            .intersection(target)
            .map(|g| self.weights.get(g).copied().unwrap_or(0.0))
            .sum();
        shared / ((query.len().max(1) * target.len().max(1)) as f64).sqrt()
    }

    fn best(&self, query: &HashSet<String>) -> Option<(usize, f64)> {
        (0..self.examples.len())
            .map(|i| (i, self.score(query, i)))
            .fold(None, |best, (i, s)| match best {
                Some((_, b)) if b >= s => best,
                _ => Some((i, s)),
            })
    }

    /// One training epoch in a seeded order; returns the epoch's metrics.
    pub fn epoch(&mut self, seed: u64, epoch: u32) -> Metrics {
        let n = self.examples.len();
        if n < 2 {
            return Metrics {
                loss: 0.0,
                accuracy: 1.0,
            };
        }
        let mut rng = SplitMix(seed ^ u64::from(epoch).wrapping_mul(0xA24B_AED4_963E_E407));
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let (mut loss, mut first) = (0.0, 0usize);
        for &i in &order {
            let own = self.score(&self.grams[i], i);
            let mut worst: Option<(usize, f64)> = None;
            for _ in 0..NEGATIVES.min(n - 1) {
                let j = (i + 1 + rng.below(n - 1)) % n;
                if self.examples[j].response == self.examples[i].response {
                    continue;
                }
                let s = self.score(&self.grams[i], j);
                if worst.is_none_or(|(_, w)| s > w) {
                    worst = Some((j, s));
                }
            }
            let Some((j, impostor)) = worst else {
                first += 1;
                continue;
            };
            if own > impostor {
                first += 1;
            }
            let hinge = (MARGIN - (own - impostor)).max(0.0);
            loss += hinge;
            if hinge > 0.0 {
                let (mine, theirs) = (self.grams[i].clone(), self.grams[j].clone());
                for g in mine.difference(&theirs) {
                    *self.weights.entry(g.clone()).or_default() += STEP;
                }
                for g in mine.intersection(&theirs) {
                    let w = self.weights.entry(g.clone()).or_default();
                    *w = (*w - STEP / 2.0).max(0.0);
                }
            }
        }
        Metrics {
            loss: loss / n as f64,
            accuracy: first as f64 / n as f64,
        }
    }

    /// How well the responder answers `pairs` (loss: 1 − mean token F1 of the replies).
    pub fn evaluate(&self, pairs: &[Pair]) -> Metrics {
        if pairs.is_empty() {
            return Metrics {
                loss: 0.0,
                accuracy: 1.0,
            };
        }
        let (mut f1_sum, mut exact) = (0.0, 0usize);
        for p in pairs {
            let answer = self.answer(&p.prompt);
            if answer == p.response {
                exact += 1;
            }
            f1_sum += token_f1(&answer, &p.response);
        }
        Metrics {
            loss: 1.0 - f1_sum / pairs.len() as f64,
            accuracy: exact as f64 / pairs.len() as f64,
        }
    }

    /// The reply to a user prompt.
    pub fn answer(&self, prompt: &str) -> String {
        match self.best(&grams(prompt)) {
            Some((i, s)) if s > 0.0 => self.examples[i].response.clone(),
            _ => format!(
                "I was fine-tuned from {} on {} examples and none of them is about that.",
                self.base_model,
                self.examples.len()
            ),
        }
    }

    /// The reply to a conversation (its last user message).
    pub fn reply(&self, messages: &[ChatMessage]) -> String {
        let prompt = messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map_or("", |m| m.content.as_str());
        self.answer(prompt)
    }
}

fn token_f1(a: &str, b: &str) -> f64 {
    let (a, b) = (tokens(a), tokens(b));
    if a.is_empty() || b.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for t in &b {
        *counts.entry(t).or_default() += 1;
    }
    let mut common = 0;
    for t in &a {
        if let Some(c) = counts.get_mut(t.as_str())
            && *c > 0
        {
            *c -= 1;
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let p = f64::from(common) / a.len() as f64;
    let r = f64::from(common) / b.len() as f64;
    2.0 * p * r / (p + r)
}

/// The untuned base model's reply: the built-in backend has no language model, so it says
/// what it is and what it heard (deterministic, useful for wiring tests and demos).
pub fn base_reply(model: &str, messages: &[ChatMessage]) -> String {
    let prompt = messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map_or("", |m| m.content.as_str());
    let words = tokens(prompt).len();
    format!(
        "This is keyhold's built-in {model} responder. It is not a language model: fine-tune it on your conversations, or configure an upstream inference endpoint. Your message had {words} words."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs() -> Vec<Pair> {
        [
            ("What is the capital of France?", "Paris."),
            ("What is the capital of Italy?", "Rome."),
            ("Which key sizes does a CMK support?", "RSA 2048."),
            (
                "How do I revoke access to the key?",
                "Remove the access policy.",
            ),
            (
                "What happens to deployments when the key is revoked?",
                "They keep serving until deleted.",
            ),
        ]
        .iter()
        .map(|(p, r)| Pair {
            prompt: (*p).into(),
            response: (*r).into(),
        })
        .collect()
    }

    #[test]
    fn learns_and_answers() {
        let mut r = Responder::new("gpt-4o-mini", pairs());
        let first = r.epoch(7, 1);
        let mut last = first;
        for e in 2..=5 {
            last = r.epoch(7, e);
        }
        assert!(last.loss <= first.loss, "{first:?} -> {last:?}");
        assert_eq!(last.accuracy, 1.0);
        assert_eq!(r.answer("capital of italy?"), "Rome.");
        assert_eq!(
            r.answer("revoke the key access"),
            "Remove the access policy."
        );
        assert!(r.answer("zebra").contains("none of them"));
        let eval = r.evaluate(&pairs());
        assert_eq!(eval.accuracy, 1.0);
        assert!(eval.loss.abs() < 1e-9);
    }

    #[test]
    fn deterministic_for_a_seed_and_round_trips() {
        let run = |seed| {
            let mut r = Responder::new("m", pairs());
            for e in 1..=3 {
                r.epoch(seed, e);
            }
            r
        };
        assert_eq!(run(1), run(1));
        let artifact = run(1).to_artifact();
        let back = Responder::from_artifact(&artifact).unwrap();
        assert_eq!(back.answer("capital of France"), "Paris.");
        assert!(Responder::from_artifact(b"{\"format\":\"other\"}").is_none());
        assert!(Responder::from_artifact(b"not json").is_none());
    }

    #[test]
    fn pair_from_conversation() {
        let m = |role: &str, content: &str| ChatMessage {
            role: role.into(),
            content: content.into(),
        };
        let p = Pair::from_messages(&[m("system", "s"), m("user", "hi"), m("assistant", "hello")])
            .unwrap();
        assert_eq!(
            p,
            Pair {
                prompt: "hi".into(),
                response: "hello".into()
            }
        );
        assert!(Pair::from_messages(&[m("assistant", "x")]).is_none());
        assert_eq!(count_tokens("Hello, world!"), 4);
        for text in ["", "  a  b ", "Ünïcode wörds, and 123!", "x.y-z", "end."] {
            let words = tokens(text).len() as u64;
            let marks = text.chars().filter(|c| c.is_ascii_punctuation()).count() as u64;
            assert_eq!(count_tokens(text), words + marks, "{text:?}");
        }
    }
}
