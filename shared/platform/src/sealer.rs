//! The sealer the use cases hold, whose key may arrive after init: on AWS it is read from SSM
//! by the start's pending work (`startup::Pending`), which every invocation awaits before it
//! runs a use case; sealing and opening stay synchronous (cursors, credentials).

use herald_networks::crypto::Sealer;
use std::sync::{Arc, OnceLock};

#[derive(Clone, Default)]
pub(crate) struct LateSealer(Arc<OnceLock<Sealer>>);

impl LateSealer {
    pub(crate) fn with_key(key: [u8; 32]) -> Self {
        let sealer = Self::default();
        sealer.set(key);
        sealer
    }

    /// The key, once; a second key (a retried read after a success cannot happen) is ignored.
    pub(crate) fn set(&self, key: [u8; 32]) {
        let _ = self.0.set(Sealer::new(key));
    }

    fn sealer(&self) -> &Sealer {
        // Every entry point awaits `Built::ready` before a use case runs: reaching this
        // without the key is a bug in that entry point, not a state to answer.
        self.0
            .get()
            .expect("the sealing key is read before any use case runs (await Built::ready)")
    }
}

impl herald_ports::Sealer for LateSealer {
    fn seal(&self, plaintext: &[u8], binding: &[u8]) -> String {
        herald_ports::Sealer::seal(self.sealer(), plaintext, binding)
    }

    fn open(&self, sealed: &str, binding: &[u8]) -> Result<Vec<u8>, herald_ports::SealError> {
        herald_ports::Sealer::open(self.sealer(), sealed, binding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_ports::Sealer as _;

    #[test]
    fn a_key_set_later_seals_and_opens_as_the_same_key_at_once() {
        let late = LateSealer::default();
        late.set([3; 32]);
        let now = LateSealer::with_key([3; 32]);
        let sealed = late.seal(b"token", b"binding");
        assert_eq!(now.open(&sealed, b"binding").unwrap(), b"token");
        late.set([4; 32]);
        assert_eq!(late.open(&sealed, b"binding").unwrap(), b"token");
    }

    #[test]
    #[should_panic(expected = "await Built::ready")]
    fn sealing_before_the_key_is_a_bug_that_says_where() {
        LateSealer::default().seal(b"token", b"binding");
    }
}
