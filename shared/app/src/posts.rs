//! Composing, scheduling and cancelling posts. A post and all its targets are written in one
//! transaction, together with the idempotency record when the client sent a key.

use crate::records::{self, TargetRecord, attr, from_json, json_item, ms};
use crate::{AppError, Deps, new_id};
use chrono::{DateTime, Utc};
use herald_domain::limits::MediaFacts;
use herald_domain::{
    AccountId, FieldError, MediaId, MediaItem, MediaStatus, Platform, Post, PostId, PostKind,
    PostLifecycle, PostStatus, Recurrence, Target, TargetStatus, Variant, WorkspaceId,
};
use herald_ports::{Condition, Item, Key, Query, TableError, TxOp, Update, Value};
use herald_storage::keys;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The body of `POST /v1/posts`. Ids and platforms are typed, so a malformed one is refused
/// while parsing, with its field named.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    #[serde(default)]
    pub text: String,
    pub accounts: Vec<AccountId>,
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub variants: BTreeMap<Platform, Variant>,
    #[serde(default)]
    pub media: Vec<MediaId>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub kind: PostKind,
    /// Repeat the post (needs a first time: `scheduled_at` or `queue`).
    #[serde(default)]
    pub recurrence: Option<Recurrence>,
    /// Take the next queue slot free in every account's queue instead of a given time.
    #[serde(default)]
    pub queue: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetView {
    pub account: AccountId,
    pub platform: Platform,
    pub status: TargetStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    pub attempts: u32,
}

/// A post as the API shows it (`GET /v1/posts/{id}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostView {
    pub id: PostId,
    pub status: PostStatus,
    pub text: String,
    pub accounts: Vec<AccountId>,
    pub variants: BTreeMap<Platform, Variant>,
    pub media: Vec<MediaId>,
    pub tags: Vec<String>,
    pub kind: PostKind,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Recurrence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<PostId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_slot: Option<DateTime<Utc>>,
    pub targets: Vec<TargetView>,
}

impl PostView {
    pub fn of(post: &Post, targets: &[Target]) -> PostView {
        let statuses: Vec<_> = targets.iter().map(|t| t.status).collect();
        PostView {
            id: post.id.clone(),
            status: PostStatus::derive(post.lifecycle, &statuses),
            text: post.text.clone(),
            accounts: post.accounts.clone(),
            variants: post.variants.clone(),
            media: post.media.clone(),
            tags: post.tags.clone(),
            kind: post.kind,
            scheduled_at: post.scheduled_at,
            created_at: post.created_at,
            updated_at: post.updated_at,
            recurrence: post.recurrence.clone(),
            series: post.series.clone(),
            occurrence: post.occurrence,
            queue_slot: post.queue_slot,
            targets: targets
                .iter()
                .map(|t| TargetView {
                    account: t.account.clone(),
                    platform: t.platform,
                    status: t.status,
                    remote_id: t.remote_id.clone(),
                    url: t.url.clone(),
                    error: t.error.clone(),
                    published_at: t.published_at,
                    attempts: t.attempts,
                })
                .collect(),
        }
    }
}

/// The answer to a create: the post, and whether it is the replay of an earlier request.
#[derive(Debug)]
pub struct Created {
    pub post: PostView,
    pub replayed: bool,
}

/// How long an `Idempotency-Key` is remembered.
const IDEMPOTENCY_HOURS: i64 = 24;

fn post_item(post: &Post) -> Item {
    let mut item = json_item(&keys::post(&post.workspace, &post.id), "post", post);
    let lifecycle = match post.lifecycle {
        PostLifecycle::Draft => "draft",
        PostLifecycle::Scheduled => "scheduled",
        PostLifecycle::Cancelled => "cancelled",
    };
    item.insert(attr::LIFECYCLE.into(), lifecycle.into());
    if let Some(at) = post.scheduled_at {
        item.insert(attr::SCHEDULED_AT.into(), ms(at));
        let (pk, sk) = keys::calendar(&post.workspace, at, &post.id);
        item.insert(keys::GSI2_PK.into(), pk.into());
        item.insert(keys::GSI2_SK.into(), sk.into());
    }
    item
}

/// Facts of the workspace's media items named by a post, or 422 naming the missing one.
async fn media_facts(
    deps: &Deps,
    ws: &WorkspaceId,
    field: &str,
    ids: &[MediaId],
) -> Result<Vec<MediaFacts>, Vec<FieldError>> {
    let mut facts = Vec::new();
    let mut errors = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let item = match deps.table.get(&keys::media(ws, id)).await {
            Ok(Some(item)) => item,
            Ok(None) => {
                errors.push(FieldError::new(format!("{field}[{i}]"), "unknown media"));
                continue;
            }
            Err(e) => {
                errors.push(FieldError::new(format!("{field}[{i}]"), e.to_string()));
                continue;
            }
        };
        match from_json::<MediaItem>(&item) {
            Ok(m) if m.status == MediaStatus::Ready => {
                let original = m.renditions.iter().find(|r| r.profile == "original");
                facts.push(MediaFacts {
                    content_type: m.content_type.clone(),
                    bytes: m.size,
                    duration_seconds: None,
                    width: original.and_then(|r| r.width),
                    height: original.and_then(|r| r.height),
                })
            }
            Ok(_) => errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "media is not ready yet",
            )),
            Err(e) => errors.push(FieldError::new(format!("{field}[{i}]"), e.to_string())),
        }
    }
    if errors.is_empty() {
        Ok(facts)
    } else {
        Err(errors)
    }
}

/// Checks a composed post against everything it names and every network it goes to.
async fn validate(deps: &Deps, post: &Post) -> Result<Vec<(AccountId, Platform)>, AppError> {
    post.check_shape()?;
    let mut errors = Vec::new();
    let mut targets = Vec::new();
    for (i, id) in post.accounts.iter().enumerate() {
        match crate::accounts::get(deps, &post.workspace, id).await {
            Ok(account) => targets.push((account.id, account.platform)),
            Err(AppError::NotFound(_)) => {
                errors.push(FieldError::new(format!("accounts[{i}]"), "unknown account"))
            }
            Err(e) => return Err(e),
        }
    }
    for platform in post.variants.keys() {
        if !targets.iter().any(|(_, p)| p == platform) {
            errors.push(FieldError::new(
                format!("variants.{platform}"),
                "no account of this post is on that network",
            ));
        }
    }
    let mut platforms: Vec<Platform> = targets.iter().map(|(_, p)| *p).collect();
    platforms.sort();
    platforms.dedup();
    for platform in platforms {
        let variant = post.variants.get(&platform);
        let (media_field, media) = match variant.and_then(|v| v.media.as_ref()) {
            Some(m) => (format!("variants.{platform}.media"), m.as_slice()),
            None => ("media".to_owned(), post.media.as_slice()),
        };
        let facts = match media_facts(deps, &post.workspace, &media_field, media).await {
            Ok(f) => f,
            Err(e) => {
                errors.extend(e);
                continue;
            }
        };
        let Ok(connector) = deps.connector(platform) else {
            errors.push(FieldError::new(
                "accounts",
                format!("{platform} is not enabled on this server"),
            ));
            continue;
        };
        let field = if variant.is_some() {
            format!("variants.{platform}")
        } else {
            String::new()
        };
        let text = post.text_for(platform);
        let title = variant.and_then(|v| v.title.as_deref());
        for mut e in connector.limits().check(&field, text, title, &facts) {
            e.field = e.field.trim_start_matches('.').to_owned();
            errors.push(e);
        }
        for (n, reply) in variant
            .map(|v| v.thread.as_slice())
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            for mut e in connector.limits().check(&field, reply, None, &[]) {
                e.field = format!("variants.{platform}.thread[{n}]");
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(targets)
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// The writes creating a post and its targets; targets of a repeating post are marked, so the
/// publisher knows to make the next occurrence.
fn post_writes(post: &Post, targets: &[Target]) -> Vec<TxOp> {
    let mut ops = vec![TxOp::Put {
        item: post_item(post),
        condition: Some(Condition::item_absent()),
    }];
    ops.extend(targets.iter().map(|t| {
        let mut item = records::target_item(t);
        if post.recurrence.is_some() {
            item.insert(records::attr::RECURRING.into(), Value::Bool(true));
        }
        TxOp::Put {
            item,
            condition: Some(Condition::item_absent()),
        }
    }));
    ops
}

/// Makes the next occurrence of a repeating post, once: its id is derived from the series and
/// its number, so a repeat of this call finds it already there.
pub async fn ensure_next_occurrence(
    deps: &Deps,
    post: &Post,
    targets: &[Target],
) -> Result<Option<PostId>, AppError> {
    let (Some(recurrence), Some(series), Some(n), Some(at)) = (
        &post.recurrence,
        &post.series,
        post.occurrence,
        post.scheduled_at,
    ) else {
        return Ok(None);
    };
    if post.lifecycle != PostLifecycle::Scheduled {
        return Ok(None);
    }
    let Some(next_at) = recurrence.next(at, n) else {
        return Ok(None);
    };
    let seed = Sha256::digest(format!("{series}#{}", n + 1).as_bytes());
    let random = u128::from_be_bytes(seed[..16].try_into().expect("16 bytes"));
    let id = PostId::generate(next_at.timestamp_millis() as u64, random);
    let now = deps.clock.now();
    let next = Post {
        id: id.clone(),
        scheduled_at: Some(next_at),
        occurrence: Some(n + 1),
        created_at: now,
        updated_at: now,
        queue_slot: None,
        ..post.clone()
    };
    let next_targets: Vec<Target> = targets
        .iter()
        .map(|t| Target {
            post: id.clone(),
            status: TargetStatus::Scheduled,
            due_at: Some(next_at),
            remote_id: None,
            url: None,
            error: None,
            published_at: None,
            attempts: 0,
            ..t.clone()
        })
        .collect();
    match deps.table.transact(post_writes(&next, &next_targets)).await {
        Ok(()) => {
            tracing::info!(series = %series, occurrence = n + 1, post = %id, at = %next_at, "next occurrence scheduled");
            Ok(Some(id))
        }
        // Made already by an earlier (or concurrent) call.
        Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(Some(id)),
        Err(e) => Err(e.into()),
    }
}

fn request_hash(new: &NewPost) -> String {
    let canonical = serde_json::to_vec(new).expect("json serializes");
    hex::encode(Sha256::digest(&canonical))
}

pub async fn create(
    deps: &Deps,
    ws: &WorkspaceId,
    new: NewPost,
    idempotency_key: Option<&str>,
) -> Result<Created, AppError> {
    let now = deps.clock.now();
    let idempotency = match idempotency_key {
        None => None,
        Some(k) if k.is_empty() || k.len() > 255 => {
            return Err(AppError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 characters",
            ));
        }
        Some(k) => Some((
            keys::idempotency(ws, "posts", &hex::encode(Sha256::digest(k.as_bytes()))),
            request_hash(&new),
        )),
    };
    if let Some((key, hash)) = &idempotency
        && let Some(replay) = replay(deps, key, hash, now).await?
    {
        return Ok(replay);
    }
    if let Some(at) = new.scheduled_at {
        Post::check_schedule(at, now)?;
    }
    if new.queue && new.scheduled_at.is_some() {
        return Err(AppError::invalid(
            "queue",
            "give scheduled_at or queue, not both",
        ));
    }
    let id = new_id!(deps, PostId);
    let queue_slot = if new.queue {
        Some(crate::queue::next_shared_free(deps, ws, &new.accounts, &id, now).await?)
    } else {
        None
    };
    let scheduled_at = new.scheduled_at.or(queue_slot.as_ref().map(|(at, _)| *at));
    if let Some(recurrence) = &new.recurrence {
        let start = scheduled_at.ok_or_else(|| {
            AppError::invalid("recurrence", "a repeating post needs scheduled_at or queue")
        })?;
        recurrence.check(start)?;
    }
    let post = Post {
        id: id.clone(),
        workspace: ws.clone(),
        text: new.text.clone(),
        accounts: new.accounts.clone(),
        variants: new.variants.clone(),
        media: new.media.clone(),
        tags: new.tags.iter().map(|t| t.trim().to_owned()).collect(),
        kind: new.kind,
        lifecycle: if scheduled_at.is_some() {
            PostLifecycle::Scheduled
        } else {
            PostLifecycle::Draft
        },
        scheduled_at,
        created_at: now,
        updated_at: now,
        recurrence: new.recurrence.clone(),
        series: new.recurrence.as_ref().map(|_| id.clone()),
        occurrence: new.recurrence.as_ref().map(|_| 1),
        queue_slot: queue_slot.as_ref().map(|(at, _)| *at),
    };
    let accounts = validate(deps, &post).await?;
    let targets: Vec<Target> = accounts
        .into_iter()
        .map(|(account, platform)| Target {
            workspace: ws.clone(),
            post: post.id.clone(),
            account,
            platform,
            status: if post.scheduled_at.is_some() {
                TargetStatus::Scheduled
            } else {
                TargetStatus::Draft
            },
            due_at: post.scheduled_at,
            remote_id: None,
            url: None,
            error: None,
            published_at: None,
            attempts: 0,
        })
        .collect();
    let view = PostView::of(&post, &targets);
    let mut ops = post_writes(&post, &targets);
    let slot_ops = queue_slot.map(|(_, slot_ops)| {
        let first = ops.len();
        ops.extend(slot_ops);
        first..ops.len()
    });
    if let Some((key, hash)) = &idempotency {
        let mut item = json_item(key, "idempotency", &view);
        item.insert("request".into(), Value::S(hash.clone()));
        let expires = now + chrono::Duration::hours(IDEMPOTENCY_HOURS);
        item.insert(
            herald_ports::table::TTL.into(),
            Value::N(expires.timestamp()),
        );
        ops.push(TxOp::Put {
            item,
            condition: Some(Condition::item_absent().or(Condition::Lt(
                herald_ports::table::TTL.into(),
                Value::N(now.timestamp()),
            ))),
        });
    }
    let idempotency_op = ops.len() - 1;
    match deps.table.transact(ops).await {
        Ok(()) => {}
        Err(TableError::TransactionCancelled { failed })
            if slot_ops
                .as_ref()
                .is_some_and(|r| failed.iter().any(|i| r.contains(i))) =>
        {
            return Err(AppError::Conflict(
                "another post took that queue slot just now; send again".into(),
            ));
        }
        Err(TableError::TransactionCancelled { failed })
            if idempotency.is_some() && failed.contains(&idempotency_op) =>
        {
            // A concurrent request with the same key won the race: answer as it did.
            let (key, hash) = idempotency.as_ref().expect("checked above");
            return replay(deps, key, hash, now)
                .await?
                .ok_or_else(|| AppError::Conflict("the same request is in progress".into()));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(workspace = %ws, post = %post.id, targets = targets.len(), "post created");
    Ok(Created {
        post: view,
        replayed: false,
    })
}

async fn replay(
    deps: &Deps,
    key: &Key,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<Created>, AppError> {
    let Some(item) = deps.table.get(key).await? else {
        return Ok(None);
    };
    let expired = item
        .get(herald_ports::table::TTL)
        .and_then(Value::as_n)
        .is_some_and(|t| t < now.timestamp());
    if expired {
        return Ok(None);
    }
    if item.get("request").and_then(Value::as_s) != Some(hash) {
        return Err(AppError::invalid(
            "Idempotency-Key",
            "this key was already used with a different request",
        ));
    }
    Ok(Some(Created {
        post: from_json(&item)?,
        replayed: true,
    }))
}

/// A post and its targets as stored.
pub async fn load(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &PostId,
) -> Result<(Post, Vec<TargetRecord>), AppError> {
    let items = deps
        .table
        .query_all(Query::table(keys::post_partition(ws, id)))
        .await?;
    let mut post = None;
    let mut targets = Vec::new();
    for item in &items {
        match item.get(records::KIND).and_then(Value::as_s) {
            Some("post") => post = Some(from_json::<Post>(item)?),
            Some("target") => targets.push(records::target_from(item)?),
            _ => {}
        }
    }
    let post = post.ok_or(AppError::NotFound("post"))?;
    Ok((post, targets))
}

pub async fn get(deps: &Deps, ws: &WorkspaceId, id: &PostId) -> Result<PostView, AppError> {
    let (post, targets) = load(deps, ws, id).await?;
    let mut targets: Vec<Target> = targets.into_iter().map(|r| r.target).collect();
    // The order the post named its accounts in, as the create answer has it.
    targets.sort_by_key(|t| post.accounts.iter().position(|a| *a == t.account));
    Ok(PostView::of(&post, &targets))
}

/// Most posts a calendar window answers with.
pub const CALENDAR_MAX: usize = 1000;

/// Posts scheduled in `[from, to)`, earliest first.
pub async fn calendar(
    deps: &Deps,
    ws: &WorkspaceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<PostView>, AppError> {
    if to <= from {
        return Err(AppError::invalid("to", "must be after from"));
    }
    if to - from > chrono::Duration::days(366) {
        return Err(AppError::invalid("to", "a window spans at most a year"));
    }
    let entries = deps
        .table
        .query_all(
            Query::index(keys::GSI2, keys::calendar_partition(ws))
                .sk(keys::calendar_window(from, to))
                .limit(CALENDAR_MAX),
        )
        .await?;
    let mut views = Vec::with_capacity(entries.len());
    for entry in entries.iter().take(CALENDAR_MAX) {
        let post: Post = from_json(entry)?;
        match get(deps, ws, &post.id).await {
            Ok(view) if view.scheduled_at.is_some_and(|t| t >= from && t < to) => views.push(view),
            Ok(_) | Err(AppError::NotFound(_)) => {} // moved since the index was read
            Err(e) => return Err(e),
        }
    }
    Ok(views)
}

/// Schedules a draft or scheduled post for `at` (publish now: `at` is now).
pub async fn schedule(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &PostId,
    at: DateTime<Utc>,
) -> Result<PostView, AppError> {
    let now = deps.clock.now();
    Post::check_schedule(at, now)?;
    let (mut post, targets) = load(deps, ws, id).await?;
    if post.lifecycle == PostLifecycle::Cancelled {
        return Err(AppError::Conflict("the post was cancelled".into()));
    }
    if let Some(busy) = targets.iter().find(|t| {
        !matches!(
            t.target.status,
            TargetStatus::Draft | TargetStatus::Scheduled
        )
    }) {
        return Err(AppError::Conflict(format!(
            "the target on {} is already {}",
            busy.target.account,
            busy.target.status.as_str()
        )));
    }
    let previous = (post.lifecycle, post.updated_at);
    post.lifecycle = PostLifecycle::Scheduled;
    post.scheduled_at = Some(at);
    post.updated_at = now;
    // A queued post moved off its slot (or published now) gives the slot back.
    let freed = post.queue_slot.filter(|slot| *slot != at);
    if freed.is_some() {
        post.queue_slot = None;
    }
    let mut ops = vec![TxOp::Put {
        item: post_item(&post),
        condition: Some(Condition::eq(
            attr::LIFECYCLE,
            if previous.0 == PostLifecycle::Draft {
                "draft"
            } else {
                "scheduled"
            },
        )),
    }];
    if let Some(slot) = freed {
        ops.extend(crate::queue::release(ws, &post.accounts, slot));
    }
    let mut new_targets = Vec::new();
    for record in &targets {
        let mut t = record.target.clone();
        t.transition(TargetStatus::Scheduled)?;
        t.due_at = Some(at);
        let (pk, sk) = keys::due_entry(at, ws, &t.post, &t.account);
        ops.push(TxOp::Update {
            key: records::target_key(&t),
            update: Update::new()
                .set(attr::STATUS, TargetStatus::Scheduled.as_str())
                .set(attr::DUE_AT, ms(at))
                .set(keys::GSI1_PK, pk)
                .set(keys::GSI1_SK, sk),
            condition: Some(Condition::eq(attr::STATUS, record.target.status.as_str())),
        });
        new_targets.push(t);
    }
    deps.table.transact(ops).await.map_err(|e| match e {
        TableError::TransactionCancelled { .. } => {
            AppError::Conflict("the post changed meanwhile; read it and try again".into())
        }
        e => e.into(),
    })?;
    tracing::info!(workspace = %ws, post = %id, at = %at, "post scheduled");
    Ok(PostView::of(&post, &new_targets))
}

/// Cancels what has not gone out yet. Published targets stay published; targets being
/// published right now finish on their own.
pub async fn cancel(deps: &Deps, ws: &WorkspaceId, id: &PostId) -> Result<(), AppError> {
    for _ in 0..5 {
        let (mut post, targets) = load(deps, ws, id).await?;
        if post.lifecycle == PostLifecycle::Cancelled {
            return Ok(());
        }
        post.lifecycle = PostLifecycle::Cancelled;
        post.updated_at = deps.clock.now();
        let mut ops = vec![TxOp::Put {
            item: post_item(&post),
            condition: Some(Condition::item_present()),
        }];
        if let Some(slot) = post.queue_slot {
            ops.extend(crate::queue::release(ws, &post.accounts, slot));
        }
        for record in targets
            .iter()
            .filter(|t| t.target.status.can_become(TargetStatus::Cancelled))
        {
            ops.push(TxOp::Update {
                key: records::target_key(&record.target),
                update: Update::new()
                    .set(attr::STATUS, TargetStatus::Cancelled.as_str())
                    .remove(keys::GSI1_PK)
                    .remove(keys::GSI1_SK),
                condition: Some(Condition::eq(attr::STATUS, record.target.status.as_str())),
            });
        }
        match deps.table.transact(ops).await {
            Ok(()) => {
                tracing::info!(workspace = %ws, post = %id, "post cancelled");
                return Ok(());
            }
            // A target was claimed meanwhile: read again and cancel what is left.
            Err(TableError::TransactionCancelled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "the post keeps changing; try again".into(),
    ))
}
