//! Auto-replies (API.md, "Inbox rules"): outside the workspace's business hours (its time
//! zone, DST included) or on a keyword, a template answers. An author gets at most one
//! auto-reply per window: outside hours, once per closed period; on a keyword, once per day
//! in the workspace's zone. Taken by a conditional put, so two comments arriving together get
//! one answer. Herald's own replies are never answered (they never become items).

use super::{InboxItem, own_reply_op};
use crate::records::{DATA, from_json, json_item};
use crate::{AppError, Deps, accounts, settings};
use herald_domain::{Account, FieldError, WorkspaceId};
use herald_ports::{Condition, TableError, TxOp, Update, Value};
use herald_storage::keys;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const MAX_RULES: usize = 20;
pub const MAX_MATCH: usize = 100;
pub const MAX_TEXT: usize = 1_000;
/// Windows are remembered a little longer than the longest one (a long weekend, closed).
const WINDOW_DAYS: i64 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum When {
    OutsideBusinessHours,
    Keyword,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub when: When,
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

impl Rules {
    /// Every rule checked, each fault named by position (`rules[1].match`).
    pub fn check(mut self) -> Result<Rules, AppError> {
        let mut errors = Vec::new();
        if self.rules.len() > MAX_RULES {
            errors.push(FieldError::new(
                "rules",
                format!("at most {MAX_RULES} rules"),
            ));
        }
        for (i, rule) in self.rules.iter_mut().enumerate() {
            rule.text = rule.text.trim().to_owned();
            let count = rule.text.chars().count();
            if count == 0 || count > MAX_TEXT || rule.text.chars().any(char::is_control) {
                errors.push(FieldError::new(
                    format!("rules[{i}].text"),
                    format!("1 to {MAX_TEXT} characters, no control characters"),
                ));
            }
            match (rule.when, rule.pattern.as_deref().map(str::trim)) {
                (When::Keyword, Some(p))
                    if !p.is_empty()
                        && p.chars().count() <= MAX_MATCH
                        && !p.chars().any(char::is_control) =>
                {
                    rule.pattern = Some(p.to_lowercase());
                }
                (When::Keyword, _) => errors.push(FieldError::new(
                    format!("rules[{i}].match"),
                    format!("a keyword rule needs a match of 1 to {MAX_MATCH} characters"),
                )),
                (When::OutsideBusinessHours, None) => {}
                (When::OutsideBusinessHours, Some(_)) => errors.push(FieldError::new(
                    format!("rules[{i}].match"),
                    "only keyword rules take a match",
                )),
            }
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(AppError::Invalid(errors))
        }
    }
}

pub async fn get(deps: &Deps, ws: &WorkspaceId) -> Result<Rules, AppError> {
    match deps.table.get(&keys::auto_reply_rules(ws)).await? {
        Some(item) => from_json(&item),
        None => Ok(Rules::default()),
    }
}

/// Replaces the rules whole.
pub async fn put(deps: &Deps, ws: &WorkspaceId, rules: Rules) -> Result<Rules, AppError> {
    let rules = rules.check()?;
    deps.table
        .put(
            json_item(&keys::auto_reply_rules(ws), "auto_replies", &rules),
            None,
        )
        .await?;
    Ok(rules)
}

/// The first rule that answers `item` now, with the window it answers in.
fn matching(
    rules: &Rules,
    item: &InboxItem,
    workspace: &herald_domain::Workspace,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<(usize, String)> {
    let tz = settings::timezone(workspace);
    let text = item.text.to_lowercase();
    rules
        .rules
        .iter()
        .enumerate()
        .find_map(|(i, rule)| match rule.when {
            When::OutsideBusinessHours => workspace
                .settings
                .business_hours
                .closed_since(now, &tz)
                .map(|since| (i, format!("closed{}", since.timestamp()))),
            When::Keyword => rule
                .pattern
                .as_deref()
                .filter(|p| text.contains(p))
                .map(|_| (i, format!("day{}", now.with_timezone(&tz).date_naive()))),
        })
}

/// Answers a new item if a rule says so and its author had no auto-reply in this window.
/// Answers whether it replied.
pub async fn answer(deps: &Deps, account: &Account, item: &InboxItem) -> Result<bool, AppError> {
    let ws = &account.workspace;
    let rules = get(deps, ws).await?;
    if rules.rules.is_empty() {
        return Ok(false);
    }
    let workspace = settings::workspace(deps, ws).await?;
    let now = deps.clock.now();
    let Some((index, window)) = matching(&rules, item, &workspace, now) else {
        return Ok(false);
    };
    let author = hex::encode(&Sha256::digest(item.author.to_lowercase().as_bytes())[..12]);
    let mark = keys::auto_reply_window(ws, index, &author, &window);
    let mut marker = mark.item();
    marker.insert(
        herald_ports::table::TTL.into(),
        Value::N((now + chrono::Duration::days(WINDOW_DAYS)).timestamp()),
    );
    match deps.table.put(marker, Some(Condition::item_absent())).await {
        Ok(()) => {}
        Err(TableError::ConditionFailed { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let connector = deps.connector(account.platform)?;
    let context = accounts::context(deps, account).await?;
    let sent = match connector
        .reply(&context, &item.remote_id, &rules.rules[index].text)
        .await
    {
        Ok(sent) => sent,
        Err(e) => {
            // Not answered after all: the author's next comment may be.
            let _ = deps.table.delete(&mark, None).await;
            return Err(e.into());
        }
    };
    let mut ops: Vec<TxOp> = own_reply_op(ws, account.platform, &sent.remote_id, now)
        .into_iter()
        .collect();
    let mut answered = item.clone();
    answered.auto_replied_at = Some(now);
    ops.push(TxOp::Update {
        key: keys::inbox_item(ws, &item.id),
        update: Update::new().set(
            DATA,
            Value::S(serde_json::to_string(&answered).expect("records serialize")),
        ),
        condition: Some(Condition::Eq(
            DATA.into(),
            Value::S(serde_json::to_string(item).expect("records serialize")),
        )),
    });
    match deps.table.transact(ops).await {
        // Changed meanwhile (answered by a person already): the reply went out all the same.
        Ok(()) | Err(TableError::TransactionCancelled { .. }) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use herald_domain::BusinessHours;
    use serde_json::json;

    fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn business_hours_follow_the_zone_across_a_dst_change() {
        let week: serde_json::Map<_, _> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| ((*d).to_owned(), json!([["09:00", "17:00"]])))
            .collect();
        let hours = BusinessHours::parse(&serde_json::Value::Object(week)).unwrap();
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        // Berlin moved to summer time on Sunday 2026-03-29: Monday 07:30 UTC is 09:30 there.
        assert_eq!(
            hours.closed_since(utc("2026-03-30T07:30:00Z"), &berlin),
            None
        );
        // 06:30 UTC is 08:30 there: closed since Friday 17:00 winter time (16:00 UTC).
        assert_eq!(
            hours.closed_since(utc("2026-03-30T06:30:00Z"), &berlin),
            Some(utc("2026-03-27T16:00:00Z"))
        );
    }
}
