//! The bytes of one persisted value, and reading them back into today's type.
//!
//! Format 1: `0x81`, the shape hash (8 bytes, little endian; 0 when the value has no shape),
//! the field's version (bincode varint), then the value in bincode (standard config).
//! Values written before format 1 (`std::any::type_name`, a NUL, bincode) are still read.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::shape::{self, Traced};
use super::value::Value;
use super::walk;
use crate::error::{Error, Result};

/// First byte of a format-1 value. Older values start with an ASCII type name.
pub(crate) const FORMAT_1: u8 = 0x81;

/// Largest persisted value decoded: corrupt length prefixes must fail, not allocate.
const MAX_FIELD_BYTES: usize = 64 << 20;

fn codec() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_FIELD_BYTES>()
}

/// What a format-1 value says about itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    /// Hash of the shape it was written with; 0 for none.
    pub(crate) hash: u64,
    /// The field's version when it was written.
    pub(crate) version: u32,
    /// Where the bincode value starts.
    pub(crate) body: usize,
}

/// The header of `bytes`; `Ok(None)` for a value written before format 1.
pub(crate) fn header(bytes: &[u8]) -> std::result::Result<Option<Header>, String> {
    match bytes.first() {
        None => Err("the stored value is empty".into()),
        Some(&FORMAT_1) => {
            let hash = bytes
                .get(1..9)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_le_bytes)
                .ok_or("the stored value's header is cut short")?;
            let rest = &bytes[9..];
            let (version, used) = bincode::decode_from_slice::<u32, _>(rest, bincode::config::standard())
                .map_err(|_| "the stored value's version is corrupt")?;
            Ok(Some(Header {
                hash,
                version,
                body: 9 + used,
            }))
        }
        Some(b) if *b >= 0x80 => Err(format!(
            "the stored value is in format {}, newer than this build reads",
            b & 0x7f
        )),
        Some(_) => Ok(None),
    }
}

/// Encode `value` as version `version` of its field, in format 1.
pub(crate) fn encode<T: Serialize + DeserializeOwned + 'static>(value: &T, version: u32) -> Result<Vec<u8>> {
    let hash = shape::shape_for(value).map_or(0, |t| t.hash);
    let mut out = Vec::with_capacity(16);
    out.push(FORMAT_1);
    out.extend_from_slice(&hash.to_le_bytes());
    bincode::encode_into_std_write(version, &mut out, bincode::config::standard())
        .map_err(|e| Error::decode(format!("could not encode a persisted field: {e}")))?;
    bincode::serde::encode_into_std_write(value, &mut out, codec())
        .map_err(|e| Error::decode(format!("could not encode a persisted field: {e}")))?;
    Ok(out)
}

/// Decode `body` as exactly one `T`.
fn direct<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, String> {
    let (value, used) = bincode::serde::decode_from_slice::<T, _>(body, codec()).map_err(|e| e.to_string())?;
    if used != body.len() {
        return Err(format!("{} bytes left over after the value", body.len() - used));
    }
    Ok(value)
}

/// The value in `body` as a generic value, read through the shape with hash `hash`.
pub(crate) fn generic(hash: u64, body: &[u8]) -> std::result::Result<Value, String> {
    if hash == 0 {
        return Err("the value was stored without a shape, so it can be read only as the type that wrote it".into());
    }
    let traced: std::sync::Arc<Traced> =
        shape::by_hash(hash).ok_or_else(|| format!("the shape {hash:016x} this value was written with is missing"))?;
    walk::read(&traced.shape, body)
}

/// Rebuild a `T` from a generic value, by field and variant name.
fn rebuild<T: DeserializeOwned>(value: Value) -> std::result::Result<T, String> {
    T::deserialize(value).map_err(|e| format!("it does not fit today's type: {e}"))
}

/// Read a persisted value into `slot`, as version `version` of its field. `migrate` turns a
/// value of an older version (as JSON, with the version it was written as) into today's.
///
/// On error `slot` is unchanged; the message says why, for the log and the quarantine event.
pub(crate) fn decode<T: Serialize + DeserializeOwned + 'static>(
    slot: &mut T,
    bytes: &[u8],
    version: u32,
    migrate: Option<&dyn Fn(serde_json::Value, u32) -> std::result::Result<T, String>>,
) -> Result<()> {
    let value = read(slot, bytes, version, migrate).map_err(Error::decode)?;
    *slot = value;
    Ok(())
}

fn read<T: Serialize + DeserializeOwned + 'static>(
    slot: &T,
    bytes: &[u8],
    version: u32,
    migrate: Option<&dyn Fn(serde_json::Value, u32) -> std::result::Result<T, String>>,
) -> std::result::Result<T, String> {
    let Some(head) = header(bytes)? else {
        return legacy(bytes, version);
    };
    let body = &bytes[head.body..];
    let same_shape = head.hash != 0 && shape::whole(slot).is_some_and(|t| t.hash == head.hash);
    if head.version > version {
        return Err(format!(
            "written as version {} of the field; this build knows versions up to {version}",
            head.version
        ));
    }
    if head.version == version {
        if same_shape || head.hash == 0 {
            match direct::<T>(body) {
                Ok(v) => return Ok(v),
                Err(e) if head.hash == 0 => return Err(format!("corrupt value: {e}")),
                // Read it through its recorded shape below.
                Err(_) => {}
            }
        }
        return rebuild(generic(head.hash, body).map_err(|e| format!("corrupt value: {e}"))?);
    }
    let Some(migrate) = migrate else {
        return Err(format!(
            "written as version {} of the field and version {version} has no `migrate` function",
            head.version
        ));
    };
    let old = match generic(head.hash, body) {
        Ok(v) => serde_json::to_value(&v).map_err(|e| format!("the old value has no JSON form: {e}"))?,
        Err(e) if same_shape => {
            // The shape record is gone but the shape is today's: read it as today's type.
            let v: T = direct(body).map_err(|_| format!("corrupt value: {e}"))?;
            serde_json::to_value(&v).map_err(|e| format!("the old value has no JSON form: {e}"))?
        }
        Err(e) => return Err(format!("corrupt value: {e}")),
    };
    migrate(old, head.version).map_err(|e| format!("migration from version {} failed: {e}", head.version))
}

/// A value written before format 1: its type name, a NUL, bincode. Read when the type name is
/// today's, module paths and crate names aside (they changed with the move to this format's
/// reason for being).
fn legacy<T: DeserializeOwned>(bytes: &[u8], version: u32) -> std::result::Result<T, String> {
    let nul = bytes
        .iter()
        .position(|b| *b == 0)
        .ok_or("not a persisted value (no header, no type name)")?;
    let stored = std::str::from_utf8(&bytes[..nul]).map_err(|_| "not a persisted value (type name not UTF-8)")?;
    let now = std::any::type_name::<T>();
    if without_paths(stored) != without_paths(now) {
        return Err(format!(
            "written by an older release as `{stored}`; today's type is `{now}`"
        ));
    }
    if version != 1 {
        return Err(format!(
            "written by an older release (version 1, without its shape); version {version} cannot migrate it"
        ));
    }
    direct(&bytes[nul + 1..]).map_err(|e| format!("corrupt value (older release's format): {e}"))
}

/// A type name with every path dropped: `alloc::vec::Vec<app::model::Item>` gives
/// `Vec<Item>`.
pub(crate) fn without_paths(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut ident = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            ident.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            ident.clear();
        } else {
            out.push_str(&ident);
            ident.clear();
            out.push(c);
        }
    }
    out.push_str(&ident);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_dropped_from_type_names() {
        assert_eq!(without_paths("alloc::vec::Vec<app::model::Item>"), "Vec<Item>");
        assert_eq!(
            without_paths("std::collections::hash::map::HashMap<alloc::string::String, i64>"),
            "HashMap<String, i64>"
        );
        assert_eq!(without_paths("(i64, core::option::Option<u8>)"), "(i64, Option<u8>)");
        assert_eq!(without_paths("i64"), "i64");
    }
}

/// The walker must read exactly what bincode wrote: every value here goes through its
/// recorded shape into a generic value and back into its type, and must come back equal.
#[cfg(test)]
mod walk_tests {
    use std::collections::{BTreeMap, HashMap};
    use std::fmt::Debug;

    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    use super::*;

    fn through_shape<T: Serialize + DeserializeOwned + PartialEq + Debug + 'static>(value: &T) {
        let bytes = encode(value, 1).unwrap();
        let head = header(&bytes).unwrap().unwrap();
        assert_ne!(head.hash, 0, "{value:?} has a shape");
        let generic = generic(head.hash, &bytes[head.body..]).unwrap_or_else(|e| panic!("{value:?}: {e}"));
        let back: T = rebuild(generic).unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(&back, value);
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Default)]
    struct Unit;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Default)]
    struct Meters(f64);

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Default)]
    struct Point(i32, i32);

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Default)]
    enum Shape {
        #[default]
        Empty,
        Circle(Meters),
        Rect(u16, u16),
        Poly {
            points: Vec<Point>,
            closed: bool,
        },
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Default)]
    struct Everything {
        b: bool,
        i8: i8,
        i16: i16,
        i32: i32,
        i64: i64,
        i128: i128,
        u8: u8,
        u16: u16,
        u32: u32,
        u64: u64,
        u128: u128,
        f32: f32,
        c: char,
        s: String,
        unit: (),
        unit_struct: Unit,
        opt: Option<Option<u8>>,
        tuple: (u8, String, Option<i64>),
        array: [u16; 3],
        shapes: Vec<Shape>,
        btree: BTreeMap<u64, String>,
        hash: HashMap<String, Vec<i32>>,
        nested: Option<Box<Everything>>,
    }

    #[test]
    fn every_serde_kind_reads_back_through_its_shape() {
        let leaf = Everything {
            b: true,
            i8: -128,
            i16: i16::MIN,
            i32: -70_000,
            i64: i64::MIN,
            i128: -5,
            u8: 255,
            u16: 251,
            u32: u32::MAX,
            u64: u64::MAX,
            u128: 1 << 40,
            f32: -1.5,
            c: '€',
            s: "héllo".into(),
            unit: (),
            unit_struct: Unit,
            opt: Some(None),
            tuple: (7, "x".into(), Some(-1)),
            array: [0, 250, 65_535],
            shapes: vec![
                Shape::Empty,
                Shape::Circle(Meters(2.5)),
                Shape::Rect(3, 4),
                Shape::Poly {
                    points: vec![Point(0, 0), Point(-1, 9)],
                    closed: true,
                },
            ],
            btree: BTreeMap::from([(1, "a".into()), (300, String::new())]),
            hash: HashMap::from([("k".into(), vec![1, -2, 1 << 20])]),
            nested: None,
        };
        let top = Everything {
            nested: Some(Box::new(leaf.clone())),
            opt: Some(Some(3)),
            ..Everything::default()
        };
        through_shape(&leaf);
        through_shape(&top);
        through_shape(&Everything::default());
        through_shape(&vec![Shape::Empty; 3]);
        through_shape(&'a');
        through_shape(&Meters(1.0));
    }

    /// Deserializing it checks the value, so serde-reflection cannot trace it without one.
    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Copy)]
    #[serde(try_from = "u32")]
    struct Level(u32);

    impl TryFrom<u32> for Level {
        type Error = String;
        fn try_from(n: u32) -> std::result::Result<Self, String> {
            if (1..=10).contains(&n) {
                Ok(Level(n))
            } else {
                Err(format!("level {n}"))
            }
        }
    }

    #[test]
    fn a_type_only_a_value_can_trace_gets_the_values_shape() {
        assert!(shape::whole(&Level(3)).is_none());
        let levels = vec![Level(3), Level(10)];
        assert!(shape::whole(&levels).is_none());
        through_shape(&levels);
        through_shape(&Level(1));
        // An empty list has a shape too (its items unknown): enough for its own bytes.
        through_shape(&Vec::<Level>::new());
        let with_nonzero = vec![(std::num::NonZeroU16::new(9).unwrap(), Level(2))];
        through_shape(&with_nonzero);
    }

    proptest! {
        #[test]
        fn integers_and_strings_at_every_varint_width(
            a in any::<i64>(), b in any::<u64>(), c in any::<i16>(), d in any::<u16>(), e in any::<i32>(),
            f in any::<u32>(), g in any::<i128>(), h in any::<f64>().prop_filter("NaN", |x| !x.is_nan()),
            s in ".{0,40}", v in prop::collection::vec(any::<u32>(), 0..20),
        ) {
            through_shape(&(a, b, c, d, e, f, g, h, s, v));
        }

        #[test]
        fn corrupt_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let value = Everything::default();
            let encoded = encode(&value, 1).unwrap();
            let head = header(&encoded).unwrap().unwrap();
            let _ = generic(head.hash, &bytes);
            let mut slot = Everything::default();
            let _ = decode(&mut slot, &bytes, 1, None);
        }
    }
}
