//! Random opaque secrets (refresh tokens, recovery codes, SMS codes) and their stored hashes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// 256 random bits, base64url: a refresh token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 in hex. Enough for high-entropy secrets (tokens); low-entropy ones (6-digit codes)
/// are hashed with the keyed blind index instead.
pub fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of bytes (a stored document's fingerprint).
pub fn sha256_hex_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a string, as bytes: a fixed-size key for caches of high-entropy values.
pub fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// `n` random decimal digits (an SMS code).
pub fn random_digits(n: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A recovery code like `k7m2-q9xa-4hpt`: 12 characters from 31 (about 59 bits).
pub fn recovery_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..12)
        .map(|_| char::from(RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())]))
        .collect();
    format!(
        "{}-{}-{}",
        chars[0..4].iter().collect::<String>(),
        chars[4..8].iter().collect::<String>(),
        chars[8..12].iter().collect::<String>()
    )
}

/// Recovery codes are compared without dashes, spaces or case.
pub fn normalise_recovery_code(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(random_token().len(), 43);
        assert_ne!(random_token(), random_token());
        let d = random_digits(6);
        assert!(d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit()));
        let r = recovery_code();
        assert_eq!(r.len(), 14);
        assert_eq!(normalise_recovery_code(&r.to_uppercase()).len(), 12);
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
