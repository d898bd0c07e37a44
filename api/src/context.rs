//! What every part of a request's handling may need to know about it without being handed it:
//! its id and the language its answer is written in. Set by the request middleware for the
//! duration of the request (a tokio task-local), read by the error renderer.

use actix_web::http::header::{HeaderMap, ACCEPT_LANGUAGE};

/// The language of human-readable text in responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The best of `zh*` and `en*` by the `Accept-Language` q-values; Chinese when the header
    /// names neither (the app's users are in mainland China).
    pub fn negotiate(headers: &HeaderMap) -> Lang {
        let Some(value) = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Lang::Zh;
        };
        let mut best: Option<(Lang, f32)> = None;
        for part in value.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag.starts_with("zh") {
                Lang::Zh
            } else if tag.starts_with("en") {
                Lang::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
                best = Some((lang, q));
            }
        }
        best.map(|(l, _)| l).unwrap_or(Lang::Zh)
    }

    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub lang: Lang,
    pub path: String,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// Runs `fut` with `ctx` as the current request context.
pub async fn scope<F: std::future::Future>(ctx: RequestContext, fut: F) -> F::Output {
    CONTEXT.scope(ctx, fut).await
}

/// The current request's context, if called while handling one.
pub fn current() -> Option<RequestContext> {
    CONTEXT.try_with(Clone::clone).ok()
}

pub fn lang() -> Lang {
    CONTEXT.try_with(|c| c.lang).unwrap_or(Lang::Zh)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn neg(v: &str) -> Lang {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_LANGUAGE, HeaderValue::from_str(v).unwrap());
        Lang::negotiate(&h)
    }

    #[test]
    fn picks_by_quality() {
        assert_eq!(neg("en-US,en;q=0.9"), Lang::En);
        assert_eq!(neg("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(neg("en;q=0.5, zh-Hans;q=0.8"), Lang::Zh);
        assert_eq!(neg("fr-FR, en;q=0.3"), Lang::En);
        assert_eq!(neg("fr-FR"), Lang::Zh);
        assert_eq!(neg("en;q=0, zh;q=0.1"), Lang::Zh);
        assert_eq!(Lang::negotiate(&HeaderMap::new()), Lang::Zh);
    }
}
