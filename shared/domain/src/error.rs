use serde::Serialize;

/// One offending field of a request, named as the client sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What a domain rule refuses. The edge maps each variant to one HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
}

impl DomainError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError::new(field, message)])
    }
}
