//! Completions: the runtime-agnostic one-shot result handle that every call returns.
//!
//! A [`Completion`] is a `Future`; it can also be waited on from a plain thread
//! ([`wait`](Completion::wait), [`wait_timeout`](Completion::wait_timeout)) or continued with
//! [`on_complete`](Completion::on_complete). The producing side is a [`Completer`]. Where a
//! continuation runs is decided by the [`ContinuationExecutor`] passed to
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

/// A unit of work handed to a [`ContinuationExecutor`].
pub type Task = Box<dyn FnOnce() + Send>;

/// Decides where completion continuations (and, in higher layers, `onreturn`/`onthrow`
/// listeners) run.
pub trait ContinuationExecutor: Send + Sync {
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

impl ContinuationExecutor for Inline {
    /// Runs `task` now. A panicking continuation is contained here: it must not take the
    /// IO loop, and every other call on the connection, down with it.
    fn execute(&self, task: Task) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task));
    }

    fn runs_inline(&self) -> bool {
        true
    }
}

impl<E: ContinuationExecutor + ?Sized> ContinuationExecutor for Arc<E> {
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

impl<T> Shared<T> {
    fn new(abandoned: fn() -> T) -> Self {
        Self {
            state: Mutex::new(State::Empty),
            ready: Condvar::new(),
            has_waiter: AtomicBool::new(false),
            abandoned,
        }
    }

    fn is_dropped(&self) -> bool {
        matches!(*self.state.lock(), State::Done)
    }
}

/// What a [`Completer<I>`] feeds: a completion's state, given the value as is or through a
/// map.
trait Sink<I>: Send + Sync {
    fn resolve(self: Arc<Self>, value: I, executor: &dyn ContinuationExecutor);
    /// The completer went away without a value.
    fn abandon(self: Arc<Self>);
    /// The completion was dropped: nobody will look at the value.
    fn is_dropped(&self) -> bool;
}

/// What a [`Completion<T>`] reads: the state, wherever it lives.
trait Source<T>: Send + Sync {
    fn shared(&self) -> &Shared<T>;
    /// This, as the upstream of a completion mapped from it.
    fn upstream(self: Arc<Self>) -> Arc<dyn Upstream>;
}

impl<T: Send + 'static> Sink<T> for Shared<T> {
    fn resolve(self: Arc<Self>, value: T, executor: &dyn ContinuationExecutor) {
        resolve(&self, value, executor);
    }

    fn abandon(self: Arc<Self>) {
        let value = (self.abandoned)();
        resolve(&self, value, &Inline);
    }

    fn is_dropped(&self) -> bool {
        Shared::is_dropped(self)
    }
}

impl<T: Send + 'static> Source<T> for Shared<T> {
    fn shared(&self) -> &Shared<T> {
        self
    }

    fn upstream(self: Arc<Self>) -> Arc<dyn Upstream> {
        self
    }
}

/// A completion of `T` fed values of `I` through `f`, in one allocation: what
/// [`map_pair`] builds in place of a pair and a [`Completion::map`].
struct Mapped<I, T, F> {
    shared: Shared<T>,
    f: Mutex<Option<F>>,
    /// The input if the completer goes away without one (it still goes through `f`).
    abandoned: fn() -> I,
}

impl<I, T, F> Mapped<I, T, F>
where
    I: Send + 'static,
    T: Send + 'static,
    F: FnOnce(I) -> T + Send + 'static,
{
    /// Runs `f` (a panic in it resolves with the completion's `abandoned` value) and
    /// resolves with its result.
    fn finish(&self, value: I) {
        let Some(f) = self.f.lock().take() else {
            return;
        };
        let run = std::panic::AssertUnwindSafe(move || f(value));
        let mapped = std::panic::catch_unwind(run).unwrap_or_else(|_| (self.shared.abandoned)());
        resolve(&self.shared, mapped, &Inline);
    }
}

impl<I, T, F> Sink<I> for Mapped<I, T, F>
where
    I: Send + 'static,
    T: Send + 'static,
    F: FnOnce(I) -> T + Send + 'static,
{
    fn resolve(self: Arc<Self>, value: I, executor: &dyn ContinuationExecutor) {
        // Dropped: the map would be for nobody.
        if self.shared.is_dropped() {
            return;
        }
        if executor.runs_inline() {
            self.finish(value);
        } else {
            executor.execute(Box::new(move || self.finish(value)));
        }
    }

    fn abandon(self: Arc<Self>) {
        if !self.shared.is_dropped() {
            self.finish((self.abandoned)());
        }
    }

    fn is_dropped(&self) -> bool {
        self.shared.is_dropped()
    }
}

impl<I, T, F> Source<T> for Mapped<I, T, F>
where
    I: Send + 'static,
    T: Send + 'static,
    F: FnOnce(I) -> T + Send + 'static,
{
    fn shared(&self) -> &Shared<T> {
        &self.shared
    }

    fn upstream(self: Arc<Self>) -> Arc<dyn Upstream> {
        self
    }
}

impl<I, T: Send + 'static, F: Send> Upstream for Mapped<I, T, F> {
    fn detach(&self) {
        self.shared.detach();
    }
}

/// Creates a connected completer/completion pair.
///
/// `abandoned` produces the value the completion resolves to if the completer is dropped
/// without completing, so that every completion resolves exactly once.
pub fn pair<T: Send + 'static>(abandoned: fn() -> T) -> (Completer<T>, Completion<T>) {
    let shared = Arc::new(Shared::new(abandoned));
    (Completer::to(shared.clone()), Completion::of(shared))
}

/// A pair whose completer takes values of `I` and whose completion gives `f` of them: what
/// [`pair`] and [`Completion::map`] give, in one allocation. `f` runs where the completion
/// resolves (on `executor`, as `map` does). If the completer is dropped without completing,
/// `f` gets `abandoned_input()`; if `f` panics, the completion resolves to `abandoned()`.
pub fn map_pair<I, T, F>(
    abandoned_input: fn() -> I,
    f: F,
    abandoned: fn() -> T,
) -> (Completer<I>, Completion<T>)
where
    I: Send + 'static,
    T: Send + 'static,
    F: FnOnce(I) -> T + Send + 'static,
{
    let mapped = Arc::new(Mapped {
        shared: Shared::new(abandoned),
        f: Mutex::new(Some(f)),
        abandoned: abandoned_input,
    });
    (Completer::to(mapped.clone()), Completion::of(mapped))
}

/// The producing half of a completion.
pub struct Completer<T: Send + 'static> {
    /// `None` once completed.
    sink: Option<Arc<dyn Sink<T>>>,
}

impl<T: Send + 'static> Completer<T> {
    fn to(sink: Arc<dyn Sink<T>>) -> Self {
        Self { sink: Some(sink) }
    }

    /// Resolves the completion with `value`: wakes an awaiting task or blocked thread inline,
    /// and hands a registered continuation to `executor`. If the completion was dropped, the
    /// value is dropped.
    pub fn complete(mut self, value: T, executor: &dyn ContinuationExecutor) {
        if let Some(sink) = self.sink.take() {
            sink.resolve(value, executor);
        }
    }

    /// Whether the completion was dropped (nobody will see the value).
    pub fn is_abandoned(&self) -> bool {
        self.sink.as_ref().is_some_and(|sink| sink.is_dropped())
    }
}

impl<T: Send + 'static> Drop for Completer<T> {
    fn drop(&mut self) {
        if let Some(sink) = self.sink.take() {
            sink.abandon();
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Completer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completer").finish_non_exhaustive()
    }
}

fn resolve<T: Send + 'static>(shared: &Shared<T>, value: T, executor: &dyn ContinuationExecutor) {
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
    /// Each id with whether its call still ends with an outcome (`CallError::Cancelled`), for
    /// a completion someone watches, or is only forgotten, for one nobody holds any more.
    ids: Mutex<Vec<(RequestId, bool)>>,
    non_empty: AtomicBool,
}

impl CancelQueue {
    /// Queues the call to be forgotten: nobody holds its completion.
    pub(crate) fn push(&self, id: RequestId) {
        self.queue(id, false);
    }

    /// Queues the call to end with `CallError::Cancelled`.
    pub(crate) fn push_ended(&self, id: RequestId) {
        self.queue(id, true);
    }

    fn queue(&self, id: RequestId, ended: bool) {
        self.ids.lock().push((id, ended));
        self.non_empty.store(true, Ordering::Release);
    }

    /// Takes the queued ids into `out` (cheap when the queue is empty).
    pub(crate) fn drain_into(&self, out: &mut Vec<(RequestId, bool)>) {
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
    source: Arc<dyn Source<T>>,
    cancel: Option<(RequestId, Arc<CancelQueue>)>,
    /// The completion this one was mapped from: dropped unresolved, this one detaches its
    /// continuation so that it never runs...
    upstream: Option<Arc<dyn Upstream>>,
    /// ...and those of the completions before it, when mapped more than once, nearest first.
    further_upstream: Vec<Arc<dyn Upstream>>,
    /// What [`cancel`](Completion::cancel) runs besides what dropping does: calls off a call
    /// whose outcome others watch, which dropping alone leaves running.
    on_cancel: Option<Box<dyn FnOnce() + Send + Sync>>,
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
    fn of(source: Arc<dyn Source<T>>) -> Self {
        Self {
            source,
            cancel: None,
            upstream: None,
            further_upstream: Vec::new(),
            on_cancel: None,
        }
    }

    fn shared(&self) -> &Shared<T> {
        self.source.shared()
    }

    pub(crate) fn with_cancel(mut self, id: RequestId, queue: Arc<CancelQueue>) -> Self {
        self.cancel = Some((id, queue));
        self
    }

    /// A completion already resolved with `value`: for an outcome known at once (a call
    /// refused before it was sent, a registry answering from memory).
    ///
    /// ```
    /// use tether_core::Completion;
    ///
    /// let done = Completion::ready(42);
    /// assert!(done.is_ready());
    /// assert_eq!(done.wait(), 42);
    /// ```
    pub fn ready(value: T) -> Self {
        // The completer is consumed right below, so its `abandoned` never runs.
        let (completer, completion) = pair(|| unreachable!("completed below"));
        completer.complete(value, &Inline);
        completion
    }

    /// Whether the value is ready to be taken without blocking.
    pub fn is_ready(&self) -> bool {
        matches!(*self.shared().state.lock(), State::Ready(_))
    }

    /// Takes the value if it is ready.
    pub fn try_take(&mut self) -> Option<T> {
        let mut state = self.shared().state.lock();
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
        let source = self.source.clone();
        let shared = source.shared();
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
        let mut state = self.shared().state.lock();
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

/// Runs a hook once if the completion holding it is dropped unresolved.
struct DropHook(Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl Upstream for DropHook {
    fn detach(&self) {
        let hook = self.0.lock().take();
        if let Some(hook) = hook {
            hook();
        }
    }
}

impl<T: Send + 'static> Completion<T> {
    /// The same completion, running `hook` if it is dropped before it resolves (after the
    /// cancellations it already carries): how a call made of several attempts (retries,
    /// forks) cancels the attempt in flight. Completions mapped from this one keep the hook.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use tether_core::call::pair;
    ///
    /// let cancelled = Arc::new(AtomicBool::new(false));
    /// let flag = cancelled.clone();
    /// let (_completer, completion) = pair(|| 0);
    /// let completion = completion.on_drop_unresolved(move || flag.store(true, Ordering::SeqCst));
    /// drop(completion);
    /// assert!(cancelled.load(Ordering::SeqCst));
    ///
    /// // Resolved first: the hook never runs.
    /// let (completer, completion) = pair(|| 0);
    /// let completion = completion.on_drop_unresolved(|| unreachable!());
    /// completer.complete(7, &tether_core::Inline);
    /// assert_eq!(completion.wait(), 7);
    /// ```
    pub fn on_drop_unresolved(mut self, hook: impl FnOnce() + Send + 'static) -> Self {
        let hook: Arc<dyn Upstream> = Arc::new(DropHook(Mutex::new(Some(Box::new(hook)))));
        self.further_upstream.push(hook);
        self
    }

    /// Runs `hook` if [`cancel`](Self::cancel) is called before the completion resolves,
    /// after any hook set before. For a call whose outcome others watch (listeners, filters,
    /// resends), which dropping the completion leaves running.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use tether_core::call::pair;
    ///
    /// let called_off = Arc::new(AtomicBool::new(false));
    /// let flag = called_off.clone();
    /// let (_completer, completion) = pair(|| 0);
    /// let completion = completion.on_cancel(move || flag.store(true, Ordering::SeqCst));
    /// completion.cancel();
    /// assert!(called_off.load(Ordering::SeqCst));
    /// ```
    pub fn on_cancel(mut self, hook: impl FnOnce() + Send + Sync + 'static) -> Self {
        self.on_cancel = Some(match self.on_cancel.take() {
            Some(before) => Box::new(move || {
                before();
                hook();
            }),
            None => Box::new(hook),
        });
        self
    }

    /// Calls off the call this completion belongs to, unless it has resolved. Dropping a
    /// completion does that too, except for a call that `on_return`/`on_throw` listeners or
    /// filters watch (they see every outcome, so it runs on to its answer): `cancel` calls
    /// off that one as well, and its listeners and filters see `RpcError::Cancelled`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use tether_core::call::pair;
    ///
    /// let called_off = Arc::new(AtomicBool::new(false));
    /// let flag = called_off.clone();
    /// let (completer, completion) = pair(|| 0);
    /// let completion = completion.on_cancel(move || flag.store(true, Ordering::SeqCst));
    /// completer.complete(1, &tether_core::Inline);
    /// // Resolved first: nothing to call off.
    /// completion.cancel();
    /// assert!(!called_off.load(Ordering::SeqCst));
    /// ```
    pub fn cancel(mut self) {
        if let Some(hook) = self.on_cancel.take() {
            let unresolved = matches!(*self.shared().state.lock(), State::Empty | State::Polled(_));
            if unresolved {
                hook();
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
        mapped.upstream = Some(self.source.clone().upstream());
        if let Some(nearest) = self.upstream.take() {
            mapped.further_upstream.push(nearest);
        }
        // The drop hooks (`on_drop_unresolved`) and the cancel hooks (`on_cancel`) stay on.
        mapped.further_upstream.append(&mut self.further_upstream);
        mapped.on_cancel = self.on_cancel.take();
        self.on_complete(move |value| completer.complete(f(value), &Inline));
        mapped
    }
}

impl<T: Send + 'static> Future for Completion<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.shared().state.lock();
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
        let mut state = self.shared().state.lock();
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
        impl ContinuationExecutor for Counting {
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
        assert_eq!(ids, [(RequestId(4), false)]);
        completer.complete(Ok(1), &Inline); // dropped quietly

        // A resolved-but-untaken completion is not cancelled when dropped.
        let (completer, completion) = pair(abandoned);
        let completion = completion.with_cancel(RequestId(5), queue.clone());
        completer.complete(Ok(1), &Inline);
        drop(completion);
        queue.drain_into(&mut ids);
        assert_eq!(ids, [(RequestId(4), false)]);
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
        assert_eq!(ids, [(RequestId(8), false)]);
        drop(completer);
    }

    #[test]
    fn completions_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Completion<u32>>();
    }

    #[test]
    fn cancel_runs_its_hooks_through_maps_and_dropping_does_not() {
        use std::sync::atomic::AtomicUsize;
        let runs = Arc::new(AtomicUsize::new(0));
        let hook = |runs: &Arc<AtomicUsize>| {
            let runs = runs.clone();
            move || {
                runs.fetch_add(1, Ordering::SeqCst);
            }
        };
        // Dropped: the hooks do not run.
        let (_completer, completion) = pair(abandoned);
        drop(completion.on_cancel(hook(&runs)));
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        // Cancelled after two maps: both hooks run, in the order they were added.
        let order = Arc::new(Mutex::new(Vec::new()));
        let (first, second) = (order.clone(), order.clone());
        let (_completer, completion) = pair(abandoned);
        completion
            .on_cancel(move || first.lock().push(1))
            .map(|r| r.map(|n| n + 1), abandoned)
            .on_cancel(move || second.lock().push(2))
            .map(|r| r.map(|n| n * 2), abandoned)
            .cancel();
        assert_eq!(*order.lock(), [1, 2]);
        // Resolved and taken: nothing to call off.
        let (completer, mut completion) = pair(abandoned);
        completion = completion.on_cancel(hook(&runs));
        completer.complete(Ok(1), &Inline);
        assert_eq!(completion.try_take(), Some(Ok(1)));
        completion.cancel();
        assert_eq!(runs.load(Ordering::SeqCst), 0);
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
        assert_eq!(ids, [(RequestId(3), false)]);
    }

    #[test]
    fn a_map_pair_maps_where_it_resolves_and_only_for_someone() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let runs = Arc::new(AtomicUsize::new(0));
        let counting = |runs: &Arc<AtomicUsize>| {
            let runs = runs.clone();
            move |v: Result<u32, &'static str>| {
                runs.fetch_add(1, Ordering::SeqCst);
                v.map(|n| n * 2)
            }
        };
        // A value, waited for from another thread.
        let (completer, completion) = map_pair(abandoned, counting(&runs), || Err("gone"));
        let t = thread::spawn(move || completion.wait());
        completer.complete(Ok(21), &Inline);
        assert_eq!(t.join().unwrap(), Ok(42));
        // A continuation, on a queuing executor: the map runs there, then the continuation.
        struct Queue(Mutex<Vec<Task>>);
        impl ContinuationExecutor for Queue {
            fn execute(&self, task: Task) {
                self.0.lock().push(task);
            }
        }
        let queue = Queue(Mutex::new(Vec::new()));
        let (completer, completion) = map_pair(abandoned, counting(&runs), || Err("gone"));
        let (tx, rx) = mpsc::channel();
        completion.on_complete(move |v| tx.send(v).unwrap());
        completer.complete(Ok(1), &queue);
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "not run on the completing thread"
        );
        for task in queue.0.lock().drain(..) {
            task();
        }
        assert_eq!(rx.try_recv(), Ok(Ok(2)));
        // Dropped before resolving: the map never runs.
        let (completer, completion) = map_pair(abandoned, counting(&runs), || Err("gone"));
        drop(completion);
        assert!(completer.is_abandoned());
        completer.complete(Ok(5), &Inline);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        // The completer gone: the map gets the abandoned input.
        let (completer, completion) = map_pair(abandoned, counting(&runs), || Err("gone"));
        drop(completer);
        assert_eq!(completion.wait(), Err("abandoned"));
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        // A panicking map: the completion's own abandoned value.
        let (completer, completion) = map_pair(
            abandoned,
            |_: Result<u32, &'static str>| -> Result<u32, &'static str> { panic!("map") },
            || Err("map panicked"),
        );
        completer.complete(Ok(1), &Inline);
        assert_eq!(completion.wait(), Err("map panicked"));
    }

    #[test]
    fn a_map_pair_can_be_mapped_and_cancels_its_call() {
        let queue = Arc::new(CancelQueue::default());
        let (completer, completion) = map_pair(abandoned, |v| v.map(|n| n + 1), || Err("gone"));
        let mapped = completion
            .with_cancel(RequestId(9), queue.clone())
            .map(|v| v.map(|n| n * 10), || Err("gone"));
        drop(mapped);
        let mut ids = Vec::new();
        queue.drain_into(&mut ids);
        assert_eq!(ids, [(RequestId(9), false)]);
        assert!(completer.is_abandoned());
        let (completer, completion) = map_pair(abandoned, |v| v.map(|n| n + 1), || Err("gone"));
        let mapped = completion.map(|v| v.map(|n| n * 10), || Err("gone"));
        completer.complete(Ok(1), &Inline);
        assert_eq!(futures::executor::block_on(mapped), Ok(20));
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
