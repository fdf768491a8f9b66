//! Webhooks: the inbound secret that signs posts sent to Herald, the endpoints Herald sends its
//! events to, each delivery's attempts, and the delivery engine that the webhook function (on
//! AWS) and `herald serve` both run.

pub mod deliver;
pub mod deliveries;
pub mod endpoints;
pub mod inbound;
pub mod wake;

use herald_domain::webhook::Secret;
use herald_domain::{EndpointId, WorkspaceId};

/// A fresh signing secret from the random input.
fn new_secret(deps: &crate::Deps) -> Secret {
    Secret::from_bytes(&deps.random.secret32())
}

/// What a sealed endpoint secret is bound to: its workspace and endpoint.
fn endpoint_binding(ws: &WorkspaceId, ep: &EndpointId) -> Vec<u8> {
    format!("herald/webhooks/endpoint/{ws}/{ep}").into_bytes()
}

/// What a sealed inbound secret is bound to: its workspace.
fn inbound_binding(ws: &WorkspaceId) -> Vec<u8> {
    format!("herald/webhooks/inbound/{ws}").into_bytes()
}
