//! Tree diff and wire encoding: turns a new [`Tree`](crate::tree::Tree) into the smallest JSON
//! that brings a client holding the previous tree up to date (see `docs/protocol.md`).
//!
//! - `encoder`: the walk over two trees and the frames around the result;
//! - `keyed`: matching a keyed list's items by key and planning its removes, inserts and moves;
//! - `json`: JSON text (string literals, numbers, slot keys).

mod encoder;
mod json;
mod keyed;

use std::collections::HashMap;

use crate::tree::Statics;
use encoder::SameText;

pub use encoder::{ComponentChange, PagePart};
pub use json::write_json_str;

/// Per-connection encoder: remembers which statics the client already holds.
#[derive(Debug, Default)]
pub struct Encoder {
    ids: HashMap<usize, u32>,
    held: Vec<Statics>,
    pending: Vec<u32>,
    scratch: String,
    /// The body of the frame being built, kept between frames for its capacity.
    body: String,
    /// How the two trees' texts line up, for the diff in progress.
    same: SameText,
    /// The keyed lists of the client's tree (the new tree of the last diff) whose keys are
    /// known to be all there and unique, by the start of their items: sorted.
    ///
    /// A list matched to such a list item by item (each new item to an unused old item with
    /// its key, each other key checked absent from the old list and not repeated) has unique
    /// keys too, so only the first diff of a list needs to check all its keys through a map.
    /// Should a caller diff against another tree than the last new one, this can only make a
    /// list with repeated keys take the keyed diff instead of the positional one; the frame is
    /// right either way, as every new item is matched to an old item with its key.
    unique_prev: Vec<u32>,
    /// The same for the new tree of the diff in progress.
    unique_next: Vec<u32>,
}
