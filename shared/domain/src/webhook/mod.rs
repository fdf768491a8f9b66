//! Webhooks as the Standard Webhooks spec has them: signing and verifying a message, and when
//! a failed delivery is tried again. Pure functions: time and randomness are arguments.

pub mod retry;
pub mod signature;

pub use retry::{Outcome, next_attempt};
pub use signature::{Secret, SignatureError, sign, verify};
