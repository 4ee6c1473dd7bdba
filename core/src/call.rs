//! Completions: the runtime-agnostic one-shot result handle that every call returns.
//!
//! A [`Completion`] is a `Future`; it can also be waited on from a plain thread
//! ([`wait`](Completion::wait), [`wait_timeout`](Completion::wait_timeout)) or continued with
//! [`on_complete`](Completion::on_complete). The producing side is a [`Completer`]. Where a
//! continuation runs is decided by the [`CallbackExecutor`] passed to
//! [`Completer::complete`]: inline on the completing (IO) thread, or handed to a pool.
//!
//! A completion is resolved exactly once: by its completer, or, if the completer is dropped
//! without completing, with the value of the `abandoned` function given to [`pair`].
//! Dropping an unresolved completion marks it cancelled and, if it was created for a pending
//! call, queues the call's cancellation for its connection (see [`CancelQueue`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::frame::RequestId;

/// A continuation registered with [`Completion::on_complete`].
type Continuation<T> = Box<dyn FnOnce(T) + Send>;

/// A unit of work handed to a [`CallbackExecutor`].
pub type Task = Box<dyn FnOnce() + Send>;

/// Decides where completion continuations (and, in higher layers, `onreturn`/`onthrow`
/// listeners) run.
pub trait CallbackExecutor: Send + Sync {
    /// Runs `task`, now or later, on some thread. It must eventually run exactly once.
    fn execute(&self, task: Task);

    /// Whether [`execute`](Self::execute) runs every task at once on the calling thread,
    /// containing panics, as [`Inline`] does: completers then run continuations directly,
    /// without boxing them as a [`Task`].
    fn runs_inline(&self) -> bool {
        false
    }
}

/// Runs continuations inline, on the thread that completes the call (the IO thread).
#[derive(Clone, Copy, Debug, Default)]
pub struct Inline;

impl CallbackExecutor for Inline {
    /// Runs `task` now. A panicking continuation is contained here: it must not take the
    /// IO loop, and every other call on the connection, down with it.
    fn execute(&self, task: Task) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task));
    }

    fn runs_inline(&self) -> bool {
        true
    }
}

impl<E: CallbackExecutor + ?Sized> CallbackExecutor for Arc<E> {
    fn execute(&self, task: Task) {
        (**self).execute(task);
    }

    fn runs_inline(&self) -> bool {
        (**self).runs_inline()
    }
}

enum State<T> {
    /// Not resolved; nobody registered interest yet.
    Empty,
    /// Not resolved; an async task awaits it.
    Polled(Waker),
    /// Not resolved; a continuation waits for the value.
    Continued(Continuation<T>),
    /// Resolved; the value waits to be taken.
    Ready(T),
    /// The value was taken, given to a continuation, or the completion was dropped.
    Done,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Signalled when the value is stored while a thread blocks in `wait*`.
    ready: Condvar,
    /// Set while a thread blocks in `wait*`, so completers only notify when needed.
    has_waiter: AtomicBool,
    abandoned: fn() -> T,
}

/// Creates a connected completer/completion pair.
///
/// `abandoned` produces the value the completion resolves to if the completer is dropped
/// without completing, so that every completion resolves exactly once.
pub fn pair<T: Send + 'static>(abandoned: fn() -> T) -> (Completer<T>, Completion<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::Empty),
        ready: Condvar::new(),
        has_waiter: AtomicBool::new(false),
        abandoned,
    });
    (
        Completer {
            shared: Some(shared.clone()),
        },
        Completion {
            shared,
            cancel: None,
            upstream: None,
            further_upstream: Vec::new(),
        },
    )
}

/// The producing half of a completion.
pub struct Completer<T: Send + 'static> {
    /// `None` once completed.
    shared: Option<Arc<Shared<T>>>,
}

impl<T: Send + 'static> Completer<T> {
    /// Resolves the completion with `value`: wakes an awaiting task or blocked thread inline,
    /// and hands a registered continuation to `executor`. If the completion was dropped, the
    /// value is dropped.
    pub fn complete(mut self, value: T, executor: &dyn CallbackExecutor) {
        if let Some(shared) = self.shared.take() {
            resolve(&shared, value, executor);
        }
    }

    /// Whether the completion was dropped (nobody will see the value).
    pub fn is_abandoned(&self) -> bool {
        self.shared
            .as_ref()
            .is_some_and(|shared| matches!(*shared.state.lock(), State::Done))
    }
}

impl<T: Send + 'static> Drop for Completer<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            let value = (shared.abandoned)();
            resolve(&shared, value, &Inline);
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Completer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completer").finish_non_exhaustive()
    }
}

fn resolve<T: Send + 'static>(shared: &Shared<T>, value: T, executor: &dyn CallbackExecutor) {
    let mut state = shared.state.lock();
    let waker = match std::mem::replace(&mut *state, State::Done) {
        State::Empty => None,
        State::Polled(waker) => Some(waker),
        State::Continued(continuation) => {
            // Never run user code while holding the completion's lock.
            drop(state);
            if executor.runs_inline() {
                let run = std::panic::AssertUnwindSafe(move || continuation(value));
                let _ = std::panic::catch_unwind(run);
            } else {
                executor.execute(Box::new(move || continuation(value)));
            }
            return;
        }
        // Dropped by its owner: nobody will look at the value.
        State::Done => return,
        // A completer exists once and is consumed by resolving.
        State::Ready(_) => unreachable!("a completion is resolved only once"),
    };
    *state = State::Ready(value);
    if shared.has_waiter.load(Ordering::Relaxed) {
        // Notifying under the lock: a waiter either saw `Ready` or is already parked.
        shared.ready.notify_all();
    }
    drop(state);
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Where a dropped completion sends its call's cancellation: a queue the connection owns and
/// drains on its next input or command, so no adapter is involved.
#[derive(Debug, Default)]
pub struct CancelQueue {
    ids: Mutex<Vec<RequestId>>,
    non_empty: AtomicBool,
}

impl CancelQueue {
    pub(crate) fn push(&self, id: RequestId) {
        self.ids.lock().push(id);
        self.non_empty.store(true, Ordering::Release);
    }

    /// Takes the queued ids into `out` (cheap when the queue is empty).
    pub(crate) fn drain_into(&self, out: &mut Vec<RequestId>) {
        // A load first: the usual empty queue costs no write to a line other cores share.
        if self.non_empty.load(Ordering::Relaxed) && self.non_empty.swap(false, Ordering::Acquire) {
            out.append(&mut self.ids.lock());
        }
    }
}

/// A one-shot result handle: awaitable, waitable from a plain thread, or continued with a
/// callback.
///
/// Dropping a completion before it resolves cancels the call it belongs to: the connection
/// forgets the pending entry on its next input or command, and a late response is ignored.
#[must_use = "dropping a completion cancels its call"]
pub struct Completion<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    cancel: Option<(RequestId, Arc<CancelQueue>)>,
    /// The completion this one was mapped from: dropped unresolved, this one detaches its
    /// continuation so that it never runs...
    upstream: Option<Arc<dyn Upstream>>,
    /// ...and those of the completions before it, when mapped more than once, nearest first.
    further_upstream: Vec<Arc<dyn Upstream>>,
}

/// A completion whose continuation feeds a mapped one.
trait Upstream: Send + Sync {
    /// Drops the continuation without running it.
    fn detach(&self);
}

impl<T: Send + 'static> Upstream for Shared<T> {
    fn detach(&self) {
        let mut state = self.state.lock();
        if let State::Continued(_) = *state {
            let continuation = std::mem::replace(&mut *state, State::Done);
            // Dropped after the lock is released: it owns the next completer downstream.
            drop(state);
            drop(continuation);
        }
    }
}

impl<T: Send + 'static> Completion<T> {
    pub(crate) fn with_cancel(mut self, id: RequestId, queue: Arc<CancelQueue>) -> Self {
        self.cancel = Some((id, queue));
        self
    }

    /// Whether the value is ready to be taken without blocking.
    pub fn is_ready(&self) -> bool {
        matches!(*self.shared.state.lock(), State::Ready(_))
    }

    /// Takes the value if it is ready.
    pub fn try_take(&mut self) -> Option<T> {
        let mut state = self.shared.state.lock();
        match std::mem::replace(&mut *state, State::Done) {
            State::Ready(value) => Some(value),
            other => {
                *state = other;
                None
            }
        }
    }

    /// Blocks the current thread until the value is ready.
    ///
    /// Do not call this on the thread that drives the completing connection: it would wait
    /// for itself.
    pub fn wait(self) -> T {
        match self.wait_inner(None) {
            Ok(value) => value,
            Err(_) => unreachable!("an unbounded wait returns only with a value"),
        }
    }

    /// Blocks for at most `timeout`. On timeout the completion is handed back, still live:
    /// wait again, or drop it to cancel the call.
    pub fn wait_timeout(self, timeout: Duration) -> Result<T, Self> {
        self.wait_inner(Some(timeout))
    }

    fn wait_inner(mut self, timeout: Option<Duration>) -> Result<T, Self> {
        let shared = self.shared.clone();
        let mut state = shared.state.lock();
        shared.has_waiter.store(true, Ordering::Relaxed);
        let mut timed_out = false;
        loop {
            if let State::Ready(_) = *state {
                let State::Ready(value) = std::mem::replace(&mut *state, State::Done) else {
                    unreachable!("checked just above")
                };
                drop(state);
                self.cancel = None;
                return Ok(value);
            }
            if timed_out {
                drop(state);
                return Err(self);
            }
            match timeout {
                None => shared.ready.wait(&mut state),
                Some(timeout) => timed_out = shared.ready.wait_for(&mut state, timeout).timed_out(),
            }
        }
    }

    /// Runs `f` with the value once it is ready: on the thread and executor that complete the
    /// call, or right here if the value is already there.
    pub fn on_complete(mut self, f: impl FnOnce(T) + Send + 'static) {
        let mut state = self.shared.state.lock();
        match std::mem::replace(&mut *state, State::Done) {
            State::Ready(value) => {
                drop(state);
                self.cancel = None;
                f(value);
            }
            State::Empty | State::Polled(_) => {
                *state = State::Continued(Box::new(f));
                drop(state);
                // The continuation now owns the interest in the result: no cancel on drop.
                self.cancel = None;
            }
            State::Continued(_) | State::Done => {
                unreachable!("a completion is consumed by on_complete and wait")
            }
        }
    }
}

impl<T: Send + 'static> Completion<T> {
    /// A completion of `f(value)`. `f` runs where this completion resolves (the completing
    /// thread's executor). Dropping the mapped completion still cancels the call; `abandoned`
    /// is the mapped value if the original's completer disappears.
    pub fn map<U: Send + 'static>(
        mut self,
        f: impl FnOnce(T) -> U + Send + 'static,
        abandoned: fn() -> U,
    ) -> Completion<U> {
        let (completer, mut mapped) = pair(abandoned);
        // The interest in the call moves to the mapped completion, and with it the duty to
        // detach this one's continuation (and those before it) if it is dropped unresolved:
        // otherwise the connection, dropping the call's completer under its lock, would run
        // `f` there.
        mapped.cancel = self.cancel.take();
        mapped.upstream = Some(self.shared.clone());
        if let Some(nearest) = self.upstream.take() {
            mapped.further_upstream.push(nearest);
            mapped.further_upstream.append(&mut self.further_upstream);
        }
        self.on_complete(move |value| completer.complete(f(value), &Inline));
        mapped
    }
}

impl<T: Send + 'static> Future for Completion<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.shared.state.lock();
        match std::mem::replace(&mut *state, State::Done) {
            State::Ready(value) => {
                drop(state);
                self.cancel = None;
                Poll::Ready(value)
            }
            State::Polled(waker) if waker.will_wake(cx.waker()) => {
                *state = State::Polled(waker);
                Poll::Pending
            }
            State::Empty | State::Polled(_) => {
                *state = State::Polled(cx.waker().clone());
                Poll::Pending
            }
            State::Done => panic!("Completion polled after it returned Ready"),
            State::Continued(_) => unreachable!("on_complete consumes the completion"),
        }
    }
}

impl<T: Send + 'static> Drop for Completion<T> {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock();
        let unresolved = match *state {
            State::Empty | State::Polled(_) => true,
            // A value nobody took: release it now.
            State::Ready(_) => false,
            // `on_complete` handed the interest to its continuation; the value goes there.
            State::Continued(_) | State::Done => return,
        };
        *state = State::Done;
        drop(state);
        if unresolved {
            let further = self.further_upstream.drain(..);
            for upstream in self.upstream.take().into_iter().chain(further) {
                upstream.detach();
            }
            if let Some((id, queue)) = self.cancel.take() {
                queue.push(id);
            }
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Completion<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may use threads and the clock
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread;

    fn abandoned() -> Result<u32, &'static str> {
        Err("abandoned")
    }

    #[test]
    fn wait_from_another_thread() {
        let (completer, completion) = pair(abandoned);
        let t = thread::spawn(move || completion.wait());
        thread::sleep(Duration::from_millis(20));
        completer.complete(Ok(7), &Inline);
        assert_eq!(t.join().unwrap(), Ok(7));
    }

    #[test]
    fn wait_timeout_hands_the_completion_back() {
        let (completer, completion) = pair(abandoned);
        let completion = completion
            .wait_timeout(Duration::from_millis(5))
            .unwrap_err();
        completer.complete(Ok(1), &Inline);
        assert_eq!(
            completion.wait_timeout(Duration::from_secs(5)).unwrap(),
            Ok(1)
        );
    }

    #[test]
    fn future_is_woken() {
        let (completer, completion) = pair(abandoned);
        let t = thread::spawn(move || futures::executor::block_on(completion));
        thread::sleep(Duration::from_millis(20));
        completer.complete(Ok(3), &Inline);
        assert_eq!(t.join().unwrap(), Ok(3));
    }

    #[test]
    fn continuation_runs_on_the_executor() {
        struct Counting(mpsc::Sender<&'static str>);
        impl CallbackExecutor for Counting {
            fn execute(&self, task: Task) {
                self.0.send("executor").unwrap();
                task();
            }
        }
        let (tx, rx) = mpsc::channel();
        let (completer, completion) = pair(abandoned);
        let tx2 = tx.clone();
        completion.on_complete(move |v| {
            assert_eq!(v, Ok(5));
            tx2.send("continuation").unwrap();
        });
        completer.complete(Ok(5), &Counting(tx));
        assert_eq!(
            rx.try_iter().collect::<Vec<_>>(),
            ["executor", "continuation"]
        );
    }

    #[test]
    fn continuation_after_completion_runs_at_once() {
        let (completer, completion) = pair(abandoned);
        completer.complete(Ok(9), &Inline);
        let (tx, rx) = mpsc::channel();
        completion.on_complete(move |v| tx.send(v).unwrap());
        assert_eq!(rx.try_recv().unwrap(), Ok(9));
    }

    #[test]
    fn dropped_completer_resolves_with_abandoned() {
        let (completer, completion) = pair(abandoned);
        drop(completer);
        assert_eq!(completion.wait(), Err("abandoned"));
    }

    #[test]
    fn dropping_an_unresolved_completion_queues_a_cancel() {
        let queue = Arc::new(CancelQueue::default());
        let (completer, completion) = pair(abandoned);
        let completion = completion.with_cancel(RequestId(4), queue.clone());
        drop(completion);
        assert!(completer.is_abandoned());
        let mut ids = Vec::new();
        queue.drain_into(&mut ids);
        assert_eq!(ids, [RequestId(4)]);
        completer.complete(Ok(1), &Inline); // dropped quietly

        // A resolved-but-untaken completion is not cancelled when dropped.
        let (completer, completion) = pair(abandoned);
        let completion = completion.with_cancel(RequestId(5), queue.clone());
        completer.complete(Ok(1), &Inline);
        drop(completion);
        queue.drain_into(&mut ids);
        assert_eq!(ids, [RequestId(4)]);
    }

    #[test]
    fn map_transforms_and_keeps_cancel_on_drop() {
        let (completer, completion) = pair(abandoned);
        let mapped = completion.map(|v| v.map(|n| n * 2), || Err("gone"));
        completer.complete(Ok(21), &Inline);
        assert_eq!(mapped.wait(), Ok(42));

        let queue = Arc::new(CancelQueue::default());
        let (completer, completion) = pair(abandoned);
        let mapped = completion
            .with_cancel(RequestId(8), queue.clone())
            .map(|v| v, || Err("gone"));
        drop(mapped);
        let mut ids = Vec::new();
        queue.drain_into(&mut ids);
        assert_eq!(ids, [RequestId(8)]);
        drop(completer);
    }

    #[test]
    fn a_dropped_mapped_completion_never_runs_its_map() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let runs = Arc::new(AtomicUsize::new(0));
        let queue = Arc::new(CancelQueue::default());
        let (completer, completion) = pair(abandoned);
        let (r1, r2) = (runs.clone(), runs.clone());
        let mapped = completion
            .with_cancel(RequestId(3), queue.clone())
            .map(
                move |v| {
                    r1.fetch_add(1, Ordering::SeqCst);
                    v
                },
                || Err("gone"),
            )
            .map(
                move |v| {
                    r2.fetch_add(1, Ordering::SeqCst);
                    v
                },
                || Err("gone"),
            );
        drop(mapped);
        // The connection drops the call's completer (as it does for a cancelled call).
        drop(completer);
        assert_eq!(runs.load(Ordering::SeqCst), 0, "no map ran");
        let mut ids = Vec::new();
        queue.drain_into(&mut ids);
        assert_eq!(ids, [RequestId(3)]);
    }

    #[test]
    fn a_panicking_inline_continuation_is_contained() {
        let (completer, completion) = pair(abandoned);
        completion.on_complete(|_| panic!("user code"));
        completer.complete(Ok(1), &Inline);
    }

    #[test]
    fn racing_completion_and_wait_never_loses_a_wakeup() {
        for _ in 0..2_000 {
            let (completer, completion) = pair(abandoned);
            let t = thread::spawn(move || completer.complete(Ok(1), &Inline));
            assert_eq!(completion.wait(), Ok(1));
            t.join().unwrap();
        }
    }
}
