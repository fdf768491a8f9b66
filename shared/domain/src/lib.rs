//! Herald's domain: the words a social media team uses (workspace, account, post, target, media)
//! and the rules between them. It names no AWS, HTTP or Lambda type, and time is always an input.

pub mod account;
pub mod audit;
pub mod error;
pub mod event;
pub mod hours;
pub mod ids;
pub mod limits;
pub mod media;
pub mod platform;
pub mod post;
pub mod profiles;
pub mod roles;
pub mod secret;
pub mod webhook;
pub mod workspace;

pub use account::{Account, AccountStatus};
pub use audit::{Actor, AuditEntry};
pub use error::{DomainError, FieldError};
pub use event::{Event, EventKind};
pub use hours::BusinessHours;
pub use ids::{
    AccountId, ApiKeyId, AuditId, DeliveryId, EndpointId, EventId, InboxItemId, MediaId, MemberId,
    PostId, ReviewLinkId, WorkspaceId,
};
pub use limits::{NetworkLimits, RateLimit, TextCounting};
pub use media::{MediaItem, MediaStatus, Rendition};
pub use platform::Platform;
pub use post::{
    Approval, Frequency, Post, PostKind, PostLifecycle, PostStatus, Recurrence, ReviewComment,
    Target, TargetStatus, Variant,
};
pub use roles::Action;
pub use secret::Secret;
pub use workspace::{ApiKey, Member, Role, Settings, Workspace};
