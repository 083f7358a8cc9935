//! `uniqueString` and `guid`: deterministic names from strings.
//!
//! **uniqueString** joins its arguments with `-`, hashes the UTF-8 bytes with the 64-bit
//! MurmurHash variant of Azure's deployment engine (two 32-bit lanes with MurmurHash3 x86
//! constants, seed 0) and writes the top 65 bits as 13 characters of lower-case base32
//! (`a`–`z`, `2`–`7`). Checked against outputs of real Azure deployments published in
//! KingslandConsulting/Kingsland.ArmLinter (`uniqueString('aaa')` = `zavj67f3en4hc`, …),
//! the Azure/terraform-provider-azapi test (`cwvxuqg24sifi`) and JasonWhall/go-azure-uniquestring
//! (`hello`,`world` → `a7wkljktk6wne`); see the tests.
//!
//! **guid** is a name-based (version 5, SHA-1) UUID, RFC 4122 §4.3, in namespace
//! `11fb06fb-712d-4ddd-98c7-e71bbd588830`, over the arguments joined with `-` as UTF-8. That
//! namespace and joining are what several public reimplementations use to reproduce Azure's
//! role-assignment names (Terraform `uuidv5("11fb06fb-…", join("-", …))` modules written to
//! match Bicep). We found no published Azure input/output pair to prove it against, so the
//! test checks RFC 4122 conformance (Python's `uuid.uuid5` gives the same value), not Azure.

use aws_lc_rs::digest;
use serde_json::Value;

use super::Args;
use crate::eval::EvalResult;

pub(super) fn call(name: &str, a: &Args<'_>) -> Option<EvalResult> {
    Some(match name {
        "uniquestring" => a
            .arity(1, usize::MAX)
            .and_then(|()| Ok(Value::from(unique_string(&a.strs()?)))),
        "guid" => a
            .arity(1, usize::MAX)
            .and_then(|()| Ok(Value::from(guid(&a.strs()?)))),
        _ => return None,
    })
}

/// ARM's `uniqueString(parts…)`.
pub fn unique_string(parts: &[&str]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut hash = murmur64(parts.join("-").as_bytes());
    let mut out = String::with_capacity(13);
    for _ in 0..13 {
        out.push(char::from(ALPHABET[(hash >> 59) as usize]));
        hash <<= 5;
    }
    out
}

/// The namespace of ARM's `guid()`.
const GUID_NAMESPACE: [u8; 16] = [
    0x11, 0xfb, 0x06, 0xfb, 0x71, 0x2d, 0x4d, 0xdd, 0x98, 0xc7, 0xe7, 0x1b, 0xbd, 0x58, 0x88, 0x30,
];

/// ARM's `guid(parts…)`.
pub fn guid(parts: &[&str]) -> String {
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&GUID_NAMESPACE);
    ctx.update(parts.join("-").as_bytes());
    let hash = ctx.finish();
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn fmix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

fn le32(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .enumerate()
        .fold(0, |acc, (i, b)| acc | (u32::from(*b) << (8 * i)))
}

/// The 64-bit MurmurHash of Azure's deployment engine, seed 0.
fn murmur64(data: &[u8]) -> u64 {
    const C1: u32 = 0x239b_961b;
    const C2: u32 = 0xab0e_9789;
    let (mut h1, mut h2) = (0u32, 0u32);
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let k1 = le32(&chunk[..4])
            .wrapping_mul(C1)
            .rotate_left(15)
            .wrapping_mul(C2);
        h1 ^= k1;
        h1 = h1
            .rotate_left(19)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x561c_cd1b);
        let k2 = le32(&chunk[4..])
            .wrapping_mul(C2)
            .rotate_left(17)
            .wrapping_mul(C1);
        h2 ^= k2;
        h2 = h2
            .rotate_left(13)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x0bca_a747);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        h1 ^= le32(tail).wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        if tail.len() > 4 {
            h2 ^= le32(&tail[4..])
                .wrapping_mul(C2)
                .rotate_left(17)
                .wrapping_mul(C1);
        }
    }
    // ARM's engine mixes in the length as a 32-bit value.
    let len = data.len() as u32;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (u64::from(h2) << 32) | u64::from(h1)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::functions::test_support::table;

    #[test]
    fn unique_string_matches_azure() {
        // Outputs of real deployments (Kingsland.ArmLinter's notes), the azapi provider's test
        // and go-azure-uniquestring's README.
        let known: &[(&[&str], &str)] = &[
            (&["aaa"], "zavj67f3en4hc"),
            (&["bbb"], "w5eragfxe33cy"),
            (&["zzz"], "cryksdzzzawae"),
            (&["xxx", "yyy", "zzz"], "lghi7k5js7itq"),
            (
                &[
                    "/subscriptions/00000000-0000-0000-0000-000000000000",
                    "resource-id",
                ],
                "cwvxuqg24sifi",
            ),
            (&["hello", "world"], "a7wkljktk6wne"),
        ];
        for (parts, expected) in known {
            assert_eq!(unique_string(parts), *expected, "{parts:?}");
        }
    }

    #[test]
    fn guid_is_rfc4122_v5_in_arms_namespace() {
        // Same as Python: uuid.uuid5(UUID('11fb06fb-712d-4ddd-98c7-e71bbd588830'), 'a-b-c').
        assert_eq!(
            guid(&["a", "b", "c"]),
            "a98fa280-e03f-5afa-8d8e-92d0a9c201e8"
        );
    }

    #[test]
    fn hash_functions() {
        table(&[
            ("uniqueString('aaa')", Ok(json!("zavj67f3en4hc"))),
            (
                "uniqueString('xxx', 'yyy', 'zzz')",
                Ok(json!("lghi7k5js7itq")),
            ),
            ("length(uniqueString(resourceGroup().id))", Ok(json!(13))),
            ("uniqueString()", Err("at least '1'")),
            ("uniqueString(1)", Err("to be of type 'String'")),
            (
                "guid('a', 'b', 'c')",
                Ok(json!("a98fa280-e03f-5afa-8d8e-92d0a9c201e8")),
            ),
            ("guid(createArray())", Err("to be of type 'String'")),
        ]);
    }
}
