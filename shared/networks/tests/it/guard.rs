//! The guarded client against a local server: redirects are checked hop by hop.

use herald_networks::guard::Guard;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn redirecting_to(location: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/start"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", location))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/landed"))
        .respond_with(ResponseTemplate::new(200).set_body_string("landed"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_refused() {
    let server = redirecting_to("http://169.254.169.254/latest/meta-data/").await;
    let guard = Guard::new(true);
    let url = guard.check_url(&format!("{}/start", server.uri())).unwrap();
    let err = guard.client().get(url).send().await.unwrap_err();
    assert!(err.is_redirect(), "{err:?}");
    assert!(format!("{err:?}").contains("cloud metadata"), "{err:?}");
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused() {
    let server = redirecting_to("https://10.0.0.8/admin").await;
    let guard = Guard::new(true);
    let url = guard.check_url(&format!("{}/start", server.uri())).unwrap();
    let err = guard.client().get(url).send().await.unwrap_err();
    assert!(format!("{err:?}").contains("private"), "{err:?}");
}

#[tokio::test]
async fn a_strict_client_refuses_a_name_that_resolves_to_loopback() {
    // `localhost` is a name, so the guarded resolver (not the URL check) must refuse it.
    let server = MockServer::start().await;
    let port = server.address().port();
    let strict = Guard::default();
    let err = strict
        .client()
        .get(format!("https://localhost:{port}/landed"))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("loopback"), "{err:?}");
}

#[tokio::test]
async fn a_redirect_within_allowed_loopback_is_followed() {
    let server = MockServer::start().await;
    let landed = format!("{}/landed", server.uri());
    Mock::given(method("GET"))
        .and(path("/start"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", landed.as_str()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/landed"))
        .respond_with(ResponseTemplate::new(200).set_body_string("landed"))
        .mount(&server)
        .await;
    let guard = Guard::new(true);
    let url = guard.check_url(&format!("{}/start", server.uri())).unwrap();
    let body = guard
        .client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "landed");
}

#[tokio::test]
async fn endless_redirects_stop() {
    let server = MockServer::start().await;
    let again = format!("{}/start", server.uri());
    Mock::given(method("GET"))
        .and(path("/start"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", again.as_str()))
        .mount(&server)
        .await;
    let guard = Guard::new(true);
    let err = guard.client().get(&again).send().await.unwrap_err();
    assert!(format!("{err:?}").contains("too many redirects"), "{err:?}");
}

// Imports fetch through `UrlGuard::fetch`: the same checks, with a size and a time cap.
mod fetch {
    use super::redirecting_to;
    use herald_networks::guard::Guard;
    use herald_ports::UrlGuard;
    use std::time::{Duration, Instant};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn serving(body: Vec<u8>, content_type: &str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/photo.jpg"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, content_type))
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn the_bytes_and_their_announced_type_come_back() {
        let server = serving(vec![7; 1000], "image/jpeg; charset=binary").await;
        let got = Guard::new(true)
            .fetch(
                &format!("{}/photo.jpg", server.uri()),
                1000,
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(got.bytes, vec![7; 1000]);
        assert_eq!(got.content_type.as_deref(), Some("image/jpeg"));
    }

    #[tokio::test]
    async fn one_byte_over_the_cap_is_refused() {
        let server = serving(vec![7; 1001], "image/jpeg").await;
        let err = Guard::new(true)
            .fetch(
                &format!("{}/photo.jpg", server.uri()),
                1000,
                Duration::from_secs(5),
            )
            .await
            .unwrap_err();
        assert_eq!(err, "the file is larger than 1000 bytes");
    }

    #[tokio::test]
    async fn a_body_longer_than_its_content_length_says_is_cut_at_the_cap() {
        // A server that announces nothing (chunked) and sends more than the cap.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            for _ in 0..100 {
                if s.write_all(b"400\r\n").await.is_err() {
                    return;
                }
                let _ = s.write_all(&[1u8; 0x400]).await;
                let _ = s.write_all(b"\r\n").await;
            }
        });
        let err = Guard::new(true)
            .fetch(&format!("http://{addr}/x"), 10_000, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(err, "the file is larger than 10000 bytes");
    }

    #[tokio::test]
    async fn a_peer_that_hangs_costs_the_timeout_and_no_more() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accepts and keeps the connection open without a word.
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let start = Instant::now();
        let err = Guard::new(true)
            .fetch(&format!("http://{addr}/x"), 1000, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(err.contains("did not answer within 1s"), "{err}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn a_redirect_to_a_private_address_is_refused_with_the_reason() {
        let server = redirecting_to("https://10.0.0.8/admin").await;
        let err = Guard::new(true)
            .fetch(
                &format!("{}/start", server.uri()),
                1000,
                Duration::from_secs(5),
            )
            .await
            .unwrap_err();
        assert!(err.contains("10.0.0.8 is a private address"), "{err}");
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed_and_errors_are_said() {
        let server = serving(vec![1], "image/png").await;
        let url = format!("{}/photo.jpg", server.uri());
        let err = Guard::default()
            .fetch(&url, 1000, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(err.contains("loopback"), "{err}");
        let err = Guard::new(true)
            .fetch(
                &format!("{}/missing", server.uri()),
                1000,
                Duration::from_secs(5),
            )
            .await
            .unwrap_err();
        assert_eq!(err, "the server answered 404 Not Found");
    }
}
