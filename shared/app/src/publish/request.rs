//! The request a target sends: its post's text and options for the network, and links to
//! its media's renditions.

use super::held::Held;
use super::marker;
use crate::AppError;
use crate::records;
use herald_domain::limits::MediaFacts;
use herald_domain::{MediaItem, NetworkLimits, Post};
use herald_ports::{MediaRef, PublishRequest};
use herald_storage::keys;

impl Held<'_> {
    pub(super) async fn request(&self, post: &Post) -> Result<PublishRequest, AppError> {
        let t = &self.record.target;
        let variant = post.variants.get(&t.platform);
        let mut media = Vec::new();
        for id in post.media_for(t.platform) {
            let item = self
                .deps
                .table
                .get(&keys::media(&t.workspace, id))
                .await?
                .ok_or(AppError::NotFound("media"))?;
            let m: MediaItem = records::from_json(&item)?;
            let rendition = m
                .rendition_for(t.platform)
                .ok_or_else(|| AppError::Corrupt(format!("media {id} has no rendition")))?;
            let url = self
                .deps
                .blobs
                .presign_get(&rendition.blob_key, std::time::Duration::from_secs(3600))
                .await?;
            media.push(MediaRef {
                id: id.clone(),
                content_type: rendition.content_type.clone(),
                bytes: rendition.bytes,
                width: rendition.width,
                height: rendition.height,
                duration_seconds: rendition.duration_seconds,
                url,
                blob_key: rendition.blob_key.clone(),
                alt_text: m.alt_text.clone(),
            });
        }
        Ok(PublishRequest {
            marker: marker(t),
            text: post.text_for(t.platform).to_owned(),
            title: variant.and_then(|v| v.title.clone()),
            link: variant.and_then(|v| v.link.clone()),
            media,
            first_comment: variant.and_then(|v| v.first_comment.clone()),
            thread: variant.map(|v| v.thread.clone()).unwrap_or_default(),
            progress: self.record.progress.clone(),
        })
    }
}

/// What of the request's media the network does not take, by the renditions' real facts,
/// each message naming the network, the limit and the file's own figure.
pub(super) fn misfit(limits: NetworkLimits, request: &PublishRequest) -> Option<String> {
    if request.media.is_empty() {
        return None;
    }
    let facts: Vec<MediaFacts> = request
        .media
        .iter()
        .map(|m| MediaFacts {
            content_type: m.content_type.clone(),
            bytes: m.bytes,
            duration_seconds: m.duration_seconds,
            width: m.width,
            height: m.height,
        })
        .collect();
    let errors: Vec<String> = limits
        .check("", "", None, &facts)
        .into_iter()
        .filter(|e| e.field.ends_with("media"))
        .map(|e| e.message)
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_domain::{MediaId, Platform};

    fn video(seconds: f64, bytes: u64) -> PublishRequest {
        PublishRequest {
            marker: "m".into(),
            text: "t".into(),
            title: None,
            link: None,
            media: vec![MediaRef {
                id: MediaId::generate(1, 1),
                content_type: "video/mp4".into(),
                bytes,
                width: Some(640),
                height: Some(360),
                duration_seconds: Some(seconds),
                url: "http://x/y".into(),
                blob_key: "k".into(),
                alt_text: None,
            }],
            first_comment: None,
            thread: Vec::new(),
            progress: Default::default(),
        }
    }

    fn limits(seconds: Option<u32>, bytes: Option<u64>) -> NetworkLimits {
        let mut l = open_limits();
        l.max_video_seconds = seconds;
        l.max_video_bytes = bytes;
        l
    }

    /// Limits that take any video, for one rule to be set at a time.
    fn open_limits() -> NetworkLimits {
        NetworkLimits {
            platform: Platform::X,
            max_text: 10,
            counting: herald_domain::TextCounting::Chars,
            requires_media: false,
            max_images: 4,
            max_videos: 1,
            mixed_media: false,
            image_types: &["image/jpeg"],
            video_types: &["video/mp4"],
            max_image_bytes: None,
            max_video_bytes: None,
            max_video_seconds: None,
            image_aspect: None,
            video_aspect: None,
            max_title: None,
            publish_limits: &[],
        }
    }

    #[test]
    fn a_video_longer_or_bigger_than_the_network_takes_is_named_with_both_figures() {
        assert_eq!(misfit(limits(Some(140), None), &video(140.0, 10)), None);
        assert_eq!(
            misfit(limits(Some(140), None), &video(150.2, 10)).as_deref(),
            Some("x: a video is 150 s long, the limit is 140 s")
        );
        assert_eq!(
            misfit(limits(None, Some(1000)), &video(5.0, 1001)).as_deref(),
            Some("x: a file is 1001 bytes, the limit is 1000")
        );
        assert_eq!(misfit(limits(None, Some(1000)), &video(5.0, 1000)), None);
        let both = misfit(limits(Some(1), Some(1)), &video(5.0, 5)).unwrap();
        assert!(
            both.contains("5 s long") && both.contains("5 bytes"),
            "{both}"
        );
    }

    #[test]
    fn text_and_a_post_without_media_are_not_this_checks_business() {
        let mut long = video(1.0, 1);
        long.text = "far longer than ten characters".into();
        assert_eq!(misfit(limits(None, None), &long), None);
        long.media.clear();
        let mut needs = limits(None, None);
        needs.requires_media = true;
        assert_eq!(misfit(needs, &long), None);
    }
}
