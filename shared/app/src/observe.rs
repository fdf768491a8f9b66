//! What an operator watches, recorded where it happens: posts published and failed, how late
//! each went out, retries, webhook attempts and inbox items. Each is one tracing event on the
//! [`TARGET`] target with `metric`, `value`, `unit` and (when there is one) `network`; on Lambda
//! the platform's telemetry turns them into CloudWatch embedded metric format lines (namespace
//! `Herald`), and `herald serve` shows them only at debug level. Dimensions stay few: the
//! function, and the network where the fact has one.

use herald_domain::Platform;

/// The tracing target of metric events.
pub const TARGET: &str = "herald_metrics";

pub const POSTS_PUBLISHED: &str = "PostsPublished";
pub const POSTS_FAILED: &str = "PostsFailed";
/// Milliseconds from a target's due second to the network's answer recorded.
pub const PUBLISH_LATENESS: &str = "PublishLateness";
pub const PUBLISH_RETRIES: &str = "PublishRetries";
pub const WEBHOOK_DELIVERIES_SUCCEEDED: &str = "WebhookDeliveriesSucceeded";
pub const WEBHOOK_DELIVERIES_FAILED: &str = "WebhookDeliveriesFailed";
pub const INBOX_ITEMS: &str = "InboxItems";

/// Every metric, for the template's dashboard check and the EMF writer's tests.
pub const ALL: [&str; 7] = [
    POSTS_PUBLISHED,
    POSTS_FAILED,
    PUBLISH_LATENESS,
    PUBLISH_RETRIES,
    WEBHOOK_DELIVERIES_SUCCEEDED,
    WEBHOOK_DELIVERIES_FAILED,
    INBOX_ITEMS,
];

fn count(metric: &'static str, network: Option<Platform>) {
    tracing::debug!(
        target: TARGET,
        metric,
        value = 1u64,
        unit = "Count",
        network = network.map(Platform::as_str)
    );
}

/// A target recorded published; `lateness_ms` when it was sent (not found by reconciliation)
/// and had a due second.
pub fn post_published(network: Platform, lateness_ms: Option<i64>) {
    count(POSTS_PUBLISHED, Some(network));
    if let Some(ms) = lateness_ms {
        // Sent a hair early by a clock step is on time, not negative lateness.
        tracing::debug!(
            target: TARGET,
            metric = PUBLISH_LATENESS,
            value = ms.max(0) as u64,
            unit = "Milliseconds",
            network = network.as_str()
        );
    }
}

pub fn post_failed(network: Platform) {
    count(POSTS_FAILED, Some(network));
}

/// A failed attempt that will be made again later.
pub fn post_retry(network: Platform) {
    count(PUBLISH_RETRIES, Some(network));
}

/// One webhook attempt recorded: a 2xx within the time allowed, or not.
pub fn webhook_attempt(delivered: bool) {
    count(
        if delivered {
            WEBHOOK_DELIVERIES_SUCCEEDED
        } else {
            WEBHOOK_DELIVERIES_FAILED
        },
        None,
    );
}

/// A comment, mention or message became an inbox item.
pub fn inbox_item(network: Platform) {
    count(INBOX_ITEMS, Some(network));
}
