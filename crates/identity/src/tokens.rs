//! Access tokens: RS256 JWTs in the shape of Entra v2 application tokens, and their strict
//! validation.
//!
//! The JWS is implemented here on aws-lc (through keyhold-crypto) rather than through a
//! general JWT library, so that exactly one algorithm exists: `alg` must be `RS256`; `none` and
//! HMAC algorithms are refused before any key is touched, so the "HS256 signed with the public
//! key" confusion cannot arise. Parsing is strict: three base64url parts without padding, JSON
//! objects, every required claim present and typed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyhold_crypto::RsaSignAlgorithm;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::TokenError;

/// Largest token accepted (Entra tokens are a few KiB).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The JOSE header keyhold writes and accepts.
#[derive(Debug, Serialize, Deserialize)]
pub struct Header {
    /// Algorithm.
    pub alg: String,
    /// Key id.
    #[serde(default)]
    pub kid: Option<String>,
    /// Type.
    #[serde(default)]
    pub typ: Option<String>,
}

/// Claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Audience (the API).
    pub aud: String,
    /// Issuer (`{authority}/{tenant}/v2.0`).
    pub iss: String,
    /// Issued at.
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// Expiry.
    pub exp: u64,
    /// Subject (= oid).
    pub sub: String,
    /// Object id of the principal.
    pub oid: String,
    /// Tenant id.
    pub tid: String,
    /// Client id.
    pub appid: String,
    /// Authorized party (= appid).
    pub azp: String,
    /// `app`.
    pub idtyp: String,
    /// `2.0`.
    pub ver: String,
    /// Unique token id.
    pub uti: String,
    /// Set only on tokens keyhold mints for its own in-process service calls on behalf of a
    /// managed identity (a key check or unwrap of an account's customer-managed key): the
    /// only tokens a vault firewall's trusted-services bypass admits. No token endpoint
    /// issues it, and tokens of external issuers never carry it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keyhold_service: bool,
}

/// Serialises and signs.
pub fn encode_jwt(
    kid: &str,
    claims: &Claims,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, keyhold_crypto::CryptoError>,
) -> Result<String, keyhold_crypto::CryptoError> {
    let header = Header {
        alg: "RS256".into(),
        kid: Some(kid.to_owned()),
        typ: Some("JWT".into()),
    };
    let header_json = serde_json::to_vec(&header)
        .map_err(|_| keyhold_crypto::CryptoError::InvalidParameter("token header"))?;
    let claims_json = serde_json::to_vec(claims)
        .map_err(|_| keyhold_crypto::CryptoError::InvalidParameter("token claims"))?;
    let mut token = URL_SAFE_NO_PAD.encode(header_json);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims_json));
    let signature = sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

/// A token split and decoded, signature not yet checked.
pub struct Unverified {
    /// Header.
    pub header: Header,
    /// Claims.
    pub claims: Claims,
    /// The tenant from `tid` (untrusted until the signature verifies).
    pub tenant: Uuid,
    signing_input_len: usize,
    signature: Vec<u8>,
}

fn b64(part: &str) -> Result<Vec<u8>, TokenError> {
    if part.contains('=') {
        return Err(TokenError::BadEncoding);
    }
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::BadEncoding)
}

/// Step 1 of validation: size, shape, algorithm, claims. No key is used yet.
pub fn parse(token: &str) -> Result<Unverified, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Oversized(MAX_TOKEN_LEN));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("a JWT has three parts"));
    };
    let header: Header = serde_json::from_slice(&b64(h)?).map_err(|_| TokenError::BadJson)?;
    if header.alg.eq_ignore_ascii_case("none") {
        return Err(TokenError::Unsigned);
    }
    if header.alg != "RS256" {
        return Err(TokenError::UnsupportedAlgorithm(
            header.alg.chars().take(16).collect(),
        ));
    }
    let claims_json: serde_json::Value =
        serde_json::from_slice(&b64(p)?).map_err(|_| TokenError::BadJson)?;
    let claims: Claims = serde_json::from_value(claims_json)
        .map_err(|_| TokenError::Malformed("required claims are missing or mistyped"))?;
    let tenant =
        Uuid::parse_str(&claims.tid).map_err(|_| TokenError::Malformed("tid is not a GUID"))?;
    let signature = b64(s)?;
    Ok(Unverified {
        header,
        claims,
        tenant,
        signing_input_len: h.len() + 1 + p.len(),
        signature,
    })
}

impl Unverified {
    /// Step 2: the signature, with the issuer's public key for the header's kid.
    pub fn verify_signature(
        &self,
        token: &str,
        key: &keyhold_crypto::RsaPublicKey,
    ) -> Result<(), TokenError> {
        let input = token
            .get(..self.signing_input_len)
            .ok_or(TokenError::Malformed("truncated"))?;
        key.verify(RsaSignAlgorithm::Rs256, input.as_bytes(), &self.signature)
            .map_err(|_| TokenError::InvalidSignature)
    }
}

/// Step 3: time claims with `skew` seconds of tolerance.
pub fn check_times(claims: &Claims, now: u64, skew: u64) -> Result<(), TokenError> {
    if claims.exp.saturating_add(skew) <= now {
        return Err(TokenError::Expired);
    }
    if claims.nbf > now.saturating_add(skew) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

/// Normalises an audience for comparison (no trailing slash, case-insensitive scheme/host).
pub fn normalize_audience(aud: &str) -> String {
    aud.trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_shapes() {
        let rows: &[(&str, &str)] = &[
            ("", "InvalidAuthenticationToken"),
            ("a.b", "InvalidAuthenticationToken"),
            ("a.b.c.d", "InvalidAuthenticationToken"),
            ("!!.e30.x", "InvalidAuthenticationTokenEncoding"),
            ("e30.e30.x", "InvalidAuthenticationTokenJson"),
            (
                "eyJhbGciOiJub25lIn0.e30.",
                "InvalidAuthenticationTokenUnsigned",
            ),
            (
                "eyJhbGciOiJIUzI1NiJ9.e30.AA",
                "InvalidAuthenticationTokenAlgorithm",
            ),
            ("eyJhbGciOiJSUzI1NiJ9.e30.AA", "InvalidAuthenticationToken"),
            (
                "eyJhbGciOiJSUzI1NiJ9=.e30.AA",
                "InvalidAuthenticationTokenEncoding",
            ),
            (
                "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.AA",
                "InvalidAuthenticationTokenJson",
            ),
        ];
        for (token, code) in rows {
            let err = parse(token).err().unwrap();
            assert_eq!(err.code(), *code, "{token}: {err}");
        }
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(parse(&long).err().unwrap().code(), "TokenTooLarge");
    }

    #[test]
    fn times() {
        let mut c = Claims {
            aud: "a".into(),
            iss: "i".into(),
            iat: 100,
            nbf: 100,
            exp: 200,
            sub: "s".into(),
            oid: "o".into(),
            tid: "t".into(),
            appid: "x".into(),
            azp: "x".into(),
            idtyp: "app".into(),
            ver: "2.0".into(),
            uti: "u".into(),
            keyhold_service: false,
        };
        assert!(check_times(&c, 150, 60).is_ok());
        assert_eq!(check_times(&c, 260, 60), Err(TokenError::Expired));
        assert!(check_times(&c, 259, 60).is_ok());
        c.nbf = 300;
        assert_eq!(check_times(&c, 150, 60), Err(TokenError::NotYetValid));
    }
}
