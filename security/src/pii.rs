//! Encryption at rest and keyed blind indexes for personal data such as the
//! national ID number.
//!
//! A national ID number has only about 2^37 possible values, so a plain hash
//! of it is reversible in seconds: lookups go through an HMAC keyed with a
//! secret kept outside the database, and the value itself is stored
//! AES-256-GCM encrypted.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::ExposeSecret;
use sha2::Sha256;

use crate::keys::{KeyError, KeyMaterial, BLIND_INDEX_KEY_ENV, KEY_LEN, PII_KEY_ENV};

/// Prefix of ciphertexts made with the current (first) PII key.
const V1_PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Why a stored value could not be decrypted.
#[derive(Debug, thiserror::Error)]
pub enum PiiError {
    /// Not something [`PiiVault::encrypt`] produced (unknown version, bad base64, too short).
    #[error("ciphertext is malformed")]
    Malformed,
    /// Wrong key, wrong `aad`, or tampered data.
    #[error("ciphertext failed authentication")]
    Decrypt,
}

/// Encrypts, decrypts and blind-indexes PII. Cheap to clone.
#[derive(Clone)]
pub struct PiiVault {
    inner: Arc<Inner>,
}

struct Inner {
    cipher: Aes256Gcm,
    index_mac: Hmac<Sha256>,
}

impl fmt::Debug for PiiVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiVault { .. redacted .. }")
    }
}

impl PiiVault {
    /// Builds the vault from the PII and blind-index keys.
    ///
    /// # Panics
    /// If either key is not 32 bytes long. [`KeyMaterial::load`] and
    /// [`KeyMaterial::generate`] never produce such keys; use [`PiiVault::try_new`]
    /// for hand-built key material.
    pub fn new(keys: &KeyMaterial) -> PiiVault {
        match PiiVault::try_new(keys) {
            Ok(vault) => vault,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`PiiVault::new`], but reports keys of the wrong length instead of panicking.
    pub fn try_new(keys: &KeyMaterial) -> Result<PiiVault, KeyError> {
        let wrong_len = |name: &'static str| KeyError::Invalid {
            name,
            reason: format!("must be {KEY_LEN} bytes"),
        };
        let pii_key = keys.pii_key.expose_secret();
        if pii_key.len() != KEY_LEN {
            return Err(wrong_len(PII_KEY_ENV));
        }
        let cipher = Aes256Gcm::new_from_slice(pii_key).map_err(|_| wrong_len(PII_KEY_ENV))?;

        let index_key = keys.blind_index_key.expose_secret();
        if index_key.len() != KEY_LEN {
            return Err(wrong_len(BLIND_INDEX_KEY_ENV));
        }
        let index_mac = <Hmac<Sha256> as Mac>::new_from_slice(index_key)
            .map_err(|_| wrong_len(BLIND_INDEX_KEY_ENV))?;

        Ok(PiiVault {
            inner: Arc::new(Inner { cipher, index_mac }),
        })
    }

    /// Encrypts `plaintext` with AES-256-GCM under a fresh random 96-bit nonce, binding
    /// `aad` (e.g. `b"persons.national_id"`) into the tag so a ciphertext cannot be moved
    /// to another column. Returns `"v1:" + base64url-no-pad(nonce || ciphertext || tag)`.
    ///
    /// # Panics
    /// Only if `plaintext` exceeds AES-GCM's limit of 64 GiB.
    pub fn encrypt(&self, plaintext: &str, aad: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let sealed = match self.inner.cipher.encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext.as_bytes(),
                aad,
            },
        ) {
            Ok(sealed) => sealed,
            Err(_) => panic!("plaintext too long for AES-GCM"),
        };
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        let mut out = String::with_capacity(V1_PREFIX.len() + (blob.len() * 4).div_ceil(3));
        out.push_str(V1_PREFIX);
        URL_SAFE_NO_PAD.encode_string(&blob, &mut out);
        out
    }

    /// Reverses [`PiiVault::encrypt`]; `aad` must be the same as at encryption.
    pub fn decrypt(&self, stored: &str, aad: &[u8]) -> Result<String, PiiError> {
        let encoded = stored.strip_prefix(V1_PREFIX).ok_or(PiiError::Malformed)?;
        let blob = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| PiiError::Malformed)?;
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(PiiError::Malformed);
        }
        let (nonce, sealed) = blob
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(PiiError::Malformed)?;
        let plain = self
            .inner
            .cipher
            .decrypt(&Nonce::from(*nonce), Payload { msg: sealed, aad })
            .map_err(|_| PiiError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| PiiError::Malformed)
    }

    /// Keyed lookup index: lowercase hex of HMAC-SHA256(blind_index_key, domain || 0x00 || value).
    ///
    /// `domain` separates uses (e.g. `"national_id"`, `"phone"`) so equal values in different
    /// columns do not share an index. The value is hashed byte for byte: callers must normalise
    /// it first (e.g. trim and upper-case the check character `x` of a national ID).
    pub fn blind_index(&self, domain: &str, value: &str) -> String {
        debug_assert!(
            !domain.contains('\0'),
            "blind-index domain must not contain NUL"
        );
        let mut mac = self.inner.index_mac.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(digest.len() * 2);
        for b in digest {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use secrecy::SecretSlice;

    const AAD: &[u8] = b"persons.national_id";
    const ID: &str = "11010519491231002X";

    fn vault() -> PiiVault {
        PiiVault::new(&KeyMaterial::generate())
    }

    fn keys_with(pii: [u8; 32], index: [u8; 32]) -> KeyMaterial {
        KeyMaterial {
            pii_key: SecretSlice::from(pii.to_vec()),
            blind_index_key: SecretSlice::from(index.to_vec()),
            signing_key_seed: SecretSlice::from(vec![0u8; 32]),
            previous_signing_public_keys: Vec::new(),
        }
    }

    #[test]
    fn round_trip() {
        let v = vault();
        for text in [
            ID,
            "",
            "张三",
            "a much longer value with spaces and ✓ unicode",
        ] {
            let stored = v.encrypt(text, AAD);
            assert!(stored.starts_with("v1:"), "{stored}");
            assert!(!stored.contains(text) || text.is_empty());
            assert_eq!(v.decrypt(&stored, AAD).unwrap(), text);
        }
        // clones share the key
        let stored = v.encrypt(ID, AAD);
        assert_eq!(v.clone().decrypt(&stored, AAD).unwrap(), ID);
    }

    #[test]
    fn same_value_encrypts_differently() {
        let v = vault();
        let a = v.encrypt(ID, AAD);
        let b = v.encrypt(ID, AAD);
        assert_ne!(a, b);
        // the nonces differ, not only the ciphertexts
        let na = URL_SAFE_NO_PAD.decode(&a[3..]).unwrap();
        let nb = URL_SAFE_NO_PAD.decode(&b[3..]).unwrap();
        assert_ne!(na[..NONCE_LEN], nb[..NONCE_LEN]);
    }

    #[test]
    fn tampered_ciphertext_fails_authentication() {
        let v = vault();
        let stored = v.encrypt(ID, AAD);
        let blob = URL_SAFE_NO_PAD.decode(&stored[3..]).unwrap();
        for i in [0, NONCE_LEN, blob.len() / 2, blob.len() - 1] {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            let bad = format!("v1:{}", URL_SAFE_NO_PAD.encode(&bad));
            assert!(
                matches!(v.decrypt(&bad, AAD), Err(PiiError::Decrypt)),
                "byte {i}"
            );
        }
        // truncating the tag
        let short = format!("v1:{}", URL_SAFE_NO_PAD.encode(&blob[..blob.len() - 1]));
        assert!(matches!(v.decrypt(&short, AAD), Err(PiiError::Decrypt)));
    }

    #[test]
    fn wrong_aad_or_key_fails_authentication() {
        let v = vault();
        let stored = v.encrypt(ID, AAD);
        assert!(matches!(
            v.decrypt(&stored, b"persons.phone"),
            Err(PiiError::Decrypt)
        ));
        assert!(matches!(v.decrypt(&stored, b""), Err(PiiError::Decrypt)));
        assert!(matches!(
            vault().decrypt(&stored, AAD),
            Err(PiiError::Decrypt)
        ));
    }

    #[test]
    fn garbage_is_malformed() {
        let v = vault();
        for bad in [
            "",
            "v1:",
            "v1:!!!not base64!!!",
            "v1:AAAA",
            "v2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "11010519491231002X",
            "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
        ] {
            assert!(
                matches!(v.decrypt(bad, AAD), Err(PiiError::Malformed)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn blind_index_is_deterministic_and_separated() {
        let keys = keys_with([1; 32], [2; 32]);
        let v = PiiVault::new(&keys);
        let a = v.blind_index("national_id", ID);
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(a, v.blind_index("national_id", ID));
        assert_eq!(
            a,
            PiiVault::new(&keys_with([9; 32], [2; 32])).blind_index("national_id", ID)
        );
        assert_ne!(a, v.blind_index("phone", ID));
        assert_ne!(a, v.blind_index("national_id", "110105194912310021"));
        assert_ne!(
            a,
            PiiVault::new(&keys_with([1; 32], [3; 32])).blind_index("national_id", ID)
        );
        // the separator keeps ("ab", "c") and ("a", "bc") apart
        assert_ne!(v.blind_index("ab", "c"), v.blind_index("a", "bc"));
    }

    #[test]
    fn blind_index_matches_reference_hmac() {
        let v = PiiVault::new(&keys_with([1; 32], [2; 32]));
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[2; 32]).unwrap();
        mac.update(b"phone\0+8613800138000");
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(v.blind_index("phone", "+8613800138000"), expected);
    }

    #[test]
    fn debug_is_redacted_and_bad_keys_rejected() {
        assert_eq!(format!("{:?}", vault()), "PiiVault { .. redacted .. }");
        let mut keys = KeyMaterial::generate();
        keys.pii_key = SecretSlice::from(vec![0u8; 16]);
        assert!(matches!(
            PiiVault::try_new(&keys),
            Err(KeyError::Invalid {
                name: PII_KEY_ENV,
                ..
            })
        ));
        let mut keys = KeyMaterial::generate();
        keys.blind_index_key = SecretSlice::from(vec![0u8; 31]);
        assert!(matches!(
            PiiVault::try_new(&keys),
            Err(KeyError::Invalid {
                name: BLIND_INDEX_KEY_ENV,
                ..
            })
        ));
    }

    #[test]
    fn vault_is_send_sync() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<PiiVault>();
    }
}
