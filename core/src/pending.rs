//! The pending-call table: two-way calls awaiting a response (`PROTOCOL.md` §5.5).
//!
//! Entries live in a slab; an id index finds them by request id and a deadline index orders
//! them by expiry. Insert, remove and expire are O(log n); the id lookup is O(1).

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use slab::Slab;

use crate::call::Completer;
use crate::event::CallResult;
use crate::frame::RequestId;

/// A call awaiting its response.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) id: RequestId,
    pub(crate) deadline: Instant,
    pub(crate) timeout: Duration,
    /// Offset in the outbound byte stream just past this call's request frame: the request was
    /// written once the transport accepted that many bytes.
    pub(crate) end_offset: u64,
    pub(crate) completer: Completer<CallResult>,
}

/// Request ids are sequential integers: a multiplicative hash spreads them well and costs one
/// multiplication, where SipHash would cost more than the rest of a lookup.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `u64` keys; this keeps other key types correct anyway.
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

#[derive(Debug, Default)]
pub(crate) struct PendingTable {
    entries: Slab<Pending>,
    by_id: IdMap<usize>,
    deadlines: BTreeSet<(Instant, u64)>,
}

impl PendingTable {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds `pending`. Its id must not be pending already (the connection never reuses ids).
    pub(crate) fn insert(&mut self, pending: Pending) {
        let id = pending.id.0;
        self.deadlines.insert((pending.deadline, id));
        let key = self.entries.insert(pending);
        let previous = self.by_id.insert(id, key);
        debug_assert!(previous.is_none(), "request id {id} reused while pending");
    }

    pub(crate) fn remove(&mut self, id: RequestId) -> Option<Pending> {
        let key = self.by_id.remove(&id.0)?;
        let pending = self.entries.remove(key);
        self.deadlines.remove(&(pending.deadline, id.0));
        Some(pending)
    }

    pub(crate) fn contains(&self, id: RequestId) -> bool {
        self.by_id.contains_key(&id.0)
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(deadline, _)| deadline)
    }

    /// Removes and returns the entry with the earliest deadline if that deadline is `<= now`.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Pending> {
        let &(deadline, id) = self.deadlines.first()?;
        if deadline > now {
            return None;
        }
        self.remove(RequestId(id))
    }

    /// Removes every entry.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Pending> + '_ {
        self.by_id.clear();
        self.deadlines.clear();
        self.entries.drain()
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may use threads and the clock
mod tests {
    use super::*;
    use crate::call::pair;
    use crate::error::{CallError, ConnectionError};

    fn entry(id: u64, deadline: Instant) -> (Pending, crate::call::Completion<CallResult>) {
        let (completer, completion) =
            pair(|| Err(CallError::ConnectionLost(ConnectionError::Dropped)));
        (
            Pending {
                id: RequestId(id),
                deadline,
                timeout: Duration::from_secs(1),
                end_offset: 0,
                completer,
            },
            completion,
        )
    }

    #[test]
    fn expire_in_deadline_order_and_remove_by_id() {
        let t0 = Instant::now();
        let mut table = PendingTable::default();
        let mut handles = Vec::new();
        for (id, ms) in [(1, 30), (2, 10), (3, 20), (4, 10)] {
            let (p, c) = entry(id, t0 + Duration::from_millis(ms));
            table.insert(p);
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
}
