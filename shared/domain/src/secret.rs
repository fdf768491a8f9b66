//! A value that must never reach a log: API keys, OAuth client secrets, account credentials,
//! session tokens. `Debug` shows `***`; the value is read only where it is used, on purpose.

use std::fmt;
use std::ops::{Deref, DerefMut};

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T = String>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl Secret<String> {
    /// The secret text, for the one place that sends or compares it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret<String> {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret<String> {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl From<serde_json::Value> for Secret<serde_json::Value> {
    fn from(v: serde_json::Value) -> Self {
        Secret(v)
    }
}

/// Reading through the secret (credentials JSON, say) keeps call sites plain; printing it
/// does not go through here.
impl<T> Deref for Secret<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Secret<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_but_reads_through() {
        let s = Secret::new("hunter2".to_owned());
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", Some(&s)), "Some(***)");
        assert_eq!(s.expose(), "hunter2");
        let creds: Secret<serde_json::Value> = serde_json::json!({"access_token": "AT"}).into();
        assert_eq!(creds["access_token"], "AT");
        assert!(!format!("{creds:?}").contains("AT"));
    }
}
