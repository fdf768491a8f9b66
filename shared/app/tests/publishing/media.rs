//! A post whose media is still being processed at its time waits for it, a bounded while,
//! then fails that target saying so; ready media goes out as each network's rendition.

use crate::support::{World, trusted};
use chrono::Duration;
use herald_app::media::{self, NewUpload};
use herald_app::posts::{self, NewPost};
use herald_domain::{MediaId, PostStatus, TargetStatus};
use herald_ports::Clock;
use herald_storage::keys;

async fn upload(w: &World, photo: &[u8]) -> MediaId {
    media::create_upload(
        &w.deps,
        &w.ws,
        NewUpload {
            filename: "launch.jpg".into(),
            content_type: "image/jpeg".into(),
            size: photo.len() as u64,
            alt_text: None,
        },
    )
    .await
    .unwrap()
    .id
}

async fn post_with(
    w: &World,
    to: &herald_domain::AccountId,
    media: &MediaId,
) -> herald_domain::PostId {
    let new = NewPost {
        text: "with a photo".into(),
        accounts: vec![to.clone()],
        scheduled_at: Some(w.clock.now() + Duration::seconds(30)),
        variants: Default::default(),
        media: vec![media.clone()],
        tags: vec![],
        kind: Default::default(),
        recurrence: None,
        queue: false,
    };
    posts::create(&w.deps, &w.ws, &trusted(), new, None)
        .await
        .unwrap()
        .post
        .id
}

#[tokio::test]
async fn a_post_waits_for_its_media_and_goes_out_with_a_rendition_once_ready() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let photo = herald_app::media::image::synthetic_photo(1200, 900, 4, 90);
    let id = upload(&w, &photo).await;
    let post = post_with(&w, &acct, &id).await;
    w.clock.advance(Duration::seconds(31));
    let run = w.dispatcher().run_once().await.unwrap();
    assert_eq!((run.published, run.retrying), (0, 1), "{run:?}");
    assert!(w.outbox(&acct).await.is_empty());
    let view = w.view(&post).await;
    assert_eq!(view.targets[0].status, TargetStatus::Scheduled);
    assert!(
        view.targets[0]
            .error
            .as_deref()
            .unwrap()
            .contains("waiting for media")
    );

    // The upload lands and is transcoded; the next look sends it.
    let original = keys::upload_blob(&w.ws, &id);
    w.deps
        .blobs
        .put(&original, photo, "image/jpeg")
        .await
        .unwrap();
    media::transcode(&w.deps, &original).await.unwrap();
    w.clock.advance(Duration::seconds(11));
    let run = w.dispatcher().run_once().await.unwrap();
    assert_eq!(run.published, 1, "{run:?}");
    let outbox = w.outbox(&acct).await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].media.len(), 1);
    // The sandbox has no profile: it gets the largest metadata-free rendition, not the original.
    assert!(
        !outbox[0].media[0].contains("/original"),
        "{:?}",
        outbox[0].media
    );
    assert_eq!(w.view(&post).await.status, PostStatus::Published);
}

#[tokio::test]
async fn media_still_processing_ten_minutes_after_the_posts_time_fails_the_target_saying_so() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let id = upload(&w, b"never arrives").await;
    let post = post_with(&w, &acct, &id).await;
    let mut minutes = 0;
    w.clock.advance(Duration::seconds(31));
    loop {
        let run = w.dispatcher().run_once().await.unwrap();
        if run.failed == 1 {
            break;
        }
        assert_eq!(run.retrying, 1, "{run:?}");
        w.clock.advance(Duration::seconds(10));
        minutes += 1;
        assert!(minutes < 100, "never gave up waiting");
    }
    let view = w.view(&post).await;
    assert_eq!(view.targets[0].status, TargetStatus::Failed);
    let error = view.targets[0].error.as_deref().unwrap();
    assert!(
        error.contains("still processing 10 minutes after"),
        "{error}"
    );
    assert!(w.outbox(&acct).await.is_empty());
}

#[tokio::test]
async fn a_post_whose_media_failed_fails_that_target_with_the_media_reason() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let text = b"<html>not a photo</html>".to_vec();
    let id = upload(&w, &text).await;
    let post = post_with(&w, &acct, &id).await;
    let original = keys::upload_blob(&w.ws, &id);
    w.deps
        .blobs
        .put(&original, text, "image/jpeg")
        .await
        .unwrap();
    media::transcode(&w.deps, &original).await.unwrap();
    w.clock.advance(Duration::seconds(31));
    let run = w.dispatcher().run_once().await.unwrap();
    assert_eq!(run.failed, 1, "{run:?}");
    let error = w.view(&post).await.targets[0].error.clone().unwrap();
    assert!(error.contains("none of the types"), "{error}");
}
