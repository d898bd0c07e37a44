//! The interactive API reference at `/docs`: Swagger UI, every asset served from the binary (the
//! `vendored` build of `utoipa-swagger-ui`), so the page renders offline, on an intranet, and
//! behind firewalls where public CDNs are slow or blocked. The page reads the live `/openapi.json`.

use std::sync::{Arc, OnceLock};

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa_swagger_ui::Config;

use crate::error::ApiError;

/// Where the page lives; its assets are below it.
pub const DOCS_PATH: &str = "/docs";

/// The page itself, titled after the API; every script and style sheet is one of ours.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="zh-CN">
  <head>
    <meta charset="UTF-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Shebao API · 掌上社保 接口文档</title>
    <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
"#;

/// Swagger UI's settings: the spec this server serves, no call to the public validator (a
/// request to the internet on every page view), the plain layout without the "explore" bar.
fn config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            Arc::new(
                Config::from("/openapi.json")
                    .validator_url("none")
                    .use_base_layout()
                    .display_request_duration(true)
                    .filter(true),
            )
        })
        .clone()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(DOCS_PATH, web::get().to(page))
        .route("/docs/", web::get().to(page))
        .route("/docs/{file}", web::get().to(asset));
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(PAGE)
}

async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    match utoipa_swagger_ui::serve(&file, config()) {
        Ok(Some(asset)) => Ok(HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(asset.bytes.into_owned())),
        Ok(None) => Err(ApiError::RouteNotFound),
        Err(e) => Err(ApiError::Internal(format!("docs asset {file}: {e}"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every asset the page names exists in the bundle, so the page cannot reference a file the
    /// server would answer 404 for.
    #[test]
    fn every_asset_the_page_names_is_in_the_bundle() {
        let mut named = 0;
        for part in PAGE.split('"') {
            if let Some(file) = part.strip_prefix("/docs/") {
                named += 1;
                let served = utoipa_swagger_ui::serve(file, config());
                assert!(matches!(served, Ok(Some(_))), "{file} is not in the bundle");
            }
        }
        assert_eq!(named, 5);
    }

    #[test]
    fn the_initializer_points_at_our_spec_and_not_at_the_public_validator() {
        let init = utoipa_swagger_ui::serve("swagger-initializer.js", config())
            .unwrap()
            .unwrap();
        let text = String::from_utf8(init.bytes.into_owned()).unwrap();
        assert!(text.contains("\"/openapi.json\""), "{text}");
        assert!(text.contains("\"validatorUrl\": \"none\""), "{text}");
        assert!(!text.contains("petstore"), "{text}");
    }
}
