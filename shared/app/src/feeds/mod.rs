//! Secret calendar feeds: an ICS URL per subscriber that calendar apps poll with no key. The
//! URL carries the feed's id and a random secret; only the secret's hash is stored, so the
//! table never holds a working URL. Deleting the feed's item revokes it at once.

mod ics;

use crate::page::{self, Page, PageRequest, Scope};
use crate::posts::PostView;
use crate::records::{from_json, json_item};
use crate::{AppError, Deps};
use chrono::{DateTime, Duration, Utc};
use herald_domain::{PostStatus, TargetStatus, WorkspaceId};
use herald_ports::{Condition, Query, TableError};
use herald_storage::keys;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How far back and ahead of now a feed shows posts.
pub const DAYS_BACK: i64 = 30;
pub const DAYS_AHEAD: i64 = 365;
/// Each event lasts this long: a post is an instant, calendars want a span to draw.
const EVENT_MINUTES: i64 = 15;
/// The summary shows this many characters of the text.
const SUMMARY_CHARS: usize = 60;

#[derive(Debug, Serialize, Deserialize)]
struct StoredFeed {
    id: String,
    secret_hash: String,
    created_at: DateTime<Utc>,
}

/// A new feed: its id and the secret its URL carries (shown in this answer only).
#[derive(Debug)]
pub struct NewFeed {
    pub id: String,
    pub secret: String,
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Feed ids: `feed_` and 32 hex digits. Anything else names no feed.
fn valid_id(id: &str) -> bool {
    id.strip_prefix("feed_")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub async fn create(deps: &Deps, ws: &WorkspaceId) -> Result<NewFeed, AppError> {
    let id = format!("feed_{:032x}", deps.random_u128());
    let secret = hex::encode(deps.random.secret32());
    let feed = StoredFeed {
        id: id.clone(),
        secret_hash: hash(&secret),
        created_at: deps.clock.now(),
    };
    deps.table
        .put(
            json_item(&keys::calendar_feed(ws, &id), "calendar_feed", &feed),
            Some(Condition::item_absent()),
        )
        .await?;
    tracing::info!(workspace = %ws, feed = %id, "calendar feed created");
    Ok(NewFeed { id, secret })
}

/// A feed as its list shows it: no secret (the table has only its hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedView {
    pub id: String,
    pub created_at: DateTime<Utc>,
}

/// The workspace's live feeds, a page at a time.
pub async fn list(
    deps: &Deps,
    ws: &WorkspaceId,
    request: &PageRequest,
) -> Result<Page<FeedView>, AppError> {
    let (pk, prefix) = keys::calendar_feeds_of(ws);
    let page = page::query(
        deps,
        &Scope::new(ws, "calendar_feeds"),
        Query::table(pk).sk(prefix),
        request,
    )
    .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for item in &page.items {
        let feed: StoredFeed = from_json(item)?;
        items.push(FeedView {
            id: feed.id,
            created_at: feed.created_at,
        });
    }
    Ok(Page {
        items,
        next: page.next,
    })
}

/// Revokes a feed: its URL answers 404 from now on. A missing feed is 404.
pub async fn revoke(deps: &Deps, ws: &WorkspaceId, id: &str) -> Result<(), AppError> {
    if !valid_id(id) {
        return Err(AppError::NotFound("calendar feed"));
    }
    match deps
        .table
        .delete(
            &keys::calendar_feed(ws, id),
            Some(Condition::item_present()),
        )
        .await
    {
        Ok(_) => {
            tracing::info!(workspace = %ws, feed = %id, "calendar feed revoked");
            Ok(())
        }
        Err(TableError::ConditionFailed { .. }) => Err(AppError::NotFound("calendar feed")),
        Err(e) => Err(e.into()),
    }
}

/// The feed's calendar, if `secret` opens it; any mismatch (no such workspace or feed, a
/// revoked feed, another secret) is the same 404.
pub async fn render(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &str,
    secret: &str,
) -> Result<String, AppError> {
    let not_found = AppError::NotFound("calendar feed");
    if !valid_id(id) || secret.len() != 64 {
        return Err(not_found);
    }
    let item = deps
        .table
        .get(&keys::calendar_feed(ws, id))
        .await?
        .ok_or(AppError::NotFound("calendar feed"))?;
    let feed: StoredFeed = from_json(&item)?;
    // Hashes compared, not secrets: equal hashes leak nothing an attacker can steer.
    if feed.secret_hash != hash(secret) {
        return Err(not_found);
    }
    let now = deps.clock.now();
    let posts = window(deps, ws, now).await?;
    Ok(calendar(ws, &posts, now))
}

/// Every post scheduled from `DAYS_BACK` before now to `DAYS_AHEAD` after, read page by page
/// (a calendar read spans at most a year, so two windows).
async fn window(
    deps: &Deps,
    ws: &WorkspaceId,
    now: DateTime<Utc>,
) -> Result<Vec<PostView>, AppError> {
    let mut posts = Vec::new();
    for (from, to) in [
        (now - Duration::days(DAYS_BACK), now),
        (now, now + Duration::days(DAYS_AHEAD)),
    ] {
        let mut request = PageRequest::first(crate::page::MAX_LIMIT);
        loop {
            let page = crate::calendar::page(deps, ws, from, to, &request).await?;
            posts.extend(page.items);
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(posts)
}

/// The ICS text: one event per post and account.
fn calendar(ws: &WorkspaceId, posts: &[PostView], now: DateTime<Utc>) -> String {
    let mut ics = ics::Ics::new("-//Herald//Calendar feed//EN");
    ics.text("X-WR-CALNAME", "Herald posts");
    for post in posts {
        let Some(at) = post.scheduled_at else {
            continue;
        };
        for target in &post.targets {
            let text = post
                .variants
                .get(&target.platform)
                .and_then(|v| v.text.as_deref())
                .unwrap_or(&post.text);
            let status = serde_json::to_value(target.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            ics.raw("BEGIN", "VEVENT");
            ics.text(
                "UID",
                &format!("{}-{}@{ws}.herald", post.id, target.account),
            );
            // The last change of the post: calendar apps take a newer DTSTAMP as an update.
            ics.time("DTSTAMP", post.updated_at.min(now));
            ics.time("DTSTART", target.published_at.unwrap_or(at));
            ics.raw("DURATION", &format!("PT{EVENT_MINUTES}M"));
            ics.text("SUMMARY", &summary(target.platform.as_str(), text));
            ics.text("DESCRIPTION", &format!("Status: {status}\n\n{text}"));
            if let Some(url) = &target.url {
                ics.raw("URL", &uri_value(url));
            }
            // A cancelled post stays in the feed marked cancelled, so a subscriber's calendar
            // shows it was called off instead of it vanishing without a word.
            let cancelled =
                post.status == PostStatus::Cancelled || target.status == TargetStatus::Cancelled;
            // Waiting for approval (or sent back to draft) is not settled yet.
            let tentative = matches!(post.status, PostStatus::InReview | PostStatus::Draft);
            let status = if cancelled {
                "CANCELLED"
            } else if tentative {
                "TENTATIVE"
            } else {
                "CONFIRMED"
            };
            ics.raw("STATUS", status);
            ics.raw("END", "VEVENT");
        }
    }
    ics.finish()
}

/// `[network] start of the text`, on one line.
fn summary(network: &str, text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut start: String = flat.chars().take(SUMMARY_CHARS).collect();
    if flat.chars().count() > SUMMARY_CHARS {
        start.push('…');
    }
    format!("[{network}] {start}")
}

/// A URI value carries no escapes: anything outside printable ASCII is percent-encoded.
fn uri_value(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        if b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub use ics::escape;
