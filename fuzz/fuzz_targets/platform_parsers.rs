//! Untrusted input of the AI platform: uploaded fine-tuning JSONL (fed in arbitrary chunk
//! splits), model artifacts, and external trainers' progress lines. No panics; the validator
//! gives the same verdict however the bytes are split.
#![no_main]

use keyhold_platform::jsonl::ChatJsonlValidator;
use keyhold_platform::responder::Responder;
use keyhold_platform::trainer::parse_progress;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(1, |b| usize::from(*b).max(1));
    let mut whole = ChatJsonlValidator::default();
    whole.feed(data);
    let mut chunked = ChatJsonlValidator::default();
    for chunk in data.chunks(split) {
        chunked.feed(chunk);
    }
    assert_eq!(whole.finish(), chunked.finish());
    if let Some(responder) = Responder::from_artifact(data) {
        let _ = responder.answer("what is the key?");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_progress(text);
    }
});
