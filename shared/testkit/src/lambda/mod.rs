//! A Lambda Runtime API on loopback, to host a function's real binary as Lambda does: the
//! binary polls `GET /2018-06-01/runtime/invocation/next`, gets one event with its request id,
//! deadline and function ARN, and posts the answer to `…/{id}/response` or `…/{id}/error`.
//! One emulator serves one function (as one Lambda sandbox does); `Function::start` runs the
//! binary against it with only the environment Lambda would give it.

mod binaries;
mod function;
mod runtime_api;

pub use binaries::release_binary;
pub use function::Function;
pub use runtime_api::{Outcome, RuntimeApi};
