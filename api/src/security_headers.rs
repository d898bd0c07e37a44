//! The headers every response carries so a browser treats the API's answers safely: no MIME
//! sniffing, no referrer, no framing, a content security policy, no caching of tokens or
//! personal data, and HSTS when the service is reached over TLS (`SHEBAO_HSTS`).

use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// The API answers JSON: it loads nothing and may not be framed.
pub const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The docs page (Swagger UI, every asset served from the binary) runs only its own scripts,
/// styles itself inline, shows inline images, and reads `/openapi.json`; the "try it out"
/// console calls this origin only. Nothing is loaded from anywhere else.
pub const DOCS_CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// One year, as browsers' preload lists expect.
pub const HSTS: &str = "max-age=31536000";

/// Sets the headers on a response to a request for `path`, keeping a `Cache-Control` the
/// handler chose (the JWKS may be cached; nothing else is).
pub fn apply(headers: &mut HeaderMap, path: &str, hsts: bool) {
    let set = |h: &mut HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    let csp = if path == "/docs" || path.starts_with("/docs/") {
        DOCS_CSP
    } else {
        API_CSP
    };
    set(headers, header::CONTENT_SECURITY_POLICY, csp);
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    if hsts {
        set(headers, header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
}
