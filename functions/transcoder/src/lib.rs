//! The transcoder function: an upload landed in the bucket (an S3 event on AWS, the blob
//! store's announcement under `herald serve`); the media use case makes its renditions and
//! marks it ready or failed.

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

/// Handles one uploaded object; answers whether a media item became ready.
pub async fn handle(deps: &Deps, blob_key: &str) -> Result<bool, AppError> {
    Ok(herald_app::media::transcode(deps, blob_key).await? == Some(MediaStatus::Ready))
}

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
