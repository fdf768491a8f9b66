//! What one batch adds to which rollup item, summed in memory: the writes of a batch grow with
//! the distinct items it touches, never with its events.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use herald_domain::event::Engagement;
use herald_domain::{AccountId, PostId, WorkspaceId};
use herald_ports::{Item, Key, Update, Value};
use herald_storage::keys;
use std::collections::{BTreeMap, HashMap};

/// Counter attributes of the rollup items.
pub mod counter {
    pub const IMPRESSIONS: &str = "impressions";
    pub const REACH: &str = "reach";
    pub const LIKES: &str = "likes";
    pub const COMMENTS: &str = "comments";
    pub const MENTIONS: &str = "mentions";
    pub const SHARES: &str = "shares";
    /// Likes, comments, mentions and shares together.
    pub const ENGAGEMENTS: &str = "engagements";
    /// Posts published (targets: a post on two accounts counts twice).
    pub const POSTS: &str = "posts";
    pub const PUBLISHED: &str = "published";
    pub const FAILED: &str = "failed";
}

/// Attributes of a per-post item that say what the post is, for the rollups by tag, kind and
/// hour of week.
pub mod meta {
    pub const TAGS: &str = "tags";
    pub const KIND: &str = "post_kind";
    pub const PUBLISHED_AT: &str = "published_at";
    pub const ACCOUNT: &str = "account";
    pub const PLATFORM: &str = "platform";
    pub const REMOTE_ID: &str = "remote_id";
}

/// The counter an engagement adds to, and whether it counts as an engagement.
pub fn counter_of(e: Engagement) -> (&'static str, bool) {
    match e {
        Engagement::Like => (counter::LIKES, true),
        Engagement::Share => (counter::SHARES, true),
        Engagement::Comment => (counter::COMMENTS, true),
        Engagement::Mention => (counter::MENTIONS, true),
        Engagement::Impression => (counter::IMPRESSIONS, false),
    }
}

/// What a post is, as the rollups by tag, kind and hour need it.
#[derive(Clone, Debug, PartialEq)]
pub struct PostMeta {
    pub tags: Vec<String>,
    pub kind: String,
    pub published_at: DateTime<Utc>,
}

impl PostMeta {
    pub fn from_item(item: &Item) -> Option<PostMeta> {
        let tags = match item.get(meta::TAGS)? {
            Value::L(l) => l
                .iter()
                .filter_map(|v| v.as_s().map(str::to_owned))
                .collect(),
            _ => return None,
        };
        Some(PostMeta {
            tags,
            kind: item.get(meta::KIND)?.as_s()?.to_owned(),
            published_at: DateTime::from_timestamp_millis(item.get(meta::PUBLISHED_AT)?.as_n()?)?,
        })
    }

    pub fn day(&self) -> NaiveDate {
        self.published_at.date_naive()
    }

    /// (weekday from Monday = 0, hour) of publishing, in the workspace's time zone.
    pub fn slot(&self, tz: &Tz) -> (u32, u32) {
        let local = self.published_at.with_timezone(tz);
        (local.weekday().num_days_from_monday(), local.hour())
    }
}

/// The changes one batch makes to one item.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delta {
    pub add: BTreeMap<&'static str, i64>,
    pub set: BTreeMap<&'static str, Value>,
}

impl Delta {
    pub fn update(&self) -> Update {
        let mut u = Update::new();
        for (name, v) in &self.set {
            u = u.set(name, v.clone());
        }
        for (name, n) in &self.add {
            if *n != 0 {
                u = u.add(name, *n);
            }
        }
        u
    }
}

/// A workspace's sums for one batch.
#[derive(Default)]
pub struct Sums {
    pub items: HashMap<Key, Delta>,
}

impl Sums {
    pub fn add(&mut self, key: Key, name: &'static str, n: i64) {
        *self
            .items
            .entry(key)
            .or_default()
            .add
            .entry(name)
            .or_default() += n;
    }

    pub fn set(&mut self, key: Key, name: &'static str, v: Value) {
        self.items.entry(key).or_default().set.insert(name, v);
    }

    /// Adds `n` to `name` on every item the post's engagement counts in: the post, the
    /// workspace's day and the account's day (of when it happened), and when the post is
    /// known, its hour of week, tags and kind (of when it was published).
    #[allow(clippy::too_many_arguments)]
    pub fn engagement(
        &mut self,
        ws: &WorkspaceId,
        account: &AccountId,
        post: Option<(&PostId, Option<&PostMeta>)>,
        day: NaiveDate,
        tz: &Tz,
        names: &[&'static str],
        n: i64,
    ) {
        let mut targets = vec![
            keys::metrics_day(ws, day),
            keys::metrics_account_day(ws, account, day),
        ];
        if let Some((post, meta)) = post {
            targets.push(keys::metrics_post(ws, post));
            if let Some(meta) = meta {
                targets.extend(published_keys(ws, account, meta, tz));
            }
        }
        for key in targets {
            for name in names {
                self.add(key.clone(), name, n);
            }
        }
    }
}

/// The items a published post's own counts go to: its hour of week, tags and kind.
pub fn published_keys(ws: &WorkspaceId, account: &AccountId, meta: &PostMeta, tz: &Tz) -> Vec<Key> {
    let (weekday, hour) = meta.slot(tz);
    let day = meta.day();
    let mut out = vec![
        keys::metrics_hour_of_week(ws, account, weekday, hour),
        keys::metrics_kind(ws, day, &meta.kind),
    ];
    out.extend(meta.tags.iter().map(|t| keys::metrics_tag(ws, day, t)));
    out
}
