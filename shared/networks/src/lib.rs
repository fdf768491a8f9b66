//! One connector per social network, all the same shape: a struct holding its HTTP client and
//! endpoints, a `LIMITS` constant (the network's documented limits as data), an error mapper
//! that keeps the network's own message, and an `impl Connector`.

pub mod bluesky;
pub mod crypto;
pub mod facebook;
pub mod guard;
pub mod http;
pub mod instagram;
pub mod linkedin;
pub mod mastodon;
pub mod meta;
pub mod oauth;
pub mod pinterest;
pub mod sandbox;
pub mod threads;
pub mod tiktok;
pub mod tls;
pub mod webhook;
pub mod webhooks;
pub mod x;
