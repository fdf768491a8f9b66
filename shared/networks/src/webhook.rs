//! Outbound webhooks over HTTPS: the `WebhookSender` port on reqwest, every name resolved
//! through the SSRF guard, no redirect followed, 15 s for the whole answer.

use crate::guard::Guard;
use async_trait::async_trait;
use herald_domain::webhook::retry::RESPONSE_TIMEOUT;
use herald_ports::{WebhookAnswer, WebhookSender};

pub struct HttpWebhookSender {
    guard: Guard,
    client: reqwest::Client,
}

impl HttpWebhookSender {
    pub fn new(guard: Guard) -> Self {
        HttpWebhookSender {
            guard,
            client: guard.client_without_redirects(RESPONSE_TIMEOUT),
        }
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Result<WebhookAnswer, String> {
        let url = self.guard.check_url(url).map_err(|e| e.to_string())?;
        let mut request = self.client.post(url).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let send = async {
            let response = request.send().await.map_err(describe)?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            // The status is the answer: the body is not waited for.
            drop(response);
            Ok(WebhookAnswer {
                status,
                retry_after,
            })
        };
        match tokio::time::timeout(RESPONSE_TIMEOUT, send).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {} s", RESPONSE_TIMEOUT.as_secs())),
        }
    }
}

fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} s", RESPONSE_TIMEOUT.as_secs())
    } else if e.is_connect() {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        let mut deepest = e.to_string();
        while let Some(s) = source {
            deepest = s.to_string();
            source = s.source();
        }
        format!("could not connect: {deepest}")
    } else {
        format!("the request failed: {e}")
    }
}
