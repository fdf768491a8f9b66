//! What the targets of one tick share while they are prepared: each account's opened (and, when
//! due, renewed) credentials and each post, read once however many targets name them.

use crate::{AppError, Deps, accounts, posts};
use chrono::{DateTime, Utc};
use herald_domain::{AccountId, Post, PostId, WorkspaceId};
use herald_ports::{AccountContext, Connector, NetworkError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

type Cell<T> = Arc<OnceCell<T>>;
type Cells<K, T> = Mutex<HashMap<K, Cell<T>>>;

/// One tick's reads. A failed table read is not kept (the next target reads again); a network's
/// refusal to renew credentials is, so every target of that account counts it as its attempt
/// without asking the network again within the tick.
#[derive(Default)]
pub(super) struct Cache {
    accounts: Cells<(WorkspaceId, AccountId), Result<AccountContext, NetworkError>>,
    posts: Cells<(WorkspaceId, PostId), Arc<Post>>,
}

fn cell<K: Eq + std::hash::Hash, T>(map: &Cells<K, T>, key: K) -> Cell<T> {
    map.lock()
        .expect("cache lock")
        .entry(key)
        .or_default()
        .clone()
}

impl Cache {
    pub(super) async fn post(
        &self,
        deps: &Deps,
        ws: &WorkspaceId,
        id: &PostId,
    ) -> Result<Arc<Post>, AppError> {
        let cell = cell(&self.posts, (ws.clone(), id.clone()));
        cell.get_or_try_init(|| async {
            let (post, _) = posts::load(deps, ws, id).await?;
            Ok::<_, AppError>(Arc::new(post))
        })
        .await
        .cloned()
    }

    /// The account's context with credentials renewed when the network says they are due.
    pub(super) async fn account(
        &self,
        deps: &Deps,
        connector: &dyn Connector,
        ws: &WorkspaceId,
        id: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<Result<AccountContext, NetworkError>, AppError> {
        let cell = cell(&self.accounts, (ws.clone(), id.clone()));
        cell.get_or_try_init(|| async {
            let account = accounts::get(deps, ws, id).await?;
            let mut context = accounts::context(deps, &account).await?;
            match connector.refresh_credentials(&context, now).await {
                Ok(Some(fresh)) => {
                    deps.table
                        .put(accounts::credentials_item(deps, ws, id, &fresh), None)
                        .await?;
                    context.credentials = fresh.into();
                }
                Ok(None) => {}
                Err(e) => return Ok(Err(e)),
            }
            Ok::<_, AppError>(Ok(context))
        })
        .await
        .cloned()
    }
}
