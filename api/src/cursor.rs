//! Opaque page cursors: the key of the last item, base64url-encoded, so clients do not build them.

use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

pub fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// The longest cursor read: base64url of a 258-byte key (keys are far shorter).
pub const MAX_CHARS: usize = 344;

/// Lenient about the last symbol's unused bits, so that every string of the documented pattern
/// (`^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$`) decodes.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// The key a cursor names; `None` if it is not base64url text of the documented length. Any such
/// cursor is read, even one no page gave (it is a position in the list like any other): invalid
/// UTF-8 is replaced and control characters are dropped, so a forged key never reaches the
/// database with a NUL byte (PostgreSQL refuses those).
pub fn decode(cursor: &str) -> Option<String> {
    if cursor.len() > MAX_CHARS {
        return None;
    }
    let bytes = LENIENT.decode(cursor.as_bytes()).ok()?;
    let key: String = String::from_utf8_lossy(&bytes)
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cursor_of_the_documented_pattern_is_read() {
        assert_eq!(decode(&encode("440300")).as_deref(), Some("440300"));
        // Not from any page: unused trailing bits, invalid UTF-8, a NUL byte.
        assert!(decode("AB").is_some());
        assert_eq!(
            decode(&URL_SAFE_NO_PAD.encode(b"a\0b\xff")).as_deref(),
            Some("ab\u{fffd}")
        );
        assert!(decode(&"A".repeat(MAX_CHARS)).is_some());
        // Outside the pattern.
        assert_eq!(decode("A"), None);
        assert_eq!(decode("a+b/"), None);
        assert_eq!(decode(&"A".repeat(MAX_CHARS + 4)), None);
    }
}
