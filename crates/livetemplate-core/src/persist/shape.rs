//! A persisted type's serde shape: which primitives, sequences, maps, structs (with field
//! names) and enums (with variant names and indexes) its bincode bytes are made of.
//!
//! Shapes are traced with `serde-reflection`, written as JSON beside each value (key
//! `<field>@shape`) and named by a 64-bit FNV-1a hash of that JSON, which every value carries
//! in its header. Shapes are content-addressed, so the in-process table of known shapes
//! ([`by_hash`]) is shared by all groups and pages.

use std::any::TypeId;
use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_reflection::{ContainerFormat, Format, Named, Samples, Tracer, TracerConfig, VariantFormat};

/// The format of one value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Node {
    /// Not seen when the shape was traced from a value (an empty list's items, `None`'s
    /// content); never present in the bytes that shape describes.
    Unknown,
    /// A struct or enum, described in [`Shape::types`] under this name.
    Type(String),
    Unit,
    Bool,
    I8,
    I16,
    I32,
    I64,
    I128,
    U8,
    U16,
    U32,
    U64,
    U128,
    F32,
    F64,
    Char,
    Str,
    Bytes,
    Option(Box<Node>),
    Seq(Box<Node>),
    Map(Box<Node>, Box<Node>),
    Tuple(Vec<Node>),
    /// A fixed-size array: item format and length.
    Array(Box<Node>, usize),
}

/// The format of a named struct or enum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Container {
    UnitStruct,
    Newtype(Node),
    Tuple(Vec<Node>),
    /// Fields in declaration (and so bincode) order.
    Struct(Vec<(String, Node)>),
    /// Variants: bincode index, name, content.
    Enum(Vec<(u32, String, Variant)>),
}

/// The content of one enum variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Variant {
    Unknown,
    Unit,
    Newtype(Node),
    Tuple(Vec<Node>),
    Struct(Vec<(String, Node)>),
}

/// A value's format and the named types it refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Shape {
    pub(crate) root: Node,
    pub(crate) types: BTreeMap<String, Container>,
}

/// A shape with its stored form (JSON) and its hash.
#[derive(Debug)]
pub(crate) struct Traced {
    pub(crate) hash: u64,
    pub(crate) json: Arc<[u8]>,
    pub(crate) shape: Shape,
}

/// 64-bit FNV-1a: stable across compilers and platforms, unlike `std`'s hashers. Never 0,
/// which marks a value stored without a shape.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.max(1)
}

fn node(f: &Format) -> Node {
    match f {
        Format::Variable(v) => v.borrow().as_ref().map_or(Node::Unknown, node),
        Format::TypeName(n) => Node::Type(n.clone()),
        Format::Unit => Node::Unit,
        Format::Bool => Node::Bool,
        Format::I8 => Node::I8,
        Format::I16 => Node::I16,
        Format::I32 => Node::I32,
        Format::I64 => Node::I64,
        Format::I128 => Node::I128,
        Format::U8 => Node::U8,
        Format::U16 => Node::U16,
        Format::U32 => Node::U32,
        Format::U64 => Node::U64,
        Format::U128 => Node::U128,
        Format::F32 => Node::F32,
        Format::F64 => Node::F64,
        Format::Char => Node::Char,
        Format::Str => Node::Str,
        Format::Bytes => Node::Bytes,
        Format::Option(f) => Node::Option(Box::new(node(f))),
        Format::Seq(f) => Node::Seq(Box::new(node(f))),
        Format::Map { key, value } => Node::Map(Box::new(node(key)), Box::new(node(value))),
        Format::Tuple(fs) => Node::Tuple(fs.iter().map(node).collect()),
        Format::TupleArray { content, size } => Node::Array(Box::new(node(content)), *size),
    }
}

fn fields(fs: &[Named<Format>]) -> Vec<(String, Node)> {
    fs.iter().map(|f| (f.name.clone(), node(&f.value))).collect()
}

fn variant(v: &VariantFormat) -> Variant {
    match v {
        VariantFormat::Variable(v) => v.borrow().as_ref().map_or(Variant::Unknown, variant),
        VariantFormat::Unit => Variant::Unit,
        VariantFormat::NewType(f) => Variant::Newtype(node(f)),
        VariantFormat::Tuple(fs) => Variant::Tuple(fs.iter().map(node).collect()),
        VariantFormat::Struct(fs) => Variant::Struct(fields(fs)),
    }
}

fn container(c: &ContainerFormat) -> Container {
    match c {
        ContainerFormat::UnitStruct => Container::UnitStruct,
        ContainerFormat::NewTypeStruct(f) => Container::Newtype(node(f)),
        ContainerFormat::TupleStruct(fs) => Container::Tuple(fs.iter().map(node).collect()),
        ContainerFormat::Struct(fs) => Container::Struct(fields(fs)),
        ContainerFormat::Enum(vs) => Container::Enum(
            vs.iter()
                .map(|(i, v)| (*i, v.name.clone(), variant(&v.value)))
                .collect(),
        ),
    }
}

fn config() -> TracerConfig {
    // Not human readable, as bincode: types such as IP addresses serialize differently.
    TracerConfig::default()
        .is_human_readable(false)
        .record_samples_for_structs(true)
}

/// The whole shape of `T` (every field, every enum variant), with `sample` recorded so types
/// whose `Deserialize` checks its input (non-zero numbers, dates) can be traced.
fn trace_type<T: Serialize + DeserializeOwned>(sample: &T) -> Option<Shape> {
    let run = || -> Option<Shape> {
        let mut tracer = Tracer::new(config());
        let mut samples = Samples::new();
        tracer.trace_value(&mut samples, sample).ok()?;
        let (root, _) = tracer.trace_type::<T>(&samples).ok()?;
        let registry = tracer.registry().ok()?;
        Some(Shape {
            root: node(&root),
            types: registry.iter().map(|(k, c)| (k.clone(), container(c))).collect(),
        })
    };
    // A user type's `Deserialize` runs on made-up input here; its panic must not take the
    // action down.
    std::panic::catch_unwind(AssertUnwindSafe(run)).ok().flatten()
}

/// The shape of `value` alone: what its bytes are made of, with `Unknown` for what it does
/// not contain.
fn trace_value<T: Serialize>(value: &T) -> Option<Shape> {
    let run = || -> Option<Shape> {
        let mut tracer = Tracer::new(config());
        let mut samples = Samples::new();
        let (root, _) = tracer.trace_value(&mut samples, value).ok()?;
        let registry = tracer.registry_unchecked();
        Some(Shape {
            root: node(&root),
            types: registry.iter().map(|(k, c)| (k.clone(), container(c))).collect(),
        })
    };
    std::panic::catch_unwind(AssertUnwindSafe(run)).ok().flatten()
}

/// What is known of a type's whole shape.
enum Whole {
    Known(Arc<Traced>),
    /// Not traceable so far, after this many tries (each with another value as sample).
    Unknown(u8),
}

/// Tries at tracing a type's whole shape before settling for per-value shapes.
const WHOLE_TRIES: u8 = 8;
/// Shapes kept in memory; past this the table starts over (shapes are read again from the
/// store as values need them).
const KNOWN_MAX: usize = 10_000;

fn types() -> &'static Mutex<HashMap<TypeId, Whole>> {
    static TYPES: OnceLock<Mutex<HashMap<TypeId, Whole>>> = OnceLock::new();
    TYPES.get_or_init(Default::default)
}

fn known() -> &'static Mutex<HashMap<u64, Arc<Traced>>> {
    static KNOWN: OnceLock<Mutex<HashMap<u64, Arc<Traced>>>> = OnceLock::new();
    KNOWN.get_or_init(Default::default)
}

fn traced(shape: Shape) -> Option<Arc<Traced>> {
    let json = serde_json::to_vec(&shape).ok()?;
    Some(Arc::new(Traced {
        hash: fnv1a(&json),
        json: json.into(),
        shape,
    }))
}

fn remember(t: &Arc<Traced>) {
    let mut known = known().lock().unwrap_or_else(|p| p.into_inner());
    if !known.contains_key(&t.hash) {
        if known.len() >= KNOWN_MAX {
            known.clear();
        }
        known.insert(t.hash, t.clone());
    }
}

/// The whole shape of `T`, traced once per process (`sample` helps types that need one).
pub(crate) fn whole<T: Serialize + DeserializeOwned + 'static>(sample: &T) -> Option<Arc<Traced>> {
    let id = TypeId::of::<T>();
    let tries = {
        let types = types().lock().unwrap_or_else(|p| p.into_inner());
        match types.get(&id) {
            Some(Whole::Known(t)) => {
                let t = t.clone();
                drop(types);
                remember(&t);
                return Some(t);
            }
            Some(Whole::Unknown(n)) if *n >= WHOLE_TRIES => return None,
            Some(Whole::Unknown(n)) => *n,
            None => 0,
        }
    };
    let found = trace_type(sample).and_then(traced);
    let mut types = types().lock().unwrap_or_else(|p| p.into_inner());
    match &found {
        Some(t) => {
            types.insert(id, Whole::Known(t.clone()));
            drop(types);
            remember(t);
        }
        None => {
            types.insert(id, Whole::Unknown(tries.saturating_add(1)));
        }
    }
    found
}

/// The shape to store `value` with: its type's whole shape when that can be traced, else the
/// shape of this value alone; `None` when neither can (the value is then stored without one
/// and read back only as the same type).
pub(crate) fn shape_for<T: Serialize + DeserializeOwned + 'static>(value: &T) -> Option<Arc<Traced>> {
    if let Some(t) = whole(value) {
        return Some(t);
    }
    let t = traced(trace_value(value)?)?;
    remember(&t);
    Some(t)
}

/// A shape known in this process by its hash.
pub(crate) fn by_hash(hash: u64) -> Option<Arc<Traced>> {
    known().lock().unwrap_or_else(|p| p.into_inner()).get(&hash).cloned()
}

/// Learn a shape record read from the store; returns its hash, or `None` if it is not a
/// shape.
pub(crate) fn learn(json: &[u8]) -> Option<u64> {
    let hash = fnv1a(json);
    if by_hash(hash).is_some() {
        return Some(hash);
    }
    let shape: Shape = serde_json::from_slice(json).ok()?;
    let t = Arc::new(Traced {
        hash,
        json: json.into(),
        shape,
    });
    remember(&t);
    Some(hash)
}
