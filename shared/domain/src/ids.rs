//! Prefixed, time-sortable ids (`post_01h...`). Ids are embedded in table keys, so parsing
//! accepts only the prefix and lowercase ULID characters: nothing can smuggle a `#` into a key.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

macro_rules! id_type {
    ($name:ident, $prefix:literal) => {
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id whose order follows `now_ms` (milliseconds since the epoch).
            pub fn generate(now_ms: u64, random: u128) -> Self {
                let ulid = ulid::Ulid::from_parts(now_ms, random);
                Self(format!(
                    "{}_{}",
                    $prefix,
                    ulid.to_string().to_ascii_lowercase()
                ))
            }

            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?.strip_prefix('_')?;
                (rest.len() == 26
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()))
                .then(|| Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s)
                    .ok_or_else(|| serde::de::Error::custom(format!("not a valid {} id", $prefix)))
            }
        }

        // A string of the id's own shape in the OpenAPI document: the prefix and 26 ULID
        // characters, exactly what `parse` accepts.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^", $prefix, "_[0-9a-z]{26}$")))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                Self::parse(s).ok_or(())
            }
        }
    };
}

id_type!(WorkspaceId, "ws");
id_type!(AccountId, "acct");
id_type!(PostId, "post");
id_type!(MediaId, "med");
id_type!(ApiKeyId, "key");
id_type!(EventId, "evt");
id_type!(MemberId, "mem");
id_type!(ReviewLinkId, "rvl");
id_type!(AuditId, "aud");
id_type!(EndpointId, "ep");
// One event for one webhook endpoint: the `webhook-id` every attempt of it carries.
id_type!(DeliveryId, "msg");
id_type!(InboxItemId, "inb");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_sort_by_time() {
        let a = PostId::generate(1_000, 7);
        let b = PostId::generate(2_000, 1);
        assert_eq!(PostId::parse(a.as_str()), Some(a.clone()));
        assert!(a < b);
        assert!(a.as_str().starts_with("post_"));
    }

    #[test]
    fn ids_with_key_separators_or_wrong_prefix_are_refused() {
        let good = AccountId::generate(5, 5);
        assert!(PostId::parse(good.as_str()).is_none());
        let evil = format!("{}#x", &good.as_str()[..good.as_str().len() - 2]);
        assert!(AccountId::parse(&evil).is_none());
        assert!(AccountId::parse("acct_").is_none());
    }
}
