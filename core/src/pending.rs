//! The pending-call table: two-way calls awaiting a response (`docs/protocol.md` §5.5).
//!
//! Entries live in a slab. The table picks each call's request id so that it finds the
//! entry again without hashing: id `i` lives at index `i mod n` of a slot array at most half
//! full, and a new call takes the next id whose index is free (ids stay increasing and are
//! never reused; a call still pending after `n` more ids makes one id be skipped). Deadlines
//! wait in a min-heap, each call's removed lazily: the heap's top is kept live, and the heap
//! is rebuilt without the dead entries once they outnumber the live ones. Insert, remove and
//! expire cost O(1) and O(log n); memory is a slab entry, a slot and about one heap entry
//! per call.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use slab::Slab;

use crate::call::Completer;
use crate::event::CallResult;
use crate::frame::RequestId;

/// The most calls a table holds (a slot stores a slab key in 32 bits, one value reserved).
pub(crate) const MAX_PENDING: usize = 1 << 31;

/// A free slot.
const EMPTY: u32 = u32::MAX;
/// The slot array never shrinks below this.
const MIN_SLOTS: usize = 64;
/// An emptied table keeps a slot array up to this size (4 KiB), so that a connection whose
/// load comes in bursts does not reallocate it for every burst.
const KEPT_SLOTS: usize = 1024;

/// A call awaiting its response.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) id: RequestId,
    pub(crate) timeout: Duration,
    /// Offset in the outbound byte stream just past this call's request frame: the request was
    /// written once the transport accepted that many bytes.
    pub(crate) end_offset: u64,
    pub(crate) completer: Completer<CallResult>,
}

#[derive(Debug)]
pub(crate) struct PendingTable {
    entries: Slab<Pending>,
    /// `slots[id mod slots.len()]`: the slab key of pending call `id`, or [`EMPTY`]. A power
    /// of two in length, never more than half full.
    slots: Vec<u32>,
    /// Deadlines with their call's id, earliest on top. Entries of calls that ended stay
    /// until they reach the top or the heap is rebuilt; the top is always a pending call.
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
}

impl Default for PendingTable {
    fn default() -> Self {
        Self {
            entries: Slab::new(),
            slots: vec![EMPTY; MIN_SLOTS],
            deadlines: BinaryHeap::new(),
        }
    }
}

impl PendingTable {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The id for the next call: the first at or after `from` whose slot is free. Ensures
    /// room for one more entry.
    pub(crate) fn vacant_id(&mut self, from: u64) -> RequestId {
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            self.resize(self.slots.len() * 2);
        }
        let mask = self.slots.len() - 1;
        let mut id = from;
        // At most half the slots are taken: this ends, after one step on average.
        while self.slots[id as usize & mask] != EMPTY {
            id = id.wrapping_add(1);
        }
        RequestId(id)
    }

    /// Adds `pending`, whose id must come from [`vacant_id`](Self::vacant_id) with no other
    /// insert in between.
    pub(crate) fn insert(&mut self, pending: Pending, deadline: Instant) {
        let id = pending.id.0;
        let index = self.index(id);
        debug_assert_eq!(self.slots[index], EMPTY, "request id {id} not vacant");
        debug_assert!(self.entries.len() < MAX_PENDING);
        let key = self.entries.insert(pending);
        self.slots[index] = key as u32;
        self.deadlines.push(Reverse((deadline, id)));
    }

    pub(crate) fn remove(&mut self, id: RequestId) -> Option<Pending> {
        let index = self.index(id.0);
        let key = self.key(id.0)?;
        self.slots[index] = EMPTY;
        let pending = self.entries.remove(key);
        if self.entries.is_empty() {
            self.deadlines.clear();
            if self.slots.len() > KEPT_SLOTS {
                self.slots = vec![EMPTY; MIN_SLOTS];
            }
        } else {
            self.prune();
        }
        Some(pending)
    }

    pub(crate) fn contains(&self, id: RequestId) -> bool {
        self.key(id.0).is_some()
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines
            .peek()
            .map(|Reverse((deadline, _))| *deadline)
    }

    /// Removes and returns the entry with the earliest deadline if that deadline is `<= now`.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Pending> {
        let &Reverse((deadline, id)) = self.deadlines.peek()?;
        if deadline > now {
            return None;
        }
        self.remove(RequestId(id))
    }

    /// Removes every entry.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Pending> + '_ {
        self.deadlines.clear();
        self.slots.clear();
        self.slots.resize(MIN_SLOTS, EMPTY);
        self.entries.drain()
    }

    fn index(&self, id: u64) -> usize {
        id as usize & (self.slots.len() - 1)
    }

    /// The slab key of pending call `id`.
    fn key(&self, id: u64) -> Option<usize> {
        let key = self.slots[self.index(id)];
        (key != EMPTY && self.entries[key as usize].id.0 == id).then_some(key as usize)
    }

    /// Restores the heap's invariants after a removal: a pending call on top, and no more
    /// dead entries than live ones (plus slack), so that memory follows the live calls.
    fn prune(&mut self) {
        while let Some(&Reverse((_, id))) = self.deadlines.peek() {
            if self.key(id).is_some() {
                break;
            }
            self.deadlines.pop();
        }
        if self.deadlines.len() > 2 * self.entries.len() + MIN_SLOTS {
            let (slots, entries) = (&self.slots, &self.entries);
            let mask = slots.len() - 1;
            self.deadlines.retain(|&Reverse((_, id))| {
                let key = slots[id as usize & mask];
                key != EMPTY && entries[key as usize].id.0 == id
            });
        }
    }

    /// Moves every entry to a slot array of `len` slots (a power of two, more than twice
    /// the entries; ids distinct modulo the old length stay distinct modulo a multiple).
    fn resize(&mut self, len: usize) {
        let mut slots = vec![EMPTY; len];
        for (key, pending) in &self.entries {
            slots[pending.id.0 as usize & (len - 1)] = key as u32;
        }
        self.slots = slots;
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may use threads and the clock
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::call::{Completion, pair};
    use crate::error::{CallError, ConnectionError};

    /// Inserts a call due at `deadline`, its id the first vacant one from `from`.
    fn add(
        table: &mut PendingTable,
        from: u64,
        deadline: Instant,
    ) -> (RequestId, Completion<CallResult>) {
        let (completer, completion) =
            pair(|| Err(CallError::ConnectionLost(ConnectionError::Dropped)));
        let id = table.vacant_id(from);
        let pending = Pending {
            id,
            timeout: Duration::from_secs(1),
            end_offset: 0,
            completer,
        };
        table.insert(pending, deadline);
        (id, completion)
    }

    #[test]
    fn expire_in_deadline_order_and_remove_by_id() {
        let t0 = Instant::now();
        let mut table = PendingTable::default();
        let mut handles = Vec::new();
        for (id, ms) in [(1, 30), (2, 10), (3, 20), (4, 10)] {
            let (got, c) = add(&mut table, id, t0 + Duration::from_millis(ms));
            assert_eq!(got, RequestId(id), "free ids are taken in order");
            handles.push(c);
        }
        assert_eq!(table.len(), 4);
        assert_eq!(table.next_deadline(), Some(t0 + Duration::from_millis(10)));
        assert!(table.remove(RequestId(3)).is_some());
        assert!(table.remove(RequestId(3)).is_none());
        let expired: Vec<_> =
            std::iter::from_fn(|| table.pop_expired(t0 + Duration::from_millis(25)))
                .map(|p| p.id.0)
                .collect();
        assert_eq!(expired, [2, 4]);
        assert_eq!(table.next_deadline(), Some(t0 + Duration::from_millis(30)));
        assert!(table.contains(RequestId(1)));
        assert_eq!(table.drain().count(), 1);
        assert_eq!(table.len(), 0);
        assert_eq!(table.next_deadline(), None);
    }

    #[test]
    fn a_long_pending_call_makes_its_id_be_skipped_never_reused() {
        let t0 = Instant::now();
        let mut table = PendingTable::default();
        let (stuck, _stuck) = add(&mut table, 0, t0 + Duration::from_secs(60));
        let mut next = stuck.0 + 1;
        let mut ids = vec![stuck.0];
        for _ in 0..10 * MIN_SLOTS {
            let (id, _c) = add(&mut table, next, t0 + Duration::from_secs(1));
            assert_ne!(id.0 % MIN_SLOTS as u64, 0, "slot of the stuck call taken");
            ids.push(id.0);
            next = id.0 + 1;
            assert!(table.remove(id).is_some());
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase");
        assert_eq!(ids.len() as u64, next - 10, "one id skipped per lap");
        // A late response for an ended call finds nothing, not the call in its slot.
        assert!(table.remove(RequestId(ids[5])).is_none());
        assert!(table.contains(stuck));
    }

    #[test]
    fn memory_follows_the_live_calls() {
        let t0 = Instant::now();
        let mut table = PendingTable::default();
        let mut next = 0;
        let mut live = Vec::new();
        for _ in 0..10_000 {
            let (id, c) = add(&mut table, next, t0 + Duration::from_secs(1));
            next = id.0 + 1;
            live.push((id, c));
        }
        assert!(table.slots.len() <= 4 * 10_000);
        // Calls ending out of deadline order leave dead heap entries behind the top one.
        for (id, _) in live.drain(1..) {
            assert!(table.remove(id).is_some());
        }
        assert_eq!(table.len(), 1);
        assert!(
            table.deadlines.len() <= 2 + MIN_SLOTS,
            "{}",
            table.deadlines.len()
        );
        let (id, _) = live.pop().unwrap();
        assert!(table.remove(id).is_some());
        assert_eq!(
            table.slots.len(),
            MIN_SLOTS,
            "an emptied table gives its slots back"
        );
        assert!(table.deadlines.is_empty());
    }

    #[derive(Clone, Debug)]
    enum Op {
        Start(u16),
        End(usize),
        Expire(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (1u16..2000).prop_map(Op::Start),
            2 => any::<usize>().prop_map(Op::End),
            1 => (0u16..2000).prop_map(Op::Expire),
        ]
    }

    proptest! {
        /// The table against a model: ids unique and increasing, lookups exact, expiry in
        /// deadline order (ties by id), the heap's top live.
        #[test]
        fn behaves_like_a_sorted_map(ops in proptest::collection::vec(op(), 1..400)) {
            let t0 = Instant::now();
            let mut table = PendingTable::default();
            let mut model: BTreeMap<u64, Instant> = BTreeMap::new();
            let mut handles = Vec::new();
            let (mut next, mut clock) = (0u64, 0u64);
            for op in ops {
                match op {
                    Op::Start(ms) => {
                        let deadline = t0 + Duration::from_millis(clock + u64::from(ms));
                        let (id, c) = add(&mut table, next, deadline);
                        prop_assert!(id.0 >= next && !model.contains_key(&id.0));
                        next = id.0 + 1;
                        model.insert(id.0, deadline);
                        handles.push(c);
                    }
                    Op::End(pick) => {
                        // Ended calls too, at random: their late responses find nothing.
                        let id = if model.is_empty() || pick % 4 == 0 {
                            pick as u64 % next.max(1)
                        } else {
                            *model.keys().nth(pick % model.len()).unwrap()
                        };
                        let expected = model.remove(&id).is_some();
                        prop_assert_eq!(table.remove(RequestId(id)).is_some(), expected);
                    }
                    Op::Expire(ms) => {
                        clock += u64::from(ms);
                        let now = t0 + Duration::from_millis(clock);
                        let mut due: Vec<_> = model
                            .iter()
                            .filter(|(_, d)| **d <= now)
                            .map(|(id, d)| (*d, *id))
                            .collect();
                        due.sort();
                        let expired: Vec<_> = std::iter::from_fn(|| table.pop_expired(now))
                            .map(|p| p.id.0)
                            .collect();
                        let due_ids: Vec<_> = due.iter().map(|(_, id)| *id).collect();
                        prop_assert_eq!(expired, due_ids);
                        for (_, id) in due {
                            model.remove(&id);
                        }
                    }
                }
                prop_assert_eq!(table.len(), model.len());
                let earliest = model.values().min().copied();
                prop_assert_eq!(table.next_deadline(), earliest);
                prop_assert!(table.deadlines.len() <= 2 * model.len() + MIN_SLOTS + 1);
            }
        }
    }
}
