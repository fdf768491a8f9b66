//! The intake API against its contract (API.md): auth, workspaces, accounts, posts, the
//! calendar, idempotency, publishing through the sandbox, and every bad input answered with a
//! problem that changes nothing. The router runs in process; the publisher is driven explicitly.

mod accounts;
mod admin_key;
mod approvals;
mod audit;
mod auth;
mod bad_input;
mod deliveries;
mod endpoint_secrets;
mod feeds;
mod hostile_text;
mod import;
mod inbox;
mod lists;
mod members;
mod network_hooks;
mod openapi;
mod posts;
mod publishing;
mod queue;
mod rate_limits;
mod rejections;
mod retry_wakes;
mod review_links;
mod roles;
mod support;
mod web;
mod webhooks;
