//! Security primitives for Shebao: key material, field encryption and blind
//! indexes for PII, password hashing and signed tokens.
//!
//! Nothing in this crate logs secret values; every type that holds a secret
//! has a redacted `Debug` implementation.
#![forbid(unsafe_code)]

pub mod gateway_crypto;
pub mod keys;
pub mod opaque;
pub mod password;
pub mod pii;
pub mod tokens;
pub mod totp;

pub use keys::{KeyError, KeyMaterial};
pub use password::{PasswordError, PasswordHasher};
pub use pii::{PiiError, PiiVault};
pub use tokens::{TokenError, TokenSigner, VerifyOptions};
