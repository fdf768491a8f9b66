//! Repeating posts and posting queues, through the publisher.

use crate::support::{World, trusted};
use chrono::{Duration, TimeZone, Utc};
use herald_app::AppError;
use herald_app::posts::{self, NewPost};
use herald_app::queue::{self, QueueSettings, Slot};
use herald_domain::{Frequency, PostStatus, Recurrence};
use herald_ports::Clock;

fn new_post(_w: &World, text: &str, acct: &herald_domain::AccountId) -> NewPost {
    NewPost {
        text: text.into(),
        accounts: vec![acct.clone()],
        scheduled_at: None,
        variants: Default::default(),
        media: vec![],
        tags: vec![],
        kind: Default::default(),
        recurrence: None,
        queue: false,
    }
}

#[tokio::test]
async fn a_daily_series_publishes_each_occurrence_once_and_then_ends() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let mut new = new_post(&w, "Tip of the day", &acct);
    new.scheduled_at = Some(w.clock.now());
    new.recurrence = Some(Recurrence {
        freq: Frequency::Daily,
        interval: 1,
        count: Some(3),
        until: None,
    });
    let first = posts::create(&w.deps, &w.ws, &trusted(), new, None)
        .await
        .unwrap()
        .post;
    assert_eq!(first.occurrence, Some(1));
    for day in 0..5 {
        // Two runs a day, the second a duplicate: nothing doubles.
        w.dispatcher().run_once().await.unwrap();
        w.dispatcher().run_once().await.unwrap();
        assert_eq!(w.outbox(&acct).await.len(), (day + 1).min(3), "day {day}");
        w.clock.advance(Duration::days(1));
    }
    let window = w
        .calendar(
            first.scheduled_at.unwrap(),
            first.scheduled_at.unwrap() + Duration::days(10),
        )
        .await
        .unwrap();
    assert_eq!(window.len(), 3, "exactly count occurrences exist");
    assert!(window.iter().all(|p| p.status == PostStatus::Published));
    assert_eq!(
        window
            .iter()
            .map(|p| p.occurrence.unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(window.iter().all(|p| p.series.as_ref() == Some(&first.id)));
}

#[tokio::test]
async fn cancelling_the_next_occurrence_ends_a_series() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let mut new = new_post(&w, "Weekly digest", &acct);
    new.scheduled_at = Some(w.clock.now());
    new.recurrence = Some(Recurrence {
        freq: Frequency::Weekly,
        interval: 1,
        count: None,
        until: Some(w.clock.now() + Duration::days(365)),
    });
    let first = posts::create(&w.deps, &w.ws, &trusted(), new, None)
        .await
        .unwrap()
        .post;
    w.dispatcher().run_once().await.unwrap();
    let window = w
        .calendar(w.clock.now(), w.clock.now() + Duration::days(8))
        .await
        .unwrap();
    let next = window
        .iter()
        .find(|p| p.id != first.id)
        .expect("the next occurrence");
    assert_eq!(
        next.scheduled_at,
        Some(first.scheduled_at.unwrap() + Duration::days(7))
    );
    posts::cancel(&w.deps, &w.ws, &next.id).await.unwrap();
    w.clock.advance(Duration::days(7));
    w.dispatcher().run_once().await.unwrap();
    w.clock.advance(Duration::days(7));
    w.dispatcher().run_once().await.unwrap();
    assert_eq!(w.outbox(&acct).await.len(), 1);
}

#[tokio::test]
async fn a_series_without_an_end_or_a_start_is_refused() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let endless = Recurrence {
        freq: Frequency::Daily,
        interval: 1,
        count: None,
        until: None,
    };
    let mut new = new_post(&w, "Forever", &acct);
    new.scheduled_at = Some(w.clock.now());
    new.recurrence = Some(endless.clone());
    assert!(matches!(
        posts::create(&w.deps, &w.ws, &trusted(), new, None).await,
        Err(AppError::Invalid(_))
    ));
    let mut draft = new_post(&w, "When?", &acct);
    draft.recurrence = Some(Recurrence {
        count: Some(3),
        ..endless
    });
    assert!(matches!(
        posts::create(&w.deps, &w.ws, &trusted(), draft, None).await,
        Err(AppError::Invalid(_))
    ));
}

#[tokio::test]
async fn queued_posts_take_the_accounts_next_free_slots_in_its_time_zone() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let settings = QueueSettings {
        timezone: "America/New_York".into(),
        slots: vec![
            Slot {
                weekday: "mon".into(),
                time: "09:00".into(),
            },
            Slot {
                weekday: "wed".into(),
                time: "15:30".into(),
            },
        ],
    };
    queue::set(&w.deps, &w.ws, &acct, settings).await.unwrap();
    let mut times = Vec::new();
    for i in 0..3 {
        let mut new = new_post(&w, &format!("queued {i}"), &acct);
        new.queue = true;
        let post = posts::create(&w.deps, &w.ws, &trusted(), new, None)
            .await
            .unwrap()
            .post;
        assert_eq!(post.queue_slot, post.scheduled_at);
        times.push(post.scheduled_at.unwrap());
    }
    // The world's clock reads Monday 23 November 2026, 09:00 UTC (04:00 in New York).
    let expected = [
        Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 25, 20, 30, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 30, 14, 0, 0).unwrap(),
    ];
    assert_eq!(times, expected);

    // Cancelling frees its slot for the next queued post.
    let second = w
        .calendar(expected[1], expected[1] + Duration::minutes(1))
        .await
        .unwrap();
    posts::cancel(&w.deps, &w.ws, &second[0].id).await.unwrap();
    let mut new = new_post(&w, "fills the gap", &acct);
    new.queue = true;
    let refill = posts::create(&w.deps, &w.ws, &trusted(), new, None)
        .await
        .unwrap()
        .post;
    assert_eq!(refill.scheduled_at, Some(expected[1]));
}

#[tokio::test]
async fn queueing_to_an_account_without_a_queue_is_refused_and_writes_nothing() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let mut new = new_post(&w, "nowhere to go", &acct);
    new.queue = true;
    let refused = posts::create(&w.deps, &w.ws, &trusted(), new, None).await;
    assert!(matches!(refused, Err(AppError::Invalid(_))), "{refused:?}");
    let all = w
        .calendar(
            w.clock.now() - Duration::days(1),
            w.clock.now() + Duration::days(360),
        )
        .await
        .unwrap();
    assert!(all.is_empty());
}

fn queue_of(timezone: &str, slots: &[(&str, &str)]) -> QueueSettings {
    QueueSettings {
        timezone: timezone.into(),
        slots: slots
            .iter()
            .map(|(weekday, time)| Slot {
                weekday: (*weekday).into(),
                time: (*time).into(),
            })
            .collect(),
    }
}

async fn queued(w: &World, text: &str, to: &[&herald_domain::AccountId]) -> posts::PostView {
    let mut new = new_post(w, text, to[0]);
    new.accounts = to.iter().map(|a| (*a).clone()).collect();
    new.queue = true;
    posts::create(&w.deps, &w.ws, &trusted(), new, None)
        .await
        .unwrap()
        .post
}

#[tokio::test]
async fn a_post_to_several_queues_takes_their_first_shared_free_slot_and_gives_it_back() {
    let w = World::new().await;
    let (ny, london) = (w.account("us").await, w.account("uk").await);
    let both = [&ny, &london];
    queue::set(
        &w.deps,
        &w.ws,
        &ny,
        queue_of("America/New_York", &[("mon", "09:00"), ("wed", "15:30")]),
    )
    .await
    .unwrap();
    // 20:30 in London is 15:30 in New York in late November: the one instant both queues share.
    queue::set(
        &w.deps,
        &w.ws,
        &london,
        queue_of("Europe/London", &[("tue", "08:00"), ("wed", "20:30")]),
    )
    .await
    .unwrap();
    let wed = Utc.with_ymd_and_hms(2026, 11, 25, 20, 30, 0).unwrap();
    let next_wed = wed + Duration::days(7);
    let shared = queued(&w, "both", &both).await;
    assert_eq!(shared.scheduled_at, Some(wed));
    assert_eq!(
        queued(&w, "both again", &both).await.scheduled_at,
        Some(next_wed)
    );
    // Each queue lost that slot: New York's next free ones are its Mondays.
    let mon = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
    assert_eq!(queued(&w, "us only", &[&ny]).await.scheduled_at, Some(mon));
    assert_eq!(
        queued(&w, "us again", &[&ny]).await.scheduled_at,
        Some(mon + Duration::days(7))
    );

    // Moving the shared post off its slot gives the slot back in both queues.
    posts::schedule(
        &w.deps,
        &w.ws,
        &trusted(),
        &shared.id,
        w.clock.now() + Duration::hours(1),
    )
    .await
    .unwrap();
    let london_tue = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
    assert_eq!(
        queued(&w, "uk only", &[&london]).await.scheduled_at,
        Some(london_tue)
    );
    assert_eq!(
        queued(&w, "uk again", &[&london]).await.scheduled_at,
        Some(wed)
    );
    // London's taking it again does not touch New York's queue.
    assert_eq!(queued(&w, "us freed", &[&ny]).await.scheduled_at, Some(wed));

    // Cancelling gives the slot back in both queues too.
    let second = w
        .calendar(next_wed, next_wed + Duration::minutes(1))
        .await
        .unwrap();
    posts::cancel(&w.deps, &w.ws, &second[0].id).await.unwrap();
    assert_eq!(
        queued(&w, "both refill", &both).await.scheduled_at,
        Some(next_wed)
    );
}

#[tokio::test]
async fn queues_that_share_no_slot_refuse_the_post_naming_the_queue() {
    let w = World::new().await;
    let (a, b) = (w.account("a").await, w.account("b").await);
    queue::set(&w.deps, &w.ws, &a, queue_of("UTC", &[("mon", "09:00")]))
        .await
        .unwrap();
    queue::set(&w.deps, &w.ws, &b, queue_of("UTC", &[("mon", "10:00")]))
        .await
        .unwrap();
    let mut new = new_post(&w, "nowhere together", &a);
    new.accounts = vec![a.clone(), b.clone()];
    new.queue = true;
    match posts::create(&w.deps, &w.ws, &trusted(), new, None).await {
        Err(AppError::Invalid(errors)) => {
            assert_eq!(errors[0].field, "queue");
            assert!(
                errors[0].message.contains("share no free slot"),
                "{errors:?}"
            );
        }
        other => panic!("accepted: {other:?}"),
    }
}
