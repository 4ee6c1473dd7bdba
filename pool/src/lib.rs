//! Bounded pools of plain threads: [`WorkerPool`] runs futures (provider handlers dispatched
//! to a pool, async handlers, callback proxies' loops) and [`ContinuationPool`] runs completion
//! continuations. Both hold at most `queue_capacity` tasks waiting for a thread; past that,
//! the submitting thread runs the task itself (caller-runs), so memory stays bounded and a
//! flooding peer is slowed down through its own connection's reader.
//!
//! All three adapters use them: tether-threadpool for handlers and continuations, tether-tokio
//! and tether-smol for continuations off their runtimes' threads (`Options::continuation_executor`).
//! Each re-exports what it uses, so users need not depend on this crate.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::VecDeque;
use std::io;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use parking_lot::{Condvar, Mutex};
use tether_core::call::Task;
use tether_core::{BoxFuture, ContinuationExecutor, Spawner};

/// Runs futures on `threads` threads (named `tether-worker-N`): the thread-pool adapter's
/// [`Spawner`], for `Dispatch::Pool` (Dubbo's `all` dispatcher) and async handlers.
///
/// A future occupies a thread only while it is polled: when it waits (for a reverse call, a
/// timer, another completion), the thread moves on, and the future's
/// waker queues it again. A waiting future is owned by its waker: one that nothing can wake
/// any more is dropped (a provider handler's responder then answers its caller).
///
/// **When the queue is full**, [`spawn`](Spawner::spawn) polls the new future on the calling
/// thread — for a provider, the connection's reader thread, which reads no more requests
/// until the handler returns, so TCP pushes back on the peer. Woken futures are always
/// queued (they were admitted already; their number is bounded by the requests in flight).
/// A panicking future is dropped and does not take its thread down.
///
/// Dropping the pool lets its threads finish the queued tasks and exit; futures woken after
/// that are dropped.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::mpsc;
/// use tether_core::Spawner;
/// use tether_pool::WorkerPool;
///
/// let pool = WorkerPool::new(NonZeroUsize::new(2).unwrap(), NonZeroUsize::new(64).unwrap())?;
/// assert_eq!((pool.threads(), pool.queue_capacity()), (2, 64));
/// let (tx, rx) = mpsc::channel();
/// pool.spawn(Box::pin(async move { tx.send(6 * 7).unwrap() }));
/// assert_eq!(rx.recv().unwrap(), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct WorkerPool(Pool);

/// Runs completion continuations on `threads` threads (named `tether-continue-N`) instead
/// of the connection's IO threads: Dubbo's consumer callback executor, for
/// the adapters' `Options::continuation_executor`.
///
/// **When the queue is full** the task runs on the submitting (IO) thread — caller-runs — so
/// memory stays bounded and the IO thread is slowed down rather than blocked: blocking it
/// could deadlock a continuation that waits on another call of the same connection. A
/// panicking continuation is caught and does not take its thread down.
///
/// Dropping the pool lets its threads finish the queued tasks and exit.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::mpsc;
/// use tether_core::ContinuationExecutor;
/// use tether_pool::ContinuationPool;
///
/// let pool = ContinuationPool::new(NonZeroUsize::new(2).unwrap(), NonZeroUsize::new(256).unwrap())?;
/// assert_eq!((pool.threads(), pool.queue_capacity()), (2, 256));
/// let (tx, rx) = mpsc::channel();
/// pool.execute(Box::new(move || tx.send(std::thread::current().name().map(str::to_owned)).unwrap()));
/// assert!(rx.recv().unwrap().is_some_and(|name| name.starts_with("tether-continue")));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ContinuationPool(Pool);

impl WorkerPool {
    /// Starts `threads` threads sharing a queue of at most `queue_capacity` tasks.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_pool::WorkerPool;
    ///
    /// // 4 threads; past 128 waiting tasks, submitters run their own.
    /// let pool = WorkerPool::new(NonZeroUsize::new(4).unwrap(), NonZeroUsize::new(128).unwrap())?;
    /// drop(pool); // its threads drain the queue and exit
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(threads: NonZeroUsize, queue_capacity: NonZeroUsize) -> io::Result<Self> {
        Pool::new("tether-worker", threads, queue_capacity).map(Self)
    }

    /// How many threads run futures.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_pool::WorkerPool;
    ///
    /// let pool = WorkerPool::new(NonZeroUsize::new(4).unwrap(), NonZeroUsize::MIN)?;
    /// assert_eq!(pool.threads(), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn threads(&self) -> usize {
        self.0.threads
    }

    /// The most tasks queued before new futures are polled on the submitting thread.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_pool::WorkerPool;
    ///
    /// let pool = WorkerPool::new(NonZeroUsize::MIN, NonZeroUsize::new(128).unwrap())?;
    /// assert_eq!(pool.queue_capacity(), 128);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn queue_capacity(&self) -> usize {
        self.0.shared.capacity
    }
}

impl Spawner for WorkerPool {
    fn spawn(&self, future: BoxFuture) {
        let task = Arc::new(FutureTask {
            future: Mutex::new(Some(future)),
            state: AtomicU8::new(QUEUED),
            pool: Arc::downgrade(&self.0.shared),
        });
        if let Err(Job::Poll(task)) = self.0.shared.push(Job::Poll(task), true) {
            task.run();
        }
    }
}

impl ContinuationPool {
    /// Starts `threads` threads sharing a queue of at most `queue_capacity` tasks.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_pool::ContinuationPool;
    ///
    /// // 2 threads; past 512 waiting tasks, submitters run their own.
    /// let pool = ContinuationPool::new(NonZeroUsize::new(2).unwrap(), NonZeroUsize::new(512).unwrap())?;
    /// drop(pool); // its threads drain the queue and exit
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(threads: NonZeroUsize, queue_capacity: NonZeroUsize) -> io::Result<Self> {
        Pool::new("tether-continue", threads, queue_capacity).map(Self)
    }

    /// How many threads run continuations.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_pool::ContinuationPool;
    ///
    /// let pool = ContinuationPool::new(NonZeroUsize::new(2).unwrap(), NonZeroUsize::MIN)?;
    /// assert_eq!(pool.threads(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn threads(&self) -> usize {
        self.0.threads
    }

    /// The most tasks queued before tasks run on the submitting thread.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_pool::ContinuationPool;
    ///
    /// let pool = ContinuationPool::new(NonZeroUsize::MIN, NonZeroUsize::new(512).unwrap())?;
    /// assert_eq!(pool.queue_capacity(), 512);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn queue_capacity(&self) -> usize {
        self.0.shared.capacity
    }
}

impl ContinuationExecutor for ContinuationPool {
    fn execute(&self, task: Task) {
        if let Err(Job::Run(task)) = self.0.shared.push(Job::Run(task), true) {
            // A continuation's panic is its own, wherever it runs.
            let _ = catch_unwind(AssertUnwindSafe(task));
        }
    }
}

/// The threads and queue behind both pools.
#[derive(Debug)]
struct Pool {
    shared: Arc<Shared>,
    threads: usize,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    capacity: usize,
}

struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("jobs", &self.jobs.len())
            .field("closed", &self.closed)
            .finish()
    }
}

enum Job {
    Run(Task),
    Poll(Arc<FutureTask>),
}

impl Pool {
    fn new(name: &str, threads: NonZeroUsize, capacity: NonZeroUsize) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::with_capacity(capacity.get().min(1024)),
                closed: false,
            }),
            ready: Condvar::new(),
            capacity: capacity.get(),
        });
        let pool = Self {
            shared,
            threads: threads.get(),
        };
        for n in 0..threads.get() {
            let shared = pool.shared.clone();
            // On failure `pool` is dropped, which stops the threads already started.
            thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || shared.work())?;
        }
        Ok(pool)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.queue.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

impl Shared {
    /// Queues `job`; hands it back if the pool is closed, or if `bounded` and the queue is
    /// full.
    fn push(&self, job: Job, bounded: bool) -> Result<(), Job> {
        let mut queue = self.queue.lock();
        if queue.closed || (bounded && queue.jobs.len() >= self.capacity) {
            return Err(job);
        }
        queue.jobs.push_back(job);
        drop(queue);
        self.ready.notify_one();
        Ok(())
    }

    fn work(&self) {
        loop {
            let job = {
                let mut queue = self.queue.lock();
                loop {
                    if let Some(job) = queue.jobs.pop_front() {
                        break job;
                    }
                    if queue.closed {
                        return;
                    }
                    self.ready.wait(&mut queue);
                }
            };
            match job {
                Job::Run(task) => {
                    // A continuation's panic is its own; the pool keeps serving the others.
                    let _ = catch_unwind(AssertUnwindSafe(task));
                }
                Job::Poll(task) => task.run(),
            }
        }
    }
}

/// [`FutureTask::state`]: in the queue (or about to be polled by the spawner).
const QUEUED: u8 = 0;
/// Being polled.
const RUNNING: u8 = 1;
/// Being polled, and woken meanwhile: queued again once the poll returns.
const NOTIFIED: u8 = 2;
/// Waiting for a wake.
const IDLE: u8 = 3;
/// Finished (or panicked): wakes do nothing.
const DONE: u8 = 4;

/// A spawned future and where it is in its life. The state machine gives one thread at a
/// time the right to poll, so the future is polled without holding any lock.
struct FutureTask {
    /// Taken out by the thread that polls it; `None` once finished.
    future: Mutex<Option<BoxFuture>>,
    state: AtomicU8,
    pool: Weak<Shared>,
}

impl FutureTask {
    /// Polls the future once. Only called for a task in state `QUEUED`, by whoever took it
    /// from the queue (or the spawner, when the queue was full).
    fn run(self: Arc<Self>) {
        self.state.store(RUNNING, Ordering::Release);
        // Invariant: only a `RUNNING` task's poller touches the slot, so it is never
        // contended; the lock is for `Sync`, and is released before polling.
        let Some(mut future) = self.future.lock().take() else {
            return;
        };
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))) {
            Ok(Poll::Pending) => {}
            // Finished, or panicked: either way it is done.
            Ok(Poll::Ready(())) | Err(_) => {
                self.state.store(DONE, Ordering::Release);
                return;
            }
        }
        *self.future.lock() = Some(future);
        if self
            .state
            .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Woken while polled (`NOTIFIED`): poll again, after the tasks queued meanwhile.
            self.state.store(QUEUED, Ordering::Release);
            self.requeue();
        }
    }

    fn requeue(self: Arc<Self>) {
        if let Some(pool) = self.pool.upgrade() {
            // Unbounded: see `WorkerPool`. A closed pool hands the task back: dropped here.
            let _ = pool.push(Job::Poll(self), false);
        }
    }
}

impl Wake for FutureTask {
    fn wake(self: Arc<Self>) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                IDLE => QUEUED,
                RUNNING => NOTIFIED,
                // Queued, already notified, or done: nothing to add.
                _ => return,
            };
            match self
                .state
                .compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if next == QUEUED => return self.requeue(),
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc;
    use std::time::Duration;

    fn n(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    #[test]
    fn futures_that_wait_free_their_thread() {
        let pool = WorkerPool::new(n(1), n(64)).unwrap();
        let (tx, rx) = mpsc::channel();
        // The first future waits on a completion that the second one resolves: with one
        // thread, this only finishes if waiting frees the thread.
        let (completer, completion) = tether_core::call::pair(|| 0u32);
        let first = tx.clone();
        pool.spawn(Box::pin(async move {
            let value = completion.await;
            first
                .send(("first", value, thread::current().name().map(str::to_owned)))
                .unwrap();
        }));
        pool.spawn(Box::pin(async move {
            // Waits for a plain thread, as for a timer.
            let (woken, wait) = tether_core::call::pair(|| ());
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(10));
                woken.complete((), &tether_core::Inline);
            });
            wait.await;
            completer.complete(7, &tether_core::Inline);
            tx.send(("second", 0, None)).unwrap();
        }));
        let got: Vec<_> = (0..2)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        let first = got.iter().find(|g| g.0 == "first").unwrap();
        assert_eq!(first.1, 7);
        assert_eq!(first.2.as_deref(), Some("tether-worker-0"));
    }

    #[test]
    fn tasks_woken_while_polled_run_again_and_finish() {
        let pool = WorkerPool::new(n(2), n(64)).unwrap();
        let (tx, rx) = mpsc::channel();
        for _ in 0..32 {
            let tx = tx.clone();
            let mut polls = 0;
            // Wakes itself during each poll, 200 times: every wake lands while it runs.
            pool.spawn(Box::pin(std::future::poll_fn(move |cx| {
                polls += 1;
                if polls < 200 {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                tx.send(polls).unwrap();
                Poll::Ready(())
            })));
        }
        for _ in 0..32 {
            assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 200);
        }
    }

    #[test]
    fn a_full_worker_pool_polls_on_the_caller() {
        let pool = WorkerPool::new(n(1), n(1)).unwrap();
        let (block_tx, block_rx) = mpsc::channel::<()>();
        let (name_tx, name_rx) = mpsc::channel();
        let (started_tx, started_rx) = mpsc::channel();
        // Occupy the only thread, then fill the queue.
        pool.spawn(Box::pin(async move {
            started_tx.send(()).unwrap();
            let _ = block_rx.recv();
        }));
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        for _ in 0..3 {
            let name_tx = name_tx.clone();
            pool.spawn(Box::pin(async move {
                let _ = name_tx.send(thread::current().name().map(str::to_owned));
            }));
        }
        let here = thread::current().name().map(str::to_owned);
        let ran_here = name_rx.try_iter().filter(|name| *name == here).count();
        assert!(ran_here >= 2, "{ran_here} ran on the caller");
        drop(block_tx);
        // The queued one still runs on the pool.
        let name = name_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(name.as_deref(), Some("tether-worker-0"));
    }

    #[test]
    fn a_full_callback_pool_runs_tasks_on_the_caller_and_survives_panics() {
        let pool = ContinuationPool::new(n(1), n(1)).unwrap();
        let (block_tx, block_rx) = mpsc::channel::<()>();
        pool.execute(Box::new(move || {
            let _ = block_rx.recv();
        }));
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let ran = ran.clone();
            pool.execute(Box::new(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            }));
        }
        assert!(ran.load(Ordering::SeqCst) >= 2, "ran on the caller at once");
        drop(block_tx);
        assert_eq!(pool.threads(), 1);
        assert_eq!(pool.queue_capacity(), 1);

        // A panicking continuation leaves the thread serving the next one.
        let pool = ContinuationPool::new(n(1), n(8)).unwrap();
        pool.execute(Box::new(|| panic!("a continuation's own problem")));
        let (tx, rx) = mpsc::channel();
        pool.execute(Box::new(move || {
            tx.send(thread::current().name().map(str::to_owned))
                .unwrap();
        }));
        let name = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(name.as_deref(), Some("tether-continue-0"));
    }
}
