//! Compact binary encoding of items and of the ordered keys of the embedded table.
//!
//! Items: a tag byte per value, LEB128 lengths, zigzag numbers; `pk` and `sk` are left out
//! because the stored key holds them. Keys: components joined by a NUL byte, which sorts below
//! every other byte, so byte order of the joined key is the order of its components (key
//! strings may therefore not contain NUL).

use herald_ports::table::{PK, SK};
use herald_ports::{Item, Key, Value};
use std::collections::BTreeMap;

const S: u8 = 0;
const N: u8 = 1;
const B: u8 = 2;
const FALSE: u8 = 3;
const TRUE: u8 = 4;
const NULL: u8 = 5;
const L: u8 = 6;
const M: u8 = 7;

/// Nested lists and maps deeper than this are refused (DynamoDB allows 32 levels).
const MAX_DEPTH: usize = 32;

pub(crate) fn encode_item(item: &Item, out: &mut Vec<u8>) {
    let count = item.keys().filter(|k| *k != PK && *k != SK).count();
    put_len(count, out);
    for (name, value) in item {
        if name == PK || name == SK {
            continue;
        }
        put_bytes(name.as_bytes(), out);
        encode_value(value, out);
    }
}

fn encode_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::S(s) => {
            out.push(S);
            put_bytes(s.as_bytes(), out);
        }
        Value::N(n) => {
            out.push(N);
            put_varint(((n << 1) ^ (n >> 63)) as u64, out);
        }
        Value::B(b) => {
            out.push(B);
            put_bytes(b, out);
        }
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Null => out.push(NULL),
        Value::L(list) => {
            out.push(L);
            put_len(list.len(), out);
            for v in list {
                encode_value(v, out);
            }
        }
        Value::M(map) => {
            out.push(M);
            put_len(map.len(), out);
            for (k, v) in map {
                put_bytes(k.as_bytes(), out);
                encode_value(v, out);
            }
        }
    }
}

fn put_len(n: usize, out: &mut Vec<u8>) {
    put_varint(n as u64, out);
}

fn put_bytes(b: &[u8], out: &mut Vec<u8>) {
    put_len(b.len(), out);
    out.extend_from_slice(b);
}

fn put_varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Decodes a stored item and puts its key back in.
pub(crate) fn decode_item(key: &Key, bytes: &[u8]) -> Result<Item, String> {
    let mut r = Reader { bytes, at: 0 };
    let count = r.len()?;
    let mut item = key.item();
    for _ in 0..count {
        let name = r.string()?;
        let value = r.value(0)?;
        item.insert(name, value);
    }
    if r.at != bytes.len() {
        return Err("trailing bytes after item".into());
    }
    Ok(item)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.bytes.get(self.at).ok_or("item truncated")?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        Err("varint too long".into())
    }

    fn len(&mut self) -> Result<usize, String> {
        let n = self.varint()?;
        // A length can never exceed what is left: refuse before allocating for it.
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.bytes.len() - self.at)
            .ok_or_else(|| "length past the end of the item".to_string())
    }

    fn raw(&mut self) -> Result<&[u8], String> {
        let n = self.len()?;
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn string(&mut self) -> Result<String, String> {
        String::from_utf8(self.raw()?.to_vec()).map_err(|_| "string not UTF-8".to_string())
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("values nested too deep".into());
        }
        Ok(match self.byte()? {
            S => Value::S(self.string()?),
            N => {
                let z = self.varint()?;
                Value::N(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            B => Value::B(self.raw()?.to_vec()),
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            NULL => Value::Null,
            L => {
                let n = self.len()?;
                let mut list = Vec::with_capacity(n);
                for _ in 0..n {
                    list.push(self.value(depth + 1)?);
                }
                Value::L(list)
            }
            M => {
                let n = self.len()?;
                let mut map = BTreeMap::new();
                for _ in 0..n {
                    let k = self.string()?;
                    map.insert(k, self.value(depth + 1)?);
                }
                Value::M(map)
            }
            t => return Err(format!("unknown value tag {t}")),
        })
    }
}

/// Joins key components with NUL separators.
pub(crate) fn join(parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(p.as_bytes());
    }
    out
}

/// Splits a joined key into its components.
pub(crate) fn split(bytes: &[u8]) -> Result<Vec<&str>, String> {
    bytes
        .split(|b| *b == 0)
        .map(|p| std::str::from_utf8(p).map_err(|_| "key not UTF-8".to_string()))
        .collect()
}

pub(crate) fn table_key(key: &Key) -> Vec<u8> {
    join(&[&key.pk, &key.sk])
}

/// The last two components of a joined key: the table key an index entry points to.
pub(crate) fn key_from_tail(bytes: &[u8]) -> Result<Key, String> {
    let parts = split(bytes)?;
    match parts.as_slice() {
        [.., pk, sk] => Ok(Key::new(*pk, *sk)),
        _ => Err("index entry without a table key".into()),
    }
}

/// TTL index key: the expiry as big-endian with the sign bit flipped (so byte order is numeric
/// order, negatives included), then the table key.
pub(crate) fn ttl_key(ttl: i64, key: &Key) -> Vec<u8> {
    let mut out = ((ttl as u64) ^ (1 << 63)).to_be_bytes().to_vec();
    out.extend_from_slice(&table_key(key));
    out
}

pub(crate) fn ttl_bound(ttl: i64) -> [u8; 8] {
    ((ttl as u64) ^ (1 << 63)).to_be_bytes()
}

/// The smallest byte string greater than every string that starts with `prefix`.
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Item {
        let mut item = Key::new("p", "s").item();
        item.insert("s".into(), Value::S("héllo".into()));
        item.insert("n".into(), Value::N(i64::MIN));
        item.insert("m".into(), Value::N(i64::MAX));
        item.insert("z".into(), Value::N(-1));
        item.insert("b".into(), Value::B(vec![0, 1, 255]));
        item.insert("t".into(), Value::Bool(true));
        item.insert("f".into(), Value::Bool(false));
        item.insert("x".into(), Value::Null);
        let mut map = BTreeMap::new();
        map.insert(
            "k".into(),
            Value::L(vec![Value::N(300), Value::S(String::new())]),
        );
        item.insert("map".into(), Value::M(map));
        item
    }

    #[test]
    fn items_decode_to_what_was_encoded() {
        let item = sample();
        let mut bytes = Vec::new();
        encode_item(&item, &mut bytes);
        assert_eq!(decode_item(&Key::new("p", "s"), &bytes).unwrap(), item);
    }

    #[test]
    fn truncated_or_garbled_items_are_refused_not_misread() {
        let mut bytes = Vec::new();
        encode_item(&sample(), &mut bytes);
        for cut in 0..bytes.len() {
            assert!(
                decode_item(&Key::new("p", "s"), &bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode_item(&Key::new("p", "s"), &long).is_err());
    }

    #[test]
    fn joined_keys_sort_as_their_components_do() {
        assert!(join(&["a", "z"]) < join(&["ab", "a"]));
        assert!(join(&["a", "b"]) < join(&["a", "ba"]));
        assert_eq!(split(&join(&["x", "y", "z"])).unwrap(), vec!["x", "y", "z"]);
        assert_eq!(
            key_from_tail(&join(&["g", "h", "p", "s"])).unwrap(),
            Key::new("p", "s")
        );
    }

    #[test]
    fn ttl_keys_sort_numerically_across_the_sign() {
        let k = Key::new("p", "s");
        assert!(ttl_key(-5, &k) < ttl_key(3, &k));
        assert!(ttl_key(3, &k) < ttl_key(1_000, &k));
        assert!(ttl_bound(4)[..] > ttl_key(3, &k)[..8]);
    }

    #[test]
    fn the_prefix_end_is_above_every_extension() {
        assert_eq!(prefix_end(b"ab").unwrap(), b"ac".to_vec());
        assert_eq!(prefix_end(b"a\xff").unwrap(), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff"), None);
    }
}
