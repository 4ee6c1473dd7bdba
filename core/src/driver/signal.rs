//! The wake signal between command issuers and a connection's IO loop: a flag plus an
//! [`AtomicWaker`], lock-free, so that issuing a command from any thread costs one atomic
//! read-modify-write and, only when the loop sleeps, one wake.

use std::sync::atomic::{AtomicU8, Ordering};
use std::task::Waker;

use futures_util::task::AtomicWaker;

/// Set by [`WakeSignal::notify`]: a command left work for the loop since it last looked.
const NOTIFIED: u8 = 0b01;
/// Set while the loop runs (is being polled, or has yielded and will be polled again): it
/// checks [`NOTIFIED`] before it sleeps, so notifiers need not wake it.
const RUNNING: u8 = 0b10;

/// Wakes the IO loop of one connection. `SharedConnection`'s wake closure calls
/// [`notify`](Self::notify); the loop consumes notifications with the other methods.
///
/// Invariant: a notification is never lost. Either the loop is running, and it re-checks
/// `NOTIFIED` after clearing `RUNNING` and before it returns `Pending`, or it is not, and the
/// first notifier to set `NOTIFIED` wakes the registered waker.
#[derive(Debug, Default)]
pub struct WakeSignal {
    state: AtomicU8,
    waker: AtomicWaker,
}

impl WakeSignal {
    /// A signal with no notification pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the loop to run a turn soon. Cheap when the loop is running or already notified:
    /// then nobody needs waking.
    pub fn notify(&self) {
        let prev = self.state.fetch_or(NOTIFIED, Ordering::AcqRel);
        if prev & (NOTIFIED | RUNNING) == 0 {
            self.waker.wake();
        }
    }

    /// Loop side, at the start of a poll: records the task to wake and marks the loop
    /// running.
    pub(crate) fn enter(&self, waker: &Waker) {
        self.waker.register(waker);
        self.state.fetch_or(RUNNING, Ordering::AcqRel);
    }

    /// Loop side, at the start of a turn: consumes a pending notification. The turn that
    /// follows looks at the connection under its lock, so it sees every command issued
    /// before the notification.
    pub(crate) fn consume(&self) {
        self.state.fetch_and(!NOTIFIED, Ordering::AcqRel);
    }

    /// Loop side, before returning `Pending`: marks the loop sleeping. Returns `false` if a
    /// notification arrived meanwhile; the loop is then still running and must do another
    /// turn instead of sleeping.
    pub(crate) fn try_sleep(&self) -> bool {
        let prev = self.state.fetch_and(!RUNNING, Ordering::AcqRel);
        if prev & NOTIFIED != 0 {
            self.state.fetch_or(RUNNING, Ordering::AcqRel);
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn wakes_only_a_sleeping_loop_once() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let signal = WakeSignal::new();
        signal.enter(&waker);
        signal.consume();
        // Running: notifications are noted, not woken.
        signal.notify();
        assert_eq!(count.0.load(Ordering::Relaxed), 0);
        assert!(
            !signal.try_sleep(),
            "a notification during the turn keeps the loop awake"
        );
        signal.consume();
        assert!(signal.try_sleep());
        // Sleeping: the first notification wakes, the second is absorbed.
        signal.notify();
        signal.notify();
        assert_eq!(count.0.load(Ordering::Relaxed), 1);
        signal.enter(&waker);
        signal.consume();
        assert!(signal.try_sleep());
        signal.notify();
        assert_eq!(count.0.load(Ordering::Relaxed), 2);
    }
}
