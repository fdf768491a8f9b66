//! The request a target sends: its post's text and options for the network, and links to
//! its media's renditions.

use super::held::Held;
use super::marker;
use crate::AppError;
use crate::records;
use herald_domain::{MediaItem, Post};
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
                duration_seconds: None,
                url,
                blob_key: rendition.blob_key.clone(),
                alt_text: None,
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
