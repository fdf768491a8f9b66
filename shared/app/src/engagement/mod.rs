//! What networks report about the account's posts, whichever way it arrives (a network's
//! webhook, a poll of its notifications, the sandbox's events route): comments and mentions
//! become inbox items (with `inbox.received`), likes, shares and impressions
//! `engagement.recorded` events for the aggregator. Each report is deduplicated by the
//! network's own id, in the same transaction as what it records: a repeated delivery adds
//! nothing.

pub mod network_accounts;
pub mod poll;
pub mod remote;

pub use remote::remote_post_op;

use crate::inbox::{self, InboxItem, ItemKind, Status, sentiment};
use crate::{AppError, Deps, events, new_id};
use herald_domain::event::{Engagement, EngagementRecorded, EventKind, InboxReceived};
use herald_domain::{Account, InboxItemId};
use herald_ports::{Condition, TableError, TxOp, Value};
use herald_storage::keys;

/// How long a network's event id is remembered: longer than any network retries a delivery.
const KEEP_DAYS: i64 = 30;
/// The most one report may count (impressions come in bulk; more is a broken sender).
pub const MAX_COUNT: u64 = 10_000_000;

/// One report from a network, as its parser reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkEvent {
    /// The network's own id of this event (a comment's id, a webhook change's id).
    pub id: String,
    pub engagement: Engagement,
    /// The network's id of the post engaged with.
    pub post_remote_id: String,
    /// The comment's own id on the network, what a reply answers (the event id if none).
    pub comment_remote_id: Option<String>,
    pub author: Option<String>,
    pub text: Option<String>,
    pub count: u64,
}

/// What a report came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Ingested {
    /// A new inbox item (auto-replied or not).
    Inbox {
        item: Box<InboxItem>,
        auto_replied: bool,
    },
    /// An engagement event for the aggregator.
    Engagement,
    /// Herald's own reply, reported back: nothing to answer.
    Own,
    /// Seen before: nothing added.
    Repeat,
}

/// Checks a report's ids and count, naming the field.
pub fn check(event: &NetworkEvent) -> Result<(), AppError> {
    let mut errors = Vec::new();
    for (field, id) in [
        ("id", Some(&event.id)),
        ("remote_id", Some(&event.post_remote_id)),
        ("comment_id", event.comment_remote_id.as_ref()),
    ] {
        if let Some(id) = id
            && !remote::usable(id)
        {
            errors.push(herald_domain::FieldError::new(
                field,
                format!(
                    "1 to {} bytes, no control characters",
                    remote::MAX_REMOTE_ID
                ),
            ));
        }
    }
    if event.count == 0 || event.count > MAX_COUNT {
        errors.push(herald_domain::FieldError::new(
            "count",
            format!("a whole number from 1 to {MAX_COUNT}"),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// Records one report for `account`.
pub async fn ingest(
    deps: &Deps,
    account: &Account,
    event: NetworkEvent,
) -> Result<Ingested, AppError> {
    check(&event)?;
    let ws = &account.workspace;
    let now = deps.clock.now();
    let platform = account.platform;
    let mut seen = keys::network_event(ws, platform, &event.id).item();
    seen.insert(
        herald_ports::table::TTL.into(),
        Value::N((now + chrono::Duration::days(KEEP_DAYS)).timestamp()),
    );
    let mut ops = vec![TxOp::Put {
        item: seen,
        condition: Some(Condition::item_absent()),
    }];
    let post = remote::resolve(deps, ws, platform, &event.post_remote_id)
        .await?
        .map(|(post, _)| post);
    let comment_id = event
        .comment_remote_id
        .clone()
        .unwrap_or_else(|| event.id.clone());
    let author = inbox::clean(event.author.as_deref().unwrap_or(""), inbox::MAX_AUTHOR)
        .trim()
        .to_owned();
    let own = matches!(event.engagement, Engagement::Comment | Engagement::Mention)
        && (author.eq_ignore_ascii_case(account.handle.trim_start_matches('@'))
            || author.eq_ignore_ascii_case(&account.handle)
            || deps
                .table
                .get(&keys::own_reply(ws, platform, &comment_id))
                .await?
                .is_some());
    let mut created = None;
    if !own {
        ops.push(events::record(
            deps,
            ws,
            EventKind::EngagementRecorded(EngagementRecorded {
                account: account.id.clone(),
                platform,
                remote_id: event.post_remote_id.clone(),
                post: post.clone(),
                engagement: event.engagement,
                count: event.count,
            }),
            now,
        ));
    }
    if !own && matches!(event.engagement, Engagement::Comment | Engagement::Mention) {
        let text = inbox::clean(event.text.as_deref().unwrap_or(""), inbox::MAX_TEXT);
        let item = InboxItem {
            id: new_id!(deps, InboxItemId),
            kind: if event.engagement == Engagement::Comment {
                ItemKind::Comment
            } else {
                ItemKind::Mention
            },
            platform,
            account: account.id.clone(),
            post: post.clone(),
            author: if author.is_empty() {
                "unknown".into()
            } else {
                author
            },
            sentiment: sentiment::score(&text),
            text,
            received_at: now,
            status: Status::Unanswered,
            assignee: None,
            answered_at: None,
            response_seconds: None,
            auto_replied_at: None,
            remote_id: comment_id,
            reply_remote_id: None,
        };
        ops.push(TxOp::Put {
            item: item.item(ws),
            condition: Some(Condition::item_absent()),
        });
        ops.push(events::record(
            deps,
            ws,
            EventKind::InboxReceived(InboxReceived {
                item: item.id.to_string(),
                account: account.id.clone(),
                platform,
                post,
                author: Some(item.author.clone()),
                sentiment: Some(item.sentiment),
            }),
            now,
        ));
        created = Some(item);
    }
    match deps.table.transact(ops).await {
        Ok(()) => {}
        Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => {
            return Ok(Ingested::Repeat);
        }
        Err(e) => return Err(e.into()),
    }
    let Some(item) = created else {
        return Ok(if own {
            Ingested::Own
        } else {
            Ingested::Engagement
        });
    };
    crate::observe::inbox_item(platform);
    // After the item is safe: a network that fails the auto-reply loses nothing.
    let auto_replied = match inbox::rules::answer(deps, account, &item).await {
        Ok(answered) => answered,
        Err(e) => {
            tracing::warn!(item = %item.id, error = %e, "auto-reply failed");
            false
        }
    };
    Ok(Ingested::Inbox {
        item: Box::new(item),
        auto_replied,
    })
}
