//! Targets are claimed and prepared ahead of their second, within the lookahead: never sent
//! before it, and a crash after the early claim loses nothing (the due index offers the claim
//! again at its lease's end).

use crate::support::World;
use chrono::Duration;
use herald_app::publish::{Dispatcher, Outcome, PublishOptions};
use herald_domain::{PostStatus, TargetStatus};

fn ahead(exclusive: bool) -> PublishOptions {
    PublishOptions {
        lookahead: Duration::seconds(30),
        exclusive,
        ..PublishOptions::default()
    }
}

/// Ticks a dispatcher that claims the post ahead, then drops it (a crash) before its second.
async fn claimed_then_crashed(w: &World, exclusive: bool) -> herald_domain::PostId {
    let acct = w.account("brand").await;
    let post = w
        .post("Claimed early", &[&acct], Duration::seconds(1))
        .await;
    {
        let doomed = Dispatcher::new(w.deps.clone(), ahead(exclusive));
        let tick = doomed.tick().await.unwrap();
        assert_eq!(tick.started, 1);
        for _ in 0..200 {
            if w.view(&post).await.targets[0].status == TargetStatus::Publishing {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(
            w.view(&post).await.targets[0].status,
            TargetStatus::Publishing,
            "claimed ahead of its second"
        );
    }
    assert_eq!(w.sandbox.sends(), 0, "not sent before its second");
    post
}

#[tokio::test]
async fn a_target_claimed_ahead_and_left_by_a_crash_is_published_once_at_the_leases_end() {
    let w = World::new().await;
    let post = claimed_then_crashed(&w, false).await;
    // Past its second, but the early claim's lease runs from the second: nobody takes it yet.
    w.clock.advance(Duration::seconds(2));
    let early = w.dispatcher().run_once().await.unwrap();
    assert_eq!(early.published + early.confirmed, 0, "{early:?}");
    w.clock.advance(Duration::minutes(5));
    let report = w.dispatcher().run_once().await.unwrap();
    assert_eq!(report.published, 1, "{report:?}");
    assert_eq!(w.sandbox.sends(), 1);
    let view = w.view(&post).await;
    assert_eq!(view.status, PostStatus::Published);
    w.assert_each_once(&view.targets[0].account, 1).await;
}

#[tokio::test]
async fn a_restarted_exclusive_publisher_takes_over_an_early_claim_and_sends_it_at_its_second() {
    let w = World::new().await;
    let post = claimed_then_crashed(&w, true).await;
    let restarted = Dispatcher::new(w.deps.clone(), ahead(true));
    let recovered = restarted.recover().await.unwrap();
    assert_eq!(
        recovered.started, 1,
        "found through the index at the lease's end"
    );
    // The manual clock stands still while the target waits for its second (in real time).
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(w.sandbox.sends(), 0, "still not before its second");
    w.clock.advance(Duration::seconds(1));
    let outcomes = tokio::time::timeout(std::time::Duration::from_secs(30), restarted.drain())
        .await
        .expect("sent at its second");
    assert_eq!(outcomes, vec![Outcome::Published]);
    assert_eq!(w.sandbox.sends(), 1);
    assert_eq!(w.view(&post).await.status, PostStatus::Published);
}
