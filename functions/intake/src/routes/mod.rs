//! The API's handlers, one module per resource. Each parses, calls one use case, answers.

pub mod accounts;
pub mod calendar_feeds;
pub mod import;
pub mod oauth;
pub mod posts;
pub mod sandbox;
pub mod workspaces;

use crate::problem::ApiError;
use herald_app::AppError;
use herald_app::page::PageRequest;
use herald_domain::{AccountId, PostId};
use serde::Deserialize;

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

/// Ids in paths that do not parse cannot exist: 404, like a missing or foreign id.
pub fn account_id(raw: &str) -> Result<AccountId, ApiError> {
    AccountId::parse(raw).ok_or(ApiError::App(AppError::NotFound("account")))
}

pub fn post_id(raw: &str) -> Result<PostId, ApiError> {
    PostId::parse(raw).ok_or(ApiError::App(AppError::NotFound("post")))
}
