//! Time for futures without an async runtime: [`sleep`] / [`sleep_until`] futures served by
//! one timer thread per process, and [`ThreadRuntime`], the clock and timer that the core's
//! runtime-agnostic helpers (graceful shutdown, reconnect) take.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use futures::task::AtomicWaker;
use parking_lot::{Condvar, Mutex};
use tether_core::Clock;

/// The system clock, a [`Sleep`] timer and a no-op yield: what `tether_core::driver`'s
/// helpers need, for code that runs them with `futures::executor::block_on` on a plain
/// thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadRuntime;

impl Clock for ThreadRuntime {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

impl tether_core::driver::Timers for ThreadRuntime {
    type Sleep = Sleep;

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        sleep_until(deadline)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send {
        // Threads are preempted: there is no cooperative scheduler to yield to.
        std::future::ready(())
    }
}

/// A future that resolves after `duration`.
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now() + duration)
}

/// A future that resolves at `deadline` (at once if it has passed).
///
/// It is served by the process's timer thread (`tether-timer`, started on first use), which
/// wakes the awaiting task. A `Sleep` dropped early leaves its entry queued until its
/// deadline: memory is bounded by the sleeps started.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        slot: None,
    }
}

/// The future of [`sleep`] and [`sleep_until`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    /// Registered with the timer thread on the first pending poll.
    slot: Option<Arc<Slot>>,
}

#[derive(Debug, Default)]
struct Slot {
    waker: AtomicWaker,
    fired: AtomicBool,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        let slot = match &self.slot {
            Some(slot) => slot.clone(),
            None => {
                let slot = Arc::new(Slot::default());
                slot.waker.register(cx.waker());
                let Some(timers) = timers() else {
                    // No timer thread could be started: wait here instead, which blocks
                    // this thread but keeps the deadline.
                    thread::sleep(self.deadline.saturating_duration_since(Instant::now()));
                    return Poll::Ready(());
                };
                timers.add(self.deadline, slot.clone());
                self.slot = Some(slot.clone());
                slot
            }
        };
        slot.waker.register(cx.waker());
        // Checked after registering, so a firing in between is not missed.
        if slot.fired.load(Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A queued deadline; the heap's order is by deadline only.
struct Entry {
    at: Instant,
    slot: Arc<Slot>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Reversed: the earliest deadline is the heap's top.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other.at.cmp(&self.at)
    }
}

struct Timers {
    heap: Mutex<BinaryHeap<Entry>>,
    changed: Condvar,
}

/// The process's timer thread, started on first use; `None` if it could not be started.
fn timers() -> Option<&'static Timers> {
    static TIMERS: OnceLock<Option<&'static Timers>> = OnceLock::new();
    *TIMERS.get_or_init(|| {
        // One thread and its queue for the life of the process, like tokio's or async-io's
        // timer driver: leaking them is the point.
        let timers: &'static Timers = Box::leak(Box::new(Timers {
            heap: Mutex::new(BinaryHeap::new()),
            changed: Condvar::new(),
        }));
        thread::Builder::new()
            .name("tether-timer".to_owned())
            .spawn(move || timers.run())
            .ok()
            .map(|_| timers)
    })
}

impl Timers {
    fn add(&self, at: Instant, slot: Arc<Slot>) {
        let mut heap = self.heap.lock();
        let earliest = heap.peek().is_none_or(|top| at < top.at);
        heap.push(Entry { at, slot });
        drop(heap);
        if earliest {
            self.changed.notify_one();
        }
    }

    fn run(&self) {
        let mut due = Vec::new();
        let mut heap = self.heap.lock();
        loop {
            let now = Instant::now();
            while heap.peek().is_some_and(|top| top.at <= now) {
                due.extend(heap.pop());
            }
            if !due.is_empty() {
                // Wakers run executor code (queue pushes): never under the timer's lock.
                drop(heap);
                for entry in due.drain(..) {
                    entry.slot.fired.store(true, Ordering::Release);
                    entry.slot.waker.wake();
                }
                heap = self.heap.lock();
                continue;
            }
            match heap.peek().map(|top| top.at) {
                Some(at) => {
                    self.changed.wait_until(&mut heap, at);
                }
                None => self.changed.wait(&mut heap),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sleep_lasts_at_least_its_duration() {
        let handles: Vec<_> = [60u64, 20, 40, 20]
            .into_iter()
            .map(|ms| {
                thread::spawn(move || {
                    let start = Instant::now();
                    futures::executor::block_on(sleep(Duration::from_millis(ms)));
                    assert!(start.elapsed() >= Duration::from_millis(ms));
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        // A past deadline is ready at once.
        futures::executor::block_on(sleep_until(Instant::now()));
    }
}
