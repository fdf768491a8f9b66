//! Client review links (API.md, "Teams, approvals, audit"): a URL that lets a client with no
//! key see a window of the workspace's posts and approve or comment on them. The URL's token
//! is sealed by the server (workspace, link, expiry), so a forged, altered or expired one does
//! not open; the link is also kept in the table, so it can be revoked at once.

use crate::accounts::{self, AccountView};
use crate::page::{PageRequest, open_from_url, seal_for_url};
use crate::posts::{self, Author, PostView};
use crate::records::{from_json, json_item};
use crate::{AppError, Deps, calendar, new_id};
use chrono::{DateTime, Duration, Utc};
use herald_domain::{AccountId, Actor, PostId, ReviewLinkId, Workspace, WorkspaceId};
use herald_ports::{Condition, Update, Value};
use herald_storage::keys;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How long a link lives unless asked otherwise, and at most.
pub const DEFAULT_DAYS: i64 = 14;
pub const MAX_DAYS: i64 = 30;
/// The longest window of posts one link shows.
pub const MAX_WINDOW_DAYS: i64 = 92;
/// What a token's seal is bound to: a token is good for this and nothing else.
const AAD: &[u8] = b"herald/review-link/v1";

/// A review link as kept in the table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewLink {
    pub id: ReviewLinkId,
    pub workspace: WorkspaceId,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub created_by: Actor,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub revoked: bool,
}

/// What the token seals.
#[derive(Serialize, Deserialize)]
struct Sealed {
    ws: WorkspaceId,
    link: ReviewLinkId,
    exp: i64,
}

/// A new link: its id, the token for its URL (shown once), and when it ends.
#[derive(Debug)]
pub struct Issued {
    pub id: ReviewLinkId,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn create(
    deps: &Deps,
    ws: &WorkspaceId,
    by: Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Issued, AppError> {
    let now = deps.clock.now();
    crate::page::check_window(
        from,
        to,
        MAX_WINDOW_DAYS,
        &format!("a review window spans at most {MAX_WINDOW_DAYS} days"),
    )?;
    let expires_at = expires_at.unwrap_or(now + Duration::days(DEFAULT_DAYS));
    if expires_at <= now || expires_at > now + Duration::days(MAX_DAYS) {
        return Err(AppError::invalid(
            "expires_at",
            format!("must be in the future and within {MAX_DAYS} days"),
        ));
    }
    let link = ReviewLink {
        id: new_id!(deps, ReviewLinkId),
        workspace: ws.clone(),
        from,
        to,
        expires_at,
        created_by: by,
        created_at: now,
        revoked: false,
    };
    let mut item = json_item(
        &keys::review_link(ws, link.id.as_str()),
        "review_link",
        &link,
    );
    // Kept a while past its end, so the audit log's client ids still name a known link.
    item.insert(
        herald_ports::table::TTL.into(),
        Value::N((expires_at + Duration::days(365)).timestamp()),
    );
    deps.table.put(item, Some(Condition::item_absent())).await?;
    let sealed = Sealed {
        ws: ws.clone(),
        link: link.id.clone(),
        exp: expires_at.timestamp(),
    };
    let plain = serde_json::to_vec(&sealed).expect("a token serializes");
    tracing::info!(workspace = %ws, link = %link.id, %expires_at, "review link created");
    Ok(Issued {
        id: link.id,
        token: seal_for_url(deps, AAD, &plain),
        expires_at,
    })
}

/// The live link a token opens, or 404 for anything else: forged, altered, expired, revoked,
/// or of a workspace that is gone.
pub async fn open(deps: &Deps, token: &str) -> Result<ReviewLink, AppError> {
    let gone = || AppError::NotFound("review link");
    let plain = open_from_url(deps, AAD, token).ok_or_else(gone)?;
    let sealed: Sealed = serde_json::from_slice(&plain).map_err(|_| gone())?;
    let now = deps.clock.now();
    if sealed.exp <= now.timestamp() {
        return Err(gone());
    }
    let item = deps
        .table
        .get(&keys::review_link(&sealed.ws, sealed.link.as_str()))
        .await?
        .ok_or_else(gone)?;
    let link: ReviewLink = from_json(&item)?;
    if link.revoked || link.expires_at <= now || link.workspace != sealed.ws {
        return Err(gone());
    }
    Ok(link)
}

pub async fn revoke(deps: &Deps, ws: &WorkspaceId, id: &str) -> Result<(), AppError> {
    let id = ReviewLinkId::parse(id).ok_or(AppError::NotFound("review link"))?;
    let key = keys::review_link(ws, id.as_str());
    let item = deps
        .table
        .get(&key)
        .await?
        .ok_or(AppError::NotFound("review link"))?;
    let mut link: ReviewLink = from_json(&item)?;
    link.revoked = true;
    let data = serde_json::to_string(&link).expect("a link serializes");
    deps.table
        .update(
            &key,
            Update::new().set(crate::records::DATA, data),
            Some(Condition::item_present()),
        )
        .await?;
    tracing::info!(workspace = %ws, link = %id, "review link revoked");
    Ok(())
}

/// What a client's page shows.
pub struct ReviewPage {
    pub link: ReviewLink,
    pub workspace: Workspace,
    pub posts: Vec<PostView>,
    pub accounts: BTreeMap<AccountId, AccountView>,
}

pub async fn page(deps: &Deps, link: &ReviewLink) -> Result<ReviewPage, AppError> {
    let ws = &link.workspace;
    let item = deps
        .table
        .get(&keys::workspace(ws))
        .await?
        .ok_or(AppError::NotFound("review link"))?;
    let workspace: Workspace = from_json(&item)?;
    let mut posts = Vec::new();
    let mut request = PageRequest::first(crate::page::MAX_LIMIT);
    loop {
        let page = calendar::page(deps, ws, link.from, link.to, &request).await?;
        posts.extend(page.items);
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    let accounts = accounts::list(deps, ws)
        .await?
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect();
    Ok(ReviewPage {
        link: link.clone(),
        workspace,
        posts,
        accounts,
    })
}

/// A post of the link's window, or 404: a link shows nothing outside its window.
async fn in_window(deps: &Deps, link: &ReviewLink, id: &PostId) -> Result<(), AppError> {
    let post = posts::get(deps, &link.workspace, id).await?;
    match post.scheduled_at {
        Some(at) if at >= link.from && at < link.to => Ok(()),
        _ => Err(AppError::NotFound("post")),
    }
}

/// The client approves a post in review, as a manager would.
pub async fn approve(deps: &Deps, link: &ReviewLink, id: &PostId) -> Result<PostView, AppError> {
    in_window(deps, link, id).await?;
    let by = Author::approver(Actor::Client(link.id.clone()));
    posts::approve(deps, &link.workspace, id, &by).await
}

/// The client comments on a post.
pub async fn comment(
    deps: &Deps,
    link: &ReviewLink,
    id: &PostId,
    text: &str,
) -> Result<PostView, AppError> {
    in_window(deps, link, id).await?;
    posts::comment(
        deps,
        &link.workspace,
        id,
        &Actor::Client(link.id.clone()),
        text,
    )
    .await
}
