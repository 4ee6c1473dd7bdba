//! Per (provider, method) call statistics: calls in flight and response times, read by the
//! load balancers that want them ([`LoadBalance::needs_stats`](super::LoadBalance::needs_stats)).
//!
//! Everything is an atomic counter: recording a call touches only its own provider's and
//! method's counters, never a lock shared by every call.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;

/// The counters of one method on one provider (Dubbo's `RpcStatus` for a URL and method).
///
/// A call is counted from [`begin`](Self::begin) until its [`Active`] guard is dropped:
/// [`Active::succeeded`] records a success with its elapsed time, a guard dropped without it
/// counts a failure.
///
/// The response-time average covers a window ([`MethodStats::WINDOW`], 30 s as Dubbo's
/// `shortestResponseSlidePeriod`): the first reader after the window ends starts a new one.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tether_core::cluster::MethodStats;
///
/// let stats = Arc::new(MethodStats::new());
/// let call = stats.begin();
/// assert_eq!(stats.active(), 1);
/// call.succeeded(Duration::from_millis(8));
/// let failed = stats.begin();
/// drop(failed);
/// assert_eq!((stats.active(), stats.succeeded(), stats.failed()), (0, 1, 1));
/// assert_eq!(stats.average_elapsed(1_000), Duration::from_millis(8));
/// ```
#[derive(Debug, Default)]
pub struct MethodStats {
    active: AtomicU32,
    succeeded: AtomicU64,
    failed: AtomicU64,
    /// Sum of the successful calls' elapsed times, in microseconds.
    elapsed_us: AtomicU64,
    /// Where the current window started (ms since the Unix epoch; 0 before the first read).
    window_start_ms: AtomicU64,
    /// `succeeded` and `elapsed_us` when the current window started.
    window_succeeded: AtomicU64,
    window_elapsed_us: AtomicU64,
}

impl MethodStats {
    /// How long a response-time window lasts (Dubbo's default `shortestResponseSlidePeriod`).
    pub const WINDOW: Duration = Duration::from_secs(30);

    /// Counters at zero.
    ///
    /// ```
    /// use tether_core::cluster::MethodStats;
    ///
    /// let stats = MethodStats::new();
    /// assert_eq!((stats.active(), stats.succeeded(), stats.failed()), (0, 0, 0));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a call in flight until the returned guard is dropped.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tether_core::cluster::MethodStats;
    ///
    /// let stats = Arc::new(MethodStats::new());
    /// let call = stats.begin();
    /// assert_eq!(stats.active(), 1);
    /// call.succeeded(Duration::from_millis(2));
    /// assert_eq!(stats.active(), 0);
    /// ```
    pub fn begin(self: &Arc<Self>) -> Active {
        self.active.fetch_add(1, Ordering::Relaxed);
        Active {
            stats: self.clone(),
            succeeded: false,
        }
    }

    /// Calls in flight now.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::cluster::MethodStats;
    ///
    /// let stats = Arc::new(MethodStats::new());
    /// let (_a, _b) = (stats.begin(), stats.begin());
    /// assert_eq!(stats.active(), 2);
    /// ```
    pub fn active(&self) -> u32 {
        self.active.load(Ordering::Relaxed)
    }

    /// Calls that succeeded, since the counters were made.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tether_core::cluster::MethodStats;
    ///
    /// let stats = Arc::new(MethodStats::new());
    /// stats.begin().succeeded(Duration::from_millis(4));
    /// assert_eq!(stats.succeeded(), 1);
    /// ```
    pub fn succeeded(&self) -> u64 {
        self.succeeded.load(Ordering::Relaxed)
    }

    /// Calls that ended without success, since the counters were made.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::cluster::MethodStats;
    ///
    /// let stats = Arc::new(MethodStats::new());
    /// drop(stats.begin()); // no answer: a failure
    /// assert_eq!(stats.failed(), 1);
    /// ```
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// The average elapsed time of the calls that succeeded in the current window (zero if
    /// none did), `now_ms` being the wall-clock time in milliseconds since the Unix epoch.
    ///
    /// Starts a new window first if the current one is [`WINDOW`](Self::WINDOW) old or more
    /// (or `now_ms` went back before its start).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tether_core::cluster::MethodStats;
    ///
    /// let stats = Arc::new(MethodStats::new());
    /// stats.begin().succeeded(Duration::from_millis(10));
    /// stats.begin().succeeded(Duration::from_millis(20));
    /// assert_eq!(stats.average_elapsed(1_000), Duration::from_millis(15));
    /// ```
    pub fn average_elapsed(&self, now_ms: u64) -> Duration {
        self.roll_window(now_ms);
        // A success recorded between these loads skews one estimate slightly; the counters
        // only ever grow, so the differences never wrap.
        let succeeded = self.succeeded.load(Ordering::Relaxed);
        let elapsed = self.elapsed_us.load(Ordering::Relaxed);
        let count = succeeded.saturating_sub(self.window_succeeded.load(Ordering::Relaxed));
        let sum = elapsed.saturating_sub(self.window_elapsed_us.load(Ordering::Relaxed));
        match count {
            0 => Duration::ZERO,
            count => Duration::from_micros(sum / count),
        }
    }

    fn roll_window(&self, now_ms: u64) {
        let start = self.window_start_ms.load(Ordering::Relaxed);
        let window = Self::WINDOW.as_millis() as u64;
        if now_ms >= start && now_ms - start < window {
            return;
        }
        // One reader wins the window and moves the baselines; the others read on. The first
        // window (start 0) keeps what was recorded before anyone read.
        if self
            .window_start_ms
            .compare_exchange(start, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
            && start != 0
        {
            self.window_succeeded
                .store(self.succeeded.load(Ordering::Relaxed), Ordering::Relaxed);
            self.window_elapsed_us
                .store(self.elapsed_us.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }
}

/// One call counted in flight by [`MethodStats::begin`]; dropping it ends the call (exactly
/// once), as a failure unless [`succeeded`](Self::succeeded) consumed it.
///
/// As in Dubbo (`ActiveLimitFilter`), a call answered with the provider's exception (a
/// business error) is a success here, with its elapsed time; failures are the calls that got
/// no answer: send errors, timeouts, closed connections, cancellations.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tether_core::cluster::MethodStats;
///
/// let stats = Arc::new(MethodStats::new());
/// {
///     let _call = stats.begin();
///     assert_eq!(stats.active(), 1);
///     // An error, a timeout or a cancelled call: the guard is dropped.
/// }
/// assert_eq!((stats.active(), stats.failed()), (0, 1));
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard ends the call as a failure"]
pub struct Active {
    stats: Arc<MethodStats>,
    succeeded: bool,
}

impl Active {
    /// Ends the call as a success that took `elapsed`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tether_core::cluster::MethodStats;
    ///
    /// let stats = Arc::new(MethodStats::new());
    /// let call = stats.begin();
    /// call.succeeded(Duration::from_millis(6));
    /// assert_eq!((stats.succeeded(), stats.failed()), (1, 0));
    /// ```
    pub fn succeeded(mut self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.stats.elapsed_us.fetch_add(us, Ordering::Relaxed);
        self.stats.succeeded.fetch_add(1, Ordering::Relaxed);
        self.succeeded = true;
    }

    /// The counters it is counted in.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::cluster::MethodStats;
    ///
    /// let stats = Arc::new(MethodStats::new());
    /// let call = stats.begin();
    /// assert!(Arc::ptr_eq(call.stats(), &stats));
    /// # drop(call);
    /// ```
    pub fn stats(&self) -> &Arc<MethodStats> {
        &self.stats
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        if !self.succeeded {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.stats.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many methods one chunk of a [`StatsTable`] holds.
const CHUNK: usize = 8;

/// An invoker's [`MethodStats`] by method name: append-only, so a lookup is a few atomic
/// loads and string comparisons, no lock; only adding a method takes the table's mutex.
#[derive(Default)]
pub(crate) struct StatsTable {
    first: Chunk,
    /// Held while adding a method, so one method never gets two slots.
    adding: Mutex<()>,
}

#[derive(Default)]
struct Chunk {
    /// Filled in order: an empty slot ends the table.
    slots: [OnceLock<(Box<str>, Arc<MethodStats>)>; CHUNK],
    next: OnceLock<Box<Chunk>>,
}

impl StatsTable {
    /// The counters of `method`, if a call of it was ever counted.
    #[inline]
    pub(crate) fn find(&self, method: &str) -> Option<&Arc<MethodStats>> {
        let mut chunk = &self.first;
        loop {
            for slot in &chunk.slots {
                match slot.get() {
                    Some((name, stats)) if **name == *method => return Some(stats),
                    Some(_) => {}
                    None => return None,
                }
            }
            chunk = chunk.next.get()?;
        }
    }

    /// The counters of `method`, made on first use.
    pub(crate) fn get_or_add(&self, method: &str) -> &Arc<MethodStats> {
        if let Some(stats) = self.find(method) {
            return stats;
        }
        let _adding = self.adding.lock();
        let mut chunk = &self.first;
        loop {
            for slot in &chunk.slots {
                match slot.get() {
                    Some((name, stats)) if **name == *method => return stats,
                    Some(_) => {}
                    None => {
                        let (_, stats) =
                            slot.get_or_init(|| (method.into(), Arc::new(MethodStats::new())));
                        return stats;
                    }
                }
            }
            chunk = chunk.next.get_or_init(Box::default);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_ends_its_call_once_as_success_or_failure() {
        let stats = Arc::new(MethodStats::new());
        let (a, b, c) = (stats.begin(), stats.begin(), stats.begin());
        assert_eq!(stats.active(), 3);
        a.succeeded(Duration::from_millis(10));
        assert_eq!(
            (stats.active(), stats.succeeded(), stats.failed()),
            (2, 1, 0)
        );
        drop(b);
        assert_eq!(
            (stats.active(), stats.succeeded(), stats.failed()),
            (1, 1, 1)
        );
        c.succeeded(Duration::from_millis(30));
        assert_eq!(
            (stats.active(), stats.succeeded(), stats.failed()),
            (0, 2, 1)
        );
        assert_eq!(stats.average_elapsed(5_000), Duration::from_millis(20));
    }

    #[test]
    fn the_average_covers_the_current_window_only() {
        let stats = Arc::new(MethodStats::new());
        let t0 = 1_000_000;
        assert_eq!(stats.average_elapsed(t0), Duration::ZERO);
        stats.begin().succeeded(Duration::from_millis(100));
        assert_eq!(
            stats.average_elapsed(t0 + 29_999),
            Duration::from_millis(100)
        );
        // The window ends: a new one starts empty.
        assert_eq!(stats.average_elapsed(t0 + 30_000), Duration::ZERO);
        stats.begin().succeeded(Duration::from_millis(4));
        stats.begin().succeeded(Duration::from_millis(6));
        assert_eq!(stats.average_elapsed(t0 + 31_000), Duration::from_millis(5));
        // A clock that went back starts a new window rather than never ending this one.
        assert_eq!(stats.average_elapsed(t0), Duration::ZERO);
    }

    #[test]
    fn a_table_finds_what_it_added_past_one_chunk() {
        let table = StatsTable::default();
        assert!(table.find("m0").is_none());
        let names: Vec<String> = (0..CHUNK * 2 + 3).map(|i| format!("m{i}")).collect();
        let added: Vec<*const MethodStats> = names
            .iter()
            .map(|n| Arc::as_ptr(table.get_or_add(n)))
            .collect();
        for (name, ptr) in names.iter().zip(&added) {
            assert_eq!(Arc::as_ptr(table.find(name).unwrap()), *ptr, "{name}");
            assert_eq!(Arc::as_ptr(table.get_or_add(name)), *ptr, "{name}");
        }
        let distinct: std::collections::HashSet<_> = added.iter().collect();
        assert_eq!(distinct.len(), names.len());
        assert!(table.find("m").is_none() && table.find("m00").is_none());
    }

    #[test]
    fn threads_adding_one_method_share_one_counter() {
        let table = Arc::new(StatsTable::default());
        let ptrs: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let table = &table;
                    s.spawn(move || {
                        (0..20)
                            .map(|i| Arc::as_ptr(table.get_or_add(&format!("m{i}"))) as usize)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let distinct: std::collections::HashSet<_> = ptrs.iter().collect();
        assert_eq!(distinct.len(), 20);
    }
}
