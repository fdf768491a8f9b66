//! Contract tests for every network connector, one module per network, against local doubles
//! built from each network's documentation (and, for Bluesky and Mastodon, real servers on
//! loopback). One test binary: the modules share `support` and link once.

mod support;

mod bluesky;
mod bluesky_notifications;
mod facebook;
mod guard;
mod instagram;
mod linkedin;
mod mastodon;
mod mastodon_notifications;
mod oauth;
mod pinterest;
mod threads;
mod tiktok;
mod webhooks;
mod x;
