use herald_domain::{DomainError, FieldError, Platform};
use herald_ports::{BlobError, BusError, NetworkError, TableError, WakeError};

/// What a use case can answer instead of a result. The edge maps each to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("missing or invalid API key")]
    Unauthorized,
    /// A signed request (an inbound webhook) whose signature does not hold: why, for the sender.
    #[error("{0}")]
    BadSignature(String),
    /// This key's request allowance is spent: try again after this many seconds.
    #[error("too many requests; try again in {0} s")]
    RateLimited(u64),
    #[error("this key may not do that")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    #[error("{0} is not configured on this server")]
    NetworkNotConfigured(Platform),
    #[error("storage failure: {0}")]
    Storage(#[from] TableError),
    #[error("blob store failure: {0}")]
    Blob(#[from] BlobError),
    #[error("event bus failure: {0}")]
    Bus(#[from] BusError),
    #[error("wake-up failure: {0}")]
    WakeUps(#[from] WakeError),
    #[error("network failure: {0}")]
    Network(#[from] NetworkError),
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(errors) => AppError::Invalid(errors),
            DomainError::Conflict(m) => AppError::Conflict(m),
        }
    }
}
