//! The networks side by side: each network's totals over a window, summed from its
//! accounts' daily rollups (the aggregator's `ADAY` items), for the comparison a team makes
//! before deciding where to post more.

use super::{SERIES, days, n, window};
use crate::aggregate::rollup::counter;
use crate::{AppError, Deps};
use chrono::{DateTime, Utc};
use herald_domain::{Platform, WorkspaceId};
use herald_ports::Query;
use herald_storage::keys;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct NetworkTotals {
    pub platform: Platform,
    /// The workspace's accounts on that network (whether or not they drew anything).
    pub accounts: usize,
    #[serde(flatten)]
    pub totals: BTreeMap<&'static str, i64>,
    /// Engagements per impression where the network counts impressions, else per post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engagement_rate: Option<f64>,
}

/// Each network the workspace has an account on, with its totals in `[from, to)`, in the
/// order of `Platform`.
pub async fn networks(
    deps: &Deps,
    ws: &WorkspaceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<NetworkTotals>, AppError> {
    window(from, to)?;
    let (first, last) = days(from, to);
    let mut out: BTreeMap<Platform, NetworkTotals> = BTreeMap::new();
    for account in crate::accounts::list(deps, ws).await? {
        let entry = out
            .entry(account.platform)
            .or_insert_with(|| NetworkTotals {
                platform: account.platform,
                accounts: 0,
                totals: SERIES.iter().map(|c| (*c, 0)).collect(),
                engagement_rate: None,
            });
        entry.accounts += 1;
        let items = deps
            .table
            .query_all(
                Query::table(keys::metrics_partition(ws)).sk(keys::metrics_account_days(
                    &account.id,
                    first,
                    last,
                )),
            )
            .await?;
        for item in &items {
            for c in SERIES {
                *entry.totals.entry(c).or_default() += n(item, c);
            }
        }
    }
    for t in out.values_mut() {
        let engagements = t.totals.get(counter::ENGAGEMENTS).copied().unwrap_or(0);
        let impressions = t.totals.get(counter::IMPRESSIONS).copied().unwrap_or(0);
        let posts = t.totals.get(counter::POSTS).copied().unwrap_or(0);
        let base = if impressions > 0 { impressions } else { posts };
        t.engagement_rate =
            (base > 0).then(|| ((engagements as f64 / base as f64) * 1000.0).round() / 1000.0);
    }
    Ok(out.into_values().collect())
}
