//! Compose-time validation: everything a post names exists, and every network it goes to
//! takes it.

use crate::records::from_json;
use crate::{AppError, Deps};
use herald_domain::limits::MediaFacts;
use herald_domain::{
    AccountId, FieldError, MediaId, MediaItem, MediaStatus, Platform, Post, WorkspaceId,
};
use herald_storage::keys;

/// Facts of the workspace's media items named by a post, as `platform` gets them (its own
/// rendition's real size and bytes), or 422 naming the missing or failed one. An item still
/// processing is checked on its type only: its renditions are made to fit.
async fn media_facts(
    deps: &Deps,
    ws: &WorkspaceId,
    platform: Platform,
    field: &str,
    ids: &[MediaId],
) -> Result<Vec<MediaFacts>, Vec<FieldError>> {
    let mut facts = Vec::new();
    let mut errors = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let item = match deps.table.get(&keys::media(ws, id)).await {
            Ok(Some(item)) => item,
            Ok(None) => {
                errors.push(FieldError::new(format!("{field}[{i}]"), "unknown media"));
                continue;
            }
            Err(e) => {
                errors.push(FieldError::new(format!("{field}[{i}]"), e.to_string()));
                continue;
            }
        };
        match from_json::<MediaItem>(&item) {
            Ok(m) if m.status == MediaStatus::Ready => match m.rendition_for(platform) {
                Some(r) => facts.push(MediaFacts {
                    content_type: r.content_type.clone(),
                    bytes: r.bytes,
                    duration_seconds: r.duration_seconds,
                    width: r.width,
                    height: r.height,
                }),
                None => errors.push(FieldError::new(
                    format!("{field}[{i}]"),
                    format!("{platform}: media has no rendition for this network"),
                )),
            },
            Ok(m) if m.status == MediaStatus::Processing => facts.push(MediaFacts {
                content_type: m.content_type.clone(),
                bytes: 0,
                duration_seconds: None,
                width: None,
                height: None,
            }),
            Ok(m) => errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!(
                    "media failed: {}",
                    m.error.as_deref().unwrap_or("no reason recorded")
                ),
            )),
            Err(e) => errors.push(FieldError::new(format!("{field}[{i}]"), e.to_string())),
        }
    }
    if errors.is_empty() {
        Ok(facts)
    } else {
        Err(errors)
    }
}

/// Checks a composed post against everything it names and every network it goes to.
pub(super) async fn validate(
    deps: &Deps,
    post: &Post,
) -> Result<Vec<(AccountId, Platform)>, AppError> {
    post.check_shape()?;
    let mut errors = Vec::new();
    let mut targets = Vec::new();
    for (i, id) in post.accounts.iter().enumerate() {
        match crate::accounts::get(deps, &post.workspace, id).await {
            Ok(account) => targets.push((account.id, account.platform)),
            Err(AppError::NotFound(_)) => {
                errors.push(FieldError::new(format!("accounts[{i}]"), "unknown account"))
            }
            Err(e) => return Err(e),
        }
    }
    for platform in post.variants.keys() {
        if !targets.iter().any(|(_, p)| p == platform) {
            errors.push(FieldError::new(
                format!("variants.{platform}"),
                "no account of this post is on that network",
            ));
        }
    }
    let mut platforms: Vec<Platform> = targets.iter().map(|(_, p)| *p).collect();
    platforms.sort();
    platforms.dedup();
    for platform in platforms {
        let variant = post.variants.get(&platform);
        let (media_field, media) = match variant.and_then(|v| v.media.as_ref()) {
            Some(m) => (format!("variants.{platform}.media"), m.as_slice()),
            None => ("media".to_owned(), post.media.as_slice()),
        };
        let facts = match media_facts(deps, &post.workspace, platform, &media_field, media).await {
            Ok(f) => f,
            Err(e) => {
                errors.extend(e);
                continue;
            }
        };
        let Ok(connector) = deps.connector(platform) else {
            errors.push(FieldError::new(
                "accounts",
                format!("{platform} is not enabled on this server"),
            ));
            continue;
        };
        let field = if variant.is_some() {
            format!("variants.{platform}")
        } else {
            String::new()
        };
        let text = post.text_for(platform);
        let title = variant.and_then(|v| v.title.as_deref());
        for mut e in connector.limits().check(&field, text, title, &facts) {
            e.field = e.field.trim_start_matches('.').to_owned();
            errors.push(e);
        }
        for (n, reply) in variant
            .map(|v| v.thread.as_slice())
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            for mut e in connector.limits().check(&field, reply, None, &[]) {
                e.field = format!("variants.{platform}.thread[{n}]");
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(targets)
    } else {
        Err(AppError::Invalid(errors))
    }
}
