//! The one rule for blob keys, shared by every store so the filesystem and S3 accept and refuse
//! the same keys.

use herald_ports::BlobError;

/// S3's own limit on key length, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// A key is a relative path of non-empty `/`-separated segments: no leading `/`, no `.` or `..`
/// segment, no backslash and no control character (NUL included). Anything else could escape
/// the store's directory locally or mean something different on S3 than on disk.
pub fn validate_key(key: &str) -> Result<(), BlobError> {
    let refuse = || Err(BlobError::InvalidKey(key.escape_debug().to_string()));
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return refuse();
    }
    if key.chars().any(|c| c == '\\' || c.is_control()) {
        return refuse();
    }
    // A leading or trailing `/`, or `//`, shows up as an empty segment.
    if key
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return refuse();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_media_keys_are_accepted() {
        for key in [
            "ws_1/media/med_2/original",
            "ws_1/media/med_2/renditions/instagram-feed.jpg",
            "a",
        ] {
            assert_eq!(validate_key(key), Ok(()), "{key}");
        }
    }

    #[test]
    fn keys_that_could_leave_the_store_or_are_ambiguous_are_refused() {
        let long = "a".repeat(MAX_KEY_BYTES + 1);
        for key in [
            "",
            "/etc/passwd",
            "ws_1/../../etc/passwd",
            "..",
            "ws_1/./x",
            "ws_1//x",
            "ws_1/x/",
            "ws_1\\x",
            "ws_1/x\0y",
            "ws_1/x\ny",
            long.as_str(),
        ] {
            assert!(
                matches!(validate_key(key), Err(BlobError::InvalidKey(_))),
                "{key:?} was accepted"
            );
        }
    }
}
