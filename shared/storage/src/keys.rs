//! Every key string of Herald's single table comes from here: prefixes, builders, parsers.
//!
//! Layout (pk / sk):
//! - workspace:        `T#{ws}` / `WS`
//! - API key:          `T#{ws}` / `KEY#{sha256}`        (admin keys: tenant `_admin`)
//! - member:           `T#{ws}` / `MEMBER#{mem}`        (its role; its key's hash)
//! - account:          `T#{ws}` / `ACCT#{acct}`
//! - credentials:      `T#{ws}` / `CRED#{acct}`         (encrypted, read only to publish)
//! - media item:       `T#{ws}` / `MEDIA#{med}`
//! - post:             `T#{ws}#POST#{post}` / `POST`
//! - post target:      `T#{ws}#POST#{post}` / `TARGET#{acct}`
//! - sandbox outbox:   `T#{ws}#SANDBOX#{acct}` / `{received at}#{remote id}`
//! - idempotency:      `T#{ws}#IDEM` / `{scope}#{key hash}`
//! - event outbox:     `T#{ws}#EVT` / `{time}#{evt}`
//! - posting queue:    `T#{ws}` / `QUEUE#{acct}` (its weekly slots)
//! - taken queue slot: `T#{ws}#QUEUE#{acct}` / `SLOT#{time}`
//! - OAuth state:      `T#{ws}#OAUTH` / `STATE#{nonce}`  (single use, expires)
//! - rate counter:     `T#{ws}#RATE` / `{acct}#{window}#{index}`; app-wide ones under system
//! - metrics rollups:  `T#{ws}#METRICS` / `DAY#{date}` (workspace), `ADAY#{acct}#{date}`,
//!   `POST#{post}`, `HOW#{acct}#{weekday}{hour}` (hour of week published, workspace time),
//!   `TAG#{date}#{tag}` and `KIND#{date}#{kind}` (by the day published)
//! - aggregated batch: `T#{ws}#AGG` / `BATCH#{hash}#{chunk}` (expires)
//! - remote post:      `T#{ws}#REMOTE` / `{platform}#{remote id}` (which post a network id is)
//! - insight polling:  `T#{ws}#POST#{post}` / `INSIGHT#{acct}` (its next poll in gsi1)
//! - notification poll: `T#{ws}` / `NOTIFY#{acct}`     (a polled network's cursor; in gsi1)
//! - network event:    `T#{ws}#NETEVT` / `{platform}#{network's id}` (expires; drops repeats)
//! - inbox item:       `T#{ws}#INBOX` / `{inb}` (time-ordered ids)
//! - auto-reply rules: `T#{ws}` / `AUTOREPLY`; answered windows `T#{ws}#AUTOREPLY` / ...
//! - own replies:      `T#{ws}#OWN` / `{platform}#{remote id}` (never answered again)
//! - calendar feed:    `T#{ws}` / `FEED#{feed}`          (the hash of its URL's secret)
//! - inbound secret:   `T#{ws}` / `HOOKIN`              (sealed; the one before, until its end)
//! - webhook endpoint: `T#{ws}` / `HOOK#{ep}`           (url, events, sealed secret, state)
//! - delivery:         `T#{ws}#HOOKMSG` / `{msg}`       (one event for one endpoint; its state)
//! - delivery attempt: `T#{ws}#HOOKLOG#{ep}` / `{time}#{msg}#{attempt}`
//! - network account:  `T#_sys#NETACCT` / `{platform}#{network's id}` (a Meta page or IG user
//!   id → the workspace and account it is connected to, for the app-wide webhook)
//! - system state:     `T#_sys` / ...
//!
//! Blob keys (the media bucket): an upload `{ws}/media/{med}/original`, its renditions
//! `{ws}/media/{med}/r/{name}`; the workspace leads there too.
//!
//! The tenant id leads every partition key of the table. Two sparse indexes serve the system
//! (the publisher and the event relay), which acts for all tenants:
//! - `gsi1` due targets: `DUE#{hour}#{shard}` / `{due at}#{ws}#{post}#{acct}`, present only
//!   while a target waits to be published or confirmed; found by time bucket, never by scan.
//!   Pending webhook deliveries share it: `HOOKDUE#{shard}` / `{due at}#{ws}#{msg}`.
//!   Insight polls: `INSIGHT#{hour}` / `{due at}#{ws}#{post}#{acct}` while one is pending.
//!   Notification polls: `NOTIFY` / `{ws}#{acct}` while a Mastodon or Bluesky account is
//!   connected (networks with no webhooks, polled for replies and mentions).
//! - `gsi2` calendar: `T#{ws}#CAL` / `{scheduled at}#{post}` on post items; pending events
//!   `EVTQ#{shard}` / `{time}#{ws}#{evt}` on event items until they are relayed; the inbox in
//!   answering order `T#{ws}#INBOXQ` / `{status}{mood}#{newest first}#{inb}` on inbox items.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use herald_domain::{
    AccountId, DeliveryId, EndpointId, InboxItemId, MediaId, MemberId, Platform, PostId,
    WorkspaceId,
};
use herald_ports::{Key, SortCondition};

pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
pub const GSI2: &str = "gsi2";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";

/// Due targets spread over this many index partitions per hour, so a 9:00 Monday burst does
/// not land on one hot partition.
pub const DUE_SHARDS: u32 = 4;
/// Pending events spread over this many index partitions.
pub const EVENT_SHARDS: u32 = 4;

const ADMIN_TENANT: &str = "_admin";
const SYSTEM_TENANT: &str = "_sys";

fn tenant(ws: &WorkspaceId) -> String {
    format!("T#{ws}")
}

/// Times in sort keys: fixed-width RFC 3339 with milliseconds, so byte order is time order.
pub fn time_key(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub fn parse_time_key(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub fn workspace(ws: &WorkspaceId) -> Key {
    Key::new(tenant(ws), "WS")
}

pub fn api_key(ws: Option<&WorkspaceId>, secret_hash: &str) -> Key {
    let pk = ws
        .map(tenant)
        .unwrap_or_else(|| format!("T#{ADMIN_TENANT}"));
    Key::new(pk, format!("KEY#{secret_hash}"))
}

pub fn member(ws: &WorkspaceId, member: &MemberId) -> Key {
    Key::new(tenant(ws), format!("MEMBER#{member}"))
}

/// All members of a workspace: query `tenant` with this sort-key prefix.
pub fn members_of(ws: &WorkspaceId) -> (String, SortCondition) {
    (tenant(ws), SortCondition::BeginsWith("MEMBER#".into()))
}

pub fn account(ws: &WorkspaceId, acct: &AccountId) -> Key {
    Key::new(tenant(ws), format!("ACCT#{acct}"))
}

/// All accounts of a workspace: query `tenant` with this sort-key prefix.
pub fn accounts_of(ws: &WorkspaceId) -> (String, SortCondition) {
    (tenant(ws), SortCondition::BeginsWith("ACCT#".into()))
}

pub fn credentials(ws: &WorkspaceId, acct: &AccountId) -> Key {
    Key::new(tenant(ws), format!("CRED#{acct}"))
}

pub fn media(ws: &WorkspaceId, id: &MediaId) -> Key {
    Key::new(tenant(ws), format!("MEDIA#{id}"))
}

/// The blob an upload's bytes land in (the transcoder's trigger matches its `/original` end).
pub fn upload_blob(ws: &WorkspaceId, id: &MediaId) -> String {
    format!("{ws}/media/{id}/original")
}

/// The order to fetch an import: writing it starts the transcoder (its notification filter
/// matches the `/import` end), which fetches the URL into the item's `original`.
pub fn import_blob(ws: &WorkspaceId, id: &MediaId) -> String {
    format!("{ws}/media/{id}/import")
}

/// The item an import order belongs to; `None` for any other key.
pub fn parse_import_blob(key: &str) -> Option<(WorkspaceId, MediaId)> {
    let mut parts = key.split('/');
    let ws = WorkspaceId::parse(parts.next()?)?;
    (parts.next()? == "media").then_some(())?;
    let media = MediaId::parse(parts.next()?)?;
    (parts.next()? == "import" && parts.next().is_none()).then_some((ws, media))
}

/// The blob of one of a media item's renditions.
pub fn rendition_blob(ws: &WorkspaceId, id: &MediaId, name: &str) -> String {
    format!("{ws}/media/{id}/r/{name}")
}

/// An upload blob's key back into its workspace and media item; `None` for any other key.
pub fn parse_upload_blob(key: &str) -> Option<(WorkspaceId, MediaId)> {
    let mut parts = key.split('/');
    let ws = WorkspaceId::parse(parts.next()?)?;
    (parts.next()? == "media").then_some(())?;
    let media = MediaId::parse(parts.next()?)?;
    (parts.next()? == "original" && parts.next().is_none()).then_some((ws, media))
}

pub fn post_partition(ws: &WorkspaceId, post: &PostId) -> String {
    format!("T#{ws}#POST#{post}")
}

pub fn post(ws: &WorkspaceId, post: &PostId) -> Key {
    Key::new(post_partition(ws, post), "POST")
}

pub fn target(ws: &WorkspaceId, post: &PostId, acct: &AccountId) -> Key {
    Key::new(post_partition(ws, post), format!("TARGET#{acct}"))
}

pub const TARGET_PREFIX: &str = "TARGET#";

/// The calendar index entry of a scheduled post.
pub fn calendar(ws: &WorkspaceId, at: DateTime<Utc>, post: &PostId) -> (String, String) {
    (format!("T#{ws}#CAL"), format!("{}#{post}", time_key(at)))
}

pub fn calendar_partition(ws: &WorkspaceId) -> String {
    format!("T#{ws}#CAL")
}

/// The window `[from, to)` of the calendar index.
pub fn calendar_window(from: DateTime<Utc>, to: DateTime<Utc>) -> SortCondition {
    // `#` sorts before every id character, `~` after: the bounds bracket whole entries.
    SortCondition::Between(format!("{}#", time_key(from)), format!("{}#", time_key(to)))
}

/// Which due-index partition an hour's target falls in.
pub fn due_bucket(due: DateTime<Utc>, shard: u32) -> String {
    format!("DUE#{}#{shard}", due.format("%Y-%m-%dT%H"))
}

/// The start of the hour a time falls in (buckets are hours).
pub fn bucket_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp().div_euclid(3600) * 3600;
    Utc.timestamp_opt(secs, 0).single().unwrap_or(t)
}

pub fn due_shard(post: &PostId, acct: &AccountId) -> u32 {
    // FNV-1a: stable across processes and versions, unlike std's hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in post.as_str().bytes().chain(acct.as_str().bytes()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % DUE_SHARDS
}

/// The due-index entry (gsi1pk, gsi1sk) of a target due at `due`.
pub fn due_entry(
    due: DateTime<Utc>,
    ws: &WorkspaceId,
    post: &PostId,
    acct: &AccountId,
) -> (String, String) {
    (
        due_bucket(due, due_shard(post, acct)),
        format!("{}#{ws}#{post}#{acct}", time_key(due)),
    )
}

/// Entries of a due-index partition due at or before `until`.
pub fn due_until(until: DateTime<Utc>) -> SortCondition {
    SortCondition::Le(format!("{}#~", time_key(until)))
}

/// A due-index sort key back into its parts.
pub fn parse_due(sk: &str) -> Option<(DateTime<Utc>, WorkspaceId, PostId, AccountId)> {
    let mut parts = sk.split('#');
    let due = parse_time_key(parts.next()?)?;
    let ws = WorkspaceId::parse(parts.next()?)?;
    let post = PostId::parse(parts.next()?)?;
    let acct = AccountId::parse(parts.next()?)?;
    parts.next().is_none().then_some((due, ws, post, acct))
}

pub fn sandbox_outbox(ws: &WorkspaceId, acct: &AccountId) -> String {
    format!("T#{ws}#SANDBOX#{acct}")
}

pub fn sandbox_entry(
    ws: &WorkspaceId,
    acct: &AccountId,
    at: DateTime<Utc>,
    remote_id: &str,
) -> Key {
    Key::new(
        sandbox_outbox(ws, acct),
        format!("{}#{remote_id}", time_key(at)),
    )
}

/// An idempotency record; `scope` separates uses (an API route, an inbound webhook).
pub fn idempotency(ws: &WorkspaceId, scope: &str, key_hash: &str) -> Key {
    Key::new(format!("T#{ws}#IDEM"), format!("{scope}#{key_hash}"))
}

pub fn event(ws: &WorkspaceId, at: DateTime<Utc>, id: &str) -> Key {
    Key::new(format!("T#{ws}#EVT"), format!("{}#{id}", time_key(at)))
}

pub fn event_queue(shard: u32) -> String {
    format!("EVTQ#{shard}")
}

/// The pending-event index entry (gsi2pk, gsi2sk) of an event.
pub fn event_queue_entry(ws: &WorkspaceId, at: DateTime<Utc>, id: &str) -> (String, String) {
    let shard = id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31) + u32::from(b))
        % EVENT_SHARDS;
    (event_queue(shard), format!("{}#{ws}#{id}", time_key(at)))
}

/// A system item: state the publisher keeps for itself (e.g. its due-index watermark).
pub fn system(name: &str) -> Key {
    Key::new(format!("T#{SYSTEM_TENANT}"), name)
}

/// An account's posting queue settings (time zone and weekly slots).
pub fn queue_settings(ws: &WorkspaceId, acct: &AccountId) -> Key {
    Key::new(tenant(ws), format!("QUEUE#{acct}"))
}

/// The partition of an account's taken queue slots.
pub fn queue_slots(ws: &WorkspaceId, acct: &AccountId) -> String {
    format!("T#{ws}#QUEUE#{acct}")
}

/// A taken queue slot: at most one post per slot, by a conditional put of this key.
pub fn queue_slot(ws: &WorkspaceId, acct: &AccountId, at: DateTime<Utc>) -> Key {
    Key::new(queue_slots(ws, acct), format!("SLOT#{}", time_key(at)))
}

/// A pending OAuth connect, found again by the `state` the network sends back.
pub fn oauth_state(ws: &WorkspaceId, nonce: &str) -> Key {
    Key::new(format!("T#{ws}#OAUTH"), format!("STATE#{nonce}"))
}

/// An account's publish counter for one window of one allowance.
pub fn account_rate(ws: &WorkspaceId, acct: &AccountId, window_seconds: u64, index: i64) -> Key {
    Key::new(
        format!("T#{ws}#RATE"),
        format!("{acct}#{window_seconds}#{index}"),
    )
}

/// The app-wide publish counter of a network for one window (shared by every tenant).
pub fn app_rate(platform: Platform, window_seconds: u64, index: i64) -> Key {
    system(&format!("RATE#{platform}#{window_seconds}#{index}"))
}

/// A workspace's counters for one day.
pub fn metrics_day(ws: &WorkspaceId, day: NaiveDate) -> Key {
    Key::new(format!("T#{ws}#METRICS"), format!("DAY#{day}"))
}

pub fn metrics_partition(ws: &WorkspaceId) -> String {
    format!("T#{ws}#METRICS")
}

/// The workspace's days `[from, to]`, both inclusive.
pub fn metrics_days(from: NaiveDate, to: NaiveDate) -> SortCondition {
    SortCondition::Between(format!("DAY#{from}"), format!("DAY#{to}"))
}

pub fn metrics_account_day(ws: &WorkspaceId, acct: &AccountId, day: NaiveDate) -> Key {
    Key::new(metrics_partition(ws), format!("ADAY#{acct}#{day}"))
}

/// An account's days `[from, to]`, both inclusive.
pub fn metrics_account_days(acct: &AccountId, from: NaiveDate, to: NaiveDate) -> SortCondition {
    SortCondition::Between(format!("ADAY#{acct}#{from}"), format!("ADAY#{acct}#{to}"))
}

pub fn metrics_post(ws: &WorkspaceId, post: &PostId) -> Key {
    Key::new(metrics_partition(ws), format!("POST#{post}"))
}

/// Weekday 0 = Monday, hour 0–23, of when posts were published, in the workspace's zone.
pub fn metrics_hour_of_week(ws: &WorkspaceId, acct: &AccountId, weekday: u32, hour: u32) -> Key {
    Key::new(
        metrics_partition(ws),
        format!("HOW#{acct}#{weekday}{hour:02}"),
    )
}

/// Every account's hour-of-week items (`Some(acct)`: that account's).
pub fn metrics_hours_of_week(acct: Option<&AccountId>) -> SortCondition {
    SortCondition::BeginsWith(match acct {
        Some(a) => format!("HOW#{a}#"),
        None => "HOW#".into(),
    })
}

/// An hour-of-week sort key back into (account, weekday, hour).
pub fn parse_hour_of_week(sk: &str) -> Option<(AccountId, u32, u32)> {
    let (acct, slot) = sk.strip_prefix("HOW#")?.split_once('#')?;
    let (d, h) = (slot.get(..1)?, slot.get(1..)?);
    Some((AccountId::parse(acct)?, d.parse().ok()?, h.parse().ok()?))
}

pub fn metrics_tag(ws: &WorkspaceId, day: NaiveDate, tag: &str) -> Key {
    Key::new(metrics_partition(ws), format!("TAG#{day}#{tag}"))
}

/// Tag items of the days `[from, to]`.
pub fn metrics_tag_days(from: NaiveDate, to: NaiveDate) -> SortCondition {
    SortCondition::Between(format!("TAG#{from}#"), format!("TAG#{to}#~"))
}

/// A tag item's sort key back into (day, tag).
pub fn parse_metrics_tag(sk: &str) -> Option<(NaiveDate, &str)> {
    let (day, tag) = sk.strip_prefix("TAG#")?.split_once('#')?;
    Some((day.parse().ok()?, tag))
}

pub fn metrics_kind(ws: &WorkspaceId, day: NaiveDate, kind: &str) -> Key {
    Key::new(metrics_partition(ws), format!("KIND#{day}#{kind}"))
}

/// One chunk of an aggregated batch: written with the chunk's rollups, so a batch delivered
/// again adds nothing.
pub fn aggregate_batch(ws: &WorkspaceId, hash: &str, chunk: usize) -> Key {
    Key::new(format!("T#{ws}#AGG"), format!("BATCH#{hash}#{chunk}"))
}

/// Which post a network's id names (written when the target is published).
pub fn remote_post(ws: &WorkspaceId, platform: Platform, remote_id: &str) -> Key {
    Key::new(format!("T#{ws}#REMOTE"), format!("{platform}#{remote_id}"))
}

/// A target's insight polling state; its next poll is in gsi1.
pub fn insight(ws: &WorkspaceId, post: &PostId, acct: &AccountId) -> Key {
    Key::new(post_partition(ws, post), format!("INSIGHT#{acct}"))
}

pub fn insight_bucket(due: DateTime<Utc>) -> String {
    format!("INSIGHT#{}", due.format("%Y-%m-%dT%H"))
}

/// The polling index entry (gsi1pk, gsi1sk) of a poll due at `due`.
pub fn insight_entry(
    due: DateTime<Utc>,
    ws: &WorkspaceId,
    post: &PostId,
    acct: &AccountId,
) -> (String, String) {
    (
        insight_bucket(due),
        format!("{}#{ws}#{post}#{acct}", time_key(due)),
    )
}

/// Which connected account a network's own account id (a Meta page or Instagram user id) is:
/// one app-wide webhook names only that id.
pub fn network_account(platform: Platform, network_id: &str) -> Key {
    Key::new(
        format!("T#{SYSTEM_TENANT}#NETACCT"),
        format!("{platform}#{network_id}"),
    )
}

/// A polled account's notification cursor (where its last poll left off).
pub fn notification_cursor(ws: &WorkspaceId, acct: &AccountId) -> Key {
    Key::new(tenant(ws), format!("NOTIFY#{acct}"))
}

/// The gsi1 partition listing every account polled for notifications.
pub const NOTIFICATION_POLLS: &str = "NOTIFY";

/// A polled account's entry (gsi1pk, gsi1sk) in [`NOTIFICATION_POLLS`].
pub fn notification_poll_entry(ws: &WorkspaceId, acct: &AccountId) -> (String, String) {
    (NOTIFICATION_POLLS.into(), format!("{ws}#{acct}"))
}

/// A network's own event id, kept for a while so a repeated delivery adds nothing.
pub fn network_event(ws: &WorkspaceId, platform: Platform, id: &str) -> Key {
    Key::new(format!("T#{ws}#NETEVT"), format!("{platform}#{id}"))
}

pub fn inbox_partition(ws: &WorkspaceId) -> String {
    format!("T#{ws}#INBOX")
}

pub fn inbox_item(ws: &WorkspaceId, id: &InboxItemId) -> Key {
    Key::new(inbox_partition(ws), id.to_string())
}

/// Inbox items received in `[from, to)`: ids are time-ordered, so a window of ids.
pub fn inbox_window(from: DateTime<Utc>, to: DateTime<Utc>) -> SortCondition {
    let bound =
        |t: DateTime<Utc>| InboxItemId::generate(t.timestamp_millis().max(0) as u64, 0).to_string();
    SortCondition::Between(bound(from), bound(to))
}

pub fn inbox_queue(ws: &WorkspaceId) -> String {
    format!("T#{ws}#INBOXQ")
}

/// An inbox item's place in answering order: unanswered first, negative first among them,
/// then newest first.
pub fn inbox_queue_entry(
    ws: &WorkspaceId,
    status: u8,
    negative: bool,
    received: DateTime<Utc>,
    id: &InboxItemId,
) -> (String, String) {
    let newest_first = 9_999_999_999_999 - received.timestamp_millis().clamp(0, 9_999_999_999_999);
    (
        inbox_queue(ws),
        format!(
            "{status}{}#{newest_first:013}#{id}",
            if negative { 0 } else { 1 }
        ),
    )
}

/// The queue entries of one status.
pub fn inbox_status(status: u8) -> SortCondition {
    SortCondition::BeginsWith(status.to_string())
}

pub fn auto_reply_rules(ws: &WorkspaceId) -> Key {
    Key::new(tenant(ws), "AUTOREPLY")
}

/// One author answered by one rule in one window: at most once, by a conditional put.
pub fn auto_reply_window(ws: &WorkspaceId, rule: usize, author_hash: &str, window: &str) -> Key {
    Key::new(
        format!("T#{ws}#AUTOREPLY"),
        format!("{rule}#{author_hash}#{window}"),
    )
}

/// A reply Herald made: the network may report it back, and it is never answered.
pub fn own_reply(ws: &WorkspaceId, platform: Platform, remote_id: &str) -> Key {
    Key::new(format!("T#{ws}#OWN"), format!("{platform}#{remote_id}"))
}

/// A secret calendar feed: `T#{ws}` / `FEED#{feed}`, holding the hash of its URL's secret.
pub fn calendar_feed(ws: &WorkspaceId, feed: &str) -> Key {
    Key::new(tenant(ws), format!("FEED#{feed}"))
}

pub fn calendar_feeds_of(ws: &WorkspaceId) -> (String, SortCondition) {
    (tenant(ws), SortCondition::BeginsWith("FEED#".into()))
}

/// A line of a workspace's audit log, in time order: `T#{ws}#AUDIT` / `{time}#{id}`.
pub fn audit(ws: &WorkspaceId, at: DateTime<Utc>, id: &str) -> Key {
    Key::new(audit_partition(ws), format!("{}#{id}", time_key(at)))
}

pub fn audit_partition(ws: &WorkspaceId) -> String {
    format!("T#{ws}#AUDIT")
}

/// A client review link: `T#{ws}` / `REVIEW#{link}`.
pub fn review_link(ws: &WorkspaceId, link: &str) -> Key {
    Key::new(tenant(ws), format!("REVIEW#{link}"))
}

/// An API key's request counter for one window (`key` is a digest of the key, never the key);
/// the admin key's under system.
pub fn api_rate(ws: Option<&WorkspaceId>, key: &str, window_seconds: i64, index: i64) -> Key {
    let sk = format!("KEY#{key}#{window_seconds}#{index}");
    match ws {
        Some(ws) => Key::new(format!("T#{ws}#RATE"), sk),
        None => system(&format!("RATE#{sk}")),
    }
}

/// A workspace's inbound webhook secret (and the one before it, during a rotation).
pub fn inbound_secret(ws: &WorkspaceId) -> Key {
    Key::new(tenant(ws), "HOOKIN")
}

pub fn webhook_endpoint(ws: &WorkspaceId, ep: &EndpointId) -> Key {
    Key::new(tenant(ws), format!("HOOK#{ep}"))
}

/// All webhook endpoints of a workspace: query `tenant` with this sort-key prefix.
pub fn webhook_endpoints_of(ws: &WorkspaceId) -> (String, SortCondition) {
    (tenant(ws), SortCondition::BeginsWith("HOOK#".into()))
}

pub fn delivery(ws: &WorkspaceId, msg: &DeliveryId) -> Key {
    Key::new(format!("T#{ws}#HOOKMSG"), msg.as_str())
}

/// Pending deliveries spread over this many index partitions.
pub const DELIVERY_SHARDS: u32 = 4;

pub fn delivery_due_partition(shard: u32) -> String {
    format!("HOOKDUE#{shard}")
}

/// The due-index entry (gsi1pk, gsi1sk) of a delivery waiting for its next attempt.
pub fn delivery_due_entry(
    due: DateTime<Utc>,
    ws: &WorkspaceId,
    msg: &DeliveryId,
) -> (String, String) {
    let shard = msg
        .as_str()
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % DELIVERY_SHARDS;
    (
        delivery_due_partition(shard),
        format!("{}#{ws}#{msg}", time_key(due)),
    )
}

/// A delivery due-index sort key back into its parts.
pub fn parse_delivery_due(sk: &str) -> Option<(DateTime<Utc>, WorkspaceId, DeliveryId)> {
    let mut parts = sk.split('#');
    let due = parse_time_key(parts.next()?)?;
    let ws = WorkspaceId::parse(parts.next()?)?;
    let msg = DeliveryId::parse(parts.next()?)?;
    parts.next().is_none().then_some((due, ws, msg))
}

/// The partition of an endpoint's attempt log, oldest first.
pub fn delivery_log(ws: &WorkspaceId, ep: &EndpointId) -> String {
    format!("T#{ws}#HOOKLOG#{ep}")
}

pub fn delivery_attempt(
    ws: &WorkspaceId,
    ep: &EndpointId,
    at: DateTime<Utc>,
    msg: &DeliveryId,
    attempt: u32,
) -> Key {
    Key::new(
        delivery_log(ws, ep),
        format!("{}#{msg}#{attempt:02}", time_key(at)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_original_upload_blobs_parse_back_into_their_item() {
        let ws = WorkspaceId::generate(1, 1);
        let m = MediaId::generate(1, 2);
        assert_eq!(
            parse_upload_blob(&upload_blob(&ws, &m)),
            Some((ws.clone(), m.clone()))
        );
        assert_eq!(parse_upload_blob(&rendition_blob(&ws, &m, "x.jpg")), None);
        assert_eq!(parse_upload_blob(&import_blob(&ws, &m)), None);
        assert_eq!(
            parse_import_blob(&import_blob(&ws, &m)),
            Some((ws.clone(), m.clone()))
        );
        assert_eq!(parse_import_blob(&upload_blob(&ws, &m)), None);
        assert_eq!(
            parse_import_blob(&format!("{}/x", import_blob(&ws, &m))),
            None
        );
        assert_eq!(parse_upload_blob(&format!("{ws}/other/{m}/original")), None);
        assert_eq!(
            parse_upload_blob(&format!("{ws}/media/{m}/original/x")),
            None
        );
    }

    #[test]
    fn due_keys_round_trip_and_sort_by_time() {
        let ws = WorkspaceId::generate(1, 1);
        let post = PostId::generate(1, 2);
        let acct = AccountId::generate(1, 3);
        let t1 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let t2 = t1 + chrono::Duration::milliseconds(1);
        let (pk, sk1) = due_entry(t1, &ws, &post, &acct);
        let (_, sk2) = due_entry(t2, &ws, &post, &acct);
        assert!(pk.starts_with("DUE#2026-11-23T09#"));
        assert!(sk1 < sk2);
        assert_eq!(parse_due(&sk1), Some((t1, ws.clone(), post, acct)));
        assert!(due_until(t1).matches(&sk1));
        assert!(!due_until(t1).matches(&sk2));
        let msg = DeliveryId::generate(1, 9);
        let (dpk, dsk) = delivery_due_entry(t1, &ws, &msg);
        assert!(dpk.starts_with("HOOKDUE#"));
        assert_eq!(parse_delivery_due(&dsk), Some((t1, ws.clone(), msg)));
        assert!(due_until(t1).matches(&dsk));
    }

    #[test]
    fn the_calendar_window_keeps_its_ends() {
        let ws = WorkspaceId::generate(1, 1);
        let post = PostId::generate(1, 2);
        let from = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let window = calendar_window(from, to);
        assert!(window.matches(&calendar(&ws, from, &post).1));
        assert!(!window.matches(&calendar(&ws, to, &post).1));
        assert!(!window.matches(&calendar(&ws, from - chrono::Duration::milliseconds(1), &post).1));
    }

    #[test]
    fn every_tenant_key_leads_with_its_workspace() {
        let ws = WorkspaceId::generate(1, 1);
        let acct = AccountId::generate(1, 3);
        let post = PostId::generate(1, 2);
        for key in [
            workspace(&ws),
            account(&ws, &acct),
            credentials(&ws, &acct),
            post_key_for_test(&ws, &post),
            target(&ws, &post, &acct),
        ] {
            assert!(key.pk.starts_with(&format!("T#{ws}")), "{key:?}");
        }
    }

    fn post_key_for_test(ws: &WorkspaceId, p: &PostId) -> Key {
        post(ws, p)
    }
}
