//! Planning the diff of a keyed list: matching new items to old ones by key, and the fewest
//! removes, inserts and moves (a longest increasing subsequence stays put).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;

use crate::tree::{Item, Tree, same_bytes};

/// One structural edit of a keyed list, in the client's current indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StructOp {
    /// `["r", i]`.
    Remove(usize),
    /// `["i", at, node of new item j]`.
    Insert { at: usize, j: usize },
    /// `["m", from, to]`.
    Move { from: usize, to: usize },
}

/// Plans the structural edits of a keyed list: `from_old[j]` is the old index new item `j`
/// reuses (none: a new item), `n_old` the old length. Returns the number of removes, inserts
/// and moves, and a function listing them (see [`structural_ops`]).
///
/// Items that keep their place at the start and at the end (same key at the same index
/// from either end) are left out of the longest-increasing-subsequence and the simulation:
/// they are always in the subsequence the full computation picks (they hold the smallest
/// ranks at the front and the largest at the back, in order), so the plan, shifted by the
/// common prefix's length, is exactly the one for the whole list.
pub(super) fn keyed_plan(from_old: &[Option<usize>], n_old: usize) -> (usize, impl FnOnce() -> Vec<StructOp>) {
    let n_new = from_old.len();
    let common = n_old.min(n_new);
    let mut pre = 0;
    while pre < common && from_old[pre] == Some(pre) {
        pre += 1;
    }
    let mut suf = 0;
    while pre + suf < common && from_old[n_new - 1 - suf] == Some(n_old - 1 - suf) {
        suf += 1;
    }
    let m_old = n_old - pre - suf;
    let mid: Vec<Option<usize>> = from_old[pre..n_new - suf].iter().map(|o| o.map(|o| o - pre)).collect();
    let mut kept = vec![false; m_old];
    for o in mid.iter().flatten() {
        kept[*o] = true;
    }
    let removals = kept.iter().filter(|k| !**k).count();
    let inserts = mid.iter().filter(|o| o.is_none()).count();
    // Rank of each kept old item among kept items, in new order.
    let mut rank_of_old = vec![usize::MAX; m_old];
    let mut r = 0;
    for (i, k) in kept.iter().enumerate() {
        if *k {
            rank_of_old[i] = r;
            r += 1;
        }
    }
    let seq: Vec<usize> = mid.iter().flatten().map(|o| rank_of_old[*o]).collect();
    let stable = lis(&seq);
    let moves = seq.len() - stable.iter().filter(|s| **s).count();
    let plan = move || {
        let mut stable_of_old = vec![false; m_old];
        for (s, o) in stable.iter().zip(mid.iter().flatten()) {
            stable_of_old[*o] = *s;
        }
        let mut plan = Vec::new();
        structural_ops(&mid, &kept, &stable_of_old, &mut plan);
        for op in &mut plan {
            *op = match *op {
                StructOp::Remove(i) => StructOp::Remove(i + pre),
                StructOp::Insert { at, j } => StructOp::Insert {
                    at: at + pre,
                    j: j + pre,
                },
                StructOp::Move { from, to } => StructOp::Move {
                    from: from + pre,
                    to: to + pre,
                },
            };
        }
        plan
    };
    (removals + inserts + moves, plan)
}

/// A Fenwick tree of slot occupancy: the client index of an item is the number of occupied
/// slots before its slot.
struct Occupancy(Vec<i32>);

impl Occupancy {
    /// Built in linear time from per-slot occupancy.
    fn new(occupied: &[bool]) -> Self {
        let n = occupied.len();
        let mut t = vec![0i32; n + 1];
        for (i, o) in occupied.iter().enumerate() {
            t[i + 1] += i32::from(*o);
            let parent = (i + 1) + ((i + 1) & (i + 1).wrapping_neg());
            if parent <= n {
                t[parent] += t[i + 1];
            }
        }
        Occupancy(t)
    }

    fn add(&mut self, slot: usize, delta: i32) {
        let mut i = slot + 1;
        while i < self.0.len() {
            self.0[i] += delta;
            i += i & i.wrapping_neg();
        }
    }

    /// Occupied slots before `slot`.
    fn before(&self, slot: usize) -> usize {
        let mut i = slot;
        let mut sum = 0i32;
        while i > 0 {
            sum += self.0[i];
            i -= i & i.wrapping_neg();
        }
        sum as usize
    }
}

/// The removes, inserts and moves that turn the old keyed list into the new one's order.
///
/// Removes go first (old indices, descending). Then the new order is walked backwards and
/// every item that is not stable (not in the longest increasing subsequence) is inserted or
/// moved right before its successor. This is the result of simulating the client's list
/// with `Vec::insert`/`remove`, but every item's index is read from a Fenwick tree over a
/// fixed slot order instead of being searched for, so it costs O(n log n), not O(n²).
///
/// Slots: stable items split both orders into the same gaps. Gap `k` (before the k-th stable
/// item, or the end) holds first the old slots of the non-stable kept items that start in
/// it (old order), then the slots of the non-stable new items that end up in it (new order),
/// then the stable item's own slot. An item placed before its successor lands in its gap's
/// second region, right before its successor's slot, with nothing occupied in between.
fn structural_ops(from_old: &[Option<usize>], kept: &[bool], stable_of_old: &[bool], ops: &mut Vec<StructOp>) {
    for i in (0..kept.len()).rev() {
        if !kept[i] {
            ops.push(StructOp::Remove(i));
        }
    }
    let mut work_len = kept.iter().filter(|k| **k).count();
    // Gap of each kept old item, and of each new item that is not stable.
    let mut old_gap = vec![0usize; kept.len()];
    let mut gaps = 0;
    for o in 0..kept.len() {
        if kept[o] {
            old_gap[o] = gaps;
            if stable_of_old[o] {
                gaps += 1;
            }
        }
    }
    let mut new_gap = vec![0usize; from_old.len()];
    let mut g = 0;
    for (j, o) in from_old.iter().enumerate() {
        match o {
            Some(o) if stable_of_old[*o] => g += 1,
            _ => new_gap[j] = g,
        }
    }
    let mut old_cnt = vec![0usize; gaps + 1];
    let mut chain_cnt = vec![0usize; gaps + 1];
    for o in 0..kept.len() {
        if kept[o] && !stable_of_old[o] {
            old_cnt[old_gap[o]] += 1;
        }
    }
    for (j, o) in from_old.iter().enumerate() {
        if !matches!(o, Some(o) if stable_of_old[*o]) {
            chain_cnt[new_gap[j]] += 1;
        }
    }
    let mut base = vec![0usize; gaps + 1];
    for k in 0..gaps {
        base[k + 1] = base[k] + old_cnt[k] + chain_cnt[k] + 1;
    }
    let total = base[gaps] + old_cnt[gaps] + chain_cnt[gaps];
    // Current slot of each kept old item, and target slot of each non-stable new item.
    let mut old_slot = vec![0usize; kept.len()];
    let mut seen = vec![0usize; gaps + 1];
    let mut occupied = vec![false; total];
    for o in 0..kept.len() {
        if !kept[o] {
            continue;
        }
        let k = old_gap[o];
        let slot = if stable_of_old[o] {
            base[k] + old_cnt[k] + chain_cnt[k]
        } else {
            seen[k] += 1;
            base[k] + seen[k] - 1
        };
        old_slot[o] = slot;
        occupied[slot] = true;
    }
    seen.iter_mut().for_each(|c| *c = 0);
    let mut chain_slot = vec![0usize; from_old.len()];
    for (j, o) in from_old.iter().enumerate() {
        if !matches!(o, Some(o) if stable_of_old[*o]) {
            let k = new_gap[j];
            chain_slot[j] = base[k] + old_cnt[k] + seen[k];
            seen[k] += 1;
        }
    }
    let mut occ = Occupancy::new(&occupied);
    // Walk new order backwards, placing each item right before its successor.
    let mut next: Option<usize> = None; // client index of new[j+1]
    for j in (0..from_old.len()).rev() {
        let anchor = next.unwrap_or(work_len);
        let pos = match from_old[j] {
            None => {
                ops.push(StructOp::Insert { at: anchor, j });
                occ.add(chain_slot[j], 1);
                work_len += 1;
                anchor
            }
            Some(o) if stable_of_old[o] => occ.before(old_slot[o]),
            Some(o) => {
                let from = occ.before(old_slot[o]);
                let to = if from < anchor { anchor - 1 } else { anchor };
                if from != to {
                    ops.push(StructOp::Move { from, to });
                }
                occ.add(old_slot[o], -1);
                occ.add(chain_slot[j], 1);
                to
            }
        };
        next = Some(pos);
    }
}

/// Item key → index in its list. Keys often come from user data, so the map keeps std's
/// randomly keyed SipHash: crafted keys cannot force collisions.
type KeyMap<'a> = HashMap<&'a str, usize, RandomState>;

/// The index of every item by key, when every item has one and none repeats.
pub(super) fn keyed<'t>(tree: &'t Tree, items: &[Item]) -> Option<KeyMap<'t>> {
    let mut map = KeyMap::with_capacity_and_hasher(items.len(), RandomState::new());
    for (i, item) in items.iter().enumerate() {
        let k = tree.key(item)?;
        if map.insert(k, i).is_some() {
            return None;
        }
    }
    Some(map)
}

/// Wrong guesses [`match_keys`] resolves by scanning the old keys before it uses a map.
const SCAN_LIMIT: usize = 8;

/// For each new item, the index of the old item with the same key, or none for a new key;
/// `None` when an item of either list has no key or a key repeats in its list.
///
/// A new item's old index is first guessed from its predecessor's (the next or previous old
/// item: runs of kept items, reversed runs; the first or last for the first item) and checked
/// by comparing keys. A wrong guess looks the key up: in a map of every old key, which also
/// finds a key repeated in the old list, or — when the old list's keys are known unique
/// (`old_unique`) and there were at most [`SCAN_LIMIT`] wrong guesses so far (an inserted or
/// moved item) — by scanning the old keys, without building the map. Each new item goes to a
/// distinct old item with its key, and each other new key is checked absent from the old list
/// and not repeated, so with unique old keys a match means the new list's keys are unique too.
pub(super) fn match_keys(
    ot: &Tree,
    oi: &[Item],
    nt: &Tree,
    ni: &[Item],
    old_unique: bool,
) -> Option<Vec<Option<usize>>> {
    let old_key = |o: usize| {
        oi[o]
            .key
            .and_then(|r| ot.text.as_bytes().get(r.start as usize..r.end as usize))
    };
    let mut map = if old_unique { None } else { Some(keyed(ot, oi)?) };
    let mut from_old = Vec::with_capacity(ni.len());
    let mut used = vec![false; oi.len()];
    let mut fresh = KeyMap::with_hasher(RandomState::new());
    let mut scans = 0;
    let mut prev: Option<usize> = None;
    for (j, item) in ni.iter().enumerate() {
        let k = nt.key(item)?;
        let kb = k.as_bytes();
        let fits = |c: usize| !used[c] && old_key(c).is_some_and(|o| same_bytes(o, kb));
        let guess = match prev {
            Some(p) if p + 1 < oi.len() && fits(p + 1) => Some(p + 1),
            Some(p) if p > 0 && fits(p - 1) => Some(p - 1),
            None if !oi.is_empty() && fits(0) => Some(0),
            None if !oi.is_empty() && fits(oi.len() - 1) => Some(oi.len() - 1),
            _ => None,
        };
        let found = match guess {
            Some(o) => Some(o),
            None if map.is_none() && scans < SCAN_LIMIT => {
                scans += 1;
                let mut hits = (0..oi.len()).filter(|o| old_key(*o).is_some_and(|k| same_bytes(k, kb)));
                match (hits.next(), hits.next()) {
                    (Some(_), Some(_)) => return None,
                    (found, _) => found,
                }
            }
            None => {
                if map.is_none() {
                    map = Some(keyed(ot, oi)?);
                }
                map.as_ref().and_then(|m| m.get(k).copied())
            }
        };
        match found {
            // Another new item has this key already.
            Some(o) if std::mem::replace(&mut used[o], true) => return None,
            Some(o) => prev = Some(o),
            None if fresh.insert(k, j).is_some() => return None,
            None => {}
        }
        from_old.push(found);
    }
    // Every old key must be there for the keyed diff (the map checked it when built).
    if map.is_none() && (0..oi.len()).any(|o| old_key(o).is_none()) {
        return None;
    }
    Some(from_old)
}

pub(super) fn has_duplicate_or_partial_keys(tree: &Tree, items: &[Item]) -> bool {
    items.iter().any(|i| i.key.is_some()) && keyed(tree, items).is_none()
}

/// Marks the members of one longest increasing subsequence of `seq`.
fn lis(seq: &[usize]) -> Vec<bool> {
    let mut tails: Vec<usize> = Vec::new(); // indices into seq
    let mut prev = vec![usize::MAX; seq.len()];
    for (i, v) in seq.iter().enumerate() {
        let at = tails.partition_point(|t| seq[*t] < *v);
        if at > 0 {
            prev[i] = tails[at - 1];
        }
        if at == tails.len() {
            tails.push(i);
        } else {
            tails[at] = i;
        }
    }
    let mut out = vec![false; seq.len()];
    let mut cur = tails.last().copied();
    while let Some(i) = cur {
        out[i] = true;
        cur = if prev[i] == usize::MAX { None } else { Some(prev[i]) };
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn structural_ops_naive(from_old: &[Option<usize>], kept: &[bool], stable_of_old: &[bool]) -> Vec<StructOp> {
        const NEW: usize = usize::MAX;
        let mut ops = Vec::new();
        let mut work: Vec<usize> = (0..kept.len()).collect();
        for i in (0..kept.len()).rev() {
            if !kept[i] {
                ops.push(StructOp::Remove(i));
                work.remove(i);
            }
        }
        let mut next: Option<usize> = None;
        for j in (0..from_old.len()).rev() {
            let anchor = next.unwrap_or(work.len());
            let pos = match from_old[j] {
                None => {
                    ops.push(StructOp::Insert { at: anchor, j });
                    work.insert(anchor, NEW - j);
                    anchor
                }
                Some(o) if stable_of_old[o] => work.iter().position(|w| *w == o).expect("kept item"),
                Some(o) => {
                    let from = work.iter().position(|w| *w == o).expect("kept item");
                    let to = if from < anchor { anchor - 1 } else { anchor };
                    if from != to {
                        ops.push(StructOp::Move { from, to });
                        let v = work.remove(from);
                        work.insert(to, v);
                    }
                    to
                }
            };
            next = Some(pos);
        }
        ops
    }

    #[test]
    fn structural_ops_match_simulation() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = |m: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % m.max(1)
        };
        for _ in 0..3000 {
            let n_old = rnd(40);
            // Half the lists get few edits, so they keep a common start and end.
            let rare = if rnd(2) == 0 { 4 } else { 30 };
            // New list: a shuffled subset of old keys plus some new ones.
            let mut new: Vec<Option<usize>> = (0..n_old).filter(|_| rnd(rare) != 0).map(Some).collect();
            for i in (1..new.len()).rev() {
                if rnd(rare) == 0 {
                    let k = rnd(i + 1);
                    new.swap(i, k);
                }
            }
            for _ in 0..rnd(4) {
                let at = rnd(new.len() + 1);
                new.insert(at, None);
            }
            let mut kept = vec![false; n_old];
            for o in new.iter().flatten() {
                kept[*o] = true;
            }
            let mut rank = vec![0; n_old];
            let mut r = 0;
            for i in 0..n_old {
                if kept[i] {
                    rank[i] = r;
                    r += 1;
                }
            }
            let seq: Vec<usize> = new.iter().flatten().map(|o| rank[*o]).collect();
            let stable = lis(&seq);
            let mut stable_of_old = vec![false; n_old];
            for (s, o) in stable.iter().zip(new.iter().flatten()) {
                stable_of_old[*o] = *s;
            }
            let mut fast = Vec::new();
            structural_ops(&new, &kept, &stable_of_old, &mut fast);
            let naive = structural_ops_naive(&new, &kept, &stable_of_old);
            assert_eq!(fast, naive, "{new:?}");
            // The trimmed plan: same count and same ops as the whole list's.
            let removals = kept.iter().filter(|k| !**k).count();
            let inserts = new.iter().filter(|o| o.is_none()).count();
            let moves = stable.iter().filter(|s| !**s).count();
            let (structural, plan) = keyed_plan(&new, n_old);
            assert_eq!(structural, removals + inserts + moves, "{new:?}");
            assert_eq!(plan(), naive, "{new:?}");
        }
    }

    #[test]
    fn lis_finds_longest() {
        let m = lis(&[3, 0, 1, 4, 2]);
        assert_eq!(m.iter().filter(|x| **x).count(), 3);
        assert_eq!(lis(&[]).len(), 0);
        assert_eq!(lis(&[4, 3, 2, 1]).iter().filter(|x| **x).count(), 1);
    }
}
