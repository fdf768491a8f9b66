//! `GET /v1/metrics/...` (API.md): summary, best times, top tags, content mix.

use crate::Answer;
use crate::extract::{May, Query, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::response::IntoResponse;
use chrono::{DateTime, Duration, Utc};
use herald_app::page::Page;
use herald_app::{Deps, metrics};
use serde::Deserialize;
use std::sync::Arc;

/// `?from=&to=`, RFC 3339; without them the last 30 days.
#[derive(Deserialize)]
pub struct Window {
    from: Option<String>,
    to: Option<String>,
}

fn time(name: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|raw| {
        DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| ApiError::invalid(name, format!("not an RFC 3339 time: {e}")))
    })
    .transpose()
}

impl Window {
    fn read(&self, now: DateTime<Utc>) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
        let to = time("to", self.to.as_deref())?.unwrap_or(now);
        let from = time("from", self.from.as_deref())?.unwrap_or(to - Duration::days(30));
        Ok((from, to))
    }
}

#[utoipa::path(
    get,
    path = "/v1/metrics/summary",
    tag = "metrics",
    summary = "Totals, a per-day series and response times",
    params(
        ("from" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339 (default: 30 days before `to`)"),
        ("to" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339 (default: now)"),
    ),
    responses((status = 200, description = "success", body = herald_app::metrics::Summary, content_type = "application/json")),
)]
pub async fn summary(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(w): Query<Window>,
) -> Answer {
    let (from, to) = w.read(deps.clock.now())?;
    Ok(AxumJson(metrics::summary(&deps, &may.workspace, from, to).await?).into_response())
}

#[derive(Deserialize)]
pub struct BestTimesQuery {
    account: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/metrics/best-times",
    tag = "metrics",
    summary = "Best weekday and hour to post",
    params(
        ("account" = Option<String>, Query, description = "an account id: its own history (default: the workspace's)"),
    ),
    responses((status = 200, description = "success", body = herald_app::metrics::BestTimes, content_type = "application/json")),
)]
pub async fn best_times(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(q): Query<BestTimesQuery>,
) -> Answer {
    let account = match q.account.as_deref() {
        None => None,
        Some(raw) => {
            let id = super::account_id(raw)?;
            // Another workspace's account is as unknown as a missing one.
            herald_app::accounts::get(&deps, &may.workspace, &id).await?;
            Some(id)
        }
    };
    let best = metrics::best_times(&deps, &may.workspace, account.as_ref()).await?;
    Ok(AxumJson(best).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/metrics/top-tags",
    tag = "metrics",
    summary = "Tags by engagement rate",
    params(
        ("from" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339 (default: 30 days before `to`)"),
        ("to" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339 (default: now)"),
    ),
    responses((status = 200, description = "success", body = herald_app::page::Page<herald_app::metrics::TagRank>, content_type = "application/json")),
)]
pub async fn top_tags(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(w): Query<Window>,
) -> Answer {
    let (from, to) = w.read(deps.clock.now())?;
    let items = metrics::top_tags(&deps, &may.workspace, from, to).await?;
    Ok(AxumJson(Page { items, next: None }).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/metrics/content-mix",
    tag = "metrics",
    summary = "Social and promotional mix, with the 80/20 warning",
    params(
        ("from" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339 (default: 30 days before `to`)"),
        ("to" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339 (default: now)"),
    ),
    responses((status = 200, description = "success", body = herald_app::metrics::ContentMix, content_type = "application/json")),
)]
pub async fn content_mix(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(w): Query<Window>,
) -> Answer {
    let (from, to) = w.read(deps.clock.now())?;
    Ok(AxumJson(metrics::content_mix(&deps, &may.workspace, from, to).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/metrics/networks",
    tag = "metrics",
    summary = "Each network's totals, side by side",
    description = "`?from=&to=` (default: the last 30 days) → `{\"items\":[{\"platform\",\"accounts\",\"impressions\",\"engagements\",\"posts\",...,\"engagement_rate\"?}]}`, one item per network the workspace has an account on.",
    params(
        ("from" = Option<chrono::DateTime<chrono::Utc>>, Query),
        ("to" = Option<chrono::DateTime<chrono::Utc>>, Query),
    ),
    responses((status = 200, description = "success", body = herald_app::page::Page<herald_app::metrics::NetworkTotals>, content_type = "application/json")),
)]
pub async fn networks(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(w): Query<Window>,
) -> Answer {
    let (from, to) = w.read(deps.clock.now())?;
    let items = metrics::networks(&deps, &may.workspace, from, to).await?;
    Ok(AxumJson(Page { items, next: None }).into_response())
}
