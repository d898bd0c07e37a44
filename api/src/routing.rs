//! What the router does not answer itself: 404 for unknown paths and 405 (with `Allow`) for a
//! known path asked with the wrong method. The table of known paths comes from the OpenAPI
//! document, so the spec and the 405s cannot disagree.

use actix_web::dev::ResourceDef;
use utoipa::openapi::OpenApi;

pub struct RouteTable {
    routes: Vec<(ResourceDef, Vec<String>)>,
}

impl RouteTable {
    pub fn from_spec(spec: &OpenApi) -> RouteTable {
        let mut routes = Vec::new();
        for (path, item) in &spec.paths.paths {
            let mut methods = Vec::new();
            for (name, present) in [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ] {
                if present {
                    methods.push(name.to_owned());
                }
            }
            if methods.contains(&"GET".to_owned()) {
                methods.push("HEAD".to_owned());
            }
            routes.push((ResourceDef::new(path.as_str()), methods));
        }
        RouteTable { routes }
    }

    /// The methods a path supports, if the path is known at all.
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let mut allowed: Vec<String> = Vec::new();
        for (def, methods) in &self.routes {
            if def.is_match(path) {
                for m in methods {
                    if !allowed.contains(m) {
                        allowed.push(m.clone());
                    }
                }
            }
        }
        (!allowed.is_empty()).then_some(allowed)
    }
}
