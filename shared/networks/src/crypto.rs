//! Tokens at rest: AES-256-GCM with a key from config. A sealed value is
//! `base64(version ‖ nonce ‖ ciphertext+tag)`; the associated data (workspace and account ids)
//! is authenticated but not stored, so a sealed token copied to another account fails to open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

/// The layout version, first byte of every sealed value, so the format can change later
/// without guessing what an old value is.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the encryption key must be 32 bytes of base64")]
    BadKey,
    #[error("the sealed value is not valid base64 or is too short")]
    Malformed,
    #[error("the sealed value has unknown version {0}")]
    UnknownVersion(u8),
    /// Wrong key, wrong associated data, or tampered bytes: GCM cannot tell which, by design.
    #[error("the sealed value could not be opened")]
    Rejected,
}

/// Seals and opens small secrets (OAuth tokens) with one AES-256-GCM key.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    // The key never prints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    pub fn new(key: [u8; 32]) -> Self {
        Sealer {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    /// A sealer from a base64 key (standard alphabet, padded or not), as config holds it.
    pub fn from_base64(key: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(key.trim())
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(key.trim()))
            .map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self::new(key))
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        // A random 96-bit nonce per message: safe for far more messages than one key will see.
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encryption cannot fail for inputs this small");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        STANDARD.encode(out)
    }

    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let bytes = STANDARD
            .decode(sealed.trim())
            .map_err(|_| CryptoError::Malformed)?;
        if bytes.len() < 1 + NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        if bytes[0] != VERSION {
            return Err(CryptoError::UnknownVersion(bytes[0]));
        }
        let (nonce, ciphertext) = bytes[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Rejected)
    }
}

/// The sealing port, as the use cases reach it.
impl herald_ports::Sealer for Sealer {
    fn seal(&self, plaintext: &[u8], binding: &[u8]) -> String {
        Sealer::seal(self, plaintext, binding)
    }

    fn open(&self, sealed: &str, binding: &[u8]) -> Result<Vec<u8>, herald_ports::SealError> {
        Sealer::open(self, sealed, binding).map_err(|e| match e {
            CryptoError::UnknownVersion(v) => herald_ports::SealError::UnknownVersion(v),
            CryptoError::Rejected => herald_ports::SealError::Rejected,
            CryptoError::BadKey | CryptoError::Malformed => herald_ports::SealError::Malformed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::new([byte; 32])
    }

    #[test]
    fn a_sealed_token_opens_back_to_the_same_bytes() {
        let s = sealer(7);
        let aad = herald_ports::account_binding("ws_1", "acct_1");
        let sealed = s.seal(br#"{"access_token":"abc"}"#, &aad);
        assert_eq!(s.open(&sealed, &aad).unwrap(), br#"{"access_token":"abc"}"#);
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let s = sealer(7);
        assert_ne!(s.seal(b"same", b"aad"), s.seal(b"same", b"aad"));
    }

    #[test]
    fn a_tampered_sealed_value_is_refused() {
        let s = sealer(7);
        let sealed = s.seal(b"secret", b"aad");
        let mut bytes = STANDARD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        bytes[20] ^= 0x40;
        assert_eq!(
            s.open(&STANDARD.encode(bytes), b"aad"),
            Err(CryptoError::Rejected)
        );
    }

    #[test]
    fn a_token_sealed_for_one_account_does_not_open_for_another() {
        let s = sealer(7);
        let sealed = s.seal(b"secret", &herald_ports::account_binding("ws_1", "acct_1"));
        assert_eq!(
            s.open(&sealed, &herald_ports::account_binding("ws_1", "acct_2")),
            Err(CryptoError::Rejected)
        );
        assert_eq!(
            s.open(&sealed, &herald_ports::account_binding("ws_2", "acct_1")),
            Err(CryptoError::Rejected)
        );
    }

    #[test]
    fn a_different_key_cannot_open_a_sealed_value() {
        let sealed = sealer(7).seal(b"secret", b"aad");
        assert_eq!(sealer(8).open(&sealed, b"aad"), Err(CryptoError::Rejected));
    }

    #[test]
    fn garbage_and_unknown_versions_are_told_apart_from_forgery() {
        let s = sealer(7);
        assert_eq!(s.open("not base64!", b""), Err(CryptoError::Malformed));
        assert_eq!(
            s.open(&STANDARD.encode([1u8; 10]), b""),
            Err(CryptoError::Malformed)
        );
        let mut bytes = STANDARD.decode(s.seal(b"x", b"")).unwrap();
        bytes[0] = 9;
        assert_eq!(
            s.open(&STANDARD.encode(bytes), b""),
            Err(CryptoError::UnknownVersion(9))
        );
    }

    #[test]
    fn a_key_from_config_must_be_32_bytes_of_base64() {
        let key = STANDARD.encode([3u8; 32]);
        let from_config = Sealer::from_base64(&key).unwrap();
        let sealed = sealer(3).seal(b"k", b"a");
        assert_eq!(from_config.open(&sealed, b"a").unwrap(), b"k");
        assert_eq!(
            Sealer::from_base64(&STANDARD.encode([3u8; 16])).unwrap_err(),
            CryptoError::BadKey
        );
        assert_eq!(Sealer::from_base64("%%%").unwrap_err(), CryptoError::BadKey);
    }
}
