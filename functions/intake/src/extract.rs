//! Request extractors: the caller's key and what its role may do, and JSON bodies with
//! field-named errors.

use crate::problem::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use herald_app::api_rate::ApiLimits;
use herald_app::auth::{self, Principal};
use herald_app::{AppError, Deps};
use herald_domain::{Action, WorkspaceId};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Arc;

/// The authenticated caller: `Authorization: Bearer <key>`, the scheme in any case
/// (RFC 9110 makes auth schemes case-insensitive).
pub struct Caller(pub Principal);

impl FromRequestParts<Arc<Deps>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, deps: &Arc<Deps>) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .ok_or(ApiError::App(AppError::Unauthorized))?;
        let caller = auth::authenticate(deps, token).await?;
        // Counted once the key is known; public routes and bad keys take no allowance.
        let limits = parts
            .extensions
            .get::<ApiLimits>()
            .copied()
            .unwrap_or_default();
        let ws = match &caller {
            Principal::Member { workspace, .. } => Some(workspace),
            Principal::Admin => None,
        };
        herald_app::api_rate::take(deps, ws, token, limits, deps.clock.now()).await?;
        Ok(Caller(caller))
    }
}

/// A caller allowed to do `P`'s action in their workspace. Every workspace route takes one,
/// first among its arguments, so the role is checked (`Principal::may`, the table in
/// `Role::may`) before the path or the body is read: a forbidden request is 403 whatever it
/// carries.
pub struct May<P> {
    pub caller: Principal,
    pub workspace: WorkspaceId,
    _action: PhantomData<P>,
}

/// Names an action as a type, for `May`.
pub trait Permission {
    const ACTION: Action;
}

/// The actions of `herald_domain::Action`, as types.
pub mod can {
    use super::{Action, Permission};
    macro_rules! permissions {
        ($($name:ident),*) => {$(
            pub struct $name;
            impl Permission for $name {
                const ACTION: Action = Action::$name;
            }
        )*};
    }
    permissions!(
        Read,
        WritePosts,
        Approve,
        ManageAccounts,
        ManageQueues,
        ManageWebhooks,
        ManageMembers,
        ManageSettings,
        AnswerInbox,
        ManageInboxRules
    );
}

impl<P: Permission> FromRequestParts<Arc<Deps>> for May<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, deps: &Arc<Deps>) -> Result<Self, ApiError> {
        let Caller(caller) = Caller::from_request_parts(parts, deps).await?;
        let workspace = caller.may(P::ACTION)?.clone();
        if let Some(slot) = parts.extensions.get::<crate::audit::AuditSlot>() {
            slot.acting(&workspace, caller.actor());
        }
        Ok(May {
            caller,
            workspace,
            _action: PhantomData,
        })
    }
}

/// The token of a `Bearer` credential, or None for another scheme or an empty token.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Query parameters, each named at most once: a repeated one is refused (400 naming it)
/// instead of one of its values being picked silently.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::Malformed(e.body_text()))?
            .0;
        let mut seen = std::collections::BTreeSet::new();
        for (name, _) in &pairs {
            if !seen.insert(name.as_str()) {
                return Err(ApiError::BadParameter {
                    field: name.clone(),
                    message: "given more than once".into(),
                });
            }
        }
        match axum::extract::Query::<T>::try_from_uri(&parts.uri) {
            Ok(q) => Ok(Query(q.0)),
            Err(e) => {
                let text = e.body_text();
                let message = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text)
                    .to_owned();
                let field = message.split('`').nth(1).unwrap_or("query").to_owned();
                Err(ApiError::invalid(&field, message))
            }
        }
    }
}

/// Path parameters. A parameter that is not valid UTF-8 once percent-decoded is malformed.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(p) => Ok(Path(p.0)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => match e.kind() {
                ErrorKind::InvalidUtf8InPathParam { key } => Err(ApiError::BadParameter {
                    field: key.clone(),
                    message: "not valid UTF-8 once percent-decoded".into(),
                }),
                _ => Err(ApiError::NotFound),
            },
            Err(other) => {
                tracing::error!(error = %other, "a route's path parameters do not match its handler");
                Err(ApiError::App(AppError::Corrupt("route parameters".into())))
            }
        }
    }
}

/// A JSON body: 415 unless it says JSON, 413 over the limit, 400 when it is not JSON, 422
/// naming the field when it is JSON of the wrong shape.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<Deps>> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, deps: &Arc<Deps>) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json") || v.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType("application/json"));
        }
        let bytes = axum::body::Bytes::from_request(req, deps)
            .await
            .map_err(body_error)?;
        parse(&bytes).map(Json)
    }
}

/// Why a body could not be read: over the limit (413), not sent in time (408: the local
/// server's body deadline fails the read with an `io::ErrorKind::TimedOut`), or cut off (400).
pub(crate) fn body_error(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
    if let BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) = rejection {
        return ApiError::TooLarge;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&rejection);
    while let Some(e) = source {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return ApiError::BodyTimeout;
        }
        source = e.source();
    }
    ApiError::Malformed("the body could not be read to its end".into())
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                // A missing field is reported at its parent: name the field itself.
                let missing = message
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next());
                let field = match (path.as_str(), missing) {
                    (".", Some(name)) => name.to_owned(),
                    (_, Some(name)) => format!("{path}.{name}"),
                    (".", None) => "body".to_owned(),
                    (_, None) => path,
                };
                ApiError::invalid(&field, message)
            }
            _ => ApiError::Malformed(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::Malformed(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// serde's messages end in " at line 1 column 9": useful in logs, noise for a field error.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}
