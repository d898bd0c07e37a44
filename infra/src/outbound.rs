//! What the outbound HTTP adapters (the SMS provider, the payment gateway) say about a failed
//! request: the kind of failure and its causes, never the URL (it may carry credentials).

/// A transport failure in words, without the URL.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    format!("{kind}: {}", chain(error))
}

/// An error and its sources, `: `-separated, with reqwest's URL left out.
pub(crate) fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" for url ({url})"), "");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
