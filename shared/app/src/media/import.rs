//! Imports: media fetched from a public URL. The request checks the URL with the SSRF guard,
//! keeps the item and an order in the blob store; the order's notice starts the transcoder
//! (as an upload's does), which fetches through the guard (every DNS answer and redirect
//! checked, size and time capped) into the item's `original`, whose own notice makes the
//! renditions. A refused or failed fetch fails the item with its reason.

use super::transcode::{UNKNOWN_TYPE, fail};
use super::{media_record, new_item, sniff, status_name};
use crate::records::{attr, from_json};
use crate::{AppError, Deps, new_id};
use herald_domain::limits::MediaFacts;
use herald_domain::{MediaId, MediaItem, MediaStatus, WorkspaceId};
use herald_ports::{BlobError, Condition};
use herald_storage::keys;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The most an import fetches. It is held in memory while it arrives, so a larger video goes
/// through an upload, which streams.
pub const MAX_IMPORT_SIZE: u64 = 256 * 1024 * 1024;
/// The whole fetch, body included: a peer that hangs or drips costs this, no more.
pub const IMPORT_TIMEOUT: Duration = Duration::from_secs(120);
const MAX_URL: usize = 2048;
const MAX_FILENAME: usize = 255;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewImport {
    pub url: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Import {
    pub id: MediaId,
}

/// What the transcoder is to fetch, kept as the order blob.
#[derive(Serialize, Deserialize)]
struct Order {
    url: String,
}

/// Checks the URL, records a processing item and leaves the order the transcoder takes.
pub async fn create_import(
    deps: &Deps,
    ws: &WorkspaceId,
    input: NewImport,
) -> Result<Import, AppError> {
    let url = check_url(deps, &input.url)?;
    let id = new_id!(deps, MediaId);
    import_as(deps, ws, url, &id).await?;
    Ok(Import { id })
}

/// The URL trimmed, or 422 on `url` naming why it cannot be fetched.
pub fn check_url<'a>(deps: &Deps, url: &'a str) -> Result<&'a str, AppError> {
    let url = url.trim();
    if url.is_empty() || url.len() > MAX_URL {
        return Err(AppError::invalid(
            "url",
            format!("must be a URL of 1 to {MAX_URL} characters"),
        ));
    }
    deps.guard
        .check_url(url)
        .map_err(|reason| AppError::invalid("url", reason))?;
    Ok(url)
}

/// Records the import of a checked URL as item `id`. Answers whether it was made now: an id
/// recorded before (a retried CSV import derives the same one) is left as it is.
pub async fn import_as(
    deps: &Deps,
    ws: &WorkspaceId,
    url: &str,
    id: &MediaId,
) -> Result<bool, AppError> {
    // The type and size are learnt from the bytes once they arrive.
    let unknown = MediaFacts::UNKNOWN_TYPE.to_owned();
    match new_item(deps, ws, id, filename_of(url), unknown, 0, None).await {
        Ok(()) => {}
        Err(AppError::Storage(e)) if e.is_condition_failed() => return Ok(false),
        Err(e) => return Err(e),
    }
    let order = serde_json::to_vec(&Order { url: url.into() })
        .map_err(|e| AppError::Corrupt(e.to_string()))?;
    if let Err(e) = deps
        .blobs
        .put(&keys::import_blob(ws, id), order, "application/json")
        .await
    {
        // No order, no fetch: the item must not wait for one for ever.
        let _ = deps.table.delete(&keys::media(ws, id), None).await;
        return Err(e.into());
    }
    Ok(true)
}

/// Takes back an import made for a post that was then refused: its item goes, so the order,
/// if the transcoder takes it, finds nothing to fetch for.
pub async fn withdraw_import(deps: &Deps, ws: &WorkspaceId, id: &MediaId) -> Result<(), AppError> {
    deps.table.delete(&keys::media(ws, id), None).await?;
    match deps.blobs.delete(&keys::import_blob(ws, id)).await {
        Ok(()) | Err(BlobError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The last path segment, as a file name; `import` when there is none worth keeping.
fn filename_of(url: &str) -> String {
    let name = url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next_back().map(str::to_owned))
        })
        .unwrap_or_default();
    let clean: String = name
        .chars()
        .filter(|c| !c.is_control() && *c != '\\')
        .take(MAX_FILENAME)
        .collect();
    if clean.trim().is_empty() {
        "import".into()
    } else {
        clean
    }
}

/// Handles one order: fetches its URL into the item's `original`. Answers what the item
/// became (`Processing`: fetched, its renditions follow), or `None` when the key is not an
/// order, its item is gone or settled, or its bytes were fetched already (a repeated notice).
pub async fn fetch_import(deps: &Deps, order_key: &str) -> Result<Option<MediaStatus>, AppError> {
    let Some((ws, id)) = keys::parse_import_blob(order_key) else {
        tracing::warn!(blob_key = order_key, "not an import order; ignored");
        return Ok(None);
    };
    let Some(record) = deps.table.get(&keys::media(&ws, &id)).await? else {
        return Ok(None);
    };
    let mut media: MediaItem = from_json(&record)?;
    if media.status != MediaStatus::Processing {
        return Ok(None);
    }
    let original = keys::upload_blob(&ws, &id);
    match deps.blobs.size(&original).await {
        Ok(_) => return Ok(None),
        Err(BlobError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let order: Order = match serde_json::from_slice(&deps.blobs.get(order_key).await?) {
        Ok(order) => order,
        Err(e) => return fail(deps, &ws, media, format!("the import order is broken: {e}")).await,
    };
    let fetched = match deps
        .guard
        .fetch(&order.url, MAX_IMPORT_SIZE, IMPORT_TIMEOUT)
        .await
    {
        Ok(fetched) => fetched,
        Err(reason) => {
            let reason = format!("the import from {} failed: {reason}", order.url);
            return fail(deps, &ws, media, reason).await;
        }
    };
    let head = &fetched.bytes[..fetched.bytes.len().min(sniff::HEAD)];
    let Some(content_type) = sniff::sniff(head) else {
        return fail(deps, &ws, media, UNKNOWN_TYPE.into()).await;
    };
    let size = fetched.bytes.len() as u64;
    if content_type.starts_with("image/") && size > MediaItem::MAX_IMAGE_SIZE {
        let reason = format!(
            "an image may be at most {} bytes",
            MediaItem::MAX_IMAGE_SIZE
        );
        return fail(deps, &ws, media, reason).await;
    }
    media.size = size;
    media.content_type = content_type.into();
    // The size the transcoder checks the original against is now the fetched one.
    match deps
        .table
        .put(
            media_record(&media),
            Some(Condition::eq(
                attr::STATUS,
                status_name(MediaStatus::Processing),
            )),
        )
        .await
    {
        Ok(()) => {}
        // Settled meanwhile (another delivery of the order): its outcome stands.
        Err(herald_ports::TableError::ConditionFailed { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    deps.blobs
        .put(&original, fetched.bytes, content_type)
        .await?;
    Ok(Some(MediaStatus::Processing))
}

#[cfg(test)]
mod tests {
    use super::filename_of;

    #[test]
    fn the_file_name_is_the_last_path_segment_or_import() {
        assert_eq!(
            filename_of("https://cdn.example/a/b/photo.jpg?x=1"),
            "photo.jpg"
        );
        assert_eq!(filename_of("https://cdn.example/"), "import");
        assert_eq!(filename_of("https://cdn.example"), "import");
        assert_eq!(filename_of("https://cdn.example/a%2Fb"), "a%2Fb");
    }
}
