//! Notification polling, for networks that send no webhooks (Mastodon, Bluesky): each
//! connected account's replies and mentions since its cursor, each through [`super::ingest`]
//! (the path network webhooks and sandbox events take, deduplicated by the network's own id),
//! then the cursor moved on. Every polled account has a cursor item, written with the account
//! and listed in gsi1 (`NOTIFY`), so a run finds them without a scan and knows when there
//! are none (nothing to wake for).

use super::{Ingested, NetworkEvent, ingest};
use crate::records::{self, ms};
use crate::{AppError, Deps, accounts};
use chrono::{DateTime, Utc};
use herald_domain::event::Engagement;
use herald_domain::{AccountId, Platform, WorkspaceId};
use herald_ports::{Condition, Item, NetworkErrorKind, Query, TableError, TxOp, Update, Value};
use herald_storage::keys;

mod attr {
    pub const WORKSPACE: &str = "workspace";
    pub const ACCOUNT: &str = "account";
    pub const PLATFORM: &str = "platform";
    pub const CURSOR: &str = "cursor";
    pub const POLLED_AT: &str = "polled_at";
    /// Set while the network asked to be left alone (a 429): no poll before it.
    pub const RETRY_AT: &str = "retry_at";
}

/// The cursor item of an account just connected, when its network is polled.
pub fn cursor_op(ws: &WorkspaceId, acct: &AccountId, platform: Platform) -> TxOp {
    let mut item = keys::notification_cursor(ws, acct).item();
    item.insert(records::KIND.into(), "notify".into());
    item.insert(attr::WORKSPACE.into(), ws.as_str().into());
    item.insert(attr::ACCOUNT.into(), acct.as_str().into());
    item.insert(attr::PLATFORM.into(), platform.as_str().into());
    let (pk, sk) = keys::notification_poll_entry(ws, acct);
    item.insert(keys::GSI1_PK.into(), pk.into());
    item.insert(keys::GSI1_SK.into(), sk.into());
    TxOp::Put {
        item,
        condition: Some(Condition::item_absent()),
    }
}

/// What one run did, summed over the accounts.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NotificationReport {
    /// Accounts polled (or skipped while rate limited).
    pub accounts: usize,
    /// New inbox items.
    pub received: usize,
    /// Seen before (a poll overlapping the last, or a webhook first): nothing added.
    pub repeats: usize,
    /// Herald's own replies, reported back: not imported.
    pub own: usize,
    /// Notifications whose ids no key can hold (too long, control characters): dropped.
    pub refused: usize,
    /// Accounts whose poll failed (tried again next run, from the same cursor).
    pub failed: usize,
    /// Accounts the network asked to wait (skipped until its time).
    pub rate_limited: usize,
}

struct Polled {
    ws: WorkspaceId,
    account: AccountId,
    cursor: Option<String>,
    retry_at: Option<DateTime<Utc>>,
    item: Item,
}

fn polled_from(item: &Item) -> Option<Polled> {
    let s = |n: &str| item.get(n).and_then(Value::as_s);
    Some(Polled {
        ws: WorkspaceId::parse(s(attr::WORKSPACE)?)?,
        account: AccountId::parse(s(attr::ACCOUNT)?)?,
        cursor: s(attr::CURSOR).map(str::to_owned),
        retry_at: records::time(item, attr::RETRY_AT),
        item: item.clone(),
    })
}

/// Whether any account is polled for notifications (the wake-ups ask this: none, no schedule).
pub async fn any(deps: &Deps) -> Result<bool, AppError> {
    let query = Query::index(keys::GSI1, keys::NOTIFICATION_POLLS).limit(1);
    Ok(!deps.table.query(query).await?.items.is_empty())
}

/// Polls every account listed, each from its own cursor; one account failing never stops the
/// others.
pub async fn poll(deps: &Deps, now: DateTime<Utc>) -> Result<NotificationReport, AppError> {
    let entries = deps
        .table
        .query_all(Query::index(keys::GSI1, keys::NOTIFICATION_POLLS))
        .await?;
    let mut report = NotificationReport::default();
    for entry in entries {
        // The index may hold a projection: the item itself is what the cursor is read from.
        let Some(key) = herald_ports::Key::of(&entry) else {
            continue;
        };
        let Some(item) = deps.table.get(&key).await? else {
            continue;
        };
        let Some(polled) = polled_from(&item) else {
            tracing::warn!(key = ?herald_ports::Key::of(&item), "unreadable notification cursor");
            continue;
        };
        report.accounts += 1;
        if polled.retry_at.is_some_and(|t| t > now) {
            report.rate_limited += 1;
            continue;
        }
        if let Err(e) = poll_one(deps, &polled, now, &mut report).await {
            report.failed += 1;
            tracing::warn!(workspace = %polled.ws, account = %polled.account, error = %e, "notification poll failed; tried again next run");
        }
    }
    Ok(report)
}

async fn poll_one(
    deps: &Deps,
    polled: &Polled,
    now: DateTime<Utc>,
    report: &mut NotificationReport,
) -> Result<(), AppError> {
    let account = match accounts::get(deps, &polled.ws, &polled.account).await {
        Ok(a) => a,
        // The account is gone: so is its polling.
        Err(AppError::NotFound(_)) => {
            deps.table
                .delete(
                    &keys::notification_cursor(&polled.ws, &polled.account),
                    None,
                )
                .await?;
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let connector = deps.connector(account.platform)?;
    let context = accounts::context(deps, &account).await?;
    let page = match connector
        .notifications(&context, polled.cursor.as_deref())
        .await
    {
        Ok(page) => page,
        Err(e) => {
            if let NetworkErrorKind::RateLimited { retry_at } = e.kind {
                report.rate_limited += 1;
                // No time given: a minute, which the next run respects.
                let at = retry_at.unwrap_or(now + chrono::Duration::minutes(1));
                save(deps, polled, Update::new().set(attr::RETRY_AT, ms(at))).await?;
                return Ok(());
            }
            return Err(e.into());
        }
    };
    for n in page.items {
        let event = NetworkEvent {
            comment_remote_id: Some(n.id.clone()),
            id: n.id,
            engagement: if n.reply {
                Engagement::Comment
            } else {
                Engagement::Mention
            },
            post_remote_id: n.post_remote_id,
            author: n.author,
            text: n.text,
            count: 1,
        };
        match ingest(deps, &account, event).await {
            Ok(Ingested::Inbox { .. }) => report.received += 1,
            Ok(Ingested::Repeat) => report.repeats += 1,
            Ok(Ingested::Own) => report.own += 1,
            Ok(Ingested::Engagement) => {}
            Err(AppError::Invalid(errors)) => {
                report.refused += 1;
                tracing::warn!(account = %account.id, ?errors, "notification dropped");
            }
            // The cursor stays: the next run reads these again and repeats drop out.
            Err(e) => return Err(e),
        }
    }
    let mut update = Update::new()
        .set(attr::POLLED_AT, ms(now))
        .remove(attr::RETRY_AT);
    if let Some(cursor) = page.cursor {
        update = update.set(attr::CURSOR, Value::S(cursor));
    }
    save(deps, polled, update).await
}

/// Writes the cursor item over the one read (a run that moved it meanwhile wins).
async fn save(deps: &Deps, polled: &Polled, update: Update) -> Result<(), AppError> {
    let read = polled
        .item
        .get(attr::CURSOR)
        .cloned()
        .unwrap_or(Value::Null);
    let condition = if read == Value::Null {
        Condition::And(vec![
            Condition::item_present(),
            Condition::NotExists(attr::CURSOR.into()),
        ])
    } else {
        Condition::Eq(attr::CURSOR.into(), read)
    };
    let op = TxOp::Update {
        key: keys::notification_cursor(&polled.ws, &polled.account),
        update,
        condition: Some(condition),
    };
    match deps.table.transact(vec![op]).await {
        Ok(()) => Ok(()),
        Err(TableError::TransactionCancelled { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
