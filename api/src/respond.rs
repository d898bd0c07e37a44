//! JSON answers written into one buffer of about their final size.
//!
//! `HttpResponseBuilder::json` serializes into a `String` that starts small and doubles: for a
//! 13 KB page of contributions that is several reallocations, each copying what was written so
//! far. A list knows roughly how large it will be and asks for that at once. (A small saving:
//! the records bench's profiles put most of the server's copying and allocator time in reading
//! the rows, not here; see bench/README.md.)

use actix_web::http::header::ContentType;
use actix_web::HttpResponse;
use serde::Serialize;

use crate::error::ApiError;

/// 200 with `value` as JSON, written into a buffer of `capacity` bytes to begin with.
pub fn json_ok<T: Serialize>(value: &T, capacity: usize) -> Result<HttpResponse, ApiError> {
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, value)
        .map_err(|e| ApiError::Internal(format!("the answer could not be written: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(body))
}

/// A page's likely size: `items` of about `per_item` bytes and a little for the envelope.
pub fn page_capacity(items: usize, per_item: usize) -> usize {
    items.saturating_mul(per_item).saturating_add(256)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn the_answer_is_the_json_of_the_value() {
        let value = serde_json::json!({"items": [{"period": "2026-11"}], "next_cursor": null});
        let res = json_ok(&value, page_capacity(1, 300)).unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "application/json"
        );
        let body = res.into_body().try_into_bytes().unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            value
        );
    }
}
