//! Networks' webhooks (`/hooks/v1/networks/{platform}/{workspace}/{account}`): the network's
//! subscription handshake on `GET`, deliveries on `POST`. A delivery is checked against the
//! network's signature over the raw body before anything reads it: forged or unsigned, it
//! answers 401 and records nothing. Each report then takes the same path as the sandbox's
//! events (`engagement::ingest`), deduplicated by the network's own id.

use super::account_id;
use crate::Answer;
use crate::extract::{Path, Query};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use herald_app::engagement::{self, Ingested, NetworkEvent};
use herald_app::{AppError, Deps, accounts};
use herald_domain::event::Engagement;
use herald_domain::{Account, Platform, WorkspaceId};
use herald_networks::webhooks::{self, Inbound, InboundKind};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The path of an account's hook.
pub fn path(account: &Account) -> String {
    format!(
        "/hooks/v1/networks/{}/{}/{}",
        account.platform, account.workspace, account.id
    )
}

/// Whether the account's network sends Herald webhooks, and where.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HookDescription {
    webhooks: bool,
    /// The path the network is to call (absent when `webhooks` is false).
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// What Meta's dashboard asks for (Facebook, Instagram, Threads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    verify_token: Option<String>,
}

/// A handshake's JSON answer: X's CRC (`response_token`) or LinkedIn's challenge. Meta's is
/// the challenge itself, as text.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum HandshakeAnswer {
    X {
        response_token: String,
    },
    #[serde(rename_all = "camelCase")]
    Linkedin {
        challenge_code: String,
        challenge_response: String,
    },
}

/// What a delivery's reports became.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryCounts {
    recorded: usize,
    /// Reports seen before (by the network's own id).
    repeats: usize,
    /// Reports for another account, or invalid.
    refused: usize,
    /// Meta's app callback only: entries for no connected account.
    #[serde(skip_serializing_if = "Option::is_none")]
    unknown: Option<usize>,
}

/// `GET /v1/accounts/{id}/webhook`: where the network is to send the account's deliveries,
/// and for Meta the verify token its dashboard asks for.
#[utoipa::path(
    get,
    path = "/v1/accounts/{id}/webhook",
    tag = "accounts",
    summary = "Where the account's network webhooks go",
    params(
        ("id" = String, Path),
    ),
    responses((status = 200, description = "success", body = HookDescription, content_type = "application/json")),
)]
pub async fn describe(
    State(deps): State<Arc<Deps>>,
    may: crate::extract::May<crate::extract::can::ManageAccounts>,
    Path(id): Path<String>,
) -> Answer {
    let account = accounts::get(&deps, &may.workspace, &account_id(&id)?).await?;
    let secret = family(account.platform).and_then(|_| {
        deps.connectors
            .get(&account.platform)
            .and_then(|c| c.webhook_secret())
    });
    let Some(secret) = secret else {
        return Ok(AxumJson(HookDescription {
            webhooks: false,
            path: None,
            verify_token: None,
        })
        .into_response());
    };
    let verify_token = (family(account.platform) == Some(Family::Meta)).then(|| {
        webhooks::meta_verify_token(
            secret.as_bytes(),
            account.workspace.as_str(),
            account.id.as_str(),
        )
    });
    Ok(AxumJson(HookDescription {
        webhooks: true,
        path: Some(path(&account)),
        verify_token,
    })
    .into_response())
}

/// The networks whose webhooks Herald takes, by how they sign.
#[derive(Clone, Copy, PartialEq)]
enum Family {
    Meta,
    X,
    Linkedin,
}

fn family(platform: Platform) -> Option<Family> {
    match platform {
        Platform::Facebook | Platform::Instagram | Platform::Threads => Some(Family::Meta),
        Platform::X => Some(Family::X),
        Platform::Linkedin => Some(Family::Linkedin),
        _ => None,
    }
}

/// The account a hook URL names, its network's signing family and secret; 404 for anything
/// that names nothing (an unknown account, another network, a network Herald is not
/// registered with).
async fn target(
    deps: &Deps,
    (platform, workspace, account): &(String, String, String),
) -> Result<(Account, Family, String), ApiError> {
    let missing = || ApiError::App(AppError::NotFound("webhook"));
    let platform = Platform::parse(platform).ok_or_else(missing)?;
    let family = family(platform).ok_or_else(missing)?;
    let ws = WorkspaceId::parse(workspace).ok_or_else(missing)?;
    let account = accounts::get(deps, &ws, &account_id(account)?)
        .await
        .map_err(|_| missing())?;
    if account.platform != platform {
        return Err(missing());
    }
    let secret = deps
        .connectors
        .get(&platform)
        .and_then(|c| c.webhook_secret())
        .ok_or_else(missing)?
        .to_owned();
    Ok((account, family, secret))
}

#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
    crc_token: Option<String>,
    #[serde(rename = "challengeCode")]
    challenge_code: Option<String>,
}

#[utoipa::path(
    get,
    path = "/hooks/v1/networks/{platform}/{workspace}/{account}",
    tag = "network webhooks",
    summary = "A network's subscription handshake",
    params(
        ("platform" = String, Path),
        ("workspace" = String, Path),
        ("account" = String, Path),
    ),
    responses((status = 200, description = "success: X's and LinkedIn's answer as JSON, Meta's challenge as text", content(
        (HandshakeAnswer = "application/json"),
        (String = "text/plain"),
    ))),
)]
pub async fn handshake(
    State(deps): State<Arc<Deps>>,
    Path(path): Path<(String, String, String)>,
    Query(q): Query<Handshake>,
) -> Answer {
    let (account, family, secret) = target(&deps, &path).await?;
    match family {
        Family::Meta => {
            let expected = webhooks::meta_verify_token(
                secret.as_bytes(),
                account.workspace.as_str(),
                account.id.as_str(),
            );
            webhooks::meta_handshake(
                q.mode.as_deref(),
                q.verify_token.as_deref(),
                q.challenge.as_deref(),
                &expected,
            )
            .map(|challenge| challenge.into_response())
            .ok_or(ApiError::App(AppError::Forbidden))
        }
        Family::X => {
            let token = q
                .crc_token
                .filter(|t| !t.is_empty() && t.len() <= 512)
                .ok_or_else(|| ApiError::invalid("crc_token", "required"))?;
            let answer = webhooks::x_crc_response(secret.as_bytes(), &token);
            Ok(AxumJson(HandshakeAnswer::X {
                response_token: answer,
            })
            .into_response())
        }
        Family::Linkedin => {
            let code = q
                .challenge_code
                .filter(|t| !t.is_empty() && t.len() <= 512)
                .ok_or_else(|| ApiError::invalid("challengeCode", "required"))?;
            let answer = webhooks::linkedin_challenge(secret.as_bytes(), &code);
            Ok(AxumJson(HandshakeAnswer::Linkedin {
                challenge_code: code,
                challenge_response: answer,
            })
            .into_response())
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn event_of(r: Inbound) -> NetworkEvent {
    NetworkEvent {
        id: r.id,
        engagement: match r.kind {
            InboundKind::Comment => Engagement::Comment,
            InboundKind::Mention => Engagement::Mention,
            InboundKind::Like => Engagement::Like,
            InboundKind::Share => Engagement::Share,
        },
        post_remote_id: r.post,
        comment_remote_id: r.comment,
        author: r.author,
        text: r.text,
        count: 1,
    }
}

#[utoipa::path(
    post,
    path = "/hooks/v1/networks/{platform}/{workspace}/{account}",
    tag = "network webhooks",
    summary = "A network's signed delivery",
    params(
        ("platform" = String, Path),
        ("workspace" = String, Path),
        ("account" = String, Path),
    ),
    responses((status = 200, description = "success", body = DeliveryCounts, content_type = "application/json")),
)]
pub async fn deliver(
    State(deps): State<Arc<Deps>>,
    Path(path): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (account, family, secret) = target(&deps, &path).await?;
    let secret = secret.as_bytes();
    type Parser = fn(&[u8]) -> Result<Vec<Inbound>, String>;
    let (signed, parsed): (bool, Parser) = match family {
        Family::Meta => (
            webhooks::verify_meta(secret, &body, header(&headers, "x-hub-signature-256")),
            webhooks::parse_meta,
        ),
        Family::X => (
            webhooks::verify_x(
                secret,
                &body,
                header(&headers, "x-twitter-webhooks-signature"),
            ),
            webhooks::parse_x,
        ),
        Family::Linkedin => (
            webhooks::verify_linkedin(secret, &body, header(&headers, "x-li-signature")),
            webhooks::parse_linkedin,
        ),
    };
    if !signed {
        return Err(ApiError::App(AppError::Unauthorized));
    }
    let reports = parsed(&body).map_err(ApiError::Malformed)?;
    let (mut recorded, mut repeats, mut refused) = (0, 0, 0);
    for report in reports {
        // An entry for a page connected as another account never lands in this one.
        if family == Family::Meta
            && engagement::network_accounts::resolve(
                &deps,
                account.platform,
                &report.network_account,
            )
            .await?
            .is_some_and(|owner| owner.id != account.id || owner.workspace != account.workspace)
        {
            refused += 1;
            continue;
        }
        match engagement::ingest(&deps, &account, event_of(report)).await {
            Ok(Ingested::Repeat) => repeats += 1,
            Ok(_) => recorded += 1,
            // One unusable report (an id no key holds) does not lose the others.
            Err(AppError::Invalid(_)) => refused += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok((
        StatusCode::OK,
        AxumJson(DeliveryCounts {
            recorded,
            repeats,
            refused,
            unknown: None,
        }),
    )
        .into_response())
}

/// The Meta app's secret (Facebook, Instagram and Threads share the app that signs).
fn meta_secret(deps: &Deps) -> Option<String> {
    [Platform::Facebook, Platform::Instagram, Platform::Threads]
        .iter()
        .find_map(|p| deps.connectors.get(p).and_then(|c| c.webhook_secret()))
        .map(str::to_owned)
}

#[utoipa::path(
    get,
    path = "/hooks/v1/networks/meta",
    tag = "network webhooks",
    summary = "The Meta app's subscription handshake (one callback URL for every page)",
    responses((status = 200, description = "success: the challenge, as Meta sent it", body = String, content_type = "text/plain")),
)]
pub async fn meta_handshake(State(deps): State<Arc<Deps>>, Query(q): Query<Handshake>) -> Answer {
    let secret = meta_secret(&deps).ok_or(ApiError::App(AppError::NotFound("webhook")))?;
    webhooks::meta_handshake(
        q.mode.as_deref(),
        q.verify_token.as_deref(),
        q.challenge.as_deref(),
        &webhooks::meta_app_verify_token(secret.as_bytes()),
    )
    .map(|challenge| challenge.into_response())
    .ok_or(ApiError::App(AppError::Forbidden))
}

/// Which network a Meta delivery's `object` is about.
fn meta_platform(body: &[u8]) -> Option<Platform> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    match v.get("object")?.as_str()? {
        "page" => Some(Platform::Facebook),
        "instagram" => Some(Platform::Instagram),
        "threads" => Some(Platform::Threads),
        _ => None,
    }
}

#[utoipa::path(
    post,
    path = "/hooks/v1/networks/meta",
    tag = "network webhooks",
    summary = "The Meta app's signed delivery: each entry to the account its page or user id is connected as",
    responses((status = 200, description = "success", body = DeliveryCounts, content_type = "application/json")),
)]
pub async fn meta_deliver(
    State(deps): State<Arc<Deps>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let secret = meta_secret(&deps).ok_or(ApiError::App(AppError::NotFound("webhook")))?;
    if !webhooks::verify_meta(
        secret.as_bytes(),
        &body,
        header(&headers, "x-hub-signature-256"),
    ) {
        return Err(ApiError::App(AppError::Unauthorized));
    }
    let reports = webhooks::parse_meta(&body).map_err(ApiError::Malformed)?;
    let platform = meta_platform(&body);
    let (mut recorded, mut repeats, mut refused, mut unknown) = (0, 0, 0, 0);
    for report in reports {
        let account = match platform {
            Some(p) => {
                engagement::network_accounts::resolve(&deps, p, &report.network_account).await?
            }
            None => None,
        };
        let Some(account) = account else {
            // Nobody connected this page or user here: dropped, never given to a guess.
            unknown += 1;
            tracing::warn!(network_account = %report.network_account, "meta delivery for an unknown account dropped");
            continue;
        };
        match engagement::ingest(&deps, &account, event_of(report)).await {
            Ok(Ingested::Repeat) => repeats += 1,
            Ok(_) => recorded += 1,
            Err(AppError::Invalid(_)) => refused += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok((
        StatusCode::OK,
        AxumJson(DeliveryCounts {
            recorded,
            repeats,
            refused,
            unknown: Some(unknown),
        }),
    )
        .into_response())
}
