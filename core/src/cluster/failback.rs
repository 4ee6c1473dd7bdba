//! Where [`Cluster::Failback`](super::Cluster::Failback) keeps the calls it resends: a
//! bounded set of background tasks on the adapter's spawner and timers.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::shared::{BoxFuture, Spawner};

/// Makes a future that resolves after a duration, on the adapter's timers
/// (`tokio::time::sleep`, `smol::Timer::after`, `tether_threadpool::sleep`).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tether_core::BoxFuture;
/// use tether_core::cluster::Sleep;
///
/// // A stand-in that never waits; an adapter would wrap its own timer.
/// let sleep: Sleep = Arc::new(|_d: Duration| -> BoxFuture { Box::pin(async {}) });
/// let _wait = sleep(Duration::from_secs(1));
/// ```
pub type Sleep = Arc<dyn Fn(Duration) -> BoxFuture + Send + Sync>;

/// The background resends of a reference's failed [`Failback`](super::Cluster::Failback)
/// calls: each waiting call is a task on `spawner` that sleeps [`period`](Self::period)
/// between attempts. At most [`capacity`](Self::capacity) calls wait at once (Dubbo's
/// `failbacktasks`, default 100); a failed call past that is dropped and logged, as Java's
/// timer rejects it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tether_core::cluster::{Cluster, FailbackQueue};
/// use tether_core::consumer::Reference;
/// # struct NoSpawn;
/// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
///
/// // On tokio: `Arc::new(TokioSpawner::current())` and `Box::pin(tokio::time::sleep(d))`.
/// let queue = FailbackQueue::new(Arc::new(NoSpawn), Arc::new(|_d: Duration| -> tether_core::BoxFuture {
///     Box::pin(async {})
/// }))
/// .capacity(50)
/// .period(Duration::from_secs(2));
/// let notifier = Reference::builder("org.example.Notifier")
///     .cluster(Cluster::Failback { retries: 3 })
///     .failback_queue(Arc::new(queue));
/// # let _ = notifier;
/// ```
pub struct FailbackQueue {
    spawner: Arc<dyn Spawner>,
    sleep: Sleep,
    period: Duration,
    capacity: usize,
    waiting: Arc<AtomicUsize>,
}

impl FailbackQueue {
    /// Dubbo's `failbacktasks`.
    pub const DEFAULT_CAPACITY: usize = 100;
    /// Dubbo's retry period for failback.
    pub const DEFAULT_PERIOD: Duration = Duration::from_secs(5);

    /// A queue whose resends run on `spawner` and wait with `sleep`, with Dubbo's defaults.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tether_core::cluster::FailbackQueue;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let sleep: tether_core::cluster::Sleep = Arc::new(|_d: Duration| -> tether_core::BoxFuture { Box::pin(async {}) });
    ///
    /// let queue = FailbackQueue::new(Arc::new(NoSpawn), sleep);
    /// assert_eq!(queue.waiting(), 0);
    /// ```
    pub fn new(spawner: Arc<dyn Spawner>, sleep: Sleep) -> Self {
        Self {
            spawner,
            sleep,
            period: Self::DEFAULT_PERIOD,
            capacity: Self::DEFAULT_CAPACITY,
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Sets how many failed calls may wait for a resend at once.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tether_core::cluster::FailbackQueue;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let sleep: tether_core::cluster::Sleep = Arc::new(|_d: Duration| -> tether_core::BoxFuture { Box::pin(async {}) });
    ///
    /// // Keep at most 10 failed calls waiting.
    /// let queue = FailbackQueue::new(Arc::new(NoSpawn), sleep).capacity(10);
    /// # let _ = queue;
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Sets the wait before each resend.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tether_core::cluster::FailbackQueue;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let sleep: tether_core::cluster::Sleep = Arc::new(|_d: Duration| -> tether_core::BoxFuture { Box::pin(async {}) });
    ///
    /// // Resend every second rather than every 5 s.
    /// let queue = FailbackQueue::new(Arc::new(NoSpawn), sleep).period(Duration::from_secs(1));
    /// # let _ = queue;
    /// ```
    pub fn period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// How many failed calls wait for a resend now.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tether_core::cluster::FailbackQueue;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let sleep: tether_core::cluster::Sleep = Arc::new(|_d: Duration| -> tether_core::BoxFuture { Box::pin(async {}) });
    ///
    /// let queue = FailbackQueue::new(Arc::new(NoSpawn), sleep);
    /// // Nothing has failed yet.
    /// assert_eq!(queue.waiting(), 0);
    /// ```
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Runs `resend` (given the sleep and the period) as a background task if there is
    /// room; false if the queue is full.
    pub(crate) fn push(&self, resend: impl FnOnce(Sleep, Duration) -> BoxFuture) -> bool {
        let mut waiting = self.waiting.load(Ordering::Relaxed);
        loop {
            if waiting >= self.capacity {
                return false;
            }
            match self.waiting.compare_exchange_weak(
                waiting,
                waiting + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => waiting = now,
            }
        }
        let slot = Slot(self.waiting.clone());
        let task = resend(self.sleep.clone(), self.period);
        self.spawner.spawn(Box::pin(async move {
            task.await;
            drop(slot);
        }));
        true
    }
}

/// A place in the queue, given back when the task ends (or is dropped unfinished).
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl fmt::Debug for FailbackQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FailbackQueue")
            .field("period", &self.period)
            .field("capacity", &self.capacity)
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}
