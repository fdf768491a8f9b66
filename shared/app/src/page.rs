//! Paging shared by every list (API.md, "Lists"): `?limit=` sizes a page (1–500, default 100)
//! and `next` is an opaque cursor passed back as `?cursor=`.
//!
//! A cursor is the key of the last item answered, sealed with the server's key and bound to
//! the list it came from (which list, which workspace, which window): a cursor from another
//! list, another workspace or a tampered one does not open and is refused as `cursor`, never
//! read as a position somewhere else.

use crate::{AppError, Deps};
use herald_ports::table::{PK, SK};
use herald_ports::{Item, Query, Value};
use herald_storage::keys;
use serde::Serialize;
use std::collections::BTreeMap;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 500;

/// What the client asked for: a page size and where to go on from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The raw `limit` and `cursor` parameters, checked: 422 naming `limit` when it is not a
    /// whole number from 1 to 500. An empty cursor is no cursor.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<PageRequest, AppError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(AppError::invalid(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    ));
                }
            },
        };
        Ok(PageRequest {
            limit,
            cursor: cursor.filter(|c| !c.is_empty()).map(str::to_owned),
        })
    }

    pub fn first(limit: usize) -> PageRequest {
        PageRequest {
            limit: limit.clamp(1, MAX_LIMIT),
            cursor: None,
        }
    }
}

/// One page of a list, as the API answers it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// Which list a cursor belongs to: the workspace and whatever else fixes the list (its kind,
/// an account, a window). Two lists with different scopes never accept each other's cursors.
pub struct Scope(String);

impl Scope {
    pub fn new(ws: &herald_domain::WorkspaceId, list: &str) -> Scope {
        Scope(format!("herald/cursor/{ws}/{list}"))
    }
}

/// A `[from, to)` window of a list: `to` after `from` and at most `max_days` on, or 422
/// naming `to` (`too_long` says the bound).
pub fn check_window(
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    max_days: i64,
    too_long: &str,
) -> Result<(), AppError> {
    if to <= from {
        return Err(AppError::invalid("to", "must be after from"));
    }
    if to - from > chrono::Duration::days(max_days) {
        return Err(AppError::invalid("to", too_long));
    }
    Ok(())
}

/// One page of `query`'s items, resuming after `page.cursor`. `next` is set only when more
/// items follow, so the last page carries none.
pub async fn query(
    deps: &Deps,
    scope: &Scope,
    mut query: Query,
    page: &PageRequest,
) -> Result<Page<Item>, AppError> {
    if let Some(cursor) = &page.cursor {
        query.start_after = Some(open(deps, scope, cursor)?);
    }
    // One more than the page: whether it comes says whether there is a next page.
    query.limit = Some(page.limit + 1);
    let mut items = deps.table.query_all(query.clone()).await?;
    let next = if items.len() > page.limit {
        items.truncate(page.limit);
        let last = items.last().expect("a full page has a last item");
        Some(seal(deps, scope, &start_key(last, query.index.as_deref())))
    } else {
        None
    };
    Ok(Page { items, next })
}

/// The attributes a query resumes from: the table key, and the index key on an index.
fn start_key(item: &Item, index: Option<&str>) -> BTreeMap<String, String> {
    let mut names = vec![PK, SK];
    match index {
        Some(keys::GSI2) => names.extend([keys::GSI2_PK, keys::GSI2_SK]),
        Some(keys::GSI1) => names.extend([keys::GSI1_PK, keys::GSI1_SK]),
        _ => {}
    }
    names
        .into_iter()
        .filter_map(|n| Some((n.to_owned(), item.get(n)?.as_s()?.to_owned())))
        .collect()
}

fn seal(deps: &Deps, scope: &Scope, key: &BTreeMap<String, String>) -> String {
    let plain = serde_json::to_vec(key).expect("a key serializes");
    seal_for_url(deps, scope.0.as_bytes(), &plain)
}

fn open(deps: &Deps, scope: &Scope, cursor: &str) -> Result<Item, AppError> {
    let refused = || {
        AppError::invalid(
            "cursor",
            "not a cursor of this list: pass back the `next` of the page before",
        )
    };
    let plain = open_from_url(deps, scope.0.as_bytes(), cursor).ok_or_else(refused)?;
    let key: BTreeMap<String, String> = serde_json::from_slice(&plain).map_err(|_| refused())?;
    Ok(key.into_iter().map(|(k, v)| (k, Value::S(v))).collect())
}

/// `plain` sealed with the server's key and bound to `aad`, as text that travels in a URL
/// (base64url without padding; the sealer speaks standard base64).
pub(crate) fn seal_for_url(deps: &Deps, aad: &[u8], plain: &[u8]) -> String {
    deps.sealer
        .seal(plain, aad)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// What `seal_for_url` sealed with the same `aad`, or None for anything else: tampered,
/// truncated, sealed for another use, or not base64url at all.
pub(crate) fn open_from_url(deps: &Deps, aad: &[u8], text: &str) -> Option<Vec<u8>> {
    if text.len() > 2048 || text.contains(['+', '/', '=']) {
        return None;
    }
    let mut standard = text.replace('-', "+").replace('_', "/");
    while !standard.len().is_multiple_of(4) {
        standard.push('=');
    }
    deps.sealer.open(&standard, aad).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_one_to_five_hundred_are_refused_naming_limit() {
        for bad in [
            "0",
            "501",
            "-1",
            "abc",
            "",
            "1.5",
            "99999999999999999999999",
        ] {
            match PageRequest::parse(Some(bad), None) {
                Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "limit", "{bad}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 100);
        assert_eq!(PageRequest::parse(Some("1"), None).unwrap().limit, 1);
        assert_eq!(PageRequest::parse(Some("500"), None).unwrap().limit, 500);
    }
}
