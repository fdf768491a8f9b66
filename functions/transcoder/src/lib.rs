//! The transcoder function: an upload or an import order landed in the bucket (an S3 event on
//! AWS, the blob store's announcement under `herald serve`); the media use case fetches the
//! import, makes the renditions and marks the item ready or failed.

use herald_app::{AppError, Deps};
use herald_domain::MediaStatus;

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

/// Handles one new object: an import's order is fetched into its item's original, an
/// original becomes renditions. Answers whether a media item became ready.
pub async fn handle(deps: &Deps, blob_key: &str) -> Result<bool, AppError> {
    if blob_key.ends_with(IMPORT_SUFFIX) {
        herald_app::media::fetch_import(deps, blob_key).await?;
        return Ok(false);
    }
    Ok(herald_app::media::transcode(deps, blob_key).await? == Some(MediaStatus::Ready))
}

/// The ends of the keys this function is started for (the bucket's notification filters).
pub const UPLOAD_SUFFIX: &str = "/original";
pub const IMPORT_SUFFIX: &str = "/import";

#[cfg(test)]
mod tests {
    use super::*;

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
