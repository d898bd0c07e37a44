//! The cryptography of the payment gateway's protocol (WeChat Pay API v3, see
//! `shared/GATEWAY.md`), shared by the adapter in `infra` and the stand-in in `standins`:
//!
//! - requests are signed by the merchant: `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",
//!   nonce_str="…",signature="…",timestamp="…",serial_no="…"`, the signature being
//!   base64(RSA-SHA256 PKCS#1 v1.5 over `METHOD\nCANONICAL_URL\nTIMESTAMP\nNONCE\nBODY\n`);
//! - responses and notifications are signed by the platform: headers `Wechatpay-Serial`,
//!   `Wechatpay-Signature`, `Wechatpay-Timestamp`, `Wechatpay-Nonce` (and
//!   `Wechatpay-Signature-Type`), the signature over `TIMESTAMP\nNONCE\nBODY\n`;
//! - notification resources are AEAD_AES_256_GCM with the 32-byte APIv3 key.
//!
//! Private-key operations use `ring`. The `rsa` crate is used only to generate key pairs (the
//! demo's) and to convert a public key from SPKI PEM; never to sign or decrypt
//! (RUSTSEC-2023-0071, the Marvin timing attack, has no fixed version).

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;
use ring::signature::{self, RsaKeyPair, UnparsedPublicKey};
use rsa::pkcs1::EncodeRsaPublicKey as _;
use rsa::pkcs8::{DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use secrecy::{ExposeSecret as _, SecretString};

/// The authorization scheme and the `Wechatpay-Signature-Type` value.
pub const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
/// The largest difference between a signed timestamp and the verifier's clock.
pub const MAX_SKEW_SECS: i64 = 300;
/// The notification's encryption algorithm, as the protocol names it.
pub const AEAD_ALGORITHM: &str = "AEAD_AES_256_GCM";

/// Header names of a platform signature.
pub const HEADER_SERIAL: &str = "Wechatpay-Serial";
pub const HEADER_SIGNATURE: &str = "Wechatpay-Signature";
pub const HEADER_TIMESTAMP: &str = "Wechatpay-Timestamp";
pub const HEADER_NONCE: &str = "Wechatpay-Nonce";
pub const HEADER_SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayCryptoError {
    #[error("invalid key: {0}")]
    Key(String),
    #[error("signing failed")]
    Sign,
    #[error("missing or malformed {0}")]
    Malformed(&'static str),
    #[error("unknown serial {0:?}")]
    UnknownSerial(String),
    #[error("timestamp {timestamp} is more than {MAX_SKEW_SECS} s away from now ({now})")]
    Stale { timestamp: i64, now: i64 },
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the APIv3 key must be 32 bytes")]
    ApiV3KeyLength,
    #[error("decryption failed (wrong key, nonce, associated data or tampered ciphertext)")]
    Decrypt,
}

/// An RSA private key that signs (the merchant's, or the stand-in's platform key). Its `Debug`
/// shows nothing of the key.
pub struct SigningKey {
    pair: RsaKeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

impl SigningKey {
    /// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) RSA key of at least 2048 bits.
    pub fn from_pkcs8_pem(pem: &str) -> Result<SigningKey, GatewayCryptoError> {
        let der = pem_body(pem, "PRIVATE KEY")?;
        let pair = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| GatewayCryptoError::Key(format!("not a PKCS#8 RSA key: {e}")))?;
        Ok(SigningKey { pair })
    }

    /// base64(RSA-SHA256 PKCS#1 v1.5 signature of `message`).
    pub fn sign(&self, message: &[u8]) -> Result<String, GatewayCryptoError> {
        let mut out = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                message,
                &mut out,
            )
            .map_err(|_| GatewayCryptoError::Sign)?;
        Ok(STANDARD.encode(out))
    }
}

/// An RSA public key that verifies signatures made by its private key.
#[derive(Clone)]
pub struct VerifyingKey {
    /// PKCS#1 `RSAPublicKey` DER, the form `ring` takes.
    pkcs1_der: Vec<u8>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("bytes", &self.pkcs1_der.len())
            .finish()
    }
}

impl VerifyingKey {
    /// Reads an SPKI PEM (`-----BEGIN PUBLIC KEY-----`) RSA public key.
    pub fn from_spki_pem(pem: &str) -> Result<VerifyingKey, GatewayCryptoError> {
        let key = rsa::RsaPublicKey::from_public_key_pem(pem.trim())
            .map_err(|e| GatewayCryptoError::Key(format!("not an RSA public key PEM: {e}")))?;
        let der = key
            .to_pkcs1_der()
            .map_err(|e| GatewayCryptoError::Key(e.to_string()))?;
        Ok(VerifyingKey {
            pkcs1_der: der.as_bytes().to_vec(),
        })
    }

    /// Whether `signature_b64` is a valid RSA-SHA256 PKCS#1 v1.5 signature of `message`.
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> Result<(), GatewayCryptoError> {
        let signature = STANDARD
            .decode(signature_b64.trim())
            .map_err(|_| GatewayCryptoError::BadSignature)?;
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.pkcs1_der)
            .verify(message, &signature)
            .map_err(|_| GatewayCryptoError::BadSignature)
    }
}

/// A freshly generated RSA-2048 key pair, both halves as PEM.
pub struct GeneratedKeyPair {
    /// PKCS#8 `-----BEGIN PRIVATE KEY-----`.
    pub private_pkcs8_pem: SecretString,
    /// SPKI `-----BEGIN PUBLIC KEY-----`.
    pub public_spki_pem: String,
    /// A serial to name the key by: 40 upper-case hex digits, like a certificate serial.
    pub serial: String,
}

impl fmt::Debug for GeneratedKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKeyPair")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// Generates an RSA-2048 key pair (for the demo and the tests; production keys come from the
/// gateway's merchant platform). Takes a few hundred milliseconds.
pub fn generate_key_pair() -> Result<GeneratedKeyPair, GatewayCryptoError> {
    let private = rsa::RsaPrivateKey::new(&mut OsRng, 2048)
        .map_err(|e| GatewayCryptoError::Key(format!("RSA key generation failed: {e}")))?;
    let private_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| GatewayCryptoError::Key(e.to_string()))?;
    let public_pem = rsa::RsaPublicKey::from(&private)
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| GatewayCryptoError::Key(e.to_string()))?;
    let serial: String = (0..20)
        .map(|_| format!("{:02X}", rand::random::<u8>()))
        .collect();
    Ok(GeneratedKeyPair {
        private_pkcs8_pem: SecretString::from(private_pem.as_str().to_owned()),
        public_spki_pem: public_pem,
        serial,
    })
}

/// The DER inside a PEM block with the given label.
fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>, GatewayCryptoError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let text = pem.trim();
    let inner = text
        .strip_prefix(begin.as_str())
        .and_then(|rest| rest.split_once(end.as_str()).map(|(inner, _)| inner))
        .ok_or_else(|| GatewayCryptoError::Key(format!("expected a {begin} PEM block")))?;
    let joined: String = inner.split_whitespace().collect();
    STANDARD
        .decode(joined)
        .map_err(|_| GatewayCryptoError::Key("the PEM body is not base64".to_owned()))
}

/// 32 random upper-case letters and digits (the protocol's `nonce_str`).
pub fn nonce_str() -> String {
    Alphanumeric
        .sample_string(&mut OsRng, 32)
        .to_ascii_uppercase()
}

/// `METHOD\nCANONICAL_URL\nTIMESTAMP\nNONCE\nBODY\n`: what a merchant signs.
pub fn request_message(
    method: &str,
    canonical_url: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut message = format!("{method}\n{canonical_url}\n{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// `TIMESTAMP\nNONCE\nBODY\n`: what the platform signs.
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// The fields of an `Authorization: WECHATPAY2-SHA256-RSA2048 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub mchid: String,
    pub nonce_str: String,
    pub signature: String,
    pub timestamp: String,
    pub serial_no: String,
}

impl Authorization {
    /// Signs a request and gives the whole header value.
    pub fn sign(
        key: &SigningKey,
        mchid: &str,
        serial_no: &str,
        method: &str,
        canonical_url: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<Authorization, GatewayCryptoError> {
        let nonce = nonce_str();
        let signature = key.sign(&request_message(
            method,
            canonical_url,
            timestamp,
            &nonce,
            body,
        ))?;
        Ok(Authorization {
            mchid: mchid.to_owned(),
            nonce_str: nonce,
            signature,
            timestamp: timestamp.to_string(),
            serial_no: serial_no.to_owned(),
        })
    }

    /// The header value.
    pub fn header_value(&self) -> String {
        format!(
            "{SCHEME} mchid=\"{}\",nonce_str=\"{}\",signature=\"{}\",timestamp=\"{}\",serial_no=\"{}\"",
            self.mchid, self.nonce_str, self.signature, self.timestamp, self.serial_no
        )
    }

    /// Parses a header value (the fields in any order, each quoted).
    pub fn parse(value: &str) -> Result<Authorization, GatewayCryptoError> {
        let malformed = GatewayCryptoError::Malformed("Authorization");
        let rest = value
            .trim()
            .strip_prefix(SCHEME)
            .filter(|rest| rest.starts_with(' '))
            .ok_or(malformed.clone())?;
        let (mut mchid, mut nonce, mut signature, mut timestamp, mut serial) =
            (None, None, None, None, None);
        for part in rest.split(',') {
            let (name, quoted) = part.trim().split_once('=').ok_or(malformed.clone())?;
            let value = quoted
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or(malformed.clone())?
                .to_owned();
            match name.trim() {
                "mchid" => mchid = Some(value),
                "nonce_str" => nonce = Some(value),
                "signature" => signature = Some(value),
                "timestamp" => timestamp = Some(value),
                "serial_no" => serial = Some(value),
                _ => return Err(malformed),
            }
        }
        match (mchid, nonce, signature, timestamp, serial) {
            (Some(mchid), Some(nonce_str), Some(signature), Some(timestamp), Some(serial_no)) => {
                Ok(Authorization {
                    mchid,
                    nonce_str,
                    signature,
                    timestamp,
                    serial_no,
                })
            }
            _ => Err(malformed),
        }
    }

    /// Checks this header against the request it came with: the serial is `expected_serial`,
    /// the timestamp within [`MAX_SKEW_SECS`] of `now`, the signature made by `key`.
    pub fn verify(
        &self,
        key: &VerifyingKey,
        expected_serial: &str,
        method: &str,
        canonical_url: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), GatewayCryptoError> {
        if self.serial_no != expected_serial {
            return Err(GatewayCryptoError::UnknownSerial(self.serial_no.clone()));
        }
        let timestamp = check_timestamp(&self.timestamp, now)?;
        key.verify(
            &request_message(method, canonical_url, timestamp, &self.nonce_str, body),
            &self.signature,
        )
    }
}

/// The four `Wechatpay-*` headers of a platform signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformSignature {
    pub serial: String,
    pub signature: String,
    pub timestamp: String,
    pub nonce: String,
}

impl PlatformSignature {
    /// Signs `body` with the platform key.
    pub fn sign(
        key: &SigningKey,
        serial: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<PlatformSignature, GatewayCryptoError> {
        let nonce = nonce_str();
        let timestamp = timestamp.to_string();
        let signature = key.sign(&response_message(&timestamp, &nonce, body))?;
        Ok(PlatformSignature {
            serial: serial.to_owned(),
            signature,
            timestamp,
            nonce,
        })
    }

    /// Reads the headers through `get` (a header lookup by name, case-insensitive).
    pub fn from_headers(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<PlatformSignature, GatewayCryptoError> {
        let read = |name: &'static str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(GatewayCryptoError::Malformed(name))
        };
        Ok(PlatformSignature {
            serial: read(HEADER_SERIAL)?,
            signature: read(HEADER_SIGNATURE)?,
            timestamp: read(HEADER_TIMESTAMP)?,
            nonce: read(HEADER_NONCE)?,
        })
    }

    /// The headers as (name, value) pairs, the signature type included.
    pub fn headers(&self) -> [(&'static str, &str); 5] {
        [
            (HEADER_SERIAL, &self.serial),
            (HEADER_SIGNATURE, &self.signature),
            (HEADER_TIMESTAMP, &self.timestamp),
            (HEADER_NONCE, &self.nonce),
            (HEADER_SIGNATURE_TYPE, SCHEME),
        ]
    }

    /// Checks the signature of `body`: the serial must be `known_serial`, the timestamp within
    /// [`MAX_SKEW_SECS`] of `now` (unix seconds), the signature made by `key`.
    pub fn verify(
        &self,
        key: &VerifyingKey,
        known_serial: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), GatewayCryptoError> {
        if self.serial != known_serial {
            return Err(GatewayCryptoError::UnknownSerial(self.serial.clone()));
        }
        check_timestamp(&self.timestamp, now)?;
        key.verify(
            &response_message(&self.timestamp, &self.nonce, body),
            &self.signature,
        )
    }
}

fn check_timestamp(timestamp: &str, now: i64) -> Result<i64, GatewayCryptoError> {
    let parsed: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| GatewayCryptoError::Malformed("timestamp"))?;
    if parsed.abs_diff(now) > MAX_SKEW_SECS.unsigned_abs() {
        return Err(GatewayCryptoError::Stale {
            timestamp: parsed,
            now,
        });
    }
    Ok(parsed)
}

/// The APIv3 key: 32 bytes of text, used for AEAD_AES_256_GCM. `Debug` shows nothing.
#[derive(Clone)]
pub struct ApiV3Key(SecretString);

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(***)")
    }
}

impl ApiV3Key {
    pub fn new(key: SecretString) -> Result<ApiV3Key, GatewayCryptoError> {
        if key.expose_secret().len() != 32 {
            return Err(GatewayCryptoError::ApiV3KeyLength);
        }
        Ok(ApiV3Key(key))
    }

    /// A random key of 32 letters and digits (the demo's).
    pub fn generate() -> ApiV3Key {
        ApiV3Key(SecretString::from(
            Alphanumeric.sample_string(&mut OsRng, 32),
        ))
    }

    /// The key's text (for the stand-in's demo output only).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    fn cipher(&self) -> Result<Aes256Gcm, GatewayCryptoError> {
        Aes256Gcm::new_from_slice(self.0.expose_secret().as_bytes())
            .map_err(|_| GatewayCryptoError::ApiV3KeyLength)
    }

    /// base64(AES-256-GCM ciphertext with the tag appended). `nonce` must be 12 bytes.
    pub fn encrypt(
        &self,
        nonce: &str,
        associated_data: &str,
        plaintext: &[u8],
    ) -> Result<String, GatewayCryptoError> {
        let nonce = nonce_bytes(nonce)?;
        let sealed = self
            .cipher()?
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: associated_data.as_bytes(),
                },
            )
            .map_err(|_| GatewayCryptoError::Decrypt)?;
        Ok(STANDARD.encode(sealed))
    }

    /// The plaintext of [`ApiV3Key::encrypt`]'s output.
    pub fn decrypt(
        &self,
        nonce: &str,
        associated_data: &str,
        ciphertext_b64: &str,
    ) -> Result<Vec<u8>, GatewayCryptoError> {
        let nonce = nonce_bytes(nonce)?;
        let sealed = STANDARD
            .decode(ciphertext_b64.trim())
            .map_err(|_| GatewayCryptoError::Malformed("ciphertext"))?;
        self.cipher()?
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed,
                    aad: associated_data.as_bytes(),
                },
            )
            .map_err(|_| GatewayCryptoError::Decrypt)
    }
}

fn nonce_bytes(nonce: &str) -> Result<[u8; 12], GatewayCryptoError> {
    nonce
        .as_bytes()
        .try_into()
        .map_err(|_| GatewayCryptoError::Malformed("nonce"))
}

/// A 12-character random nonce for a notification resource.
pub fn resource_nonce() -> String {
    Alphanumeric.sample_string(&mut OsRng, 12)
}

/// Lower-case hex SHA-1 (the trade bill's `hash_value`; SHA-1 is the protocol's choice, used
/// only as a download checksum).
pub fn sha1_hex(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    fn pair() -> &'static GeneratedKeyPair {
        static PAIR: OnceLock<GeneratedKeyPair> = OnceLock::new();
        PAIR.get_or_init(|| generate_key_pair().unwrap())
    }

    #[test]
    fn messages_are_the_documented_lines() {
        assert_eq!(
            request_message("GET", "/v3/x?mchid=1", 1554208460, "N", b""),
            b"GET\n/v3/x?mchid=1\n1554208460\nN\n\n"
        );
        assert_eq!(
            response_message("1554208460", "N", b"{}"),
            b"1554208460\nN\n{}\n"
        );
    }

    #[test]
    fn a_request_signed_with_ring_verifies_and_a_changed_one_does_not() {
        let pair = pair();
        let key = SigningKey::from_pkcs8_pem(pair.private_pkcs8_pem.expose_secret()).unwrap();
        let public = VerifyingKey::from_spki_pem(&pair.public_spki_pem).unwrap();
        let now = 1_700_000_000;
        let auth = Authorization::sign(
            &key,
            "1900000001",
            &pair.serial,
            "POST",
            "/v3/a",
            now,
            b"{}",
        )
        .unwrap();
        let parsed = Authorization::parse(&auth.header_value()).unwrap();
        assert_eq!(parsed, auth);
        parsed
            .verify(&public, &pair.serial, "POST", "/v3/a", b"{}", now + 299)
            .unwrap();
        assert_eq!(
            parsed.verify(&public, &pair.serial, "POST", "/v3/a", b"{ }", now),
            Err(GatewayCryptoError::BadSignature)
        );
        assert_eq!(
            parsed.verify(&public, &pair.serial, "POST", "/v3/b", b"{}", now),
            Err(GatewayCryptoError::BadSignature)
        );
        assert!(matches!(
            parsed.verify(&public, &pair.serial, "POST", "/v3/a", b"{}", now + 301),
            Err(GatewayCryptoError::Stale { .. })
        ));
        assert!(matches!(
            parsed.verify(&public, "OTHER", "POST", "/v3/a", b"{}", now),
            Err(GatewayCryptoError::UnknownSerial(_))
        ));
    }

    #[test]
    fn platform_signatures_verify_and_reject_forgeries() {
        let pair = pair();
        let key = SigningKey::from_pkcs8_pem(pair.private_pkcs8_pem.expose_secret()).unwrap();
        let public = VerifyingKey::from_spki_pem(&pair.public_spki_pem).unwrap();
        let signed = PlatformSignature::sign(&key, "S1", 1_000, b"body").unwrap();
        signed.verify(&public, "S1", b"body", 1_000).unwrap();
        assert_eq!(
            signed.verify(&public, "S1", b"bodY", 1_000),
            Err(GatewayCryptoError::BadSignature)
        );
        let mut forged = signed.clone();
        forged.signature = STANDARD.encode([7u8; 256]);
        assert_eq!(
            forged.verify(&public, "S1", b"body", 1_000),
            Err(GatewayCryptoError::BadSignature)
        );
    }

    #[test]
    fn aead_round_trip_and_tamper() {
        let key = ApiV3Key::new(SecretString::from("0123456789abcdef0123456789abcdef")).unwrap();
        let sealed = key
            .encrypt("abcdefghijkl", "transaction", b"{\"a\":1}")
            .unwrap();
        assert_eq!(
            key.decrypt("abcdefghijkl", "transaction", &sealed).unwrap(),
            b"{\"a\":1}"
        );
        assert_eq!(
            key.decrypt("abcdefghijkl", "refund", &sealed),
            Err(GatewayCryptoError::Decrypt)
        );
        assert!(ApiV3Key::new(SecretString::from("short")).is_err());
    }

    #[test]
    fn sha1_of_abc() {
        // FIPS 180 test vector.
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn authorization_header_shape() {
        let auth = Authorization {
            mchid: "1900000001".into(),
            nonce_str: "N".into(),
            signature: "S".into(),
            timestamp: "1".into(),
            serial_no: "SER".into(),
        };
        assert_eq!(
            auth.header_value(),
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\",nonce_str=\"N\",signature=\"S\",timestamp=\"1\",serial_no=\"SER\""
        );
        assert!(Authorization::parse("Basic abc").is_err());
        assert!(Authorization::parse("WECHATPAY2-SHA256-RSA2048 mchid=\"1\"").is_err());
    }
}
