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
