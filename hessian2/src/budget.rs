//! [`DecodeLimits`] and the [`Budget`] that spends them while one body is decoded: how
//! deep containers may nest, how many bytes back-references may re-read, how much memory the
//! decoded values may hold, and how many elements may be reserved ahead of reading them.
//!
//! The [`Decoder`](crate::Decoder) reads; the budget only counts. Each check is one call
//! that either spends or fails with the [`MalformedError`] naming the limit and the offset
//! to blame, so the limits that keep hostile input cheap live in one place with their tests.
//!
//! Back-references (`'Q'`, `docs/protocol.md` §11.11) are resolved by *replaying* the bytes of
//! the container they point to. A chain of references that doubles at every level would
//! make that exponential, so the bytes replays re-read are charged to a work budget
//! proportional to the input; and since a two-byte reference can stand for a container of
//! any size, what the replayed bytes turn into as [`Value`](crate::Value)s is charged to a
//! memory budget proportional to the input.

use std::cell::Cell;

use super::error::{DecodeError, MalformedError};

/// Limits applied while decoding one body.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct DecodeLimits {
    /// Maximum nesting of lists, maps, objects and resolved back-references (default 128).
    pub max_depth: u32,
    /// Back-references may re-read at most this many times the body length, in bytes, plus
    /// 64 KiB (default 16).
    pub work_factor: u32,
    /// The [`Value`](crate::Value)s decoded from a body (with
    /// [`read_value`](crate::Decoder::read_value), as a `Value` through serde, and as
    /// attachments) may hold at most this many bytes of memory per body byte, plus 1 MiB
    /// (default 64).
    ///
    /// What is counted is the heap the finished values hold: 48 bytes per list item, 64 per
    /// object field, 96 per map entry (on 64-bit targets), the bytes of strings and
    /// binaries, and each class, field and type name once per body (names are shared).
    /// Without back-references no input reaches 64 bytes per byte; the limit is what stops
    /// a two-byte `'Q'` from materializing a large container again and again. While a list
    /// or map is being read, its vector may briefly hold up to twice what it keeps.
    pub memory_factor: u32,
}

impl DecodeLimits {
    /// Dubbo-sized defaults: depth 128, work factor 16, memory factor 64.
    pub const DEFAULT: Self = Self {
        max_depth: 128,
        work_factor: 16,
        memory_factor: 64,
    };

    /// These limits with another maximum depth.
    pub const fn with_max_depth(mut self, max_depth: u32) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// These limits with another work factor.
    pub const fn with_work_factor(mut self, work_factor: u32) -> Self {
        self.work_factor = work_factor;
        self
    }

    /// These limits with another memory factor.
    pub const fn with_memory_factor(mut self, memory_factor: u32) -> Self {
        self.memory_factor = memory_factor;
        self
    }
}

impl Default for DecodeLimits {
    #[inline]
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Fixed allowance added to the replay budget so tiny bodies may still share values.
pub(crate) const WORK_FLOOR: usize = 64 * 1024;

/// Fixed allowance added to the memory budget of decoded values.
pub(crate) const MEMORY_FLOOR: usize = 1024 * 1024;

/// What decoding one body may still spend, from [`DecodeLimits`] and the body's length.
///
/// It also follows the replays in progress, because that is what its errors are blamed on:
/// a value decoded while a `'Q'` is replayed sits where it is legitimately, and the memory
/// it takes is the reference's doing.
#[derive(Debug)]
pub(crate) struct Budget {
    max_depth: u32,
    /// Containers and replays entered and not yet left.
    depth: u32,
    /// Bytes replays may still re-read, of `work_limit`.
    work_left: usize,
    work_limit: usize,
    /// Bytes decoded values may still hold, of `memory_limit`.
    memory_left: usize,
    memory_limit: usize,
    /// Elements that may still be reserved ahead of reading them: the input length in
    /// total, so that nested containers announcing huge lengths cannot each reserve the
    /// rest of the input. A `Cell` because serde asks for size hints through `&self`.
    reserve_left: Cell<usize>,
    /// Replays in progress (nested `'Q'`s).
    replaying: u32,
    /// Offset of the outermost `'Q'` being replayed.
    replay_at: usize,
}

impl Budget {
    /// The budget for a body of `input_len` bytes under `limits`; limits that overflow a
    /// `usize` saturate (they are then unlimited in practice).
    #[inline]
    pub(crate) fn new(input_len: usize, limits: DecodeLimits) -> Self {
        let work_limit = input_len
            .saturating_mul(limits.work_factor as usize)
            .saturating_add(WORK_FLOOR);
        let memory_limit = input_len
            .saturating_mul(limits.memory_factor as usize)
            .saturating_add(MEMORY_FLOOR);
        Self {
            max_depth: limits.max_depth,
            depth: 0,
            work_left: work_limit,
            work_limit,
            memory_left: memory_limit,
            memory_limit,
            reserve_left: Cell::new(input_len),
            replaying: 0,
            replay_at: 0,
        }
    }

    // ---------------------------------------------------------------------------------
    // Depth

    /// Goes one level deeper (a container or a replay starting at `at`), failing with
    /// [`TooDeep`](MalformedError::TooDeep) at [`DecodeLimits::max_depth`].
    #[inline]
    pub(crate) fn descend(&mut self, at: usize) -> Result<(), DecodeError> {
        if self.depth >= self.max_depth {
            return Err(MalformedError::TooDeep {
                limit: self.max_depth,
                offset: at,
            }
            .into());
        }
        self.depth += 1;
        Ok(())
    }

    /// Comes back up one level (at the top, stays there).
    #[inline]
    pub(crate) fn ascend(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ---------------------------------------------------------------------------------
    // Work: replays of back-references

    /// Fails with [`WorkLimit`](MalformedError::WorkLimit), blaming the `'Q'` at `at`, once
    /// the work budget is spent: a replay is refused before it starts.
    #[inline]
    pub(crate) fn check_work(&self, at: usize) -> Result<(), DecodeError> {
        if self.work_left == 0 {
            return Err(self.work_error(at));
        }
        Ok(())
    }

    /// Charges `bytes` re-read by the replay of the `'Q'` at `at` to the work budget
    /// ([`DecodeLimits::work_factor`]), failing with
    /// [`WorkLimit`](MalformedError::WorkLimit) if they are more than is left.
    #[inline]
    pub(crate) fn charge_work(&mut self, bytes: usize, at: usize) -> Result<(), DecodeError> {
        match self.work_left.checked_sub(bytes) {
            Some(left) => {
                self.work_left = left;
                Ok(())
            }
            None => Err(self.work_error(at)),
        }
    }

    #[inline]
    fn work_error(&self, at: usize) -> DecodeError {
        MalformedError::WorkLimit {
            limit: self.work_limit,
            offset: at,
        }
        .into()
    }

    /// Starts replaying the `'Q'` at `at`: one level deeper ([`descend`](Self::descend)),
    /// and until the matching [`end_replay`](Self::end_replay), memory errors blame the
    /// outermost `'Q'` being replayed.
    #[inline]
    pub(crate) fn begin_replay(&mut self, at: usize) -> Result<(), DecodeError> {
        self.descend(at)?;
        if self.replaying == 0 {
            self.replay_at = at;
        }
        self.replaying += 1;
        Ok(())
    }

    /// Ends the replay of the `'Q'` at `at` begun by [`begin_replay`](Self::begin_replay),
    /// which re-read `bytes` (nested replays charge their own): comes back up one level and
    /// charges the bytes ([`charge_work`](Self::charge_work)).
    #[inline]
    pub(crate) fn end_replay(&mut self, bytes: usize, at: usize) -> Result<(), DecodeError> {
        self.replaying = self.replaying.saturating_sub(1);
        self.ascend();
        self.charge_work(bytes, at)
    }

    /// Whether bytes are being re-read for a back-reference: their class definitions, type
    /// names and containers were registered when they were first read.
    #[inline]
    pub(crate) fn is_replaying(&self) -> bool {
        self.replaying > 0
    }

    // ---------------------------------------------------------------------------------
    // Memory held by decoded values

    /// Charges `bytes` of memory held by decoded values ([`DecodeLimits::memory_factor`]),
    /// failing with [`MemoryLimit`](MalformedError::MemoryLimit) if they are more than is
    /// left; the error blames `pos`, or the outermost `'Q'` being replayed. A failed charge
    /// spends nothing.
    #[inline]
    pub(crate) fn charge_memory(&mut self, bytes: usize, pos: usize) -> Result<(), DecodeError> {
        match self.memory_left.checked_sub(bytes) {
            Some(left) => {
                self.memory_left = left;
                Ok(())
            }
            None => Err(MalformedError::MemoryLimit {
                limit: self.memory_limit,
                offset: if self.is_replaying() {
                    self.replay_at
                } else {
                    pos
                },
            }
            .into()),
        }
    }

    // ---------------------------------------------------------------------------------
    // Reservations

    /// How many of `wanted` elements to reserve room for, spending them: at most the input
    /// length summed over the whole body. (The caller first caps `wanted` by the bytes left,
    /// since each element takes at least one.) Beyond that, collections grow as elements
    /// actually arrive.
    #[inline]
    pub(crate) fn reserve(&self, wanted: usize) -> usize {
        let n = wanted.min(self.reserve_left.get());
        self.reserve_left.set(self.reserve_left.get() - n);
        n
    }

    /// Elements that may still be reserved.
    #[cfg(test)]
    #[inline]
    pub(crate) fn reserve_left(&self) -> usize {
        self.reserve_left.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_depth: u32, work_factor: u32, memory_factor: u32) -> DecodeLimits {
        DecodeLimits::DEFAULT
            .with_max_depth(max_depth)
            .with_work_factor(work_factor)
            .with_memory_factor(memory_factor)
    }

    fn malformed(result: Result<(), DecodeError>) -> MalformedError {
        match result {
            Err(DecodeError::Malformed(e)) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn floors_are_64_kib_of_work_and_1_mib_of_memory() {
        assert_eq!(WORK_FLOOR, 64 * 1024);
        assert_eq!(MEMORY_FLOOR, 1024 * 1024);
        // An empty body, or factors of zero, leave exactly the floors.
        for budget in [
            Budget::new(0, DecodeLimits::DEFAULT),
            Budget::new(1000, limits(128, 0, 0)),
        ] {
            assert_eq!(budget.work_limit, WORK_FLOOR);
            assert_eq!(budget.work_left, WORK_FLOOR);
            assert_eq!(budget.memory_limit, MEMORY_FLOOR);
            assert_eq!(budget.memory_left, MEMORY_FLOOR);
        }
    }

    #[test]
    fn limits_are_the_body_length_times_the_factors_plus_the_floors() {
        let budget = Budget::new(1000, DecodeLimits::DEFAULT);
        assert_eq!(budget.work_limit, 16_000 + WORK_FLOOR);
        assert_eq!(budget.memory_limit, 64_000 + MEMORY_FLOOR);
        assert_eq!(budget.max_depth, 128);
        assert_eq!(budget.reserve_left(), 1000);
    }

    #[test]
    fn limits_saturate_at_usize_max() {
        // The product overflows...
        let budget = Budget::new(usize::MAX / 2, DecodeLimits::DEFAULT);
        assert_eq!(budget.work_limit, usize::MAX);
        assert_eq!(budget.memory_limit, usize::MAX);
        // ... and so does the floor on top of a product that does not.
        let budget = Budget::new(usize::MAX, limits(128, 1, 1));
        assert_eq!(budget.work_limit, usize::MAX);
        assert_eq!(budget.memory_limit, usize::MAX);
        // Everything may then be spent, to the last byte.
        let mut budget = budget;
        budget.charge_memory(usize::MAX, 0).unwrap();
        budget.charge_work(usize::MAX, 0).unwrap();
        assert!(budget.charge_memory(1, 0).is_err());
        assert!(budget.check_work(0).is_err());
    }

    #[test]
    fn depth_passes_at_the_limit_and_fails_one_past() {
        let mut budget = Budget::new(10, limits(3, 16, 64));
        for at in 0..3 {
            budget.descend(at).unwrap();
        }
        assert_eq!(
            malformed(budget.descend(7)),
            MalformedError::TooDeep {
                limit: 3,
                offset: 7
            }
        );
        // A refused level is not counted: one up, and there is room for one again.
        budget.ascend();
        budget.descend(8).unwrap();
        assert!(budget.descend(9).is_err());
    }

    #[test]
    fn depth_zero_refuses_the_first_level_and_ascend_stops_at_the_top() {
        let mut budget = Budget::new(10, limits(0, 16, 64));
        assert_eq!(
            malformed(budget.descend(0)),
            MalformedError::TooDeep {
                limit: 0,
                offset: 0
            }
        );
        let mut budget = Budget::new(10, limits(1, 16, 64));
        budget.ascend();
        budget.ascend();
        budget.descend(0).unwrap();
        assert!(budget.descend(1).is_err());
    }

    #[test]
    fn memory_passes_at_the_limit_and_fails_one_past() {
        let mut budget = Budget::new(0, limits(128, 16, 0));
        budget.charge_memory(MEMORY_FLOOR - 1, 5).unwrap();
        budget.charge_memory(1, 6).unwrap();
        budget.charge_memory(0, 7).unwrap();
        assert_eq!(
            malformed(budget.charge_memory(1, 8)),
            MalformedError::MemoryLimit {
                limit: MEMORY_FLOOR,
                offset: 8
            }
        );
    }

    #[test]
    fn a_failed_memory_charge_spends_nothing() {
        let mut budget = Budget::new(0, limits(128, 16, 0));
        assert!(budget.charge_memory(MEMORY_FLOOR + 1, 0).is_err());
        budget.charge_memory(MEMORY_FLOOR, 0).unwrap();
    }

    #[test]
    fn memory_errors_while_replaying_blame_the_outermost_ref() {
        let mut budget = Budget::new(0, limits(128, 16, 0));
        budget.charge_memory(MEMORY_FLOOR, 0).unwrap();
        budget.begin_replay(10).unwrap();
        budget.begin_replay(20).unwrap();
        let outermost = MalformedError::MemoryLimit {
            limit: MEMORY_FLOOR,
            offset: 10,
        };
        assert_eq!(malformed(budget.charge_memory(1, 30)), outermost);
        budget.end_replay(0, 20).unwrap();
        assert_eq!(malformed(budget.charge_memory(1, 31)), outermost);
        budget.end_replay(0, 10).unwrap();
        // Out of the replays, the position is to blame again; a later replay is outermost.
        assert!(!budget.is_replaying());
        assert_eq!(
            malformed(budget.charge_memory(1, 32)),
            MalformedError::MemoryLimit {
                limit: MEMORY_FLOOR,
                offset: 32
            }
        );
        budget.begin_replay(40).unwrap();
        assert!(budget.is_replaying());
        assert_eq!(
            malformed(budget.charge_memory(1, 41)),
            MalformedError::MemoryLimit {
                limit: MEMORY_FLOOR,
                offset: 40
            }
        );
    }

    #[test]
    fn work_passes_at_the_limit_and_fails_one_past() {
        let mut budget = Budget::new(0, limits(128, 0, 64));
        budget.check_work(1).unwrap();
        budget.charge_work(WORK_FLOOR - 1, 1).unwrap();
        budget.check_work(2).unwrap();
        budget.charge_work(1, 2).unwrap();
        budget.charge_work(0, 3).unwrap();
        // Spent to the last byte: the next replay is refused before it starts...
        assert_eq!(
            malformed(budget.check_work(4)),
            MalformedError::WorkLimit {
                limit: WORK_FLOOR,
                offset: 4
            }
        );
        // ... and one byte more than is left fails, blaming the `'Q'` given.
        let mut budget = Budget::new(0, limits(128, 0, 64));
        assert_eq!(
            malformed(budget.charge_work(WORK_FLOOR + 1, 5)),
            MalformedError::WorkLimit {
                limit: WORK_FLOOR,
                offset: 5
            }
        );
        budget.charge_work(WORK_FLOOR, 6).unwrap();
    }

    #[test]
    fn a_replay_is_one_level_deep_and_charges_its_bytes_when_it_ends() {
        let mut budget = Budget::new(0, limits(2, 0, 64));
        budget.descend(0).unwrap();
        budget.begin_replay(1).unwrap();
        // The replay took the last level.
        assert!(budget.descend(2).is_err());
        assert!(budget.begin_replay(3).is_err());
        assert!(budget.is_replaying());
        // The refused replay was not counted: ending the first leaves none in progress.
        budget.end_replay(WORK_FLOOR - 10, 1).unwrap();
        assert!(!budget.is_replaying());
        budget.descend(4).unwrap();
        budget.ascend();
        // A replay that re-read more than is left fails as it ends, and still ends.
        budget.begin_replay(5).unwrap();
        assert_eq!(
            malformed(budget.end_replay(11, 5)),
            MalformedError::WorkLimit {
                limit: WORK_FLOOR,
                offset: 5
            }
        );
        assert!(!budget.is_replaying());
        budget.descend(6).unwrap();
    }

    #[test]
    fn reservations_add_up_to_the_input_length() {
        let budget = Budget::new(10, DecodeLimits::DEFAULT);
        assert_eq!(budget.reserve(4), 4);
        assert_eq!(budget.reserve(0), 0);
        // Up to the limit exactly, then nothing more.
        assert_eq!(budget.reserve(6), 6);
        assert_eq!(budget.reserve(1), 0);
        assert_eq!(budget.reserve_left(), 0);
        let budget = Budget::new(10, DecodeLimits::DEFAULT);
        assert_eq!(budget.reserve(11), 10);
        assert_eq!(budget.reserve(usize::MAX), 0);
        let budget = Budget::new(usize::MAX, DecodeLimits::DEFAULT);
        assert_eq!(budget.reserve(usize::MAX), usize::MAX);
        assert_eq!(budget.reserve(1), 0);
    }
}
