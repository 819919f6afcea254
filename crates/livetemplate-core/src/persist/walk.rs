//! Read bincode bytes (standard config: varint integers, one-byte `u8`/`i8`/bool/option tags,
//! varint lengths and enum indexes, UTF-8 `char`s) through the [`Shape`] they were written
//! with, into a generic value that keeps field and variant names.
//!
//! The generic value ([`Value`]) keeps structs as maps keyed by field name and enum variants
//! by name, the form serde's derived `Deserialize` reads back by name. So a value written by
//! an older type rebuilds today's type field by field: new fields take their
//! `#[serde(default)]`, dropped fields are skipped.

use super::shape::{Container, Node, Shape, Variant};
use super::value::Value;

/// Deepest nesting read: a recursive shape over corrupt bytes must fail, not overflow the
/// stack.
const MAX_DEPTH: usize = 128;

/// Most items of no width (units, empty structs) read from one value: a corrupt length
/// before a list of them must fail, not loop and allocate for 2^64 items.
const MAX_EMPTY_ITEMS: usize = 1 << 20;

/// Read `bytes` (all of them) as one value of `shape`.
pub(crate) fn read(shape: &Shape, bytes: &[u8]) -> Result<Value, String> {
    let mut r = Reader {
        bytes,
        pos: 0,
        shape,
        empty_items: 0,
    };
    let v = r.node(&shape.root, 0)?;
    if r.pos != bytes.len() {
        return Err(format!("{} bytes left over after the value", bytes.len() - r.pos));
    }
    Ok(v)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    shape: &'a Shape,
    /// Items read so far that took no bytes.
    empty_items: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or("the value ends too early")?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// bincode's varint: one byte below 251, else a marker for a little-endian u16, u32,
    /// u64 or u128.
    fn varint(&mut self) -> Result<u128, String> {
        Ok(match self.byte()? {
            b @ 0..=250 => u128::from(b),
            251 => u128::from(u16::from_le_bytes(self.array()?)),
            252 => u128::from(u32::from_le_bytes(self.array()?)),
            253 => u128::from(u64::from_le_bytes(self.array()?)),
            254 => u128::from_le_bytes(self.array()?),
            b => return Err(format!("invalid integer marker {b}")),
        })
    }

    fn unsigned(&mut self, max: u128) -> Result<u128, String> {
        let n = self.varint()?;
        if n > max {
            return Err(format!("integer {n} out of range"));
        }
        Ok(n)
    }

    /// A zigzag varint, checked against the signed range `[-max-1, max]`.
    fn signed(&mut self, max: i128) -> Result<i128, String> {
        let n = self.varint()?;
        let v = if n & 1 == 0 {
            (n >> 1) as i128
        } else {
            -((n >> 1) as i128) - 1
        };
        if v > max || v < -max - 1 {
            return Err(format!("integer {v} out of range"));
        }
        Ok(v)
    }

    fn len(&mut self) -> Result<usize, String> {
        let n = self.unsigned(u128::from(u64::MAX))?;
        // Every item takes at least zero bytes, so this bounds only allocation: a corrupt
        // length fails when the bytes run out instead of reserving memory up front.
        usize::try_from(n).map_err(|_| format!("length {n} too large"))
    }

    fn items(&mut self, item: &Node, n: usize, depth: usize) -> Result<Vec<Value>, String> {
        let mut out = Vec::with_capacity(n.min(self.bytes.len() - self.pos));
        for _ in 0..n {
            let at = self.pos;
            out.push(self.node(item, depth + 1)?);
            self.count_empty(at)?;
        }
        Ok(out)
    }

    /// Count an item that started at `at` if it took no bytes.
    fn count_empty(&mut self, at: usize) -> Result<(), String> {
        if self.pos == at {
            self.empty_items += 1;
            if self.empty_items > MAX_EMPTY_ITEMS {
                return Err("too many empty items (corrupt length?)".into());
            }
        }
        Ok(())
    }

    fn tuple(&mut self, items: &[Node], depth: usize) -> Result<Value, String> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.node(item, depth + 1)?);
        }
        Ok(Value::Seq(out))
    }

    fn fields(&mut self, fields: &[(String, Node)], depth: usize) -> Result<Value, String> {
        let mut map = Vec::with_capacity(fields.len());
        for (name, node) in fields {
            let v = self.node(node, depth + 1)?;
            map.push((Value::Str(name.clone()), v));
        }
        Ok(Value::Map(map))
    }

    fn node(&mut self, node: &Node, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("the value nests too deeply".into());
        }
        Ok(match node {
            // A shape traced from a value has `Unknown` only where that value had nothing to
            // trace: items of an empty list (never read), unseen variants (never read), and
            // `None` (serde-reflection records no format for it), whose bincode is a 0 byte.
            Node::Unknown => match self.byte()? {
                0 => Value::Option(None),
                _ => return Err("the stored shape does not describe this value".into()),
            },
            Node::Type(name) => {
                let c = self
                    .shape
                    .types
                    .get(name)
                    .ok_or_else(|| format!("the stored shape lacks type `{name}`"))?;
                return self.container(c, depth);
            }
            Node::Unit => Value::Unit,
            Node::Bool => match self.byte()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(format!("invalid bool {b}")),
            },
            Node::U8 => Value::U8(self.byte()?),
            Node::I8 => Value::I8(self.byte()? as i8),
            Node::U16 => Value::U16(self.unsigned(u128::from(u16::MAX))? as u16),
            Node::U32 => Value::U32(self.unsigned(u128::from(u32::MAX))? as u32),
            Node::U64 => Value::U64(self.unsigned(u128::from(u64::MAX))? as u64),
            Node::U128 => Value::U128(self.varint()?),
            Node::I16 => Value::I16(self.signed(i128::from(i16::MAX))? as i16),
            Node::I32 => Value::I32(self.signed(i128::from(i32::MAX))? as i32),
            Node::I64 => Value::I64(self.signed(i128::from(i64::MAX))? as i64),
            Node::I128 => Value::I128(self.signed(i128::MAX)?),
            Node::F32 => Value::F32(f32::from_le_bytes(self.array()?)),
            Node::F64 => Value::F64(f64::from_le_bytes(self.array()?)),
            Node::Char => {
                let first = self.byte()?;
                let width = match first {
                    0x00..=0x7f => 1,
                    0xc0..=0xdf => 2,
                    0xe0..=0xef => 3,
                    0xf0..=0xf7 => 4,
                    _ => return Err("invalid char".into()),
                };
                self.pos -= 1;
                let s = std::str::from_utf8(self.take(width)?).map_err(|_| "invalid char")?;
                Value::Char(s.chars().next().ok_or("invalid char")?)
            }
            Node::Str => {
                let n = self.len()?;
                let s = std::str::from_utf8(self.take(n)?).map_err(|_| "invalid UTF-8 in a string")?;
                Value::Str(s.to_string())
            }
            Node::Bytes => {
                let n = self.len()?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            Node::Option(inner) => match self.byte()? {
                0 => Value::Option(None),
                1 => Value::Option(Some(Box::new(self.node(inner, depth + 1)?))),
                b => return Err(format!("invalid option tag {b}")),
            },
            Node::Seq(item) => {
                let n = self.len()?;
                Value::Seq(self.items(item, n, depth)?)
            }
            Node::Map(k, v) => {
                let n = self.len()?;
                let mut map = Vec::with_capacity(n.min(self.bytes.len() - self.pos));
                for _ in 0..n {
                    let at = self.pos;
                    let key = self.node(k, depth + 1)?;
                    let value = self.node(v, depth + 1)?;
                    self.count_empty(at)?;
                    map.push((key, value));
                }
                Value::Map(map)
            }
            Node::Tuple(items) => self.tuple(items, depth)?,
            Node::Array(item, n) => Value::Seq(self.items(item, *n, depth)?),
        })
    }

    fn container(&mut self, c: &Container, depth: usize) -> Result<Value, String> {
        Ok(match c {
            Container::UnitStruct => Value::Unit,
            // Transparent, as in bincode and JSON: a derived newtype reads its content, and a
            // type that became (or stopped being) a newtype still reads.
            Container::Newtype(inner) => self.node(inner, depth + 1)?,
            Container::Tuple(items) => self.tuple(items, depth)?,
            Container::Struct(fields) => self.fields(fields, depth)?,
            Container::Enum(variants) => {
                let index = self.unsigned(u128::from(u32::MAX))? as u32;
                let (_, name, variant) = variants
                    .iter()
                    .find(|(i, _, _)| *i == index)
                    .ok_or_else(|| format!("variant {index} is not in the stored shape"))?;
                let content = match variant {
                    Variant::Unknown => return Err(format!("variant `{name}` is not in the stored shape")),
                    Variant::Unit => return Ok(Value::Variant(name.clone(), None)),
                    Variant::Newtype(inner) => self.node(inner, depth + 1)?,
                    Variant::Tuple(items) => self.tuple(items, depth)?,
                    Variant::Struct(fields) => self.fields(fields, depth)?,
                };
                Value::Variant(name.clone(), Some(Box::new(content)))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_huge_list_of_empty_items_fails_fast() {
        let shape = Shape {
            root: Node::Seq(Box::new(Node::Unit)),
            types: BTreeMap::new(),
        };
        let mut bytes = vec![253];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        let err = read(&shape, &bytes).unwrap_err();
        assert!(err.contains("empty items"), "{err}");
        // A list of a few units reads.
        assert_eq!(read(&shape, &[3]).unwrap(), Value::Seq(vec![Value::Unit; 3]));
    }
}
