//! The little DER this crate needs, for RSA only: reading the integers of a PKCS#8
//! `RSAPrivateKey` (to export private JWKs) and writing a `SubjectPublicKeyInfo` from `n` and
//! `e` (to build aws-lc public keys from JWKs). Strict: definite lengths, minimal forms, no
//! trailing bytes.

use crate::error::CryptoError;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const BIT_STRING: u8 = 0x03;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;
/// 1.2.840.113549.1.1.1 rsaEncryption
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

fn bad() -> CryptoError {
    CryptoError::InvalidKey("malformed DER")
}

/// Reads one TLV with the expected tag; returns (content, rest).
fn read(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), CryptoError> {
    let (&t, rest) = input.split_first().ok_or_else(bad)?;
    if t != tag {
        return Err(bad());
    }
    let (&first, rest) = rest.split_first().ok_or_else(bad)?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad());
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        if len < 0x80 || rest[0] == 0 {
            return Err(bad()); // not minimal
        }
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(bad());
    }
    Ok(rest.split_at(len))
}

/// An unsigned big-endian integer without leading zeros.
fn read_uint(input: &[u8]) -> Result<(&[u8], &[u8]), CryptoError> {
    let (mut value, rest) = read(input, INTEGER)?;
    while value.len() > 1 && value[0] == 0 {
        value = &value[1..];
    }
    Ok((value, rest))
}

/// The eight integers of an RSA private key, big-endian without leading zeros.
pub(crate) struct RsaPrivateParts<'a> {
    pub n: &'a [u8],
    pub e: &'a [u8],
    pub d: &'a [u8],
    pub p: &'a [u8],
    pub q: &'a [u8],
    pub dp: &'a [u8],
    pub dq: &'a [u8],
    pub qi: &'a [u8],
}

/// Parses a PKCS#8 v1 `PrivateKeyInfo` holding an RSA key.
pub(crate) fn parse_rsa_pkcs8(der: &[u8]) -> Result<RsaPrivateParts<'_>, CryptoError> {
    let (info, trailing) = read(der, SEQUENCE)?;
    if !trailing.is_empty() {
        return Err(bad());
    }
    let (_version, rest) = read_uint(info)?;
    let (algorithm, rest) = read(rest, SEQUENCE)?;
    let (oid, _) = read(algorithm, OID)?;
    if oid != RSA_ENCRYPTION {
        return Err(CryptoError::InvalidKey("not an RSA key"));
    }
    let (private_key, _) = read(rest, OCTET_STRING)?;
    let (seq, _) = read(private_key, SEQUENCE)?;
    let (_version, rest) = read_uint(seq)?;
    let (n, rest) = read_uint(rest)?;
    let (e, rest) = read_uint(rest)?;
    let (d, rest) = read_uint(rest)?;
    let (p, rest) = read_uint(rest)?;
    let (q, rest) = read_uint(rest)?;
    let (dp, rest) = read_uint(rest)?;
    let (dq, rest) = read_uint(rest)?;
    let (qi, _) = read_uint(rest)?;
    Ok(RsaPrivateParts {
        n,
        e,
        d,
        p,
        q,
        dp,
        dq,
        qi,
    })
}

fn write(tag: u8, content: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

fn write_uint(value: &[u8], out: &mut Vec<u8>) {
    let trimmed = {
        let zeros = value.iter().take_while(|b| **b == 0).count();
        &value[zeros.min(value.len().saturating_sub(1))..]
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    write(INTEGER, &content, out);
}

/// PKCS#1 `RSAPublicKey` (`SEQUENCE { n, e }`).
pub(crate) fn rsa_public_pkcs1(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut rsa_public = Vec::new();
    let mut ints = Vec::new();
    write_uint(n, &mut ints);
    write_uint(e, &mut ints);
    write(SEQUENCE, &ints, &mut rsa_public);
    rsa_public
}

/// `SubjectPublicKeyInfo` for an RSA public key.
pub(crate) fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let rsa_public = rsa_public_pkcs1(n, e);
    let mut algorithm = Vec::new();
    let mut alg_content = Vec::new();
    write(OID, RSA_ENCRYPTION, &mut alg_content);
    write(NULL, &[], &mut alg_content);
    write(SEQUENCE, &alg_content, &mut algorithm);
    let mut bits = vec![0u8];
    bits.extend_from_slice(&rsa_public);
    let mut content = algorithm;
    write(BIT_STRING, &bits, &mut content);
    let mut out = Vec::new();
    write(SEQUENCE, &content, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_and_non_minimal_lengths() {
        assert!(parse_rsa_pkcs8(&[]).is_err());
        assert!(parse_rsa_pkcs8(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0]).is_err());
        assert!(parse_rsa_pkcs8(&[0x30, 0x03, 0x02, 0x01]).is_err());
        assert!(read(&[0x02, 0x85, 1, 1, 1, 1, 1], INTEGER).is_err());
    }
}
