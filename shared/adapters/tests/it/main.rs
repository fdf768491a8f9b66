//! Integration tests of the adapters: one conformance set for every blob store and every event
//! bus, run against the embedded adapters and against the AWS ones on moto (the local AWS
//! emulator, started by herald-testkit). Run with `cargo test -p herald-adapters --features aws`.

mod blob;
mod bus;
mod support;
