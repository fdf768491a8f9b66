//! The API's handlers, one module per resource. Each parses, calls one use case, answers.

pub mod accounts;
pub mod audit;
pub mod calendar_feeds;
pub mod import;
pub mod inbox;
pub mod media;
pub mod members;
pub mod metrics;
pub mod network_hooks;
pub mod oauth;
pub mod posts;
pub mod review;
pub mod sandbox;
pub mod settings;
pub mod webhooks;
pub mod workspaces;

use crate::problem::ApiError;
use axum::Router;
use axum::routing::MethodRouter;
use chrono::{DateTime, Utc};
use herald_app::page::PageRequest;
use herald_app::{AppError, Deps};
use herald_domain::{AccountId, PostId};
use serde::Deserialize;
use std::sync::Arc;

/// The API's router, remembering every path it serves, so that a test can ask each path
/// which methods it answers (its 405's `Allow`) and hold every route to the role table.
#[derive(Default)]
pub struct Api {
    pub router: Router<Arc<Deps>>,
    pub paths: Vec<&'static str>,
}

impl Api {
    pub fn new() -> Api {
        Api::default()
    }

    pub fn route(mut self, path: &'static str, methods: MethodRouter<Arc<Deps>>) -> Api {
        self.router = self.router.route(path, methods);
        if !self.paths.contains(&path) {
            self.paths.push(path);
        }
        self
    }
}

/// `?limit=` and `?cursor=` of a list, as sent; checked by `request`.
#[derive(Debug, Default, Deserialize)]
pub struct Paging {
    limit: Option<String>,
    cursor: Option<String>,
}

impl Paging {
    pub fn request(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(
            self.limit.as_deref(),
            self.cursor.as_deref(),
        )?)
    }
}

/// `?from=&to=` of a windowed list (the calendar, the audit log), with its paging.
#[derive(Debug, Default, Deserialize)]
pub struct Window {
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

impl Window {
    pub fn read(&self) -> Result<(DateTime<Utc>, DateTime<Utc>, PageRequest), ApiError> {
        let from = time_param("from", self.from.as_deref())?;
        let to = time_param("to", self.to.as_deref())?;
        let request = PageRequest::parse(self.limit.as_deref(), self.cursor.as_deref())?;
        Ok((from, to, request))
    }
}

fn time_param(name: &str, raw: Option<&str>) -> Result<DateTime<Utc>, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::invalid(name, "required (RFC 3339 time)"))?;
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::invalid(name, format!("not an RFC 3339 time: {e}")))
}

/// Ids in paths that do not parse cannot exist: 404, like a missing or foreign id.
pub fn account_id(raw: &str) -> Result<AccountId, ApiError> {
    AccountId::parse(raw).ok_or(ApiError::App(AppError::NotFound("account")))
}

pub fn post_id(raw: &str) -> Result<PostId, ApiError> {
    PostId::parse(raw).ok_or(ApiError::App(AppError::NotFound("post")))
}
