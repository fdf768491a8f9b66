//! Networks' webhooks into Herald, as pure functions: each network's handshake, its signature
//! over the raw body (compared in constant time), and a parser that reads the deliveries'
//! comments, mentions and reactions as `Inbound` reports. Nothing here trusts a body whose
//! signature was not checked first; parsers never panic, whatever the bytes (fuzzed).
//!
//! - Meta (Facebook Pages, Instagram, Threads): `GET` with `hub.mode=subscribe`,
//!   `hub.verify_token` and `hub.challenge` answers the challenge; deliveries carry
//!   `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body with the app secret>`.
//! - X (Account Activity API): `GET ?crc_token=` answers
//!   `{"response_token":"sha256=<base64 HMAC-SHA256 of the token with the consumer secret>"}`;
//!   deliveries carry `X-Twitter-Webhooks-Signature: sha256=<base64 HMAC of the body>`.
//! - LinkedIn: `GET ?challengeCode=` answers `{"challengeCode","challengeResponse":<hex HMAC>}`;
//!   deliveries carry `X-LI-Signature: <hex HMAC-SHA256 of the body with the client secret>`.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Deliveries larger than this are refused before anything reads them.
pub const MAX_BODY: usize = 1024 * 1024;
/// Reports read from one delivery at most.
pub const MAX_REPORTS: usize = 1_000;

/// What a delivery reports, before it is tied to a Herald account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inbound {
    /// The network's id of the account the report is for (page, user, organization).
    pub network_account: String,
    /// The network's own id of this report: repeats carry the same.
    pub id: String,
    pub kind: InboundKind,
    /// The network's id of the post engaged with.
    pub post: String,
    /// The comment's own id, what a reply answers.
    pub comment: Option<String>,
    pub author: Option<String>,
    pub text: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InboundKind {
    Comment,
    Mention,
    Like,
    Share,
}

fn mac(secret: &[u8], data: &[u8]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(data);
    m
}

/// Checks `expected` (the raw MAC) against the body's, in constant time.
fn verify(secret: &[u8], body: &[u8], expected: &[u8]) -> bool {
    !secret.is_empty() && mac(secret, body).verify_slice(expected).is_ok()
}

/// Meta's `X-Hub-Signature-256` (`sha256=<hex>`).
pub fn verify_meta(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .and_then(|hex_sig| hex::decode(hex_sig).ok())
        .is_some_and(|sig| verify(secret, body, &sig))
}

/// Equality of a given token with the expected one in constant time: the MACs of both under
/// the expected one are compared by `verify_slice`.
fn same(a: &str, b: &str) -> bool {
    !b.is_empty()
        && verify(
            b.as_bytes(),
            a.as_bytes(),
            &mac(b.as_bytes(), b.as_bytes()).finalize().into_bytes(),
        )
}

/// The verify token Meta's dashboard is given for one account's hook: derived from the app's
/// secret and the account, so nothing more is kept (`GET /v1/accounts/{id}/webhook` shows it).
pub fn meta_verify_token(secret: &[u8], workspace: &str, account: &str) -> String {
    let raw = mac(
        secret,
        format!("herald/webhooks/verify/{workspace}/{account}").as_bytes(),
    )
    .finalize()
    .into_bytes();
    hex::encode(&raw[..16])
}

/// The verify token of the Meta app's one callback URL (every page and user it serves).
pub fn meta_app_verify_token(secret: &[u8]) -> String {
    meta_verify_token(secret, "_app", "meta")
}

/// Meta's subscription handshake: the challenge to answer, or None to refuse.
pub fn meta_handshake(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    expected_token: &str,
) -> Option<String> {
    let challenge = challenge?;
    (mode == Some("subscribe")
        && token.is_some_and(|t| same(t, expected_token))
        && !challenge.is_empty()
        && challenge.len() <= 256
        // Meta's challenges are numbers: nothing that could be markup is echoed back.
        && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| challenge.to_owned())
}

/// X's CRC answer: `sha256=<base64 HMAC of the token>`.
pub fn x_crc_response(consumer_secret: &[u8], crc_token: &str) -> String {
    let raw = mac(consumer_secret, crc_token.as_bytes())
        .finalize()
        .into_bytes();
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// X's `X-Twitter-Webhooks-Signature` (`sha256=<base64>`).
pub fn verify_x(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .is_some_and(|sig| verify(secret, body, &sig))
}

/// LinkedIn's challenge answer: the hex HMAC of the code.
pub fn linkedin_challenge(client_secret: &[u8], code: &str) -> String {
    hex::encode(mac(client_secret, code.as_bytes()).finalize().into_bytes())
}

/// LinkedIn's `X-LI-Signature` (hex, sometimes with a `hmacsha256=` prefix).
pub fn verify_linkedin(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    header
        .map(|h| h.trim().trim_start_matches("hmacsha256="))
        .and_then(|hex_sig| hex::decode(hex_sig).ok())
        .is_some_and(|sig| verify(secret, body, &sig))
}

fn s(v: &Value, path: &str) -> Option<String> {
    match v.pointer(path)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn body_json(body: &[u8]) -> Result<Value, String> {
    if body.len() > MAX_BODY {
        return Err(format!("a delivery of more than {MAX_BODY} bytes"));
    }
    serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))
}

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(MAX_REPORTS)
}

/// A Meta delivery (Page feed changes, Instagram comments and mentions).
pub fn parse_meta(body: &[u8]) -> Result<Vec<Inbound>, String> {
    let v = body_json(body)?;
    let mut out = Vec::new();
    for entry in list(&v, "entry") {
        let Some(account) = s(entry, "/id") else {
            continue;
        };
        for change in list(entry, "changes") {
            let value = change.get("value").unwrap_or(&Value::Null);
            let field = change.get("field").and_then(Value::as_str).unwrap_or("");
            let report = match field {
                // Facebook Page feed: comments and reactions on the page's posts.
                "feed" => {
                    if value.get("verb").and_then(Value::as_str) != Some("add") {
                        continue;
                    }
                    match value.get("item").and_then(Value::as_str) {
                        Some("comment") => {
                            s(value, "/comment_id")
                                .zip(s(value, "/post_id"))
                                .map(|(id, post)| Inbound {
                                    network_account: account.clone(),
                                    id: id.clone(),
                                    kind: InboundKind::Comment,
                                    post,
                                    comment: Some(id),
                                    author: s(value, "/from/name"),
                                    text: s(value, "/message"),
                                })
                        }
                        Some("reaction") | Some("like") => {
                            let post = s(value, "/post_id");
                            let who = s(value, "/from/id").unwrap_or_default();
                            post.map(|post| Inbound {
                                network_account: account.clone(),
                                id: format!("reaction:{post}:{who}"),
                                kind: InboundKind::Like,
                                post,
                                comment: None,
                                author: s(value, "/from/name"),
                                text: None,
                            })
                        }
                        Some("share") => s(value, "/post_id").map(|post| Inbound {
                            network_account: account.clone(),
                            id: format!("share:{}", s(value, "/share_id").unwrap_or(post.clone())),
                            kind: InboundKind::Share,
                            post,
                            comment: None,
                            author: s(value, "/from/name"),
                            text: None,
                        }),
                        _ => None,
                    }
                }
                // Instagram and Threads comments on the account's media.
                "comments" | "replies" => {
                    s(value, "/id")
                        .zip(s(value, "/media/id"))
                        .map(|(id, post)| Inbound {
                            network_account: account.clone(),
                            id: id.clone(),
                            kind: InboundKind::Comment,
                            post,
                            comment: Some(id),
                            author: s(value, "/from/username"),
                            text: s(value, "/text"),
                        })
                }
                "mentions" => s(value, "/comment_id")
                    .or_else(|| s(value, "/media_id"))
                    .map(|id| Inbound {
                        network_account: account.clone(),
                        id: format!("mention:{id}"),
                        kind: InboundKind::Mention,
                        post: s(value, "/media_id").unwrap_or_else(|| id.clone()),
                        comment: s(value, "/comment_id"),
                        author: None,
                        text: None,
                    }),
                _ => None,
            };
            out.extend(report);
        }
    }
    Ok(out)
}

/// An X Account Activity delivery: replies and mentions (tweet_create_events) and likes.
pub fn parse_x(body: &[u8]) -> Result<Vec<Inbound>, String> {
    let v = body_json(body)?;
    let Some(me) = s(&v, "/for_user_id") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for tweet in list(&v, "tweet_create_events") {
        let (Some(id), Some(author_id)) = (s(tweet, "/id_str"), s(tweet, "/user/id_str")) else {
            continue;
        };
        if author_id == me {
            continue; // the account's own tweet
        }
        let reply_to = s(tweet, "/in_reply_to_status_id_str");
        out.push(Inbound {
            network_account: me.clone(),
            id: id.clone(),
            kind: if reply_to.is_some() {
                InboundKind::Comment
            } else {
                InboundKind::Mention
            },
            post: reply_to.unwrap_or_else(|| id.clone()),
            comment: Some(id),
            author: s(tweet, "/user/screen_name"),
            text: s(tweet, "/extended_tweet/full_text").or_else(|| s(tweet, "/text")),
        });
    }
    for like in list(&v, "favorite_events") {
        if let (Some(id), Some(post)) = (s(like, "/id"), s(like, "/favorited_status/id_str")) {
            out.push(Inbound {
                network_account: me.clone(),
                id: format!("like:{id}"),
                kind: InboundKind::Like,
                post,
                comment: None,
                author: s(like, "/user/screen_name"),
                text: None,
            });
        }
    }
    Ok(out)
}

/// A LinkedIn organization social-action notification delivery.
pub fn parse_linkedin(body: &[u8]) -> Result<Vec<Inbound>, String> {
    let v = body_json(body)?;
    let mut out = Vec::new();
    for n in list(&v, "notifications") {
        let (Some(id), Some(org), Some(post)) = (
            s(n, "/notificationId"),
            s(n, "/organizationalEntity"),
            s(n, "/sourcePost"),
        ) else {
            continue;
        };
        let kind = match n.get("action").and_then(Value::as_str) {
            Some("COMMENT") => InboundKind::Comment,
            Some("SHARE_MENTION") | Some("COMMENT_MENTION") => InboundKind::Mention,
            Some("LIKE") => InboundKind::Like,
            Some("SHARE") => InboundKind::Share,
            _ => continue,
        };
        out.push(Inbound {
            network_account: org,
            id: format!("li:{id}"),
            kind,
            post,
            comment: s(n, "/commentEntity"),
            author: s(n, "/actor"),
            text: s(n, "/decoratedComment/text").or_else(|| s(n, "/comment/text")),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"app-secret";

    fn hex_sig(body: &[u8]) -> String {
        format!(
            "sha256={}",
            hex::encode(mac(SECRET, body).finalize().into_bytes())
        )
    }

    #[test]
    fn a_meta_signature_holds_only_for_its_body_and_secret() {
        let body = br#"{"object":"page","entry":[]}"#;
        let good = hex_sig(body);
        assert!(verify_meta(SECRET, body, Some(&good)));
        assert!(!verify_meta(
            SECRET,
            b"{\"object\":\"page\",\"entry\":[1]}",
            Some(&good)
        ));
        assert!(!verify_meta(b"other", body, Some(&good)));
        assert!(!verify_meta(SECRET, body, None));
        assert!(!verify_meta(SECRET, body, Some("sha256=zz")));
        assert!(!verify_meta(
            SECRET,
            body,
            Some(&good.replace("sha256=", "sha1="))
        ));
        assert!(!verify_meta(b"", body, Some(&good)), "no secret, no trust");
    }

    #[test]
    fn the_meta_handshake_answers_its_challenge_only_with_the_token() {
        assert_eq!(
            meta_handshake(Some("subscribe"), Some("tok"), Some("1158201444"), "tok"),
            Some("1158201444".into())
        );
        assert_eq!(
            meta_handshake(Some("subscribe"), Some("bad"), Some("1"), "tok"),
            None
        );
        assert_eq!(
            meta_handshake(Some("unsubscribe"), Some("tok"), Some("1"), "tok"),
            None
        );
        assert_eq!(
            meta_handshake(Some("subscribe"), Some(""), Some("1"), ""),
            None
        );
        assert_eq!(
            meta_handshake(Some("subscribe"), Some("tok"), Some("<script>"), "tok"),
            None
        );
        assert_eq!(
            meta_handshake(Some("subscribe"), Some("tok"), Some("a b"), "tok"),
            None
        );
    }

    #[test]
    fn x_crc_and_signatures_are_base64_hmacs() {
        // The Account Activity API documents this pair for consumer secret "secret".
        let answer = x_crc_response(b"secret", "token");
        assert!(answer.starts_with("sha256="));
        let body = br#"{"for_user_id":"1"}"#;
        let sig = format!(
            "sha256={}",
            base64::engine::general_purpose::STANDARD
                .encode(mac(SECRET, body).finalize().into_bytes())
        );
        assert!(verify_x(SECRET, body, Some(&sig)));
        assert!(!verify_x(SECRET, b"{}", Some(&sig)));
        let li = linkedin_challenge(SECRET, "abc");
        assert_eq!(li.len(), 64);
        let li_sig = hex::encode(mac(SECRET, body).finalize().into_bytes());
        assert!(verify_linkedin(SECRET, body, Some(&li_sig)));
        assert!(verify_linkedin(
            SECRET,
            body,
            Some(&format!("hmacsha256={li_sig}"))
        ));
        assert!(!verify_linkedin(SECRET, b"x", Some(&li_sig)));
    }

    #[test]
    fn meta_x_and_linkedin_deliveries_read_as_reports() {
        let fb = json!({"object": "page", "entry": [{"id": "PAGE", "time": 1, "changes": [
            {"field": "feed", "value": {"item": "comment", "verb": "add", "comment_id": "C1",
             "post_id": "PAGE_P1", "message": "Where is my order?", "from": {"id": "U", "name": "Ann"}}},
            {"field": "feed", "value": {"item": "reaction", "verb": "add", "post_id": "PAGE_P1",
             "reaction_type": "like", "from": {"id": "U2", "name": "Bo"}}},
            {"field": "feed", "value": {"item": "comment", "verb": "remove", "comment_id": "C0", "post_id": "P"}}
        ]}]});
        let got = parse_meta(fb.to_string().as_bytes()).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].kind, got[0].id.as_str(), got[0].post.as_str()),
            (InboundKind::Comment, "C1", "PAGE_P1")
        );
        assert_eq!(got[0].text.as_deref(), Some("Where is my order?"));
        assert_eq!(got[1].kind, InboundKind::Like);
        let ig = json!({"object": "instagram", "entry": [{"id": "IG", "changes": [
            {"field": "comments", "value": {"id": "17865", "text": "nice", "from": {"username": "cat"}, "media": {"id": "M1"}}}
        ]}]});
        let got = parse_meta(ig.to_string().as_bytes()).unwrap();
        assert_eq!(
            (got[0].network_account.as_str(), got[0].post.as_str()),
            ("IG", "M1")
        );
        let x = json!({"for_user_id": "42", "tweet_create_events": [
            {"id_str": "9", "text": "@brand help", "user": {"id_str": "7", "screen_name": "zed"}, "in_reply_to_status_id_str": "5"},
            {"id_str": "10", "text": "mine", "user": {"id_str": "42", "screen_name": "brand"}}
        ], "favorite_events": [{"id": "f1", "favorited_status": {"id_str": "5"}, "user": {"screen_name": "y"}}]});
        let got = parse_x(x.to_string().as_bytes()).unwrap();
        assert_eq!(got.len(), 2, "the account's own tweet is not a report");
        assert_eq!(
            (got[0].kind, got[0].post.as_str()),
            (InboundKind::Comment, "5")
        );
        assert_eq!(got[1].kind, InboundKind::Like);
        let li = json!({"notifications": [{"action": "COMMENT", "notificationId": 77,
            "organizationalEntity": "urn:li:organization:1", "sourcePost": "urn:li:share:2",
            "commentEntity": "urn:li:comment:(urn:li:activity:2,3)", "actor": "urn:li:person:x"}]});
        let got = parse_linkedin(li.to_string().as_bytes()).unwrap();
        assert_eq!(
            (got[0].id.as_str(), got[0].kind),
            ("li:77", InboundKind::Comment)
        );
        for bad in [&b"not json"[..], b"", b"[]", b"null", b"{\"entry\":5}"] {
            let _ = parse_meta(bad);
            let _ = parse_x(bad);
            let _ = parse_linkedin(bad);
        }
    }
}
