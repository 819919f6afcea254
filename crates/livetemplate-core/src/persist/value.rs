//! The generic value a stored value is read into when its type changed: primitives, options,
//! sequences, maps (structs are maps keyed by field name) and enum variants by name.
//!
//! It is a serde `Deserializer`, so today's type rebuilds itself from it by name (a struct
//! takes the fields it knows, `#[serde(default)]` fills the new ones, unknown ones are
//! skipped), and it is `Serialize`, so a migration gets it as JSON.

use std::fmt;

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer, forward_to_deserialize_any};

/// A value read through its recorded shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Unit,
    Bool(bool),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    I128(i128),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    U128(u128),
    F32(f32),
    F64(f64),
    Char(char),
    Str(String),
    Bytes(Vec<u8>),
    Option(Option<Box<Value>>),
    Seq(Vec<Value>),
    /// A map, or a struct with its field names as `Str` keys.
    Map(Vec<(Value, Value)>),
    /// An enum variant: its name and content (`None` for a unit variant).
    Variant(String, Option<Box<Value>>),
}

/// Why a value does not fit a type.
#[derive(Debug)]
pub(crate) struct DeError(String);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError(msg.to_string())
    }
}

impl<'de> IntoDeserializer<'de, DeError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Unit => visitor.visit_unit(),
            Value::Bool(v) => visitor.visit_bool(v),
            Value::I8(v) => visitor.visit_i8(v),
            Value::I16(v) => visitor.visit_i16(v),
            Value::I32(v) => visitor.visit_i32(v),
            Value::I64(v) => visitor.visit_i64(v),
            Value::I128(v) => visitor.visit_i128(v),
            Value::U8(v) => visitor.visit_u8(v),
            Value::U16(v) => visitor.visit_u16(v),
            Value::U32(v) => visitor.visit_u32(v),
            Value::U64(v) => visitor.visit_u64(v),
            Value::U128(v) => visitor.visit_u128(v),
            Value::F32(v) => visitor.visit_f32(v),
            Value::F64(v) => visitor.visit_f64(v),
            Value::Char(v) => visitor.visit_char(v),
            Value::Str(v) => visitor.visit_string(v),
            Value::Bytes(v) => visitor.visit_byte_buf(v),
            Value::Option(None) => visitor.visit_none(),
            Value::Option(Some(v)) => visitor.visit_some(*v),
            Value::Seq(v) => visitor.visit_seq(SeqDeserializer::new(v.into_iter())),
            Value::Map(v) => visitor.visit_map(MapDeserializer::new(v.into_iter())),
            Value::Variant(name, None) => visitor.visit_string(name),
            Value::Variant(name, Some(content)) => {
                visitor.visit_map(MapDeserializer::new(std::iter::once((Value::Str(name), *content))))
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Option(None) | Value::Unit => visitor.visit_none(),
            Value::Option(Some(v)) => visitor.visit_some(*v),
            // A field that became optional keeps its value.
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        // Newtypes are transparent: a field that became (or stopped being) one still reads.
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (name, content) = match self {
            Value::Variant(name, content) => (name, content.map(|c| *c)),
            // A unit variant as a plain name, or a variant as a one-entry map, as JSON has them.
            Value::Str(name) => (name, None),
            Value::Map(mut entries) if entries.len() == 1 => match entries.pop() {
                Some((Value::Str(name), content)) => (name, Some(content)),
                _ => return Err(de::Error::custom("expected an enum variant")),
            },
            other => {
                return Err(de::Error::custom(format!(
                    "expected an enum variant, found {}",
                    other.kind()
                )));
            }
        };
        visitor.visit_enum(Variant { name, content })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Unit => "unit",
            Value::Bool(_) => "a bool",
            Value::I8(_) | Value::I16(_) | Value::I32(_) | Value::I64(_) | Value::I128(_) => "an integer",
            Value::U8(_) | Value::U16(_) | Value::U32(_) | Value::U64(_) | Value::U128(_) => "an integer",
            Value::F32(_) | Value::F64(_) => "a float",
            Value::Char(_) => "a char",
            Value::Str(_) => "a string",
            Value::Bytes(_) => "bytes",
            Value::Option(_) => "an option",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a map or struct",
            Value::Variant(..) => "an enum variant",
        }
    }
}

/// An enum variant being read: its name, then its content.
struct Variant {
    name: String,
    content: Option<Value>,
}

impl<'de> de::EnumAccess<'de> for Variant {
    type Error = DeError;
    type Variant = Content;

    fn variant_seed<S: de::DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Content), DeError> {
        let tag = seed.deserialize(Value::Str(self.name))?;
        Ok((tag, Content(self.content)))
    }
}

/// A variant's content.
struct Content(Option<Value>);

impl<'de> de::VariantAccess<'de> for Content {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.0 {
            None | Some(Value::Unit) => Ok(()),
            Some(other) => Err(de::Error::custom(format!(
                "expected a unit variant, found {} in it",
                other.kind()
            ))),
        }
    }

    fn newtype_variant_seed<S: de::DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, DeError> {
        match self.0 {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::custom(
                "expected a variant with content, found a unit variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Some(v) => de::Deserializer::deserialize_any(v, visitor),
            None => Err(de::Error::custom("expected a tuple variant, found a unit variant")),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            Some(v) => de::Deserializer::deserialize_any(v, visitor),
            None => Err(de::Error::custom("expected a struct variant, found a unit variant")),
        }
    }
}

/// As JSON has it: structs are objects, a unit variant is its name, other variants are
/// `{"Name": content}`.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Unit => s.serialize_unit(),
            Value::Bool(v) => s.serialize_bool(*v),
            Value::I8(v) => s.serialize_i8(*v),
            Value::I16(v) => s.serialize_i16(*v),
            Value::I32(v) => s.serialize_i32(*v),
            Value::I64(v) => s.serialize_i64(*v),
            Value::I128(v) => s.serialize_i128(*v),
            Value::U8(v) => s.serialize_u8(*v),
            Value::U16(v) => s.serialize_u16(*v),
            Value::U32(v) => s.serialize_u32(*v),
            Value::U64(v) => s.serialize_u64(*v),
            Value::U128(v) => s.serialize_u128(*v),
            Value::F32(v) => s.serialize_f32(*v),
            Value::F64(v) => s.serialize_f64(*v),
            Value::Char(v) => s.serialize_char(*v),
            Value::Str(v) => s.serialize_str(v),
            Value::Bytes(v) => s.serialize_bytes(v),
            Value::Option(None) => s.serialize_none(),
            Value::Option(Some(v)) => s.serialize_some(v),
            Value::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Value::Variant(name, None) => s.serialize_str(name),
            Value::Variant(name, Some(content)) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(name, content)?;
                map.end()
            }
        }
    }
}
