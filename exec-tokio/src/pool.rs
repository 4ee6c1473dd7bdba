//! [`CallbackPool`]: a small bounded thread pool for response continuations.

use std::collections::VecDeque;
use std::io;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread;

use parking_lot::{Condvar, Mutex};
use tether_core::CallbackExecutor;
use tether_core::call::Task;

/// Runs completion continuations on `threads` dedicated threads (named `tether-callback-N`)
/// instead of the IO task: Dubbo's consumer callback executor.
///
/// The queue holds at most `queue_capacity` tasks. When it is full the task runs on the
/// submitting thread (the IO task) instead — the caller-runs policy — so memory stays bounded
/// and the IO loop is slowed down rather than blocked: blocking it could deadlock a
/// continuation that waits on another call of the same connection. A panicking continuation
/// is caught and does not take its thread down.
///
/// Dropping the pool lets its threads finish the queued tasks and exit.
#[derive(Debug)]
pub struct CallbackPool {
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
    tasks: VecDeque<Task>,
    closed: bool,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("tasks", &self.tasks.len())
            .field("closed", &self.closed)
            .finish()
    }
}

impl CallbackPool {
    /// Starts `threads` threads sharing a queue of at most `queue_capacity` tasks.
    pub fn new(threads: NonZeroUsize, queue_capacity: NonZeroUsize) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                tasks: VecDeque::with_capacity(queue_capacity.get().min(1024)),
                closed: false,
            }),
            ready: Condvar::new(),
            capacity: queue_capacity.get(),
        });
        let pool = Self {
            shared,
            threads: threads.get(),
        };
        for n in 0..threads.get() {
            let shared = pool.shared.clone();
            // On failure `pool` is dropped, which stops the threads already started.
            thread::Builder::new()
                .name(format!("tether-callback-{n}"))
                .spawn(move || work(&shared))?;
        }
        Ok(pool)
    }

    /// How many threads run continuations.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The most tasks queued before tasks run on the submitting thread.
    pub fn queue_capacity(&self) -> usize {
        self.shared.capacity
    }
}

impl CallbackExecutor for CallbackPool {
    fn execute(&self, task: Task) {
        let mut queue = self.shared.queue.lock();
        if queue.closed || queue.tasks.len() >= self.shared.capacity {
            drop(queue);
            // Caller-runs: contain a panic as the pool threads do.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task));
            return;
        }
        queue.tasks.push_back(task);
        drop(queue);
        self.shared.ready.notify_one();
    }
}

impl Drop for CallbackPool {
    fn drop(&mut self) {
        self.shared.queue.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

fn work(shared: &Shared) {
    loop {
        let task = {
            let mut queue = shared.queue.lock();
            loop {
                if let Some(task) = queue.tasks.pop_front() {
                    break task;
                }
                if queue.closed {
                    return;
                }
                shared.ready.wait(&mut queue);
            }
        };
        // A continuation's panic is its own; the pool keeps serving the others.
        let _ = catch_unwind(AssertUnwindSafe(task));
    }
}
