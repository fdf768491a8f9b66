//! What works (API.md, metrics): totals and a per-day series of a window with the inbox's
//! response times, the best hours of the week to post, tags ranked by engagement rate, and
//! the social/promotional mix of the calendar with the 80/20 warning. All read from the
//! aggregator's rollups; nothing here writes.

use crate::aggregate::rollup::counter;
use crate::inbox::{self, Status};
use crate::records::from_json;
use crate::{AppError, Deps};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use herald_domain::{AccountId, Post, PostKind, PostLifecycle, WorkspaceId};
use herald_ports::{Item, Query, Value};
use herald_storage::keys;
use serde::Serialize;
use std::collections::BTreeMap;

mod networks;
pub use networks::{NetworkTotals, networks};

/// The longest window one read may span.
pub const MAX_WINDOW_DAYS: i64 = 366;
/// Posts a weekday-and-hour needs before its score counts.
pub const MIN_SAMPLE: i64 = 3;
/// Above this share of promotional posts, the content mix warns.
pub const PROMOTIONAL_LIMIT: f64 = 0.2;

/// The counters a day shows.
const SERIES: [&str; 9] = [
    counter::IMPRESSIONS,
    counter::REACH,
    counter::ENGAGEMENTS,
    counter::LIKES,
    counter::COMMENTS,
    counter::MENTIONS,
    counter::SHARES,
    counter::POSTS,
    counter::FAILED,
];

fn n(item: &Item, name: &str) -> i64 {
    item.get(name).and_then(Value::as_n).unwrap_or(0)
}

/// Checks a window `[from, to)`.
pub fn window(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), AppError> {
    if to <= from {
        return Err(AppError::invalid("to", "must be after from"));
    }
    if to - from > Duration::days(MAX_WINDOW_DAYS) {
        return Err(AppError::invalid("to", "a window spans at most a year"));
    }
    Ok(())
}

/// The days a window touches, first and last included.
fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    (
        from.date_naive(),
        (to - Duration::milliseconds(1)).date_naive(),
    )
}

#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Day {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub counts: BTreeMap<&'static str, i64>,
}

#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Summary {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[serde(flatten)]
    pub totals: BTreeMap<&'static str, i64>,
    pub days: Vec<Day>,
    /// Median and 90th percentile seconds from receipt to the first answer, of the items
    /// received in the window and answered.
    pub response_time_p50_s: Option<i64>,
    pub response_time_p90_s: Option<i64>,
    /// Answered items among those received in the window, dismissed ones left out.
    pub answered_share: Option<f64>,
    pub inbox_items: usize,
}

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

pub async fn summary(
    deps: &Deps,
    ws: &WorkspaceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Summary, AppError> {
    window(from, to)?;
    let (first, last) = days(from, to);
    let items = deps
        .table
        .query_all(Query::table(keys::metrics_partition(ws)).sk(keys::metrics_days(first, last)))
        .await?;
    let mut totals: BTreeMap<&'static str, i64> = SERIES.iter().map(|c| (*c, 0)).collect();
    let mut series = Vec::new();
    for item in &items {
        let Some(date) = item
            .get(herald_ports::table::SK)
            .and_then(Value::as_s)
            .and_then(|sk| sk.strip_prefix("DAY#"))
            .and_then(|d| d.parse().ok())
        else {
            continue;
        };
        let counts: BTreeMap<&'static str, i64> = SERIES.iter().map(|c| (*c, n(item, c))).collect();
        for (c, v) in &counts {
            *totals.entry(c).or_default() += v;
        }
        series.push(Day { date, counts });
    }
    let received = inbox::received(deps, ws, from, to).await?;
    let mut times: Vec<i64> = received.iter().filter_map(|i| i.response_seconds).collect();
    times.sort_unstable();
    let considered = received
        .iter()
        .filter(|i| i.status != Status::Dismissed)
        .count();
    let answered = received
        .iter()
        .filter(|i| i.status == Status::Answered)
        .count();
    Ok(Summary {
        from,
        to,
        totals,
        days: series,
        response_time_p50_s: percentile(&times, 0.5),
        response_time_p90_s: percentile(&times, 0.9),
        answered_share: (considered > 0)
            .then(|| ((answered as f64 / considered as f64) * 1000.0).round() / 1000.0),
        inbox_items: received.len(),
    })
}

#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
// `queue::Slot` holds the name `Slot` in the OpenAPI document.
#[schema(as = BestTime)]
pub struct Slot {
    pub weekday: &'static str,
    pub hour: u32,
    /// Engagements per post published at that hour.
    pub score: f64,
    pub posts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engagement_rate: Option<f64>,
}

#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct BestTimes {
    pub items: Vec<Slot>,
    /// Whose history the times come from: `account`, `workspace` (the account has too little
    /// yet) or `default` (nobody has: times that work for most audiences).
    pub source: &'static str,
    pub timezone: String,
    pub min_sample: i64,
}

/// Times that work for most audiences, for a workspace with no history yet (weekday
/// mornings and lunchtimes).
const DEFAULT_TIMES: [(u32, u32); 6] = [(1, 9), (2, 9), (3, 9), (1, 12), (2, 12), (3, 12)];

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The hours of the week (in the workspace's zone) whose posts drew the most engagement
/// each, best first; only hours with at least `MIN_SAMPLE` posts. An account with too little
/// history gets its workspace's, and a workspace with none the default times.
pub async fn best_times(
    deps: &Deps,
    ws: &WorkspaceId,
    account: Option<&AccountId>,
) -> Result<BestTimes, AppError> {
    let timezone = crate::settings::workspace(deps, ws)
        .await?
        .settings
        .timezone;
    let mut tried = Vec::new();
    if let Some(a) = account {
        tried.push(("account", Some(a)));
    }
    tried.push(("workspace", None));
    for (source, acct) in tried {
        let items = deps
            .table
            .query_all(
                Query::table(keys::metrics_partition(ws)).sk(keys::metrics_hours_of_week(acct)),
            )
            .await?;
        let mut slots: BTreeMap<(u32, u32), (i64, i64, i64)> = BTreeMap::new();
        for item in &items {
            let Some((_, day, hour)) = item
                .get(herald_ports::table::SK)
                .and_then(Value::as_s)
                .and_then(keys::parse_hour_of_week)
            else {
                continue;
            };
            let s = slots.entry((day, hour)).or_default();
            s.0 += n(item, counter::POSTS);
            s.1 += n(item, counter::ENGAGEMENTS);
            s.2 += n(item, counter::IMPRESSIONS);
        }
        let mut ranked: Vec<Slot> = slots
            .into_iter()
            .filter(|(_, (posts, _, _))| *posts >= MIN_SAMPLE)
            .map(|((day, hour), (posts, engagements, impressions))| Slot {
                weekday: herald_domain::hours::DAYS[day.min(6) as usize],
                hour,
                score: round3(engagements as f64 / posts as f64),
                posts,
                engagement_rate: (impressions > 0)
                    .then(|| round3(engagements as f64 / impressions as f64)),
            })
            .collect();
        if ranked.is_empty() {
            continue;
        }
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.posts.cmp(&a.posts)));
        return Ok(BestTimes {
            items: ranked,
            source,
            timezone,
            min_sample: MIN_SAMPLE,
        });
    }
    Ok(BestTimes {
        items: DEFAULT_TIMES
            .iter()
            .map(|(day, hour)| Slot {
                weekday: herald_domain::hours::DAYS[*day as usize],
                hour: *hour,
                score: 0.0,
                posts: 0,
                engagement_rate: None,
            })
            .collect(),
        source: "default",
        timezone,
        min_sample: MIN_SAMPLE,
    })
}

#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TagRank {
    pub tag: String,
    pub posts: i64,
    pub engagements: i64,
    pub impressions: i64,
    /// Engagements per impression where the network counts impressions, else per post.
    pub engagement_rate: f64,
}

/// Tags of the posts published in the window, by engagement rate, best first.
pub async fn top_tags(
    deps: &Deps,
    ws: &WorkspaceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<TagRank>, AppError> {
    window(from, to)?;
    let (first, last) = days(from, to);
    let items = deps
        .table
        .query_all(
            Query::table(keys::metrics_partition(ws)).sk(keys::metrics_tag_days(first, last)),
        )
        .await?;
    let mut tags: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for item in &items {
        let Some((_, tag)) = item
            .get(herald_ports::table::SK)
            .and_then(Value::as_s)
            .and_then(keys::parse_metrics_tag)
        else {
            continue;
        };
        let t = tags.entry(tag.to_owned()).or_default();
        t.0 += n(item, counter::POSTS);
        t.1 += n(item, counter::ENGAGEMENTS);
        t.2 += n(item, counter::IMPRESSIONS);
    }
    let mut ranked: Vec<TagRank> = tags
        .into_iter()
        .map(|(tag, (posts, engagements, impressions))| TagRank {
            engagement_rate: round3(if impressions > 0 {
                engagements as f64 / impressions as f64
            } else {
                engagements as f64 / posts.max(1) as f64
            }),
            tag,
            posts,
            engagements,
            impressions,
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.engagement_rate
            .total_cmp(&a.engagement_rate)
            .then(b.engagements.cmp(&a.engagements))
            .then(a.tag.cmp(&b.tag))
    });
    Ok(ranked)
}

#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ContentMix {
    pub social: usize,
    pub promotional: usize,
    pub promotional_share: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// The social/promotional mix of the posts scheduled in the window (cancelled ones left out):
/// a warning when promotion passes a fifth (the 80/20 rule).
pub async fn content_mix(
    deps: &Deps,
    ws: &WorkspaceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ContentMix, AppError> {
    window(from, to)?;
    let entries = deps
        .table
        .query_all(
            Query::index(keys::GSI2, keys::calendar_partition(ws))
                .sk(keys::calendar_window(from, to)),
        )
        .await?;
    let (mut social, mut promotional) = (0, 0);
    for entry in &entries {
        let post: Post = from_json(entry)?;
        // The index entry is the post as it was: read it as it is now.
        let Some(item) = deps.table.get(&keys::post(ws, &post.id)).await? else {
            continue;
        };
        let post: Post = from_json(&item)?;
        if post.lifecycle == PostLifecycle::Cancelled
            || !post.scheduled_at.is_some_and(|t| t >= from && t < to)
        {
            continue;
        }
        match post.kind {
            PostKind::Social => social += 1,
            PostKind::Promotional => promotional += 1,
        }
    }
    let total = social + promotional;
    let share = if total == 0 {
        0.0
    } else {
        round3(promotional as f64 / total as f64)
    };
    Ok(ContentMix {
        social,
        promotional,
        promotional_share: share,
        warning: (share > PROMOTIONAL_LIMIT).then(|| {
            format!(
                "{:.0}% of the posts in this window are promotional: keep promotion near 20% (the 80/20 rule)",
                share * 100.0
            )
        }),
    })
}
