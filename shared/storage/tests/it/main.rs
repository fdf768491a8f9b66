//! The Table port's conformance suite: every test body runs against the embedded store and
//! against DynamoDB (moto server, started once per test process by herald-testkit).
//!
//! Run: `cargo test -p herald-storage --features aws --test it`
//! (`HERALD_MOTO_ENDPOINT=http://127.0.0.1:PORT` reuses a running moto server).

mod conformance;
mod embedded_only;
mod support;
