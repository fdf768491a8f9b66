//! Secrets at rest: account credentials are sealed before they reach the table, bound to the
//! workspace and account they belong to, so a sealed value copied elsewhere does not open.

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the sealed value is not valid or is too short")]
    Malformed,
    #[error("the sealed value has unknown version {0}")]
    UnknownVersion(u8),
    /// Wrong key, wrong binding, or tampered bytes: authenticated encryption cannot tell which.
    #[error("the sealed value could not be opened")]
    Rejected,
}

pub trait Sealer: Send + Sync + 'static {
    /// Seals `plaintext`, authenticating `binding` with it (not storing it).
    fn seal(&self, plaintext: &[u8], binding: &[u8]) -> String;
    fn open(&self, sealed: &str, binding: &[u8]) -> Result<Vec<u8>, SealError>;
}

/// What a sealed account credential is bound to: its workspace and account.
pub fn account_binding(workspace: &str, account: &str) -> Vec<u8> {
    format!("herald/credentials/{workspace}/{account}").into_bytes()
}
