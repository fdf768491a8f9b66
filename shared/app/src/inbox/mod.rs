//! The unified inbox: comments and mentions from every network, each with its author, text,
//! account, the post it is on, when it arrived and how it reads (sentiment). Items are listed
//! in answering order (unanswered first, negative first among them, newest first) through
//! gsi2; a reply goes back through the account's network and records the response time.

pub mod once;
pub mod rules;
pub mod sentiment;

use crate::page::{self, Page, PageRequest, Scope};
use crate::records::{DATA, KIND, from_json};
use crate::{AppError, Deps, accounts};
use chrono::{DateTime, Utc};
use herald_domain::{AccountId, InboxItemId, MemberId, Platform, PostId, WorkspaceId};
use herald_ports::{Condition, Item, Query, TableError, TxOp, Value};
use herald_storage::keys;
use serde::{Deserialize, Serialize};

/// Longest text kept of an item; longer comments are cut there (a network's own limit is
/// far lower, so only a hostile or broken sender reaches it).
pub const MAX_TEXT: usize = 20_000;
/// Longest author name kept.
pub const MAX_AUTHOR: usize = 200;
/// Tries of a change that lost a race with another change of the same item.
const TRIES: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = InboxStatus)]
pub enum Status {
    Unanswered,
    Answered,
    Dismissed,
}

impl Status {
    /// Its place in answering order.
    fn rank(self) -> u8 {
        match self {
            Status::Unanswered => 0,
            Status::Answered => 1,
            Status::Dismissed => 2,
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "unanswered" => Some(Status::Unanswered),
            "answered" => Some(Status::Answered),
            "dismissed" => Some(Status::Dismissed),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Comment,
    Mention,
}

/// One inbox item, as stored and as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InboxItem {
    pub id: InboxItemId,
    #[serde(rename = "type")]
    pub kind: ItemKind,
    pub platform: Platform,
    pub account: AccountId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<PostId>,
    pub author: String,
    pub text: String,
    pub received_at: DateTime<Utc>,
    pub sentiment: f64,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<MemberId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_seconds: Option<i64>,
    /// When an auto-reply answered it (the item stays for a person to answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_replied_at: Option<DateTime<Utc>>,
    /// The network's id of the comment itself: what a reply answers.
    pub remote_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_remote_id: Option<String>,
}

impl InboxItem {
    pub fn workspace_key(&self, ws: &WorkspaceId) -> herald_ports::Key {
        keys::inbox_item(ws, &self.id)
    }

    /// The item as stored: its record, and its place in answering order.
    pub fn item(&self, ws: &WorkspaceId) -> Item {
        let mut item = self.workspace_key(ws).item();
        item.insert(KIND.into(), "inbox".into());
        item.insert(
            DATA.into(),
            Value::S(serde_json::to_string(self).expect("records serialize")),
        );
        let (pk, sk) = keys::inbox_queue_entry(
            ws,
            self.status.rank(),
            sentiment::is_negative(self.sentiment),
            self.received_at,
            &self.id,
        );
        item.insert(keys::GSI2_PK.into(), pk.into());
        item.insert(keys::GSI2_SK.into(), sk.into());
        item
    }
}

/// Text as kept: control characters other than line breaks and tabs removed (they show as
/// nothing or as trouble), cut at `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .take(max)
        .collect()
}

pub async fn get(deps: &Deps, ws: &WorkspaceId, id: &InboxItemId) -> Result<InboxItem, AppError> {
    let item = deps
        .table
        .get(&keys::inbox_item(ws, id))
        .await?
        .ok_or(AppError::NotFound("inbox item"))?;
    from_json(&item)
}

/// One page of the inbox in answering order, of one status or all.
pub async fn list(
    deps: &Deps,
    ws: &WorkspaceId,
    status: Option<Status>,
    request: &PageRequest,
) -> Result<Page<InboxItem>, AppError> {
    let mut query = Query::index(keys::GSI2, keys::inbox_queue(ws));
    let scope = match status {
        Some(s) => {
            query = query.sk(keys::inbox_status(s.rank()));
            format!("inbox/{}", s.rank())
        }
        None => "inbox".into(),
    };
    let entries = page::query(deps, &Scope::new(ws, &scope), query, request).await?;
    let mut items = Vec::with_capacity(entries.items.len());
    for entry in &entries.items {
        items.push(from_json(entry)?);
    }
    Ok(Page {
        items,
        next: entries.next,
    })
}

/// Every item received in `[from, to)` (the metrics' response times read these).
pub async fn received(
    deps: &Deps,
    ws: &WorkspaceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<InboxItem>, AppError> {
    let items = deps
        .table
        .query_all(Query::table(keys::inbox_partition(ws)).sk(keys::inbox_window(from, to)))
        .await?;
    items
        .iter()
        .map(from_json)
        .filter(|i| !matches!(i, Ok(InboxItem { received_at, .. }) if *received_at >= to))
        .collect()
}

/// Changes an item with `change`, only over the record just read (a change made meanwhile is
/// never overwritten), with `also` in the same transaction.
async fn change(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &InboxItemId,
    mut change: impl FnMut(&mut InboxItem) -> Result<(), AppError>,
    also: Vec<TxOp>,
) -> Result<InboxItem, AppError> {
    for _ in 0..TRIES {
        let key = keys::inbox_item(ws, id);
        let stored = deps
            .table
            .get(&key)
            .await?
            .ok_or(AppError::NotFound("inbox item"))?;
        let mut item: InboxItem = from_json(&stored)?;
        change(&mut item)?;
        let before = stored.get(DATA).cloned().unwrap_or(Value::Null);
        let mut ops = vec![TxOp::Put {
            item: item.item(ws),
            condition: Some(Condition::Eq(DATA.into(), before)),
        }];
        ops.extend(also.iter().cloned());
        match deps.table.transact(ops).await {
            Ok(()) => return Ok(item),
            Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "the item changed while this change was made: try again".into(),
    ))
}

/// Replies on the network, then records the item answered with its response time (the first
/// answer's) and the reply as Herald's own, never to be answered. With an `Idempotency-Key`,
/// see [`once::reply`].
pub async fn reply(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &InboxItemId,
    text: &str,
) -> Result<InboxItem, AppError> {
    let prepared = prepare(deps, ws, id, text).await?;
    let sent = prepared
        .connector
        .reply(&prepared.context, &prepared.item.remote_id, &prepared.text)
        .await?;
    answered(deps, ws, id, &prepared.platform, &sent).await
}

/// A reply checked and ready to send: the item, its network, the text as sent.
pub(crate) struct Prepared {
    pub item: InboxItem,
    pub platform: Platform,
    pub connector: std::sync::Arc<dyn herald_ports::Connector>,
    pub context: herald_ports::AccountContext,
    pub text: String,
}

pub(crate) async fn prepare(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &InboxItemId,
    text: &str,
) -> Result<Prepared, AppError> {
    let item = get(deps, ws, id).await?;
    let account = accounts::get(deps, ws, &item.account).await?;
    let connector = deps.connector(account.platform)?.clone();
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::invalid("text", "must not be empty"));
    }
    let limits = connector.limits();
    if limits.counting.count(text) > limits.max_text {
        return Err(AppError::invalid(
            "text",
            format!(
                "at most {} characters on {}",
                limits.max_text, account.platform
            ),
        ));
    }
    let context = accounts::context(deps, &account).await?;
    Ok(Prepared {
        item,
        platform: account.platform,
        connector,
        context,
        text: text.to_owned(),
    })
}

/// Records a reply the network took: the item answered (the first answer's response time)
/// and the reply as Herald's own.
pub(crate) async fn answered(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &InboxItemId,
    platform: &Platform,
    sent: &herald_ports::Published,
) -> Result<InboxItem, AppError> {
    let now = deps.clock.now();
    let own = own_reply_op(ws, *platform, &sent.remote_id, now);
    change(
        deps,
        ws,
        id,
        |i| {
            if i.answered_at.is_none() {
                i.answered_at = Some(now);
                i.response_seconds = Some((now - i.received_at).num_seconds().max(0));
            }
            i.status = Status::Answered;
            i.reply_remote_id = Some(sent.remote_id.clone());
            Ok(())
        },
        own.into_iter().collect(),
    )
    .await
}

/// The record that a reply is Herald's own.
pub fn own_reply_op(
    ws: &WorkspaceId,
    platform: Platform,
    remote_id: &str,
    now: DateTime<Utc>,
) -> Option<TxOp> {
    if !crate::engagement::remote::usable(remote_id) {
        return None;
    }
    let mut item = keys::own_reply(ws, platform, remote_id).item();
    item.insert("at".into(), crate::records::ms(now));
    Some(TxOp::Put {
        item,
        condition: None,
    })
}

/// Gives the item to a member of the workspace (or to nobody).
pub async fn assign(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &InboxItemId,
    assignee: Option<MemberId>,
) -> Result<InboxItem, AppError> {
    let mut also = Vec::new();
    if let Some(member) = &assignee {
        if deps.table.get(&keys::member(ws, member)).await?.is_none() {
            return Err(AppError::invalid(
                "assignee",
                "not a member of this workspace",
            ));
        }
        // The member must still be there when the item is given to them.
        also.push(TxOp::Check {
            key: keys::member(ws, member),
            condition: Condition::item_present(),
        });
    }
    change(
        deps,
        ws,
        id,
        |i| {
            i.assignee = assignee.clone();
            Ok(())
        },
        also,
    )
    .await
}

/// Sets an item aside without an answer; an answered item stays answered.
pub async fn dismiss(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &InboxItemId,
) -> Result<InboxItem, AppError> {
    change(
        deps,
        ws,
        id,
        |i| {
            if i.status == Status::Answered {
                return Err(AppError::Conflict("the item is answered already".into()));
            }
            i.status = Status::Dismissed;
            Ok(())
        },
        Vec::new(),
    )
    .await
}
