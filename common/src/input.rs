//! Reading untrusted input: stdin through one capped reader, and JSON documents with
//! every object checked for repeated keys.
//!
//! serde_json keeps the last of two equal keys; for a document that decides who logs in
//! or what is revoked, "last one wins" lets one byte stream mean two things to two
//! parsers, so a repeated key anywhere is bad input instead.

use std::io::Read;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Result};

/// The most stdin any tool reads: a batch of tens of thousands of documents.
pub const MAX_STDIN_BYTES: u64 = 64 * 1024 * 1024;

/// Reads all of `source`, refusing (65) input longer than `max` bytes instead of
/// silently cutting it short. `what` names the input in messages ("proofs on stdin").
pub fn read_capped(source: impl Read, max: u64, what: &str) -> Result<Vec<u8>> {
    let mut input = Vec::new();
    source
        .take(max + 1)
        .read_to_end(&mut input)
        .map_err(|e| Error::bad_input(format!("reading {what}: {e}")))?;
    if input.len() as u64 > max {
        return Err(
            Error::bad_input(format!("{what} is larger than {}", size(max)))
                .hint("split the input into several runs"),
        );
    }
    Ok(input)
}

/// Reads stdin through [`read_capped`] with the house cap.
pub fn read_stdin(what: &str) -> Result<Vec<u8>> {
    read_capped(std::io::stdin().lock(), MAX_STDIN_BYTES, what)
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// Checks that no JSON object anywhere in `doc` repeats a key. Syntax errors are left
/// to the typed parse that follows, which reports them better.
pub fn check_unique_keys(doc: &[u8]) -> std::result::Result<(), String> {
    let mut de = serde_json::Deserializer::from_slice(doc);
    match de.deserialize_any(Unique) {
        Ok(()) => Ok(()),
        Err(e) if e.is_data() => Err(e.to_string()),
        Err(_) => Ok(()),
    }
}

/// Walks any JSON value, failing on the first object that repeats a key.
struct Unique;

impl<'de> Visitor<'de> for Unique {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while seq.next_element_seed(UniqueSeed)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format!("the key `{key}` appears twice")));
            }
            map.next_value_seed(UniqueSeed)?;
            seen.push(key);
        }
        Ok(())
    }
}

struct UniqueSeed;

impl<'de> de::DeserializeSeed<'de> for UniqueSeed {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(Unique)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_anywhere_are_found() {
        assert!(check_unique_keys(br#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_ok());
        let top = check_unique_keys(br#"{"role":"a","role":"b"}"#).unwrap_err();
        assert!(top.contains("`role` appears twice"), "{top}");
        assert!(check_unique_keys(br#"{"r":{"x":1,"x":2}}"#).is_err());
        assert!(check_unique_keys(br#"[{"x":1},{"y":[{"z":1,"z":1}]}]"#).is_err());
        assert!(
            check_unique_keys(br#"{"x":1,"\u0078":2}"#).is_err(),
            "escapes are compared decoded"
        );
        assert!(
            check_unique_keys(b"{not json").is_ok(),
            "syntax is left to the typed parse"
        );
    }

    #[test]
    fn capped_reader_refuses_instead_of_truncating() {
        assert_eq!(read_capped(&b"abcd"[..], 4, "x").unwrap(), b"abcd");
        let err = read_capped(&b"abcde"[..], 4, "stdin").unwrap_err();
        assert_eq!(err.code(), crate::ExitCode::BadInput);
        assert_eq!(err.to_string(), "stdin is larger than 4 bytes");
        let err = read_capped(&vec![b'x'; (1 << 20) + 1][..], 1 << 20, "stdin").unwrap_err();
        assert_eq!(err.to_string(), "stdin is larger than 1 MiB");
    }
}
