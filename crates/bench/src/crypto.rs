//! Crypto-core throughput against this machine's own limits:
//! - envelope encrypt/decrypt of a 256 MiB stream vs raw aws-lc AES-256-GCM on 1 MiB buffers;
//! - RSA-2048 OAEP-256 unwraps/s vs `openssl speed -seconds 3 rsa2048` sign/s (same operation:
//!   one RSA private-key operation).

use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use keyhold_crypto::{
    Aes256Key, DEFAULT_SEGMENT_SIZE, KeyRef, RsaOaepAlgorithm, RsaPrivateKey, decrypt_stream,
    encrypt_stream, unwrap_dek, wrap_dek,
};

const MIB: usize = 1024 * 1024;
const STREAM_MIB: usize = 256;
const ROUNDS: usize = 3;

/// Yields `remaining` bytes by copying from a 1 MiB pattern (like a socket or file would).
struct PatternReader {
    pattern: Vec<u8>,
    remaining: usize,
    pos: usize,
}

impl Read for PatternReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf
            .len()
            .min(self.remaining)
            .min(self.pattern.len() - self.pos);
        buf[..n].copy_from_slice(&self.pattern[self.pos..self.pos + n]);
        self.pos = (self.pos + n) % self.pattern.len();
        self.remaining -= n;
        Ok(n)
    }
}

/// Counts bytes without storing them.
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn gbps(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / elapsed.as_secs_f64() / 1e9
}

fn best<F: FnMut() -> Result<Duration, String>>(mut f: F) -> Result<Duration, String> {
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        best = best.min(f()?);
    }
    Ok(best)
}

fn raw_gcm(total: usize) -> Result<(Duration, Duration), String> {
    let key =
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[9u8; 32]).map_err(|e| e.to_string())?);
    let buffers = total / MIB;
    let seal = best(|| {
        let mut buf = vec![0x5au8; MIB];
        let start = Instant::now();
        for i in 0..buffers {
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let tag = key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::empty(),
                    &mut buf,
                )
                .map_err(|e| e.to_string())?;
            let _ = std::hint::black_box(tag);
        }
        Ok(start.elapsed())
    })?;
    // Pre-sealed buffers, each opened once in place.
    let mut sealed: Vec<Vec<u8>> = Vec::with_capacity(buffers);
    for i in 0..buffers {
        let mut buf = vec![0x5au8; MIB];
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let tag = key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .map_err(|e| e.to_string())?;
        buf.extend_from_slice(tag.as_ref());
        sealed.push(buf);
    }
    let mut open_best = Duration::MAX;
    for _ in 0..ROUNDS {
        let mut work = sealed.clone();
        let start = Instant::now();
        for (i, buf) in work.iter_mut().enumerate() {
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
            key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), buf)
                .map_err(|e| e.to_string())?;
        }
        open_best = open_best.min(start.elapsed());
    }
    Ok((seal, open_best))
}

fn envelope(total: usize) -> Result<(Duration, Duration), String> {
    let kek = Aes256Key::generate().map_err(|e| e.to_string())?;
    let dek = Aes256Key::generate().map_err(|e| e.to_string())?;
    let wrapped = wrap_dek(&kek, &dek, b"bench/object").map_err(|e| e.to_string())?;
    let key_ref = KeyRef {
        account: "bench".into(),
        kek_id: "kek-1".into(),
    };
    let pattern: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    let encrypt = best(|| {
        let reader = PatternReader {
            pattern: pattern.clone(),
            remaining: total,
            pos: 0,
        };
        let start = Instant::now();
        encrypt_stream(
            &dek,
            key_ref.clone(),
            wrapped.clone(),
            DEFAULT_SEGMENT_SIZE,
            reader,
            CountingSink(0),
        )
        .map_err(|e| e.to_string())?;
        Ok(start.elapsed())
    })?;
    let mut ciphertext = Vec::with_capacity(total + total / 1000 + 4096);
    let reader = PatternReader {
        pattern,
        remaining: total,
        pos: 0,
    };
    encrypt_stream(
        &dek,
        key_ref,
        wrapped,
        DEFAULT_SEGMENT_SIZE,
        reader,
        &mut ciphertext,
    )
    .map_err(|e| e.to_string())?;
    let decrypt = best(|| {
        let mut sink = CountingSink(0);
        let start = Instant::now();
        decrypt_stream(ciphertext.as_slice(), &mut sink, |h| {
            unwrap_dek(&kek, h.wrapped_dek(), b"bench/object")
        })
        .map_err(|e| e.to_string())?;
        let elapsed = start.elapsed();
        if sink.0 != total as u64 {
            return Err(format!("decrypted {} bytes, expected {total}", sink.0));
        }
        Ok(elapsed)
    })?;
    Ok((encrypt, decrypt))
}

fn rsa_unwraps_per_sec() -> Result<f64, String> {
    let key = RsaPrivateKey::generate(2048).map_err(|e| e.to_string())?;
    let wrapped = key
        .public_key()
        .wrap_key(RsaOaepAlgorithm::RsaOaep256, &[7u8; 32])
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut ops = 0u64;
    while start.elapsed() < Duration::from_secs(3) {
        for _ in 0..50 {
            key.unwrap_key(RsaOaepAlgorithm::RsaOaep256, &wrapped)
                .map_err(|e| e.to_string())?;
        }
        ops += 50;
    }
    Ok(ops as f64 / start.elapsed().as_secs_f64())
}

/// `openssl speed -seconds 3 rsa2048` sign/s, if openssl is installed.
pub fn openssl_rsa2048_sign_per_sec() -> Option<f64> {
    openssl_rsa2048_sign_per_sec_on(1)
}

/// `openssl speed -multi {processes} -seconds 3 rsa2048` sign/s (all processes together).
pub fn openssl_rsa2048_sign_per_sec_on(processes: usize) -> Option<f64> {
    let mut command = Command::new("openssl");
    command.args(["speed", "-seconds", "3"]);
    if processes > 1 {
        command.args(["-multi", &processes.to_string()]);
    }
    let output = command.arg("rsa2048").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().find(|l| {
        l.trim_start().starts_with("rsa 2048 bits") || l.trim_start().starts_with("rsa  2048 bits")
    })?;
    let numbers: Vec<f64> = line
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    // "... sign verify sign/s verify/s": sign/s is the second-to-last number.
    numbers.get(numbers.len().checked_sub(2)?).copied()
}

/// Runs the crypto benchmarks.
pub fn run() -> Result<(), String> {
    let total = STREAM_MIB * MIB;
    println!(
        "# keyhold crypto benchmark ({STREAM_MIB} MiB streams, best of {ROUNDS}; single thread)"
    );
    let (raw_seal, raw_open) = raw_gcm(total)?;
    let (env_enc, env_dec) = envelope(total)?;
    let raw_seal_gbps = gbps(total, raw_seal);
    let raw_open_gbps = gbps(total, raw_open);
    let enc_gbps = gbps(total, env_enc);
    let dec_gbps = gbps(total, env_dec);
    println!("raw_aes256gcm_seal_gbps={raw_seal_gbps:.2}");
    println!("raw_aes256gcm_open_gbps={raw_open_gbps:.2}");
    println!("envelope_encrypt_gbps={enc_gbps:.2}");
    println!("envelope_decrypt_gbps={dec_gbps:.2}");
    println!(
        "envelope_encrypt_ratio={:.3}  (goal >= 0.90)",
        enc_gbps / raw_seal_gbps
    );
    println!(
        "envelope_decrypt_ratio={:.3}  (goal >= 0.90)",
        dec_gbps / raw_open_gbps
    );

    let unwraps = rsa_unwraps_per_sec()?;
    println!("rsa2048_oaep256_unwrap_per_sec={unwraps:.0}");
    match openssl_rsa2048_sign_per_sec() {
        Some(sign) => {
            println!("openssl_rsa2048_sign_per_sec={sign:.1}");
            println!("rsa2048_unwrap_ratio={:.3}  (goal >= 0.95)", unwraps / sign);
        }
        None => {
            println!("rsa2048_unwrap_ratio=n/a  (openssl not found or its output not understood)")
        }
    }
    Ok(())
}
