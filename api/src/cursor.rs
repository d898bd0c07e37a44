//! Opaque page cursors: the key of the last item, base64url-encoded, so clients do not build them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

pub fn decode(cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).ok()?;
    // A key never holds a control character; a forged one must not reach the database (a NUL
    // byte would fail the query on PostgreSQL).
    String::from_utf8(bytes).ok().filter(|s| {
        !s.is_empty() && s.len() <= 256 && shebao_domain::text::without_control(s).is_ok()
    })
}
