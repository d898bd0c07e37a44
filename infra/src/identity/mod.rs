//! Storage of the phone app's identities: accounts, SMS codes, sessions and refresh tokens,
//! recovery codes, spent single-use tokens, per-address throttling. Every state change that a
//! race could repeat (using a code, a refresh token, a TOTP step) is a conditional UPDATE, so
//! two instances can never both succeed.

pub mod accounts;
pub mod codes;
pub mod sessions;
pub mod throttle;

/// Blind-index domain of phone numbers.
pub const PHONE_INDEX: &str = "phone";
/// Associated data bound into a phone number's ciphertext.
pub const PHONE_AAD: &[u8] = b"accounts.phone";
/// Associated data bound into a TOTP secret's ciphertext.
pub const TOTP_AAD: &[u8] = b"accounts.totp_secret";
