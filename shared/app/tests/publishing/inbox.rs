//! The inbox on what the engine published: a comment on a sandbox post becomes an item marked
//! by sentiment and tied to its post; a repeated delivery adds nothing; a reply reaches the
//! network and clears the item with its response time; outside business hours one author's
//! two comments get one auto-reply, and Herald's own replies none.

use crate::support::World;
use chrono::Duration;
use herald_app::engagement::{self, Ingested, NetworkEvent};
use herald_app::inbox::{self, Status, rules};
use herald_app::page::PageRequest;
use herald_app::{AppError, accounts, aggregate, metrics};
use herald_domain::event::Engagement;
use herald_domain::{Account, AccountId};
use herald_ports::Clock;
use serde_json::json;

async fn account(w: &World, acct: &AccountId) -> Account {
    accounts::get(&w.deps, &w.ws, acct).await.unwrap()
}

fn comment(id: &str, on: &str, author: &str, text: &str) -> NetworkEvent {
    NetworkEvent {
        id: id.into(),
        engagement: Engagement::Comment,
        post_remote_id: on.into(),
        comment_remote_id: None,
        author: Some(author.into()),
        text: Some(text.into()),
        count: 1,
    }
}

async fn published(w: &World, acct: &AccountId) -> (herald_domain::PostId, String) {
    let post = w.post("Our new menu", &[acct], Duration::zero()).await;
    w.dispatcher().run_once().await.unwrap();
    let remote = w.view(&post).await.targets[0].remote_id.clone().unwrap();
    (post, remote)
}

#[tokio::test]
async fn a_comment_becomes_an_item_by_sentiment_once_and_a_reply_clears_it_with_its_response_time()
{
    let w = World::new().await;
    let acct = w.account("cafe").await;
    let (post, remote) = published(&w, &acct).await;
    let a = account(&w, &acct).await;
    let angry = comment(
        "c1",
        &remote,
        "dana",
        "Worst coffee ever. Cold, late and the staff were rude. Never again!",
    );
    let first = engagement::ingest(&w.deps, &a, angry.clone())
        .await
        .unwrap();
    let Ingested::Inbox { item, auto_replied } = first else {
        panic!("{first:?}")
    };
    assert!(!auto_replied, "no rules, no auto-reply");
    assert!(item.sentiment <= -0.05, "{}", item.sentiment);
    assert_eq!(item.post.as_ref(), Some(&post));
    // The same delivery again: nothing new.
    assert_eq!(
        engagement::ingest(&w.deps, &a, angry).await.unwrap(),
        Ingested::Repeat
    );
    w.clock.advance(Duration::seconds(5));
    let kind = engagement::ingest(
        &w.deps,
        &a,
        comment("c2", &remote, "eli", "Love the new menu!"),
    )
    .await
    .unwrap();
    assert!(matches!(kind, Ingested::Inbox { .. }));

    // Unanswered and negative first, though the happy one is newer.
    let page = inbox::list(&w.deps, &w.ws, None, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].id, item.id);
    assert_eq!(page.items[1].author, "eli");

    w.clock.advance(Duration::seconds(115));
    let answered = inbox::reply(
        &w.deps,
        &w.ws,
        &item.id,
        "So sorry, Dana: a coffee on us next time?",
    )
    .await
    .unwrap();
    assert_eq!(answered.status, Status::Answered);
    assert_eq!(answered.response_seconds, Some(120));
    assert_eq!(
        w.sandbox.replies(),
        vec![(
            "c1".to_owned(),
            "So sorry, Dana: a coffee on us next time?".to_owned()
        )]
    );
    let unanswered = inbox::list(
        &w.deps,
        &w.ws,
        Some(Status::Unanswered),
        &PageRequest::first(10),
    )
    .await
    .unwrap();
    assert_eq!(unanswered.items.len(), 1);
    assert_eq!(unanswered.items[0].author, "eli");
    // The network reports Herald's own reply back as a comment: it is not an item.
    let reply_id = answered.reply_remote_id.clone().unwrap();
    let echo = comment(&reply_id, &remote, "someone", "So sorry, Dana");
    assert_eq!(
        engagement::ingest(&w.deps, &a, echo).await.unwrap(),
        Ingested::Own
    );
    let mine = comment("c3", &remote, "cafe", "We open at 8");
    assert_eq!(
        engagement::ingest(&w.deps, &a, mine).await.unwrap(),
        Ingested::Own
    );

    // Dismissing the answered item is refused; the other one may be.
    assert!(matches!(
        inbox::dismiss(&w.deps, &w.ws, &item.id).await,
        Err(AppError::Conflict(_))
    ));
    let other = &unanswered.items[0];
    assert_eq!(
        inbox::dismiss(&w.deps, &w.ws, &other.id)
            .await
            .unwrap()
            .status,
        Status::Dismissed
    );

    // The summary: one answered of the two considered... the dismissed one is left out.
    let now = w.clock.now();
    let summary = metrics::summary(
        &w.deps,
        &w.ws,
        now - Duration::days(1),
        now + Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!(summary.response_time_p50_s, Some(120));
    assert_eq!(summary.answered_share, Some(1.0));
}

#[tokio::test]
async fn a_hostile_comment_is_kept_safely_or_refused_naming_the_field() {
    let w = World::new().await;
    let acct = w.account("cafe").await;
    let a = account(&w, &acct).await;
    let huge = "💥\u{0}\u{1b}[31m".repeat(25_000);
    let kept = engagement::ingest(&w.deps, &a, comment("big", "sbx_x", "\u{7}bob\u{0}", &huge))
        .await
        .unwrap();
    let Ingested::Inbox { item, .. } = kept else {
        panic!("{kept:?}")
    };
    assert_eq!(item.text.chars().count(), inbox::MAX_TEXT);
    assert!(!item.text.chars().any(|c| c.is_control()));
    assert_eq!(item.author, "bob");
    assert_eq!(
        item.post, None,
        "a remote id Herald did not publish names no post"
    );
    for (bad, field) in [
        (comment("", "sbx", "a", "t"), "id"),
        (comment("x\u{0}y", "sbx", "a", "t"), "id"),
        (comment("ok", &"r".repeat(600), "a", "t"), "remote_id"),
        (
            NetworkEvent {
                count: 0,
                ..comment("ok2", "sbx", "a", "t")
            },
            "count",
        ),
    ] {
        match engagement::ingest(&w.deps, &a, bad).await {
            Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn outside_business_hours_one_authors_two_comments_get_one_auto_reply() {
    let w = World::new().await;
    let acct = w.account("cafe").await;
    let (_, remote) = published(&w, &acct).await;
    let a = account(&w, &acct).await;
    // Open 09:00–17:00 Berlin on weekdays; the world's clock is Monday 09:00 UTC = 10:00 there.
    let patch = json!({"timezone": "Europe/Berlin", "business_hours": {
        "mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]}});
    let mut ws = herald_app::settings::workspace(&w.deps, &w.ws)
        .await
        .unwrap();
    herald_app::settings::apply(&mut ws, &patch).unwrap();
    w.deps
        .table
        .put(
            herald_app::records::json_item(
                &herald_storage::keys::workspace(&w.ws),
                "workspace",
                &ws,
            ),
            None,
        )
        .await
        .unwrap();
    rules::put(
        &w.deps,
        &w.ws,
        serde_json::from_value(json!({"rules": [
            {"when": "outside_business_hours", "text": "We are closed: back at 9 tomorrow."},
            {"when": "keyword", "match": "REFUND", "text": "For refunds, write to help@example.com"}
        ]}))
        .unwrap(),
    )
    .await
    .unwrap();

    // Open now: no reply to a plain comment.
    let open = engagement::ingest(&w.deps, &a, comment("o1", &remote, "dana", "Nice place"))
        .await
        .unwrap();
    assert!(
        matches!(
            open,
            Ingested::Inbox {
                auto_replied: false,
                ..
            }
        ),
        "{open:?}"
    );

    // 18:30 Berlin (17:30 UTC): closed. Dana twice, Eli once.
    w.clock.advance(Duration::hours(8) + Duration::minutes(30));
    let mut replied = Vec::new();
    for (id, author) in [("n1", "dana"), ("n2", "Dana"), ("n3", "eli")] {
        match engagement::ingest(&w.deps, &a, comment(id, &remote, author, "Are you open?"))
            .await
            .unwrap()
        {
            Ingested::Inbox { auto_replied, .. } => replied.push(auto_replied),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(replied, [true, false, true]);
    // Next morning before opening is the same closed period.
    w.clock.advance(Duration::hours(13));
    let again = engagement::ingest(&w.deps, &a, comment("n4", &remote, "dana", "Hello?"))
        .await
        .unwrap();
    assert!(matches!(
        again,
        Ingested::Inbox {
            auto_replied: false,
            ..
        }
    ));
    let texts: Vec<String> = w.sandbox.replies().into_iter().map(|(_, t)| t).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");

    // A keyword during opening hours (Tuesday 10:00 Berlin), once a day per author.
    w.clock.advance(Duration::hours(2));
    for (id, expect) in [("k1", true), ("k2", false)] {
        let got = engagement::ingest(&w.deps, &a, comment(id, &remote, "fay", "I want a refund"))
            .await
            .unwrap();
        assert!(
            matches!(got, Ingested::Inbox { auto_replied, .. } if auto_replied == expect),
            "{id}: {got:?}"
        );
    }
    assert_eq!(
        w.sandbox.replies().last().unwrap().1,
        "For refunds, write to help@example.com"
    );
    // The rules' own faults are named.
    let bad: rules::Rules = serde_json::from_value(json!({"rules": [
        {"when": "keyword", "text": "x"}, {"when": "outside_business_hours", "text": ""}
    ]}))
    .unwrap();
    match rules::put(&w.deps, &w.ws, bad).await {
        Err(AppError::Invalid(e)) => {
            let fields: Vec<_> = e.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(fields, ["rules[0].match", "rules[1].text"]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn likes_and_impressions_from_the_network_add_up_in_the_summary() {
    let mut w = World::new().await;
    let acct = w.account("cafe").await;
    let (_, remote) = published(&w, &acct).await;
    let a = account(&w, &acct).await;
    for (i, (kind, count)) in [
        (Engagement::Like, 1),
        (Engagement::Like, 1),
        (Engagement::Impression, 400),
        (Engagement::Share, 1),
    ]
    .into_iter()
    .enumerate()
    {
        let e = NetworkEvent {
            id: format!("e{i}"),
            engagement: kind,
            post_remote_id: remote.clone(),
            comment_remote_id: None,
            author: None,
            text: None,
            count,
        };
        assert_eq!(
            engagement::ingest(&w.deps, &a, e).await.unwrap(),
            Ingested::Engagement
        );
    }
    herald_app::events::relay(&w.deps, 100).await.unwrap();
    let events = w.events();
    aggregate::aggregate(&w.deps, &events).await.unwrap();
    let now = w.clock.now();
    let s = metrics::summary(
        &w.deps,
        &w.ws,
        now - Duration::hours(1),
        now + Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!(s.totals["likes"], 2);
    assert_eq!(s.totals["impressions"], 400);
    assert_eq!(s.totals["engagements"], 3);
    assert_eq!(s.totals["posts"], 1);
    assert_eq!(s.days.len(), 1);
}

/// An item on a published sandbox post, to reply to.
async fn an_item(w: &World) -> (AccountId, herald_domain::InboxItemId) {
    let acct = w.account("cafe").await;
    let (_, remote) = published(w, &acct).await;
    let a = account(w, &acct).await;
    let Ingested::Inbox { item, .. } = engagement::ingest(
        &w.deps,
        &a,
        comment("c1", &remote, "dana", "Is it open today?"),
    )
    .await
    .unwrap() else {
        panic!("no item")
    };
    (acct, item.id)
}

#[tokio::test]
async fn a_reply_sent_twice_with_one_idempotency_key_replies_once_and_answers_the_first_again() {
    let w = World::new().await;
    let (_, id) = an_item(&w).await;
    let first = inbox::once::reply(&w.deps, &w.ws, &id, "Yes, until 6!", Some("k-1"))
        .await
        .unwrap();
    assert!(!first.replayed);
    w.clock.advance(Duration::seconds(30));
    let again = inbox::once::reply(&w.deps, &w.ws, &id, "Yes, until 6!", Some("k-1"))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(
        again.item, first.item,
        "the first answer, response time and all"
    );
    assert_eq!(w.sandbox.replies().len(), 1, "one reply on the network");
    // The key with another text is refused, and sends nothing.
    let other = inbox::once::reply(&w.deps, &w.ws, &id, "No.", Some("k-1")).await;
    assert!(matches!(other, Err(AppError::Invalid(_))), "{other:?}");
    assert!(matches!(
        inbox::once::reply(&w.deps, &w.ws, &id, "x", Some("")).await,
        Err(AppError::Invalid(_))
    ));
    assert_eq!(w.sandbox.replies().len(), 1);
}

#[tokio::test]
async fn a_retry_after_the_connection_dropped_finds_the_reply_instead_of_posting_it_twice() {
    let w = World::new().await;
    let (_, id) = an_item(&w).await;
    w.sandbox
        .inject([herald_networks::sandbox::Fault::ReplyAcceptThenTimeout]);
    let lost = inbox::once::reply(&w.deps, &w.ws, &id, "On our way", Some("k-2")).await;
    assert!(lost.is_err(), "the caller saw the drop");
    assert_eq!(w.sandbox.replies().len(), 1, "but the network kept it");
    let item = inbox::get(&w.deps, &w.ws, &id).await.unwrap();
    assert_eq!(
        item.status,
        Status::Unanswered,
        "not recorded as answered yet"
    );

    w.clock.advance(Duration::seconds(10));
    let retry = inbox::once::reply(&w.deps, &w.ws, &id, "On our way", Some("k-2"))
        .await
        .unwrap();
    assert_eq!(w.sandbox.replies().len(), 1, "found, not sent again");
    assert_eq!(retry.item.status, Status::Answered);
    assert!(retry.item.reply_remote_id.is_some());
    let third = inbox::once::reply(&w.deps, &w.ws, &id, "On our way", Some("k-2"))
        .await
        .unwrap();
    assert!(third.replayed);
    assert_eq!(w.sandbox.replies().len(), 1);
}

#[tokio::test]
async fn a_retry_after_a_drop_before_the_network_kept_it_sends_it_then() {
    let w = World::new().await;
    let (_, id) = an_item(&w).await;
    w.sandbox
        .inject([herald_networks::sandbox::Fault::ReplyDropBeforeAccepting]);
    assert!(
        inbox::once::reply(&w.deps, &w.ws, &id, "Hello", Some("k-3"))
            .await
            .is_err()
    );
    assert!(w.sandbox.replies().is_empty());
    let retry = inbox::once::reply(&w.deps, &w.ws, &id, "Hello", Some("k-3"))
        .await
        .unwrap();
    assert!(!retry.replayed);
    assert_eq!(
        w.sandbox.replies().len(),
        1,
        "looked for, not found, sent once"
    );
}
