//! Cancel wins: once DELETE has answered, nothing of the post reaches a network again. An
//! attempt whose outcome is unknown may still be looked up, and what the lookup finds is
//! recorded as it is, but nothing is sent.

use crate::support::World;
use chrono::Duration;
use herald_app::posts;
use herald_app::publish::{Dispatcher, Outcome, PublishOptions};
use herald_domain::event::EventKind;
use herald_domain::{PostStatus, TargetStatus};
use herald_networks::sandbox::Fault;

/// The attempt is cut off mid-call, the lookup fails twice, then the post is cancelled.
async fn cancelled_while_unsure(w: &World, first: Fault) -> herald_domain::PostId {
    let acct = w.account("brand").await;
    let post = w.post("Maybe out", &[&acct], Duration::zero()).await;
    w.sandbox
        .inject([first, Fault::LookupUnavailable, Fault::LookupUnavailable]);
    assert_eq!(w.dispatcher().run_once().await.unwrap().unconfirmed, 1);
    for _ in 0..2 {
        w.clock.advance(Duration::minutes(11));
        let run = w.dispatcher().run_once().await.unwrap();
        assert_eq!(run.unconfirmed, 1, "{run:?}");
    }
    assert_eq!(
        w.view(&post).await.targets[0].status,
        TargetStatus::Unconfirmed
    );
    posts::cancel(&w.deps, &w.ws, &post).await.unwrap();
    w.clock.advance(Duration::minutes(11));
    w.dispatcher().run_once().await.unwrap();
    post
}

#[tokio::test]
async fn an_unsure_target_of_a_cancelled_post_that_the_network_lacks_ends_cancelled_unsent() {
    let w = World::new().await;
    let post = cancelled_while_unsure(&w, Fault::DropBeforeAccepting).await;
    let view = w.view(&post).await;
    assert_eq!(view.status, PostStatus::Cancelled);
    assert_eq!(view.targets[0].status, TargetStatus::Cancelled, "{view:?}");
    assert_eq!(
        w.sandbox.sends(),
        1,
        "only the attempt cut off before DELETE"
    );
    assert!(w.outbox(&view.targets[0].account).await.is_empty());
    // Nothing is left for a later run.
    w.clock.advance(Duration::hours(1));
    let later = w.dispatcher().run_once().await.unwrap();
    assert_eq!(later.due, 0, "{later:?}");
    assert_eq!(w.sandbox.sends(), 1);
}

#[tokio::test]
async fn an_unsure_target_of_a_cancelled_post_found_on_the_network_is_recorded_published() {
    let w = World::new().await;
    let post = cancelled_while_unsure(&w, Fault::AcceptThenTimeout).await;
    let view = w.view(&post).await;
    assert_eq!(
        view.status,
        PostStatus::Cancelled,
        "the post stays cancelled"
    );
    let target = &view.targets[0];
    assert_eq!(target.status, TargetStatus::Published, "{view:?}");
    let outbox = w.outbox(&target.account).await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(
        target.remote_id.as_deref(),
        Some(outbox[0].remote_id.as_str())
    );
    assert_eq!(w.sandbox.sends(), 1, "nothing sent after DELETE");
}

#[tokio::test]
async fn cancelling_records_post_cancelled_with_the_change() {
    let mut w = World::new().await;
    let acct = w.account("brand").await;
    let post = w.post("Never mind", &[&acct], Duration::minutes(5)).await;
    posts::cancel(&w.deps, &w.ws, &post).await.unwrap();
    posts::cancel(&w.deps, &w.ws, &post).await.unwrap();
    herald_app::events::relay(&w.deps, 100).await.unwrap();
    let events: Vec<_> = w
        .events()
        .into_iter()
        .filter(|e| e.kind != "post.scheduled")
        .collect();
    assert_eq!(
        events.len(),
        1,
        "a repeated DELETE records nothing more: {events:?}"
    );
    assert_eq!(events[0].kind, "post.cancelled");
    match events[0].typed().unwrap().kind {
        EventKind::PostCancelled(c) => assert_eq!(c.post, post),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_target_claimed_ahead_of_its_second_is_not_sent_when_the_post_is_cancelled_meanwhile() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let post = w
        .post("Almost", &[&acct], Duration::milliseconds(400))
        .await;
    let d = Dispatcher::new(
        w.deps.clone(),
        PublishOptions {
            lookahead: Duration::seconds(5),
            ..PublishOptions::default()
        },
    );
    d.tick().await.unwrap();
    // Claimed and prepared, waiting for its second.
    for _ in 0..100 {
        if w.view(&post).await.targets[0].status == TargetStatus::Publishing {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        w.view(&post).await.targets[0].status,
        TargetStatus::Publishing
    );
    posts::cancel(&w.deps, &w.ws, &post).await.unwrap();
    w.clock.advance(Duration::milliseconds(400));
    assert_eq!(d.drain().await, vec![Outcome::Cancelled]);
    assert_eq!(w.sandbox.sends(), 0);
    let view = w.view(&post).await;
    assert_eq!(view.targets[0].status, TargetStatus::Cancelled);
    assert_eq!(view.status, PostStatus::Cancelled);
}

#[tokio::test]
async fn a_send_that_fails_after_the_post_was_cancelled_ends_cancelled_not_retried() {
    let w = World::with_sandbox_latency(std::time::Duration::from_millis(300)).await;
    let acct = w.account("brand").await;
    let post = w.post("Going out", &[&acct], Duration::zero()).await;
    // The network takes 300 ms, then refuses with a 503: DELETE lands while it is thinking.
    w.sandbox.inject([Fault::Unavailable]);
    let d = w.dispatcher();
    d.tick().await.unwrap();
    for _ in 0..100 {
        if w.sandbox.sends() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(w.sandbox.sends(), 1, "the send is in flight");
    posts::cancel(&w.deps, &w.ws, &post).await.unwrap();
    assert_eq!(d.drain().await, vec![Outcome::Cancelled]);
    let view = w.view(&post).await;
    assert_eq!(view.targets[0].status, TargetStatus::Cancelled, "{view:?}");
    w.clock.advance(Duration::hours(1));
    let later = w.dispatcher().run_once().await.unwrap();
    assert_eq!(later.due, 0, "nothing rescheduled: {later:?}");
    assert_eq!(w.sandbox.sends(), 1);
    assert!(w.outbox(&acct).await.is_empty());
}
