//! The rendered tree: statics (template text fixed for a branch) and dynamics (expression
//! values, nested branches, loops), built by one linear pass over askama's marked output.
//!
//! The derive macro wraps every `{{ expr }}`, `if`/`match` and `for` of a template in marker
//! expressions. A marker writes no text: it queues its code in a [`MarkQueue`] shared with the
//! sink, which applies queued markers before the next write. User data therefore can never be
//! taken for a marker, whatever characters it holds.
//!
//! - `model`: [`Tree`] and its arenas; nodes, lists and items are indices into them;
//! - `markers`: the marker codes and the queue that carries them;
//! - `builder`: [`TreeSink`], one linear pass from marked output to a tree;
//! - `keys`: a loop item's key (`data-key`, else `id`), planned once per statics;
//! - `intern`: equal statics are one allocation, compared by address.

mod builder;
mod intern;
mod keys;
mod markers;
mod model;

pub use builder::TreeSink;
pub(crate) use intern::{WRAPPER_CLOSE, WRAPPER_ID_END, WRAPPER_OPEN};
pub use markers::{Mark, MarkQueue, mark};
pub use model::{
    Dyn, Item, List, Node, Span, Statics, StaticsData, StaticsId, StreamOp, StreamOps, StreamSlot, TextRange, Tree,
    same_statics_ptr,
};

/// Byte equality, without a library call for the short pieces templates are made of.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |x: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&x[at..at + 8]);
        u64::from_ne_bytes(w)
    };
    match n {
        0 => true,
        1..8 => a.iter().zip(b).all(|(x, y)| x == y),
        // Two overlapping words cover 8 to 16 bytes.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_at_every_length() {
        let a: Vec<u8> = (0..40u8).collect();
        for n in 0..40 {
            assert!(same_bytes(&a[..n], &a[..n]));
            for at in 0..n {
                let mut b = a[..n].to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes(&a[..n], &b), "len {n}, byte {at}");
            }
            assert!(!same_bytes(&a[..n], &a[..n + 1]));
        }
    }

    #[test]
    fn tree_entries_stay_small() {
        // One slot value or item per expression or iteration: their size is the tree's memory.
        assert_eq!(std::mem::size_of::<Dyn>(), 16);
        assert_eq!(std::mem::size_of::<Item>(), 24);
    }
}
