//! Notification polling for networks with no webhooks, through a scripted Mastodon double:
//! a reply becomes one inbox item tied to Herald's post; the next poll starts at the cursor and
//! adds nothing for a repeat or for Herald's own reply; a rate-limited account waits its turn
//! without holding the others up; a failed poll keeps its cursor; hostile ids and texts are
//! dropped or cut, never stored raw.

use crate::support::World;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use herald_app::engagement::poll;
use herald_app::inbox::{self, MAX_TEXT};
use herald_app::page::PageRequest;
use herald_app::{accounts, records};
use herald_domain::{AccountId, NetworkLimits, Platform, PostId};
use herald_ports::{
    AccountContext, Checkpoint, Clock, Connector, NetworkError, NetworkErrorKind, Notification,
    NotificationPage, PostMetrics, PublishRequest, Published,
};
use herald_storage::keys;
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

type Answer = Result<NotificationPage, NetworkError>;

/// Mastodon as a script: each account's polls answer the pages queued for it, and every
/// cursor a poll passed is kept.
#[derive(Default)]
struct Scripted {
    pages: Mutex<HashMap<String, VecDeque<Answer>>>,
    cursors: Mutex<Vec<(String, Option<String>)>>,
    replies: Mutex<usize>,
}

impl Scripted {
    fn queue(&self, acct: &AccountId, answer: Answer) {
        self.pages
            .lock()
            .unwrap()
            .entry(acct.to_string())
            .or_default()
            .push_back(answer);
    }
    fn cursors_of(&self, acct: &AccountId) -> Vec<Option<String>> {
        self.cursors
            .lock()
            .unwrap()
            .iter()
            .filter(|(a, _)| a == acct.as_str())
            .map(|(_, c)| c.clone())
            .collect()
    }
}

fn unsupported() -> NetworkError {
    NetworkError::permanent("not scripted")
}

#[async_trait]
impl Connector for Scripted {
    fn platform(&self) -> Platform {
        Platform::Mastodon
    }
    fn limits(&self) -> NetworkLimits {
        herald_networks::mastodon::limits()
    }
    async fn publish(
        &self,
        _: &AccountContext,
        _: &PublishRequest,
        _: &dyn Checkpoint,
    ) -> Result<Published, NetworkError> {
        Err(unsupported())
    }
    async fn find_published(
        &self,
        _: &AccountContext,
        _: &PublishRequest,
        _: DateTime<Utc>,
    ) -> Result<Option<Published>, NetworkError> {
        Err(unsupported())
    }
    async fn delete(&self, _: &AccountContext, _: &str) -> Result<(), NetworkError> {
        Err(unsupported())
    }
    async fn reply(&self, _: &AccountContext, _: &str, _: &str) -> Result<Published, NetworkError> {
        let mut n = self.replies.lock().unwrap();
        *n += 1;
        Ok(Published {
            remote_id: format!("herald-reply-{n}"),
            url: None,
        })
    }
    async fn metrics(&self, _: &AccountContext, _: &str) -> Result<PostMetrics, NetworkError> {
        Err(unsupported())
    }
    fn polls_notifications(&self) -> bool {
        true
    }
    async fn notifications(
        &self,
        account: &AccountContext,
        cursor: Option<&str>,
    ) -> Result<NotificationPage, NetworkError> {
        self.cursors
            .lock()
            .unwrap()
            .push((account.account.to_string(), cursor.map(str::to_owned)));
        self.pages
            .lock()
            .unwrap()
            .get_mut(account.account.as_str())
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(|| {
                Ok(NotificationPage {
                    items: vec![],
                    cursor: cursor.map(str::to_owned),
                })
            })
    }
}

fn reply(id: &str, on: &str, author: &str, text: &str) -> Notification {
    Notification {
        id: id.into(),
        reply: true,
        post_remote_id: on.into(),
        author: Some(author.into()),
        text: Some(text.into()),
    }
}

fn page(items: Vec<Notification>, cursor: &str) -> Answer {
    Ok(NotificationPage {
        items,
        cursor: Some(cursor.into()),
    })
}

async fn world() -> (World, Arc<Scripted>) {
    let scripted = Arc::new(Scripted::default());
    (World::with_network(scripted.clone()).await, scripted)
}

async fn mastodon(w: &World, handle: &str) -> AccountId {
    let new = accounts::NewAccount {
        platform: "mastodon".into(),
        handle: handle.into(),
        credentials: Some(json!({"instance": "https://m.example", "access_token": "t"})),
    };
    accounts::create(&w.deps, &w.ws, new).await.unwrap().id
}

/// A Herald post that the network knows as `remote_id` on `acct`.
async fn herald_post(w: &World, acct: &AccountId, remote_id: &str) -> PostId {
    let sandbox = w.account("sandbox-twin").await;
    let post = w
        .post("Our new menu", &[&sandbox], Duration::hours(1))
        .await;
    let mut item = keys::remote_post(&w.ws, Platform::Mastodon, remote_id).item();
    item.insert("post".into(), post.as_str().into());
    item.insert("account".into(), acct.as_str().into());
    item.insert("published_at".into(), records::ms(w.clock.now()));
    w.deps.table.put(item, None).await.unwrap();
    post
}

async fn items(w: &World) -> Vec<inbox::InboxItem> {
    inbox::list(&w.deps, &w.ws, None, &PageRequest::first(100))
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn a_polled_reply_becomes_one_item_on_its_post_and_neither_a_repeat_nor_our_reply_comes_in() {
    let (w, net) = world().await;
    assert!(!poll::any(&w.deps).await.unwrap(), "no polled account yet");
    let _sandbox_only = w.account("plain").await;
    assert!(
        !poll::any(&w.deps).await.unwrap(),
        "a sandbox account is not polled"
    );
    let acct = mastodon(&w, "cafe@m.example").await;
    assert!(poll::any(&w.deps).await.unwrap(), "connecting it listed it");
    let post = herald_post(&w, &acct, "400").await;

    let love = reply("501", "400", "carol@elsewhere", "Love the new menu!");
    net.queue(&acct, page(vec![love.clone()], "11"));
    let report = poll::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!((report.accounts, report.received), (1, 1), "{report:?}");
    let got = items(&w).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].post.as_ref(), Some(&post), "tied to Herald's post");
    assert_eq!(got[0].remote_id, "501");
    assert_eq!(got[0].author, "carol@elsewhere");
    assert!(got[0].sentiment > 0.0);

    // Answer it: the reply is Herald's own, and when the network reports it back it stays out.
    inbox::reply(&w.deps, &w.ws, &got[0].id, "Thank you!")
        .await
        .unwrap();
    net.queue(
        &acct,
        page(
            vec![
                love,
                reply("herald-reply-1", "501", "someone-else", "Thank you!"),
            ],
            "12",
        ),
    );
    let report = poll::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(
        (report.received, report.repeats, report.own),
        (0, 1, 1),
        "{report:?}"
    );
    let report = poll::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(report.received, 0);
    assert_eq!(items(&w).await.len(), 1, "one item, answered");
    assert_eq!(
        net.cursors_of(&acct),
        vec![None, Some("11".into()), Some("12".into())],
        "each poll starts where the one before left off"
    );
}

#[tokio::test]
async fn a_rate_limited_account_waits_its_time_without_holding_the_others_up() {
    let (w, net) = world().await;
    let slow = mastodon(&w, "slow@m.example").await;
    let fine = mastodon(&w, "fine@m.example").await;
    let until = w.clock.now() + Duration::minutes(5);
    net.queue(
        &slow,
        Err(NetworkError::new(
            NetworkErrorKind::RateLimited {
                retry_at: Some(until),
            },
            "Too many requests",
        )),
    );
    net.queue(&fine, page(vec![reply("9", "x", "dan", "hello")], "9"));
    let report = poll::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(
        (report.accounts, report.rate_limited, report.received),
        (2, 1, 1)
    );

    w.clock.advance(Duration::minutes(1));
    let report = poll::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(report.rate_limited, 1);
    assert_eq!(
        net.cursors_of(&slow).len(),
        1,
        "not asked again before its time"
    );

    w.clock.advance(Duration::minutes(5));
    poll::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(net.cursors_of(&slow), vec![None, None]);
    assert_eq!(
        net.cursors_of(&fine),
        vec![None, Some("9".into()), Some("9".into())]
    );
}

#[tokio::test]
async fn a_failed_poll_keeps_its_cursor_and_the_next_reads_from_it_again() {
    let (w, net) = world().await;
    let acct = mastodon(&w, "cafe@m.example").await;
    net.queue(&acct, page(vec![], "20"));
    net.queue(
        &acct,
        Err(NetworkError::uncertain("no answer from the network")),
    );
    poll::poll(&w.deps, w.clock.now()).await.unwrap();
    let report = poll::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(report.failed, 1);
    poll::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(
        net.cursors_of(&acct),
        vec![None, Some("20".into()), Some("20".into())]
    );
}

#[tokio::test]
async fn hostile_ids_are_dropped_and_a_100_kb_text_of_control_characters_is_cut_clean() {
    let (w, net) = world().await;
    let acct = mastodon(&w, "cafe@m.example").await;
    let huge = format!("{}\u{0}\u{1b}[2J\u{7}bad", "ü".repeat(100_000));
    net.queue(
        &acct,
        page(
            vec![
                reply("id\u{0}with-nul", "400", "x", "hi"),
                reply(&"9".repeat(5_000), "400", "x", "hi"),
                reply("ok-1", "400", "mallory\u{1b}[31m", &huge),
            ],
            "30",
        ),
    );
    let report = poll::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!((report.refused, report.received), (2, 1), "{report:?}");
    let got = items(&w).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].text.chars().count(), MAX_TEXT);
    assert!(
        !got[0]
            .text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    );
    assert!(
        !got[0].author.chars().any(char::is_control),
        "{:?}",
        got[0].author
    );
    assert_eq!(net.cursors_of(&acct), vec![None]);
    poll::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(
        net.cursors_of(&acct),
        vec![None, Some("30".into())],
        "moved past them"
    );
}

#[tokio::test]
async fn as_deployed_connecting_a_polled_account_starts_a_wake_chain_every_five_minutes() {
    use herald_app::aggregate::wake;
    use herald_ports::WakeJob;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let scripted = Arc::new(Scripted::default());
    let w = World::with_network_queued(scripted.clone()).await;
    let _plain = w.account("plain").await;
    assert!(
        w.wakes.minutes_of(WakeJob::Polls).is_empty(),
        "a sandbox account is not polled: nothing to wake for"
    );
    // Connected at 09:00: the first wake is the first five-minute mark its lead allows.
    let acct = mastodon(&w, "cafe@m.example").await;
    assert_eq!(
        w.wakes.minutes_of(WakeJob::Polls),
        [at("2026-11-23T09:05:00Z")]
    );
    // That wake fires at 09:03; its run polls and ensures the next, five minutes on.
    w.clock.set(at("2026-11-23T09:03:10Z"));
    let run = wake::run(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(run.notifications.accounts, 1, "{run:?}");
    assert_eq!(run.next_notifications, Some(at("2026-11-23T09:10:00Z")));
    assert_eq!(scripted.cursors_of(&acct).len(), 1);
    // A failed poll keeps the chain: the next wake is still ensured.
    scripted.queue(&acct, Err(NetworkError::transient("instance down")));
    w.clock.set(at("2026-11-23T09:08:05Z"));
    let run = wake::run(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(run.notifications.failed, 1, "{run:?}");
    assert_eq!(run.next_notifications, Some(at("2026-11-23T09:15:00Z")));
}
