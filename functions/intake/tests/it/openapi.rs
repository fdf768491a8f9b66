//! The OpenAPI document against the router: every path and method the router serves is an
//! operation of `/openapi.json` and nothing else is, each with the problem answers; a route
//! added without its `#[utoipa::path]` annotation (and its line in `openapi.rs`) fails here.

use crate::roles::methods_of;
use crate::support::App;
use axum::http::{Method, StatusCode};
use std::collections::BTreeSet;

#[tokio::test]
async fn every_route_of_the_router_is_in_the_document_and_nothing_else() {
    let app = App::new().await;
    let a = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let doc = a.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut served = BTreeSet::new();
    for path in herald_intake::paths() {
        for method in methods_of(&app, path).await {
            served.insert((method.to_ascii_lowercase(), path.to_owned()));
        }
    }
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            documented.insert((method.clone(), path.clone()));
            let responses = op["responses"].as_object().unwrap();
            for status in ["400", "401", "404", "413", "415", "422", "429"] {
                assert_eq!(
                    responses[status]["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
            assert!(
                responses
                    .keys()
                    .any(|s| s.starts_with('2') || s.starts_with('3')),
                "{method} {path} documents no success"
            );
        }
    }
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "annotate each handler with #[utoipa::path] and list it in src/openapi.rs;\n\
         served but not documented: {missing:?}\ndocumented but not served: {extra:?}"
    );
    let problem = &doc["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail"] {
        assert!(problem["properties"][field].is_object(), "{problem}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}
