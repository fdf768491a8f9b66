//! The OpenAPI document against the router: every path and method the router serves is an
//! operation of `/openapi.json` and nothing else is, each with the problem answers; a route
//! added without its `#[utoipa::path]` annotation (and its line in `openapi.rs`) fails here.

use crate::roles::methods_of;
use crate::support::App;
use axum::http::{Method, StatusCode};
use herald_domain::event::EventKind;
use serde_json::{Value, json};
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

/// Every `$ref` under `value`, with where it is.
fn refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push((at.to_owned(), r.clone()));
            }
            for (k, v) in map {
                refs(v, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refs(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// A schema that says nothing of its JSON: `{}`, or an object with no properties, no
/// composition and no map of values.
fn untyped(schema: &Value) -> bool {
    let o = schema.as_object().expect("a schema is an object");
    let said = [
        "$ref",
        "properties",
        "oneOf",
        "allOf",
        "anyOf",
        "additionalProperties",
    ];
    o.is_empty()
        || (o.get("type") == Some(&json!("object")) && !said.iter().any(|k| o.contains_key(*k)))
}

#[tokio::test]
async fn every_json_body_is_typed_every_reference_resolves_and_operation_ids_are_unique() {
    let app = App::new().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .body;
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let mut untyped_bodies = vec![];
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().expect("an operation id");
            assert!(ids.insert(id.to_owned()), "operation id {id} twice");
            let mut bodies = vec![];
            if let Some(content) = op["requestBody"]["content"].as_object() {
                bodies.extend(content.iter().map(|(t, c)| (format!("request {t}"), c)));
            }
            for (status, answer) in op["responses"].as_object().unwrap() {
                if let Some(content) = answer["content"].as_object() {
                    bodies.extend(content.iter().map(|(t, c)| (format!("{status} {t}"), c)));
                }
            }
            for (what, content) in bodies {
                // The document itself is an OpenAPI document, not a schema of ours.
                if path == "/openapi.json" {
                    continue;
                }
                if content["schema"].is_null() || untyped(&content["schema"]) {
                    untyped_bodies.push(format!("{method} {path} {what}"));
                }
            }
        }
    }
    assert!(
        untyped_bodies.is_empty(),
        "untyped bodies: {untyped_bodies:#?}"
    );
    let mut all = vec![];
    refs(&doc, "", &mut all);
    assert!(all.len() > 100, "{}", all.len());
    for (at, r) in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{at}: {r}"));
        assert!(schemas.contains_key(name), "{at}: {r} names no schema");
    }
}

/// The keys of `value` against an object schema (after its `$ref`): each one a property,
/// each required one there. A shallow check of what the server answers against the document.
fn fits(value: &Value, schema: &Value, doc: &Value) -> Result<(), String> {
    let schema = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    let keys = value.as_object().ok_or("not an object")?;
    let properties = schema["properties"].as_object().ok_or("no properties")?;
    for k in keys.keys() {
        if !properties.contains_key(k) {
            return Err(format!("{k} is not in the schema"));
        }
    }
    for r in schema["required"].as_array().into_iter().flatten() {
        if !keys.contains_key(r.as_str().unwrap()) {
            return Err(format!("{r} is required but missing"));
        }
    }
    Ok(())
}

#[tokio::test]
async fn each_event_type_is_a_webhook_whose_data_is_that_events_payload_schema() {
    let app = App::new().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .body;
    let hooks = doc["webhooks"].as_object().expect("webhooks");
    let names: BTreeSet<_> = hooks.keys().map(String::as_str).collect();
    assert_eq!(names, EventKind::NAMES.into_iter().collect());
    // The derived union of kinds and the hand-built webhooks agree on each kind's payload.
    let kinds = doc["components"]["schemas"]["EventKind"]["oneOf"]
        .as_array()
        .unwrap();
    for name in EventKind::NAMES {
        let envelope = &hooks[name]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(envelope["properties"]["kind"]["const"], name);
        let data = envelope["properties"]["data"]["$ref"].as_str().unwrap();
        let derived = kinds
            .iter()
            .find(|k| k["properties"]["kind"]["enum"][0] == name)
            .unwrap_or_else(|| panic!("{name} is not in EventKind"));
        assert_eq!(derived["properties"]["data"]["$ref"], data, "{name}");
        let payload =
            &doc["components"]["schemas"][data.trim_start_matches("#/components/schemas/")];
        assert!(payload["properties"].is_object(), "{name}: {payload}");
        let params: Vec<_> = hooks[name]["post"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            params,
            ["webhook-id", "webhook-timestamp", "webhook-signature"]
        );
    }
    // A real event as an endpoint receives it fits its webhook's envelope and payload.
    let event = herald_domain::Event {
        id: herald_domain::EventId::generate(1, 2),
        workspace: herald_domain::WorkspaceId::generate(1, 3),
        time: app.now(),
        kind: EventKind::PostFailed(herald_domain::event::PostFailed {
            post: herald_domain::PostId::generate(1, 4),
            account: herald_domain::AccountId::generate(1, 5),
            platform: herald_domain::Platform::Sandbox,
            error: "refused".into(),
        }),
    };
    let wire = serde_json::to_value(herald_ports::BusEvent::of(&event)).unwrap();
    let envelope =
        &hooks["post.failed"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    fits(&wire, envelope, &doc).unwrap();
    fits(&wire["data"], &envelope["properties"]["data"], &doc).unwrap();
    let mut wrong = wire["data"].clone();
    wrong.as_object_mut().unwrap().remove("error");
    assert!(fits(&wrong, &envelope["properties"]["data"], &doc).is_err());
}

#[tokio::test]
async fn what_the_server_answers_fits_the_documented_schema() {
    let app = App::new().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .body;
    let ws = app.workspace("Fits").await;
    let account = app.sandbox(&ws, "fits").await;
    let post = app
        .create_post(
            &ws,
            json!({"text": "hello", "accounts": [account], "tags": ["t"]}),
        )
        .await;
    let key = ws.key.as_str();
    let schema_of = |path: &str, method: &str, status: &str| {
        doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
            .clone()
    };
    let view = app.get(&format!("/v1/posts/{post}"), key).await.body;
    fits(&view, &schema_of("/v1/posts/{id}", "get", "200"), &doc).unwrap();
    let accounts = app.get("/v1/accounts", key).await.body;
    fits(&accounts, &schema_of("/v1/accounts", "get", "200"), &doc).unwrap();
    let settings = app.get("/v1/workspace", key).await.body;
    fits(&settings, &schema_of("/v1/workspace", "get", "200"), &doc).unwrap();
    let health = app.call(Method::GET, "/healthz", None, None).await.body;
    fits(&health, &schema_of("/healthz", "get", "200"), &doc).unwrap();
    // Published, with the fields only a published target has, and a comment in the inbox.
    let published = app
        .create_post(
            &ws,
            json!({"text": "out", "accounts": [account], "scheduled_at": app.at(chrono::Duration::zero())}),
        )
        .await;
    app.run_publisher().await;
    let view = app.post_view(&ws, &published).await;
    assert!(view["targets"][0]["published_at"].is_string(), "{view}");
    fits(&view, &schema_of("/v1/posts/{id}", "get", "200"), &doc).unwrap();
    let target = &doc["components"]["schemas"]["TargetView"];
    fits(&view["targets"][0], target, &doc).unwrap();
    let remote = view["targets"][0]["remote_id"].as_str().unwrap();
    let answer = app
        .post(
            &format!("/v1/sandbox/{account}/events"),
            key,
            json!({"type": "comment", "remote_id": remote, "text": "nice", "author": "@a"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{answer:?}");
    let events = "/v1/sandbox/{account}/events";
    fits(&answer.body, &schema_of(events, "post", "202"), &doc).unwrap();
    let inbox = app.get("/v1/inbox", key).await.body;
    let page = schema_of("/v1/inbox", "get", "200");
    fits(&inbox, &page, &doc).unwrap();
    let item = &doc["components"]["schemas"]["Page_InboxItem"]["properties"]["items"]["items"];
    fits(&inbox["items"][0], item, &doc).unwrap();
    let outbox = app
        .get(&format!("/v1/sandbox/{account}/outbox"), key)
        .await
        .body;
    let entry = &doc["components"]["schemas"]["Page_OutboxEntry"]["properties"]["items"]["items"];
    fits(&outbox["items"][0], entry, &doc).unwrap();
}
