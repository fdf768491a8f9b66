//! Every attempt counts, whichever step it fails at: a network that cannot be reached is tried
//! a bounded number of times, then the target fails with the network's reason.

use crate::support::World;
use chrono::Duration;
use herald_domain::{PostStatus, TargetStatus};
use herald_networks::sandbox::Fault;

const MAX: u32 = 6; // PublishOptions::default().max_attempts

#[tokio::test]
async fn credentials_that_cannot_be_renewed_fail_the_target_after_the_last_attempt() {
    let w = World::new().await;
    let acct = w.account("pds-down").await;
    let post = w.post("Unreachable", &[&acct], Duration::zero()).await;
    w.sandbox
        .inject(std::iter::repeat_n(Fault::RefreshUnavailable, 50));
    for run in 1..=MAX {
        w.dispatcher().run_once().await.unwrap();
        let target = w.view(&post).await.targets[0].clone();
        assert_eq!(target.attempts, run, "run {run}: {target:?}");
        w.clock.advance(Duration::minutes(11));
    }
    let view = w.view(&post).await;
    let target = &view.targets[0];
    assert_eq!(target.status, TargetStatus::Failed, "{view:?}");
    assert_eq!(view.status, PostStatus::Failed);
    assert_eq!(target.attempts, MAX);
    assert!(
        target
            .error
            .as_deref()
            .unwrap()
            .contains("token endpoint unreachable"),
        "{target:?}"
    );
    assert_eq!(w.sandbox.sends(), 0);
    let after = w.dispatcher().run_once().await.unwrap();
    assert_eq!(after.due, 0, "a failed target is not tried again");
}

#[tokio::test]
async fn a_lookup_that_keeps_failing_fails_the_unsure_target_after_the_last_attempt() {
    let w = World::new().await;
    let acct = w.account("lookup-down").await;
    let post = w.post("Unsure", &[&acct], Duration::zero()).await;
    w.sandbox.inject(
        std::iter::once(Fault::DropBeforeAccepting)
            .chain(std::iter::repeat_n(Fault::LookupUnavailable, 50)),
    );
    for run in 1..=MAX {
        w.dispatcher().run_once().await.unwrap();
        let target = w.view(&post).await.targets[0].clone();
        assert_eq!(target.attempts, run, "run {run}: {target:?}");
        w.clock.advance(Duration::minutes(11));
    }
    let view = w.view(&post).await;
    let target = &view.targets[0];
    assert_eq!(target.status, TargetStatus::Failed, "{view:?}");
    assert_eq!(target.attempts, MAX);
    assert!(
        target
            .error
            .as_deref()
            .unwrap()
            .contains("lookup unavailable"),
        "{target:?}"
    );
    assert_eq!(w.sandbox.sends(), 1, "never sent again while unsure");
    let after = w.dispatcher().run_once().await.unwrap();
    assert_eq!(after.due, 0);
}
