//! smol's clock, timer, yield and tasks.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use smol::{Executor, Timer};
use tether_core::driver::Runtime;
use tether_core::{BoxFuture, Clock, Spawner};

/// smol's clock (the system's), async-io timers and `yield_now`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SmolRuntime;

impl Clock for SmolRuntime {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

impl Runtime for SmolRuntime {
    type Sleep = Timer;

    fn sleep_until(&self, deadline: Instant) -> Timer {
        Timer::at(deadline)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send {
        // Wakes itself and returns `Pending` once: the executor runs the other ready tasks
        // (queued before this one) first.
        smol::future::yield_now()
    }
}

/// Spawns futures, detached, onto smol's global executor or an [`Executor`] of your own.
#[derive(Clone, Debug, Default)]
pub struct SmolSpawner(Option<Arc<Executor<'static>>>);

impl SmolSpawner {
    /// Spawns onto smol's global executor (`smol::spawn`), where this crate runs its
    /// connections: its threads, one unless `SMOL_THREADS` says otherwise, start on first
    /// use.
    pub fn global() -> Self {
        Self(None)
    }

    /// Spawns onto `executor`; something must run it (`Executor::run`).
    pub fn new(executor: Arc<Executor<'static>>) -> Self {
        Self(Some(executor))
    }
}

impl Spawner for SmolSpawner {
    fn spawn(&self, future: BoxFuture) {
        match &self.0 {
            Some(executor) => executor.spawn(future).detach(),
            None => smol::spawn(future).detach(),
        }
    }
}
