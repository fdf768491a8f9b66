//! The sandbox network's routes: `GET /v1/sandbox/{account}/outbox`, what it received, oldest
//! first; `POST /v1/sandbox/{account}/events`, engagement it reports on one of its posts,
//! recorded through the same path as a real network's webhook (`engagement::ingest`).

use super::{Paging, account_id};
use crate::Answer;
use crate::extract::{May, Path, Query, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::response::IntoResponse;
use herald_app::page::{self, Page, Scope};
use herald_app::{AppError, Deps, accounts};
use herald_domain::Platform;
use herald_networks::sandbox;
use herald_ports::Query as TableQuery;
use herald_storage::keys;
use std::sync::Arc;

#[utoipa::path(
    get,
    path = "/v1/sandbox/{account}/outbox",
    tag = "sandbox",
    summary = "What the sandbox network received",
    params(
        ("account" = String, Path),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "page size (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next` of the page before"),
    ),
    responses((status = 200, description = "success", body = herald_app::page::Page<herald_networks::sandbox::OutboxEntry>, content_type = "application/json")),
)]
pub async fn outbox(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Path(account): Path<String>,
    Query(paging): Query<Paging>,
) -> Answer {
    let ws = &may.workspace;
    let id = account_id(&account)?;
    let account = accounts::get(&deps, ws, &id).await?;
    if account.platform != Platform::Sandbox {
        return Err(ApiError::App(AppError::NotFound("sandbox account")));
    }
    let entries = page::query(
        &deps,
        &Scope::new(ws, &format!("outbox/{id}")),
        TableQuery::table(keys::sandbox_outbox(ws, &id)),
        &paging.request()?,
    )
    .await?;
    let page = Page {
        items: entries.items.iter().filter_map(sandbox::entry).collect(),
        next: entries.next,
    };
    Ok(AxumJson(page).into_response())
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    /// `comment`, `mention`, `like`, `share` or `impression`.
    #[serde(rename = "type")]
    kind: String,
    remote_id: String,
    /// The network's own id of the event (made up when not given).
    id: Option<String>,
    /// The comment's own id, what a reply answers (the event id when not given).
    comment_id: Option<String>,
    text: Option<String>,
    author: Option<String>,
    count: Option<u64>,
}

/// What became of a reported event.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    Recorded,
    /// The sandbox echoed one of Herald's own replies: not an inbox item.
    OwnReply,
    /// The network's event id was seen before: nothing new recorded.
    Repeat,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct EventAnswer {
    status: EventOutcome,
    /// The inbox item a comment or mention became.
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<herald_domain::InboxItemId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_replied: Option<bool>,
}

impl EventAnswer {
    fn of(status: EventOutcome) -> EventAnswer {
        EventAnswer {
            status,
            item: None,
            auto_replied: None,
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/sandbox/{account}/events",
    tag = "sandbox",
    summary = "Engagement the sandbox network reports on one of its posts",
    params(
        ("account" = String, Path),
    ),
    request_body(content = EventBody, content_type = "application/json"),
    responses((status = 202, description = "success", body = EventAnswer, content_type = "application/json")),
)]
pub async fn events(
    State(deps): State<Arc<Deps>>,
    may: May<can::WritePosts>,
    Path(account): Path<String>,
    crate::extract::Json(body): crate::extract::Json<EventBody>,
) -> Answer {
    use herald_app::engagement::{self, Ingested, NetworkEvent};
    use herald_domain::event::Engagement;
    let ws = &may.workspace;
    let id = account_id(&account)?;
    let account = accounts::get(&deps, ws, &id).await?;
    if account.platform != Platform::Sandbox {
        return Err(ApiError::App(AppError::NotFound("sandbox account")));
    }
    let kind = Engagement::parse(&body.kind)
        .ok_or_else(|| ApiError::invalid("type", "comment, mention, like, share or impression"))?;
    let talk = matches!(kind, Engagement::Comment | Engagement::Mention);
    if talk && body.count.is_some_and(|c| c != 1) {
        return Err(ApiError::invalid(
            "count",
            "a comment or mention counts one",
        ));
    }
    if body
        .text
        .as_ref()
        .is_some_and(|t| t.chars().count() > herald_app::inbox::MAX_TEXT)
    {
        return Err(ApiError::invalid(
            "text",
            format!("at most {} characters", herald_app::inbox::MAX_TEXT),
        ));
    }
    let event = NetworkEvent {
        id: body
            .id
            .unwrap_or_else(|| format!("sbxevt_{:032x}", deps.random_u128())),
        engagement: kind,
        post_remote_id: body.remote_id,
        comment_remote_id: body.comment_id,
        author: body.author,
        text: body.text,
        count: body.count.unwrap_or(1),
    };
    let answer = match engagement::ingest(&deps, &account, event).await? {
        Ingested::Inbox { item, auto_replied } => EventAnswer {
            status: EventOutcome::Recorded,
            item: Some(item.id),
            auto_replied: Some(auto_replied),
        },
        Ingested::Engagement => EventAnswer::of(EventOutcome::Recorded),
        Ingested::Own => EventAnswer::of(EventOutcome::OwnReply),
        Ingested::Repeat => EventAnswer::of(EventOutcome::Repeat),
    };
    Ok((axum::http::StatusCode::ACCEPTED, AxumJson(answer)).into_response())
}
