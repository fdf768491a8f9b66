//! An upload landed: check what it really is, make its renditions, and mark the item ready or
//! failed with a reason, its `media.ready` / `media.failed` event in the same transaction.
//! Bad input is an outcome (the item fails, the call succeeds); only an unavailable store is
//! an error, so the host retries (Lambda redelivers the S3 event).

use super::image::{ImageError, render};
use super::{media_record, sniff, status_name};
use crate::records::{attr, from_json};
use crate::{AppError, Deps, events};
use herald_domain::event::{MediaFailed, MediaReady};
use herald_domain::profiles::IMAGE_PROFILES;
use herald_domain::{EventKind, MediaId, MediaItem, MediaStatus, Rendition, WorkspaceId};
use herald_ports::{Condition, TxOp};
use herald_storage::keys;

/// What a file none of whose types Herald takes is told.
pub(super) const UNKNOWN_TYPE: &str = "the file is none of the types Herald takes (JPEG, PNG, \
     GIF, WebP, MP4, QuickTime, WebM), whatever its name or announced type";

/// Why an upload cannot become renditions, said to the user.
pub(super) struct Refused(pub(super) String);

impl From<ImageError> for Refused {
    fn from(e: ImageError) -> Self {
        Refused(e.to_string())
    }
}

/// Handles one uploaded object; answers what its item became (`None`: the key is not an
/// upload, its item is gone, or it was handled already).
pub async fn transcode(deps: &Deps, blob_key: &str) -> Result<Option<MediaStatus>, AppError> {
    let Some((ws, id)) = keys::parse_upload_blob(blob_key) else {
        tracing::warn!(blob_key, "not an upload key; ignored");
        return Ok(None);
    };
    let Some(item) = deps.table.get(&keys::media(&ws, &id)).await? else {
        return Ok(None);
    };
    let media: MediaItem = from_json(&item)?;
    if media.status != MediaStatus::Processing {
        return Ok(None);
    }
    let outcome = make(deps, &ws, &id, &media, blob_key).await?;
    settle(deps, &ws, media, outcome).await
}

/// Fails a processing item with `reason`, its `media.failed` in the same write.
pub(super) async fn fail(
    deps: &Deps,
    ws: &WorkspaceId,
    media: MediaItem,
    reason: String,
) -> Result<Option<MediaStatus>, AppError> {
    settle(deps, ws, media, Err(Refused(reason))).await
}

/// Writes the outcome, on condition that the item is still processing: only one delivery of
/// the same notice settles it.
async fn settle(
    deps: &Deps,
    ws: &WorkspaceId,
    mut media: MediaItem,
    outcome: Result<Made, Refused>,
) -> Result<Option<MediaStatus>, AppError> {
    let id = media.id.clone();
    let kind = match outcome {
        Ok(made) => {
            media.status = MediaStatus::Ready;
            media.content_type = made.content_type.to_owned();
            media.width = made.width;
            media.height = made.height;
            media.duration_seconds = made.duration_seconds;
            media.progress = None;
            media.renditions = made.renditions;
            EventKind::MediaReady(MediaReady {
                media: id,
                content_type: media.content_type.clone(),
            })
        }
        Err(Refused(reason)) => {
            media.status = MediaStatus::Failed;
            media.error = Some(reason.clone());
            EventKind::MediaFailed(MediaFailed {
                media: id,
                error: reason,
            })
        }
    };
    let now = deps.clock.now();
    let write = TxOp::Put {
        item: media_record(&media),
        condition: Some(Condition::eq(
            attr::STATUS,
            status_name(MediaStatus::Processing),
        )),
    };
    match deps
        .table
        .transact(vec![write, events::record(deps, ws, kind, now)])
        .await
    {
        Ok(()) => Ok(Some(media.status)),
        // Another delivery of the same notice finished first: its outcome stands.
        Err(herald_ports::TableError::TransactionCancelled { failed }) if failed.contains(&0) => {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) struct Made {
    pub(super) content_type: &'static str,
    pub(super) width: Option<u32>,
    pub(super) height: Option<u32>,
    pub(super) duration_seconds: Option<f64>,
    pub(super) renditions: Vec<Rendition>,
}

async fn make(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &MediaId,
    media: &MediaItem,
    blob_key: &str,
) -> Result<Result<Made, Refused>, AppError> {
    let size = deps.blobs.size(blob_key).await?;
    if size != media.size {
        return Ok(Err(Refused(format!(
            "the upload is {size} bytes, {} were announced",
            media.size
        ))));
    }
    let head = deps
        .blobs
        .get_range(blob_key, 0..sniff::HEAD as u64)
        .await?;
    let Some(content_type) = sniff::sniff(&head) else {
        return Ok(Err(Refused(UNKNOWN_TYPE.into())));
    };
    if content_type.starts_with("video/") {
        return super::video::make(deps, ws, id, blob_key, content_type).await;
    }
    if size > MediaItem::MAX_IMAGE_SIZE {
        return Ok(Err(Refused(format!(
            "an image may be at most {} bytes",
            MediaItem::MAX_IMAGE_SIZE
        ))));
    }
    let bytes = deps.blobs.get(blob_key).await?;
    let rendered = tokio::task::spawn_blocking(move || render(&bytes, &IMAGE_PROFILES))
        .await
        .map_err(|e| AppError::Corrupt(format!("the image task failed: {e}")))?;
    let rendered = match rendered {
        Ok(r) => r,
        Err(e) => return Ok(Err(e.into())),
    };
    let mut renditions = Vec::new();
    for file in rendered.files {
        let key = keys::rendition_blob(ws, id, &format!("{}.jpg", file.name));
        let bytes = file.bytes.len() as u64;
        deps.blobs.put(&key, file.bytes, file.content_type).await?;
        for p in &file.profiles {
            renditions.push(Rendition {
                profile: p.name.into(),
                platform: p.platform,
                width: Some(file.width),
                height: Some(file.height),
                content_type: file.content_type.into(),
                bytes,
                blob_key: key.clone(),
                duration_seconds: None,
            });
        }
    }
    // In the profiles' order, whichever file each came from.
    renditions.sort_by_key(|r| IMAGE_PROFILES.iter().position(|p| p.name == r.profile));
    Ok(Ok(Made {
        content_type,
        width: Some(rendered.width),
        height: Some(rendered.height),
        duration_seconds: None,
        renditions,
    }))
}
