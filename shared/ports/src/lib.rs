//! The ports: the few traits through which Herald's logic reaches the outside world. Each has an
//! AWS adapter and an embedded one; neither side's types appear here.

pub mod blob;
pub mod bus;
pub mod clock;
pub mod guard;
pub mod network;
pub mod oauth;
pub mod random;
pub mod sealer;
pub mod table;
pub mod video;
pub mod wake;
pub mod webhook;

pub use blob::{BlobError, BlobReader, BlobStore};
pub use bus::{BusError, BusEvent, EventBus};
pub use clock::Clock;
pub use guard::{Fetched, UrlGuard};
pub use network::{
    AccountContext, Checkpoint, Connector, Connectors, MediaRef, NetworkError, NetworkErrorKind,
    NoCheckpoint, Notification, NotificationPage, PostMetrics, PublishRequest, Published,
};
pub use oauth::OAuthFlow;
pub use random::Random;
pub use sealer::{SealError, Sealer, account_binding};
pub use table::{
    Condition, Item, Key, Page, Query, SortCondition, Table, TableError, TxOp, Update, Value,
};
pub use video::{Encode, VideoError, VideoProbe, VideoTool};
pub use wake::{DelayedSend, WakeError, WakeJob, WakeUps};
pub use webhook::{WebhookAnswer, WebhookSender};
