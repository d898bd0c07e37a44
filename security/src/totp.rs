//! TOTP (RFC 6238) as authenticator apps do it: SHA-1, 6 digits, 30-second steps, one step of
//! drift either way, 160-bit secrets. totp-rs does the arithmetic; it does not remember used
//! codes, so `verify` returns the matched step and the caller rejects any step at or below the
//! last one it accepted.

use base64::Engine;
use rand::RngCore;
use totp_rs::{Algorithm, Builder, Secret, Totp};

pub const SECRET_BYTES: usize = 20;
pub const ISSUER: &str = "Shebao";

#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("TOTP set-up failed: {0}")]
    Setup(String),
}

/// A fresh random 160-bit secret.
pub fn generate_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

fn totp(secret: &[u8], account: &str) -> Result<Totp, TotpError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::from(secret.to_vec()))
        .with_account_name(account.replace(':', " "))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| TotpError::Setup(e.to_string()))
}

/// What the phone needs to enrol: the secret in base32, the `otpauth://` URI, and a QR code of
/// it as base64 PNG.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_uri: String,
    pub qr_png_base64: String,
}

pub fn enrolment(secret: &[u8], account: &str) -> Result<Enrolment, TotpError> {
    let t = totp(secret, account)?;
    Ok(Enrolment {
        secret_base32: t.secret().to_base32(),
        otpauth_uri: t.to_url().map_err(|e| TotpError::Setup(e.to_string()))?,
        qr_png_base64: t
            .to_qr_base64()
            .map_err(|e| TotpError::Setup(e.to_string()))?,
    })
}

/// The step (unix time / 30) whose code matches `code` within one step of `unix_time`, if any.
pub fn verify(secret: &[u8], code: &str, unix_time: i64) -> Option<i64> {
    let time = u64::try_from(unix_time).ok()?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret, "x").ok()?;
    t.check(code, time)
        .and_then(|step| i64::try_from(step).ok())
}

/// The code for `unix_time` (what an authenticator app would show); for tests and tools.
pub fn code_at(secret: &[u8], unix_time: i64) -> Option<String> {
    let t = totp(secret, "x").ok()?;
    Some(t.generate(u64::try_from(unix_time).ok()?).to_string())
}

/// Base64 of raw secret bytes, for storage (encrypted by the caller).
pub fn encode_secret(secret: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(secret)
}

pub fn decode_secret(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .ok()
        .filter(|b| b.len() >= 16)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vector() {
        // RFC 6238 appendix B: secret "12345678901234567890", T = 59 → 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).unwrap(), "287082");
        assert_eq!(code_at(secret, 1_111_111_109).unwrap(), "081804");
    }

    #[test]
    fn accepts_one_step_of_drift_and_reports_the_step() {
        let secret = generate_secret();
        let now = 1_800_000_015;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(verify(&secret, &code, now), Some(now / 30));
        assert_eq!(verify(&secret, &code, now + 30), Some(now / 30));
        assert_eq!(verify(&secret, &code, now - 30), Some(now / 30));
        assert_eq!(verify(&secret, &code, now + 60), None);
        assert_eq!(verify(&secret, "12345", now), None);
        assert_eq!(verify(&secret, "abcdef", now), None);
    }

    #[test]
    fn enrolment_has_uri_and_png() {
        let secret = generate_secret();
        let e = enrolment(&secret, "+86 138****5678").unwrap();
        assert!(e.otpauth_uri.starts_with("otpauth://totp/Shebao"));
        assert!(e
            .otpauth_uri
            .contains(&format!("secret={}", e.secret_base32)));
        let png = base64::engine::general_purpose::STANDARD
            .decode(&e.qr_png_base64)
            .unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(decode_secret(&encode_secret(&secret)).unwrap(), secret);
    }
}

/// The raw secret from its base32 form (as enrolment shows it).
pub fn decode_base32(secret: &str) -> Option<Vec<u8>> {
    Secret::try_from_base32(secret.trim())
        .ok()
        .map(|s| s.as_ref().to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod base32_tests {
    use super::*;

    #[test]
    fn base32_round_trip() {
        let secret = generate_secret();
        let e = enrolment(&secret, "a").unwrap();
        assert_eq!(decode_base32(&e.secret_base32).unwrap(), secret);
    }
}
