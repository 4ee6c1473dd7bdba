//! Hooks for tether-benches to measure crate-private parts. Not part of the API.
#![allow(missing_docs, unreachable_pub)]

use std::time::{Duration, Instant};

use crate::call::{Completer, pair};
use crate::event::CallResult;
use crate::frame::RequestId;
use crate::pending::{Pending, PendingTable};

/// The pending table with a recycled completer, so a bench measures the table alone.
pub struct PendingBench {
    table: PendingTable,
    spare: Vec<Completer<CallResult>>,
    now: Instant,
    next: u64,
}

impl PendingBench {
    pub fn new(now: Instant) -> Self {
        Self {
            table: PendingTable::default(),
            spare: Vec::new(),
            now,
            next: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Inserts a call with `timeout` and returns its id.
    pub fn insert(&mut self, timeout: Duration) -> RequestId {
        let completer = self.spare.pop().unwrap_or_else(|| {
            let (completer, completion) = pair(|| Err(crate::CallError::Cancelled));
            // The completion is not needed; the completer stays usable.
            drop(completion);
            completer
        });
        let id = self.table.vacant_id(self.next);
        self.next = id.0 + 1;
        let pending = Pending {
            id,
            timeout,
            end_offset: 0,
            completer,
        };
        self.table.insert(pending, self.now + timeout);
        id
    }

    /// Removes call `id` as a response would.
    pub fn remove(&mut self, id: RequestId) -> bool {
        match self.table.remove(id) {
            Some(pending) => {
                self.spare.push(pending.completer);
                true
            }
            None => false,
        }
    }

    /// Bytes of one pending entry (the slab adds a tag; the indexes add their own).
    pub fn entry_size() -> usize {
        std::mem::size_of::<Pending>()
    }
}
