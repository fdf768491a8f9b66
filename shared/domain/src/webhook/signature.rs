//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under
//! a `whsec_<base64>` secret. A `webhook-signature` header holds one or more space-separated
//! entries (several during a secret's rotation); any `v1` entry that matches is enough.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far `webhook-timestamp` may be from now, either way (replays and clock skew).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;
/// A `webhook-id` longer than this is refused (it is kept as a key).
pub const MAX_ID_LEN: usize = 255;
const PREFIX: &str = "whsec_";

/// A signing secret's key bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    pub fn from_bytes(bytes: &[u8]) -> Secret {
        Secret(bytes.to_vec())
    }

    /// `whsec_<base64>` (the prefix may be left out, as the spec's libraries allow).
    pub fn parse(text: &str) -> Option<Secret> {
        let b64 = text.strip_prefix(PREFIX).unwrap_or(text);
        let bytes = STANDARD.decode(b64).ok()?;
        (!bytes.is_empty()).then_some(Secret(bytes))
    }

    /// The secret as users are shown it once.
    pub fn encode(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// The `webhook-signature` entry for a message: `v1,<base64>`.
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1,{}", STANDARD.encode(secret.mac(id, timestamp, body)))
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("webhook-id must be 1 to {MAX_ID_LEN} printable characters")]
    BadId,
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is more than 5 minutes old")]
    Stale,
    #[error("webhook-timestamp is more than 5 minutes in the future")]
    Future,
    #[error("no webhook-signature entry matches")]
    NoMatch,
}

/// Checks a message's three headers against any of `secrets` (the current one and, during a
/// rotation, the one before). `now` is epoch seconds. Answers the `webhook-id` on success.
pub fn verify<'a>(
    secrets: &[Secret],
    id: Option<&'a str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<&'a str, SignatureError> {
    let id = id.ok_or(SignatureError::Missing("webhook-id"))?;
    let timestamp = timestamp.ok_or(SignatureError::Missing("webhook-timestamp"))?;
    let signature = signature.ok_or(SignatureError::Missing("webhook-signature"))?;
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SignatureError::BadId);
    }
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if ts < now.saturating_sub(TOLERANCE_SECONDS) {
        return Err(SignatureError::Stale);
    }
    if ts > now.saturating_add(TOLERANCE_SECONDS) {
        return Err(SignatureError::Future);
    }
    let expected: Vec<[u8; 32]> = secrets.iter().map(|s| s.mac(id, ts, body)).collect();
    let mut matched = false;
    for entry in signature.split(' ').filter(|e| !e.is_empty()) {
        let Some(("v1", b64)) = entry.split_once(',') else {
            continue;
        };
        let Ok(given) = STANDARD.decode(b64) else {
            continue;
        };
        for mac in &expected {
            // No short-circuit: every entry and secret is compared, in constant time each.
            matched |= constant_time_eq(&given, mac);
        }
    }
    matched.then_some(id).ok_or(SignatureError::NoMatch)
}

/// Equal bytes, in time that depends only on the lengths. Lengths first: a prefix (an empty
/// `v1,` entry, a truncated signature) is not equal, as a zip of the two would say it is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // The spec's published test vector (standard-webhooks, every library's tests).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret() -> Vec<Secret> {
        vec![Secret::parse(SECRET).unwrap()]
    }

    fn check(signature: &str, now: i64) -> Result<&'static str, SignatureError> {
        verify(
            &secret(),
            Some(ID),
            Some(&TS.to_string()),
            Some(signature),
            BODY,
            now,
        )
    }

    #[test]
    fn the_published_vector_signs_and_verifies() {
        assert_eq!(sign(&secret()[0], ID, TS, BODY), SIGNATURE);
        assert_eq!(check(SIGNATURE, TS), Ok(ID));
        assert_eq!(Secret::parse(SECRET).unwrap().encode(), SECRET);
    }

    #[test]
    fn an_empty_v1_entry_and_a_truncated_signature_are_refused() {
        assert_eq!(check("v1,", TS), Err(SignatureError::NoMatch));
        assert_eq!(check("v1", TS), Err(SignatureError::NoMatch));
        assert_eq!(check("", TS), Err(SignatureError::NoMatch));
        let truncated = &SIGNATURE[..SIGNATURE.len() - 4];
        assert_eq!(check(truncated, TS), Err(SignatureError::NoMatch));
        // Decodes to 31 of the 32 bytes: still a prefix, still refused.
        let short = format!(
            "v1,{}",
            STANDARD.encode(&STANDARD.decode(&SIGNATURE[3..]).unwrap()[..31])
        );
        assert_eq!(check(&short, TS), Err(SignatureError::NoMatch));
        let one_bit = SIGNATURE.replace("g0hM", "g0hN");
        assert_eq!(check(&one_bit, TS), Err(SignatureError::NoMatch));
    }

    #[test]
    fn any_matching_entry_among_several_is_enough_and_other_versions_are_ignored() {
        let other = "v1,bm90IHRoZSBzaWduYXR1cmUgYXQgYWxsIHJlYWxseQ==";
        assert_eq!(check(&format!("{other} {SIGNATURE}"), TS), Ok(ID));
        assert_eq!(check(&format!("{SIGNATURE} {other}"), TS), Ok(ID));
        // The same bytes under another version tag are not a v1 signature.
        let v2 = SIGNATURE.replace("v1,", "v2,");
        assert_eq!(check(&v2, TS), Err(SignatureError::NoMatch));
        assert_eq!(
            check(&format!("{v2} {other}"), TS),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn either_secret_of_a_rotation_verifies() {
        let old = Secret::from_bytes(b"the secret before");
        let new = Secret::from_bytes(b"the secret now");
        let both = [new.clone(), old.clone()];
        for s in [&old, &new] {
            let sig = sign(s, ID, TS, BODY);
            assert_eq!(
                verify(&both, Some(ID), Some("1614265330"), Some(&sig), BODY, TS),
                Ok(ID)
            );
        }
        let sig = sign(&old, ID, TS, BODY);
        assert_eq!(
            verify(&[new], Some(ID), Some("1614265330"), Some(&sig), BODY, TS),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn the_timestamp_holds_within_five_minutes_either_way_and_not_beyond() {
        assert_eq!(check(SIGNATURE, TS + TOLERANCE_SECONDS), Ok(ID));
        assert_eq!(check(SIGNATURE, TS - TOLERANCE_SECONDS), Ok(ID));
        assert_eq!(
            check(SIGNATURE, TS + TOLERANCE_SECONDS + 1),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check(SIGNATURE, TS - TOLERANCE_SECONDS - 1),
            Err(SignatureError::Future)
        );
        let s = secret();
        for bad in ["", "abc", "1614265330.5", "99999999999999999999"] {
            assert_eq!(
                verify(&s, Some(ID), Some(bad), Some(SIGNATURE), BODY, TS),
                Err(SignatureError::BadTimestamp),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_changed_body_or_id_does_not_verify_and_missing_headers_are_named() {
        let s = secret();
        let ts = TS.to_string();
        let changed = br#"{"test": 2432232315}"#;
        assert_eq!(
            verify(&s, Some(ID), Some(&ts), Some(SIGNATURE), changed, TS),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(&s, Some("msg_other"), Some(&ts), Some(SIGNATURE), BODY, TS),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(&s, None, Some(&ts), Some(SIGNATURE), BODY, TS),
            Err(SignatureError::Missing("webhook-id"))
        );
        assert_eq!(
            verify(&s, Some(ID), None, Some(SIGNATURE), BODY, TS),
            Err(SignatureError::Missing("webhook-timestamp"))
        );
        assert_eq!(
            verify(&s, Some(ID), Some(&ts), None, BODY, TS),
            Err(SignatureError::Missing("webhook-signature"))
        );
        assert_eq!(
            verify(&[], Some(ID), Some(&ts), Some(SIGNATURE), BODY, TS),
            Err(SignatureError::NoMatch)
        );
        let long = "m".repeat(MAX_ID_LEN + 1);
        assert_eq!(
            verify(&s, Some(&long), Some(&ts), Some(SIGNATURE), BODY, TS),
            Err(SignatureError::BadId)
        );
    }

    #[test]
    fn lengths_are_compared_before_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
    }
}
