//! Media: an upload becomes the renditions every network takes. The client asks for an upload
//! URL (`create_upload`), PUTs the bytes there (S3 presigned on AWS, the local server
//! locally), the blob store's notice of the new object runs `transcode`, and `get` shows the
//! item with a fetchable, expiring URL per rendition.

pub mod image;
mod import;
pub mod sniff;
mod transcode;
pub mod video;

pub use import::{
    IMPORT_TIMEOUT, Import, MAX_IMPORT_SIZE, NewImport, check_url, create_import, fetch_import,
    import_as, withdraw_import,
};
pub use transcode::transcode;

use crate::records::{attr, from_json, json_item};
use crate::{AppError, Deps, new_id};
use chrono::{DateTime, Utc};
use herald_domain::{FieldError, MediaId, MediaItem, MediaStatus, Platform, WorkspaceId};
use herald_ports::{Condition, Item, Value};
use herald_storage::keys;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long an upload URL takes a PUT.
pub const UPLOAD_URL_VALID: Duration = Duration::from_secs(3600);
/// How long a rendition's URL reads.
pub const FETCH_URL_VALID: Duration = Duration::from_secs(3600);
const MAX_FILENAME: usize = 255;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    /// What the image or video shows, for screen readers: sent to every network that takes it.
    #[serde(default)]
    pub alt_text: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Upload {
    pub id: MediaId,
    pub upload_url: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RenditionView {
    pub profile: String,
    pub platform: Option<Platform>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub content_type: String,
    pub bytes: u64,
    pub url: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MediaView {
    pub id: MediaId,
    pub status: MediaStatus,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub renditions: Vec<RenditionView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// A video's length, once probed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// How far a video's renditions are (0 to 100) while it is processing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

/// The item as stored: its JSON, and its status as an attribute of its own, so a write can
/// be conditioned on it (only a processing item becomes ready or failed, once).
pub fn media_record(item: &MediaItem) -> Item {
    let mut record = json_item(&keys::media(&item.workspace, &item.id), "media", item);
    record.insert(
        attr::STATUS.into(),
        Value::S(status_name(item.status).into()),
    );
    record
}

pub fn status_name(status: MediaStatus) -> &'static str {
    match status {
        MediaStatus::Processing => "processing",
        MediaStatus::Ready => "ready",
        MediaStatus::Failed => "failed",
    }
}

fn check(input: &NewUpload) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let name = input.filename.trim();
    if name.is_empty() || input.filename.chars().count() > MAX_FILENAME {
        errors.push(FieldError::new(
            "filename",
            format!("must be 1 to {MAX_FILENAME} characters"),
        ));
    } else if input
        .filename
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        errors.push(FieldError::new(
            "filename",
            "must be a file name, without control characters or slashes",
        ));
    }
    if !MediaItem::CONTENT_TYPES.contains(&input.content_type.as_str()) {
        errors.push(FieldError::new(
            "content_type",
            format!("must be one of {}", MediaItem::CONTENT_TYPES.join(", ")),
        ));
    }
    let max = if input.content_type.starts_with("image/") {
        MediaItem::MAX_IMAGE_SIZE
    } else {
        MediaItem::MAX_SIZE
    };
    if input.size == 0 || input.size > max {
        errors.push(FieldError::new(
            "size",
            format!("must be 1 to {max} bytes for this content type"),
        ));
    }
    if let Some(alt) = &input.alt_text
        && (alt.chars().count() > MediaItem::MAX_ALT_TEXT
            || alt.chars().any(|c| c.is_control() && c != '\n'))
    {
        errors.push(FieldError::new(
            "alt_text",
            format!(
                "must be at most {} characters, without control characters but line breaks",
                MediaItem::MAX_ALT_TEXT
            ),
        ));
    }
    errors
}

/// A media item waiting for its bytes, and the URL that takes exactly `size` of them.
pub async fn create_upload(
    deps: &Deps,
    ws: &WorkspaceId,
    input: NewUpload,
) -> Result<Upload, AppError> {
    let errors = check(&input);
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let id = new_id!(deps, MediaId);
    let name = input.filename.trim().to_owned();
    let alt = input
        .alt_text
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned);
    new_item(
        deps,
        ws,
        &id,
        name,
        input.content_type.clone(),
        input.size,
        alt,
    )
    .await?;
    let upload_url = deps
        .blobs
        .presign_put(
            &keys::upload_blob(ws, &id),
            &input.content_type,
            input.size,
            UPLOAD_URL_VALID,
        )
        .await?;
    Ok(Upload { id, upload_url })
}

/// Records a new item waiting for its bytes (an upload's PUT, an import's fetch).
async fn new_item(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &MediaId,
    filename: String,
    content_type: String,
    size: u64,
    alt_text: Option<String>,
) -> Result<(), AppError> {
    let item = MediaItem {
        id: id.clone(),
        workspace: ws.clone(),
        filename,
        content_type,
        size,
        status: MediaStatus::Processing,
        renditions: Vec::new(),
        error: None,
        created_at: deps.clock.now(),
        width: None,
        height: None,
        duration_seconds: None,
        progress: None,
        alt_text,
    };
    deps.table
        .put(media_record(&item), Some(Condition::item_absent()))
        .await?;
    Ok(())
}

/// The workspace's media item, or 404 (also for another workspace's).
pub async fn item(deps: &Deps, ws: &WorkspaceId, id: &MediaId) -> Result<MediaItem, AppError> {
    let item = deps
        .table
        .get(&keys::media(ws, id))
        .await?
        .ok_or(AppError::NotFound("media"))?;
    let mut media: MediaItem = from_json(&item)?;
    media.progress = video::progress_of(&item);
    Ok(media)
}

/// The item with a fetchable URL per rendition, each valid for [`FETCH_URL_VALID`].
pub async fn get(deps: &Deps, ws: &WorkspaceId, id: &MediaId) -> Result<MediaView, AppError> {
    let m = item(deps, ws, id).await?;
    let mut renditions = Vec::with_capacity(m.renditions.len());
    for r in &m.renditions {
        renditions.push(RenditionView {
            profile: r.profile.clone(),
            platform: r.platform,
            width: r.width,
            height: r.height,
            content_type: r.content_type.clone(),
            bytes: r.bytes,
            url: deps.blobs.presign_get(&r.blob_key, FETCH_URL_VALID).await?,
        });
    }
    Ok(MediaView {
        id: m.id,
        status: m.status,
        filename: m.filename,
        content_type: m.content_type,
        size: m.size,
        width: m.width,
        height: m.height,
        renditions,
        error: m.error,
        created_at: m.created_at,
        duration_seconds: m.duration_seconds,
        progress: m.progress,
        alt_text: m.alt_text,
    })
}
