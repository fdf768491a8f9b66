//! Composing, scheduling and cancelling posts. A post and all its targets are written in one
//! transaction, together with the idempotency record when the client sent a key.

mod cancel;
mod create;
mod edit;
mod idempotency;
mod measure;
mod review;
mod schedule;
mod series;
pub(crate) mod store;
mod validate;
mod view;

pub use cancel::cancel;
pub use create::{check, create, create_from_webhook};
pub use edit::{PostEdit, edit};
pub use measure::{Measure, MeasureRequest, measure};
pub use review::{Author, Review, approve, comment, request_changes};
pub use schedule::schedule;
pub use series::ensure_next_occurrence;
pub use store::{get, load};
pub use view::{Created, NewPost, PostView, TargetView};
