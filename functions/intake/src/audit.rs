//! The audit layer: every write the API answers with success becomes an entry of the audit
//! log (who, what, to which thing), in one place for every route, present and future. The
//! role extractor names the caller; the route template names the action; the last id in the
//! path, or the id the answer carries, names the target.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use herald_app::{Deps, audit};
use herald_domain::{Actor, WorkspaceId};
use std::sync::{Arc, Mutex};

/// Where a request's handler leaves who is acting, for the layer to read once it answered.
#[derive(Clone, Default)]
pub struct AuditSlot(Arc<Mutex<Slot>>);

#[derive(Default)]
struct Slot {
    who: Option<(WorkspaceId, Actor)>,
    /// The handler knows it wrote nothing (a dry run).
    nothing_written: bool,
}

impl AuditSlot {
    pub fn acting(&self, workspace: &WorkspaceId, actor: Actor) {
        self.0.lock().expect("audit slot").who = Some((workspace.clone(), actor));
    }

    pub fn nothing_written(&self) {
        self.0.lock().expect("audit slot").nothing_written = true;
    }

    fn take(&self) -> Option<(WorkspaceId, Actor)> {
        let mut slot = self.0.lock().expect("audit slot");
        if slot.nothing_written {
            return None;
        }
        slot.who.take()
    }
}

/// The largest answer body looked into for the id of what a write created.
const MAX_ANSWER_READ: usize = 1 << 20;

pub async fn layer(State(deps): State<Arc<Deps>>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let slot = AuditSlot::default();
    request.extensions_mut().insert(slot.clone());
    let path = request.uri().path().to_owned();
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    // A form's success is a redirect back to its page. A replay answers what was written
    // the first time; nothing is written again.
    let done = response.status().is_success() || response.status().is_redirection();
    if !done || response.headers().contains_key("idempotent-replayed") {
        return response;
    }
    let (Some((workspace, actor)), Some(template)) = (slot.take(), template) else {
        return response;
    };
    let (response, target) = match last_path_id(&template, &path) {
        Some(id) => (response, Some(id)),
        None => answer_id(response).await,
    };
    let target = target.unwrap_or_else(|| workspace.to_string());
    let action = format!("{method} {template}");
    if let Err(e) = audit::record(&deps, &workspace, actor, &action, &target).await {
        // The write has happened and its answer stands; the missing entry is an operator's
        // alarm, not the client's error.
        tracing::error!(error = %e, %workspace, action, target, "audit entry not written");
    }
    response
}

/// The path's segment where the template's last `{parameter}` stands.
fn last_path_id(template: &str, path: &str) -> Option<String> {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    t.iter()
        .zip(&p)
        .rev()
        .find(|(t, _)| t.starts_with('{'))
        .map(|(_, p)| p.to_string())
}

/// The `id` of the answer's JSON, if it has one; the answer is rebuilt from what was read.
async fn answer_id(response: Response) -> (Response, Option<String>) {
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_ANSWER_READ).await {
        Ok(bytes) => {
            let id = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("id")?.as_str().map(str::to_owned));
            (Response::from_parts(parts, Body::from(bytes)), id)
        }
        Err(e) => {
            tracing::error!(error = %e, "an answer could not be read for its id");
            (Response::from_parts(parts, Body::empty()), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::last_path_id;

    #[test]
    fn the_target_is_the_last_parameter_of_the_path() {
        assert_eq!(
            last_path_id("/v1/posts/{id}/approve", "/v1/posts/post_1/approve").as_deref(),
            Some("post_1")
        );
        assert_eq!(
            last_path_id("/v1/members/{id}", "/v1/members/mem_2").as_deref(),
            Some("mem_2")
        );
        assert_eq!(last_path_id("/v1/posts", "/v1/posts"), None);
    }
}
