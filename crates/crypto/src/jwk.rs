//! JSON Web Keys (RFC 7517/7518) as Azure Key Vault speaks them: base64url members without
//! padding (padding tolerated on input), unknown members ignored, absent members omitted.
//!
//! Private members live in [`JwkSecret`], which zeroizes on drop and never appears in `Debug`.
//! `Jwk` is deliberately not `Clone`: a private JWK must not be copied around silently.

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

fn decode_b64url(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    if text.ends_with('=') {
        URL_SAFE.decode(text)
    } else {
        URL_SAFE_NO_PAD.decode(text)
    }
}

mod b64 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => s.serialize_str(&URL_SAFE_NO_PAD.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| decode_b64url(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// A private JWK member (d, p, q, dp, dq, qi, k): zeroized on drop, redacted in `Debug`.
pub struct JwkSecret(Zeroizing<Vec<u8>>);

impl JwkSecret {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }
    /// The bytes.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for JwkSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for JwkSecret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Zeroizing::new(URL_SAFE_NO_PAD.encode(&*self.0)))
    }
}

impl<'de> Deserialize<'de> for JwkSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        decode_b64url(&text)
            .map(JwkSecret::new)
            .map_err(serde::de::Error::custom)
    }
}

/// A JSON Web Key.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Jwk {
    /// Key identifier (Key Vault: the key's URL with version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Key type: `RSA`, `RSA-HSM`, `EC`, `EC-HSM`, `oct`, `oct-HSM`.
    pub kty: String,
    /// Permitted operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// Intended algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use (`sig`, `enc`).
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// RSA modulus.
    #[serde(default, with = "b64", skip_serializing_if = "Option::is_none")]
    pub n: Option<Vec<u8>>,
    /// RSA public exponent.
    #[serde(default, with = "b64", skip_serializing_if = "Option::is_none")]
    pub e: Option<Vec<u8>>,
    /// EC curve name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate.
    #[serde(default, with = "b64", skip_serializing_if = "Option::is_none")]
    pub x: Option<Vec<u8>>,
    /// EC y coordinate.
    #[serde(default, with = "b64", skip_serializing_if = "Option::is_none")]
    pub y: Option<Vec<u8>>,
    /// RSA private exponent / EC private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<JwkSecret>,
    /// RSA prime p.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<JwkSecret>,
    /// RSA prime q.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<JwkSecret>,
    /// RSA d mod (p-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<JwkSecret>,
    /// RSA d mod (q-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<JwkSecret>,
    /// RSA q^-1 mod p.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<JwkSecret>,
    /// Symmetric key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<JwkSecret>,
}

impl Jwk {
    /// True if any private member is present.
    pub fn has_private_members(&self) -> bool {
        [
            &self.d, &self.p, &self.q, &self.dp, &self.dq, &self.qi, &self.k,
        ]
        .iter()
        .any(|m| m.is_some())
    }

    /// A copy without private members.
    pub fn public_only(&self) -> Jwk {
        Jwk {
            kid: self.kid.clone(),
            kty: self.kty.clone(),
            key_ops: self.key_ops.clone(),
            alg: self.alg.clone(),
            key_use: self.key_use.clone(),
            n: self.n.clone(),
            e: self.e.clone(),
            crv: self.crv.clone(),
            x: self.x.clone(),
            y: self.y.clone(),
            ..Jwk::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_shape_and_redaction() {
        let text = r#"{"kty":"RSA","n":"AQAB","e":"AQAB","d":"c2VjcmV0","kid":"k1","extra":1}"#;
        let jwk: Jwk = serde_json::from_str(text).unwrap();
        assert_eq!(jwk.n.as_deref(), Some(&[1u8, 0, 1][..]));
        assert!(jwk.has_private_members());
        let debug = format!("{jwk:?}");
        assert!(
            debug.contains("<redacted>") && !debug.contains("secret"),
            "{debug}"
        );
        let public = serde_json::to_value(jwk.public_only()).unwrap();
        assert_eq!(
            public,
            serde_json::json!({"kty":"RSA","n":"AQAB","e":"AQAB","kid":"k1"})
        );
        let padded: Jwk = serde_json::from_str(r#"{"kty":"RSA","n":"AQ=="}"#).unwrap();
        assert_eq!(padded.n.as_deref(), Some(&[1u8][..]));
        assert!(serde_json::from_str::<Jwk>(r#"{"kty":"RSA","n":"*"}"#).is_err());
    }
}
