//! Networks' webhooks into intake: Meta's handshake with the account's verify token, a signed
//! delivery's comment reaching the inbox once however often it is delivered, and forged or
//! unsigned deliveries answering 401 with nothing recorded; X's CRC and LinkedIn's challenge.

use crate::support::{Answer, App, Ws};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use herald_domain::{Account, AccountId, AccountStatus, Platform, Secret, WorkspaceId};
use herald_networks::facebook::FacebookConnector;
use herald_networks::meta::MetaApp;
use herald_ports::{Clock, Connector, Connectors};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::sync::Arc;

const APP_SECRET: &str = "meta-app-secret";

async fn app() -> App {
    let clock: Arc<dyn Clock> = Arc::new(herald_adapters::SystemClock);
    let mut extra = Connectors::new();
    extra.insert(
        Platform::Facebook,
        Arc::new(FacebookConnector::production(
            clock,
            Some(MetaApp {
                client_id: "app".into(),
                client_secret: Secret::new(APP_SECRET.into()),
            }),
        )) as Arc<dyn Connector>,
    );
    App::with_connectors(extra).await
}

/// A Facebook Page account as the OAuth callback leaves it (no network call needed here).
async fn page(app: &App, ws: &Ws) -> Account {
    let account = Account {
        id: AccountId::generate(Utc::now().timestamp_millis() as u64, 77),
        workspace: WorkspaceId::parse(&ws.id).unwrap(),
        platform: Platform::Facebook,
        handle: "Cafe Page".into(),
        status: AccountStatus::Active,
        created_at: Utc::now(),
    };
    let item = herald_app::records::json_item(
        &herald_storage::keys::account(&account.workspace, &account.id),
        "account",
        &account,
    );
    app.deps.table.put(item, None).await.unwrap();
    account
}

fn sign(body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

async fn deliver(app: &App, path: &str, body: &[u8], signature: Option<&str>) -> Answer {
    let mut r = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    if let Some(s) = signature {
        r = r.header("x-hub-signature-256", s);
    }
    app.send(r.body(Body::from(body.to_vec())).unwrap()).await
}

#[tokio::test]
async fn a_signed_meta_delivery_reaches_the_inbox_once_and_a_forged_one_records_nothing() {
    let app = app().await;
    let ws = app.workspace("Cafe").await;
    let account = page(&app, &ws).await;
    let hook = app
        .get(&format!("/v1/accounts/{}/webhook", account.id), &ws.key)
        .await;
    assert_eq!(hook.status, StatusCode::OK, "{hook:?}");
    let path = hook.body["path"].as_str().unwrap().to_owned();
    let token = hook.body["verify_token"].as_str().unwrap().to_owned();

    // The subscription handshake: the challenge back with the token, 403 without it.
    let ok = app
        .send(
            Request::get(format!(
                "{path}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    assert_eq!(ok.raw, b"1158201444");
    let wrong = app
        .send(
            Request::get(format!(
                "{path}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);

    let body = json!({"object": "page", "entry": [{"id": "PAGE", "time": 1, "changes": [
        {"field": "feed", "value": {"item": "comment", "verb": "add", "comment_id": "PAGE_C1",
         "post_id": "PAGE_P1", "message": "Terrible service, my order never came!",
         "from": {"id": "U1", "name": "Ann"}}}
    ]}]})
    .to_string();
    let body = body.as_bytes();
    // Forged (signed with another secret), tampered, unsigned: 401, nothing recorded.
    let forged = {
        let mut m = Hmac::<Sha256>::new_from_slice(b"guessed").unwrap();
        m.update(body);
        format!("sha256={}", hex::encode(m.finalize().into_bytes()))
    };
    let good = sign(body);
    let mut tampered = body.to_vec();
    tampered[body.len() - 5] ^= 1;
    for (bytes, sig) in [
        (body.to_vec(), Some(forged.as_str())),
        (tampered, Some(good.as_str())),
        (body.to_vec(), None),
        (body.to_vec(), Some("sha256=")),
    ] {
        let a = deliver(&app, &path, &bytes, sig).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{a:?}");
    }
    let inbox = app.get("/v1/inbox", &ws.key).await;
    assert_eq!(inbox.body["items"], json!([]), "{inbox:?}");

    // Signed: recorded once, however often delivered.
    let first = deliver(&app, &path, body, Some(&sign(body))).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.body["recorded"], 1);
    let again = deliver(&app, &path, body, Some(&sign(body))).await;
    assert_eq!(
        (
            again.body["recorded"].as_u64(),
            again.body["repeats"].as_u64()
        ),
        (Some(0), Some(1))
    );
    let inbox = app.get("/v1/inbox", &ws.key).await;
    let items = inbox.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{inbox:?}");
    assert_eq!(items[0]["author"], "Ann");
    assert_eq!(items[0]["platform"], "facebook");
    assert!(items[0]["sentiment"].as_f64().unwrap() < -0.05);

    // Signed but not JSON: 400; a hook naming no account: 404.
    let junk = b"\x00\xffnot json";
    let a = deliver(&app, &path, junk, Some(&sign(junk))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{a:?}");
    let other = path.replace(account.id.as_str(), "acct_00000000000000000000000000");
    let a = deliver(&app, &other, body, Some(&sign(body))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // A network Herald is not registered with has no hooks.
    let sandbox = app.sandbox(&ws, "cafe").await;
    let a = deliver(
        &app,
        &format!("/hooks/v1/networks/sandbox/{}/{sandbox}", ws.id),
        body,
        Some(&sign(body)),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// Connects `account` as the page `page_id`, as the OAuth callback does.
async fn connect_page(
    app: &App,
    account: &Account,
    page_id: &str,
) -> Result<(), herald_ports::TableError> {
    app.deps
        .table
        .transact(vec![herald_app::engagement::network_accounts::op(
            &account.workspace,
            &account.id,
            Platform::Facebook,
            page_id,
        )])
        .await
}

#[tokio::test]
async fn the_meta_apps_one_callback_gives_each_page_its_own_workspace_and_drops_unknown_pages() {
    let app = app().await;
    let a = app.workspace("Cafe A").await;
    let b = app.workspace("Cafe B").await;
    let page_a = page(&app, &a).await;
    let page_b = page(&app, &b).await;
    connect_page(&app, &page_a, "111").await.unwrap();
    connect_page(&app, &page_b, "222").await.unwrap();
    // Another workspace cannot take page A over.
    assert!(connect_page(&app, &page_b, "111").await.is_err());

    let token = herald_networks::webhooks::meta_app_verify_token(APP_SECRET.as_bytes());
    let ok = app
        .send(
            Request::get(format!(
                "/hooks/v1/networks/meta?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=42"
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(
        (ok.status, ok.raw.as_slice()),
        (StatusCode::OK, b"42".as_slice())
    );

    let comment = |page: &str, id: &str, text: &str| {
        json!({"id": page, "time": 1, "changes": [{"field": "feed", "value": {
            "item": "comment", "verb": "add", "comment_id": id, "post_id": format!("{page}_P"),
            "message": text, "from": {"id": "U", "name": "Ann"}}}]})
    };
    let body = json!({"object": "page", "entry": [
        comment("111", "111_C", "for A"),
        comment("222", "222_C", "for B"),
        comment("333", "333_C", "for nobody"),
    ]})
    .to_string();
    let forged = deliver(
        &app,
        "/hooks/v1/networks/meta",
        body.as_bytes(),
        Some("sha256=00"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let got = deliver(
        &app,
        "/hooks/v1/networks/meta",
        body.as_bytes(),
        Some(&sign(body.as_bytes())),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{got:?}");
    assert_eq!(
        (got.body["recorded"].as_u64(), got.body["unknown"].as_u64()),
        (Some(2), Some(1)),
        "{got:?}"
    );

    let texts = |ws: Ws| {
        let app = &app;
        async move {
            let inbox = app.get("/v1/inbox", &ws.key).await;
            inbox.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["text"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(texts(a.clone()).await, vec!["for A"]);
    assert_eq!(texts(b).await, vec!["for B"]);

    // Page B's entry sent to page A's own hook path is refused there too.
    let only_b =
        json!({"object": "page", "entry": [comment("222", "222_C2", "B again")]}).to_string();
    let path = format!(
        "/hooks/v1/networks/facebook/{}/{}",
        page_a.workspace, page_a.id
    );
    let got = deliver(
        &app,
        &path,
        only_b.as_bytes(),
        Some(&sign(only_b.as_bytes())),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{got:?}");
    assert_eq!(
        (got.body["recorded"].as_u64(), got.body["refused"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(texts(a).await, vec!["for A"]);
}
