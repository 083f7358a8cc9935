//! Streaming validation of fine-tuning data: chat JSONL, one example per line,
//! `{"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}` with at least
//! one assistant message. The first problem is reported with its line number; bytes are fed
//! as they arrive, and only one line is held at a time (lines are bounded).

/// Longest accepted line.
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// Feeds chunks, reports the first problem at the end.
#[derive(Debug, Default)]
pub struct ChatJsonlValidator {
    line: Vec<u8>,
    number: u64,
    examples: u64,
    problem: Option<String>,
}

impl ChatJsonlValidator {
    /// Adds bytes.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        while self.problem.is_none() && !chunk.is_empty() {
            match chunk.iter().position(|b| *b == b'\n') {
                Some(end) => {
                    self.push(&chunk[..end]);
                    self.end_line();
                    chunk = &chunk[end + 1..];
                }
                None => {
                    self.push(chunk);
                    chunk = &[];
                }
            }
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.line.len() + bytes.len() > MAX_LINE {
            self.problem = Some(format!(
                "line {}: longer than {MAX_LINE} bytes",
                self.number + 1
            ));
            self.line.clear();
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    fn end_line(&mut self) {
        self.number += 1;
        let line = std::mem::take(&mut self.line);
        if self.problem.is_some() || line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match check_example(&line) {
            Ok(()) => self.examples += 1,
            Err(why) => self.problem = Some(format!("line {}: {why}", self.number)),
        }
    }

    /// `Ok` if every line was a valid example and there was at least one.
    pub fn finish(mut self) -> Result<(), String> {
        if self.problem.is_none() && !self.line.is_empty() {
            self.end_line();
        }
        if let Some(problem) = self.problem {
            return Err(problem);
        }
        if self.examples == 0 {
            return Err("the file has no training examples".into());
        }
        Ok(())
    }
}

fn check_example(line: &[u8]) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not valid JSON ({e})"))?;
    let messages = value
        .get("messages")
        .and_then(serde_json::Value::as_array)
        .ok_or("missing the \"messages\" array")?;
    if messages.is_empty() {
        return Err("\"messages\" is empty".into());
    }
    let mut assistant = false;
    for (i, message) in messages.iter().enumerate() {
        let role = message
            .get("role")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("message {} has no \"role\"", i + 1))?;
        if !["system", "user", "assistant"].contains(&role) {
            return Err(format!(
                "message {} has role {role:?}; use system, user or assistant",
                i + 1
            ));
        }
        if !message
            .get("content")
            .is_some_and(serde_json::Value::is_string)
        {
            return Err(format!("message {} has no text \"content\"", i + 1));
        }
        assistant |= role == "assistant";
    }
    if !assistant {
        return Err("no assistant message to learn from".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&str]) -> Result<(), String> {
        let mut v = ChatJsonlValidator::default();
        for c in chunks {
            v.feed(c.as_bytes());
        }
        v.finish()
    }

    #[test]
    fn table() {
        let good = r#"{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}"#;
        assert!(run(&[good, "\n", good]).is_ok());
        // Split anywhere, even mid-line.
        let text = format!("{good}\n{good}\n");
        let (a, b) = text.split_at(17);
        assert!(run(&[a, b]).is_ok());
        let rows = [
            ("", "the file has no training examples"),
            ("{not json}\n", "line 1: not valid JSON"),
            (
                &format!("{good}\n{{\"x\":1}}\n"),
                "line 2: missing the \"messages\"",
            ),
            (
                r#"{"messages":[{"role":"user","content":"q"}]}"#,
                "line 1: no assistant message",
            ),
            (
                r#"{"messages":[{"role":"robot","content":"q"}]}"#,
                "line 1: message 1 has role \"robot\"",
            ),
            (
                &format!("\n\n{}\n", r#"{"messages":[{"role":"user"}]}"#),
                "line 3: message 1 has no text",
            ),
        ];
        for (input, expected) in rows {
            let err = run(&[input]).unwrap_err();
            assert!(err.starts_with(expected), "{input:?}: {err}");
        }
    }
}
