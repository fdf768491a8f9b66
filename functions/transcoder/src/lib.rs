//! The transcoder function: an upload landed in the bucket (an S3 event on AWS, the local
//! server's upload handler locally); its media item gets its renditions and becomes ready.
//! For now the original is the one rendition; per-network renditions come with the media issue.

use herald_app::records::{from_json, json_item};
use herald_app::{AppError, Deps};
use herald_domain::{MediaId, MediaItem, MediaStatus, Rendition, WorkspaceId};
use herald_ports::Condition;
use herald_storage::keys;

/// `ws_…/media/med_…/original` back into its workspace and media item.
pub fn parse_upload_key(key: &str) -> Option<(WorkspaceId, MediaId)> {
    let mut parts = key.split('/');
    let ws = WorkspaceId::parse(parts.next()?)?;
    (parts.next()? == "media").then_some(())?;
    let media = MediaId::parse(parts.next()?)?;
    (parts.next()? == "original" && parts.next().is_none()).then_some((ws, media))
}

/// An object key as S3 event notifications carry it: URL-encoded, `+` for a space. `None` when
/// the encoding is broken (no upload key looks like that).
pub fn event_object_key(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Handles one uploaded object; answers whether a media item became ready.
pub async fn handle(deps: &Deps, blob_key: &str) -> Result<bool, AppError> {
    let Some((ws, id)) = parse_upload_key(blob_key) else {
        tracing::warn!(blob_key, "not an upload key; ignored");
        return Ok(false);
    };
    let key = keys::media(&ws, &id);
    let Some(item) = deps.table.get(&key).await? else {
        return Ok(false);
    };
    let mut media: MediaItem = from_json(&item)?;
    if media.status != MediaStatus::Processing {
        return Ok(false);
    }
    let bytes = deps.blobs.size(blob_key).await?;
    if bytes != media.size {
        media.status = MediaStatus::Failed;
        media.error = Some(format!(
            "the upload is {bytes} bytes, {} were announced",
            media.size
        ));
    } else {
        media.status = MediaStatus::Ready;
        media.renditions = vec![Rendition {
            profile: "original".into(),
            platform: None,
            width: None,
            height: None,
            content_type: media.content_type.clone(),
            bytes,
            blob_key: blob_key.to_owned(),
        }];
    }
    deps.table
        .put(
            json_item(&key, "media", &media),
            Some(Condition::item_present()),
        )
        .await?;
    Ok(media.status == MediaStatus::Ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_original_upload_keys_are_taken() {
        let ws = WorkspaceId::generate(1, 1);
        let m = MediaId::generate(1, 2);
        assert_eq!(
            parse_upload_key(&format!("{ws}/media/{m}/original")),
            Some((ws.clone(), m.clone()))
        );
        assert_eq!(parse_upload_key(&format!("{ws}/media/{m}/x-1080")), None);
        assert_eq!(parse_upload_key(&format!("{ws}/other/{m}/original")), None);
    }

    #[test]
    fn event_keys_are_url_decoded() {
        assert_eq!(
            event_object_key("ws_1%2Fmedia%2Fmed_2%2Foriginal").as_deref(),
            Some("ws_1/media/med_2/original")
        );
        assert_eq!(
            event_object_key("ws_1/media/med_2/original").as_deref(),
            Some("ws_1/media/med_2/original")
        );
        assert_eq!(event_object_key("a+b%2Bc").as_deref(), Some("a b+c"));
        for broken in ["%", "%2", "%zz", "%ff"] {
            assert_eq!(event_object_key(broken), None, "{broken}");
        }
    }
}
