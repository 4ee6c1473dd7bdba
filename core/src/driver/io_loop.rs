//! [`Driver`]: one connection's IO loop over a `futures-io` stream.

use std::future::{Future, poll_fn};
use std::io::ErrorKind;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};

use super::write::WriteBatch;
use super::{Timers, WakeSignal};
use crate::call::{Completer, Completion, ContinuationExecutor, pair};
use crate::connection::Connection;
use crate::error::ConnectionError;
use crate::event::Event;
use crate::shared::{Clock, RequestHandler, SharedConnection, deliver};

/// Most bytes read from the stream per wake-up; past it the driver yields so that one busy
/// connection cannot starve the others on its thread.
pub const READ_BUDGET: usize = 256 * 1024;
/// Size of the read buffer of a new connection: small, as most connections carry small
/// frames and a server may hold many of them.
const MIN_READ_BUF: usize = 8 * 1024;
/// The read buffer doubles, up to this, each time a read fills it.
const MAX_READ_BUF: usize = 64 * 1024;
/// Most loop turns per wake-up (each turn: one read, one lock, one write).
const MAX_TURNS: usize = 32;

/// Why a poll of the loop returned.
enum Step {
    /// Give the runtime a turn, then poll again.
    Yield,
    /// The connection ended; shut the stream down.
    Closed(ConnectionError),
}

/// What one turn of the loop left to do.
enum Turn {
    /// Progress was made: turn again.
    Again,
    /// Every source is registered for wake-up: sleep unless notified meanwhile.
    Idle,
    /// Yield to the runtime, then turn again.
    Yield,
    /// The connection ended.
    Closed(ConnectionError),
}

/// Drives one [`Connection`] over a byte stream: create it with [`new`](Self::new), hand out
/// [`shared`](Self::shared) clones, and spawn [`run`](Self::run) on a task.
///
/// If the driver is dropped before `run` returns (its task aborted, the runtime shut down),
/// the connection is closed as if the transport had ended: every pending call fails at once
/// with a connection-lost error.
pub struct Driver<T, R: Timers> {
    io: T,
    shared: SharedConnection,
    signal: Arc<WakeSignal>,
    runtime: Arc<R>,
    handler: Arc<dyn RequestHandler>,
    executor: Arc<dyn ContinuationExecutor>,
    read_buf: Box<[u8]>,
    write: WriteBatch,
    /// Cached [`Connection::wants_input`], refreshed every turn.
    wants_input: bool,
    events: Vec<Event>,
    timer: Timer<R::Sleep>,
    closed_waiters: Vec<Completer<ConnectionError>>,
    finished: bool,
}

impl<T, R> Driver<T, R>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    R: Timers,
{
    /// A driver for `conn` over `io`. Requests from the peer go to `handler`; completion
    /// continuations run on `executor` ([`Inline`](crate::Inline) runs them on the IO task).
    pub fn new(
        io: T,
        conn: Connection,
        runtime: Arc<R>,
        handler: Arc<dyn RequestHandler>,
        executor: Arc<dyn ContinuationExecutor>,
    ) -> Self {
        let signal = Arc::new(WakeSignal::new());
        let wake = signal.clone();
        let wants_input = conn.wants_input();
        let clock: Arc<dyn Clock> = runtime.clone();
        let shared = SharedConnection::new(conn, clock, move || wake.notify());
        Self {
            io,
            shared,
            signal,
            runtime,
            handler,
            executor,
            read_buf: vec![0; MIN_READ_BUF].into_boxed_slice(),
            write: WriteBatch::default(),
            wants_input,
            events: Vec::new(),
            timer: Timer::default(),
            closed_waiters: Vec::new(),
            finished: false,
        }
    }

    /// The connection this driver moves bytes for.
    pub fn shared(&self) -> &SharedConnection {
        &self.shared
    }

    /// A completion that resolves with the reason once the connection has ended and the
    /// stream was shut down (or the driver was dropped).
    pub fn on_closed(&mut self) -> Completion<ConnectionError> {
        let (completer, completion) = pair(|| ConnectionError::Dropped);
        self.closed_waiters.push(completer);
        completion
    }

    /// Runs the loop until the connection ends, shuts the stream down, and returns why it
    /// ended.
    pub async fn run(mut self) -> ConnectionError {
        let runtime = self.runtime.clone();
        let reason = loop {
            match poll_fn(|cx| self.poll_turns(cx)).await {
                Step::Yield => runtime.yield_now().await,
                Step::Closed(reason) => break reason,
            }
        };
        // Best effort: the peer sees the end either way once the stream is dropped.
        let _ = poll_fn(|cx| Pin::new(&mut self.io).poll_close(cx)).await;
        self.finish(reason);
        reason
    }

    fn poll_turns(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        self.shared().mark_io_thread();
        self.signal.enter(cx.waker());
        let mut read_budget = READ_BUDGET;
        for _ in 0..MAX_TURNS {
            self.signal.consume();
            match self.turn(cx, &mut read_budget) {
                Turn::Again => {}
                Turn::Idle => {
                    if self.signal.try_sleep() {
                        return Poll::Pending;
                    }
                }
                Turn::Yield => return Poll::Ready(Step::Yield),
                Turn::Closed(reason) => return Poll::Ready(Step::Closed(reason)),
            }
        }
        Poll::Ready(Step::Yield)
    }

    /// One read, one visit to the connection under its lock, event delivery outside it, one
    /// write of everything transmitted, one timer re-arm.
    fn turn(&mut self, cx: &mut Context<'_>, read_budget: &mut usize) -> Turn {
        let mut again = false;

        // Read, only while the connection wants input: that is its back-pressure on a peer
        // that sends without reading.
        let read_starved = self.wants_input && *read_budget == 0;
        let mut input = 0;
        let mut gone = self.write.is_broken();
        if self.wants_input && !read_starved && !gone {
            match Pin::new(&mut self.io).poll_read(cx, &mut self.read_buf) {
                Poll::Ready(Ok(0)) => gone = true,
                Poll::Ready(Ok(n)) => {
                    input = n;
                    // A full buffer means more was waiting: read bigger chunks from now on.
                    if n == self.read_buf.len() && n < MAX_READ_BUF {
                        let mut bigger = vec![0; n * 2].into_boxed_slice();
                        bigger[..n].copy_from_slice(&self.read_buf);
                        self.read_buf = bigger;
                    }
                    *read_budget = read_budget.saturating_sub(n);
                    again = true;
                }
                Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => again = true,
                Poll::Ready(Err(_)) => gone = true,
                Poll::Pending => {}
            }
        }
        let timer_fired = self.timer.poll(cx);

        let now = self.runtime.now();
        let (must_yield, next_timeout, closed) = {
            let mut conn = self.shared.lock();
            if input > 0 {
                conn.handle_input(now, &self.read_buf[..input]);
            }
            let written = self.write.take_written();
            if written > 0 {
                conn.handle_written(now, written);
            }
            if gone {
                conn.handle_closed(now);
            }
            if timer_fired {
                conn.handle_timeout(now);
            }
            self.events.extend(std::iter::from_fn(|| conn.poll_event()));
            let must_yield = self.write.refill(&mut conn, now);
            // Reading resumes once writes drained the send buffer: this turn did not poll
            // the stream for reading, so no wake-up would come for it.
            let resumed = conn.wants_input() && !self.wants_input;
            again |= resumed;
            self.wants_input = conn.wants_input();
            (must_yield, conn.poll_timeout(), conn.close_reason())
        };

        self.deliver_events();
        if let Some(reason) = closed {
            return Turn::Closed(reason);
        }

        again |= self.write.poll_write(&mut self.io, cx);
        again |= self.timer.arm(&*self.runtime, cx, next_timeout);
        if must_yield || read_starved {
            Turn::Yield
        } else if again {
            Turn::Again
        } else {
            Turn::Idle
        }
    }

    /// Delivers the drained events, outside the connection's lock.
    fn deliver_events(&mut self) {
        let mut events = std::mem::take(&mut self.events);
        let producers = events
            .iter()
            .filter(|e| matches!(e, Event::CallCompleted(_) | Event::RequestReceived(_)))
            .count();
        self.write.producers_woken(producers);
        for event in events.drain(..) {
            deliver(event, &self.shared, &*self.handler, &*self.executor);
        }
        self.events = events;
    }

    fn finish(&mut self, reason: ConnectionError) {
        self.finished = true;
        for waiter in self.closed_waiters.drain(..) {
            waiter.complete(reason, &*self.executor);
        }
    }
}

/// The driver's one timer: armed at the connection's earliest deadline.
struct Timer<S> {
    /// The armed sleep and the deadline it was armed for.
    sleep: Option<(Instant, Pin<Box<S>>)>,
    /// A freshly armed sleep was already due.
    due: bool,
}

impl<S> Default for Timer<S> {
    fn default() -> Self {
        Self {
            sleep: None,
            due: false,
        }
    }
}

impl<S: Future> Timer<S> {
    /// Whether the timer fired (it is then disarmed).
    fn poll(&mut self, cx: &mut Context<'_>) -> bool {
        if std::mem::take(&mut self.due) {
            return true;
        }
        let Some((_, sleep)) = &mut self.sleep else {
            return false;
        };
        if sleep.as_mut().poll(cx).is_pending() {
            return false;
        }
        self.sleep = None;
        true
    }

    /// Arms the timer for `next` if it is earlier than the armed deadline. A later deadline
    /// keeps the armed timer: firing early is harmless (`handle_timeout` is idempotent) and
    /// re-arms then, so a busy connection whose earliest deadline keeps moving re-arms rarely.
    /// Returns whether the new timer is already due.
    fn arm<R>(&mut self, runtime: &R, cx: &mut Context<'_>, next: Option<Instant>) -> bool
    where
        R: Timers<Sleep = S>,
    {
        let Some(at) = next else {
            return false;
        };
        if self.sleep.as_ref().is_some_and(|&(armed, _)| armed <= at) {
            return false;
        }
        let mut sleep = Box::pin(runtime.sleep_until(at));
        if sleep.as_mut().poll(cx).is_ready() {
            self.sleep = None;
            self.due = true;
            return true;
        }
        self.sleep = Some((at, sleep));
        false
    }
}

impl<T, R: Timers> Drop for Driver<T, R> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Aborted mid-run: nobody will drive this connection again, so end it now rather
        // than leave its calls waiting for timeouts that no timer will fire.
        let now = self.runtime.now();
        let reason = {
            let mut conn = self.shared.lock();
            conn.handle_closed(now);
            self.events.extend(std::iter::from_fn(|| conn.poll_event()));
            conn.close_reason().unwrap_or(ConnectionError::Dropped)
        };
        // Outcomes only: nobody is left to answer requests.
        let events = std::mem::take(&mut self.events);
        for event in events {
            if !matches!(event, Event::RequestReceived(_)) {
                deliver(event, &self.shared, &*self.handler, &*self.executor);
            }
        }
        self.finished = true;
        for waiter in self.closed_waiters.drain(..) {
            waiter.complete(reason, &*self.executor);
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // the test runtime reads the clock
mod tests {
    //! The driver without any async runtime crate: an in-memory duplex stream and
    //! `futures`' single-threaded executor.

    use std::collections::VecDeque;
    use std::task::Waker;
    use std::time::Duration;

    use futures::executor::LocalPool;
    use futures::task::LocalSpawnExt;
    use parking_lot::Mutex;

    use super::*;
    use crate::{CallOptions, Config, InboundRequest, Inline, Side, Status};

    /// One direction of the duplex.
    #[derive(Default)]
    struct Pipe(Mutex<(VecDeque<u8>, Option<Waker>, bool)>);

    struct End {
        rx: Arc<Pipe>,
        tx: Arc<Pipe>,
    }

    fn duplex() -> (End, End) {
        let (a, b) = (Arc::new(Pipe::default()), Arc::new(Pipe::default()));
        (
            End {
                rx: a.clone(),
                tx: b.clone(),
            },
            End { rx: b, tx: a },
        )
    }

    impl End {
        fn close(&self) {
            let mut tx = self.tx.0.lock();
            tx.2 = true;
            if let Some(waker) = tx.1.take() {
                waker.wake();
            }
        }
    }

    impl Drop for End {
        fn drop(&mut self) {
            self.close();
        }
    }

    impl AsyncRead for End {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<std::io::Result<usize>> {
            let mut rx = self.rx.0.lock();
            if rx.0.is_empty() && !rx.2 {
                rx.1 = Some(cx.waker().clone());
                return Poll::Pending;
            }
            let n = buf.len().min(rx.0.len());
            for (slot, byte) in buf.iter_mut().zip(rx.0.drain(..n)) {
                *slot = byte;
            }
            Poll::Ready(Ok(n))
        }
    }

    impl AsyncWrite for End {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let mut tx = self.tx.0.lock();
            tx.0.extend(buf);
            if let Some(waker) = tx.1.take() {
                waker.wake();
            }
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            self.close();
            Poll::Ready(Ok(()))
        }
    }

    /// Timers never fire (no call times out here); yields go through the executor's queue.
    struct TestRuntime;

    impl Clock for TestRuntime {
        fn now(&self) -> Instant {
            Instant::now()
        }
    }

    impl Timers for TestRuntime {
        type Sleep = std::future::Pending<()>;

        fn sleep_until(&self, _: Instant) -> Self::Sleep {
            std::future::pending()
        }

        fn yield_now(&self) -> impl Future<Output = ()> + Send {
            let mut yielded = false;
            poll_fn(move |cx| {
                if std::mem::replace(&mut yielded, true) {
                    Poll::Ready(())
                } else {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
        }
    }

    struct Echo;

    impl RequestHandler for Echo {
        fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
            conn.respond(request.id, Status::OK, request.serialization, request.body)
                .unwrap();
        }
    }

    fn driver(io: End, side: Side) -> Driver<End, TestRuntime> {
        let conn = Connection::new(Config::new(side), Instant::now());
        Driver::new(
            io,
            conn,
            Arc::new(TestRuntime),
            Arc::new(Echo),
            Arc::new(Inline),
        )
    }

    #[test]
    fn drives_calls_over_any_futures_io_stream() {
        let (a, b) = duplex();
        let mut consumer = driver(a, Side::Consumer);
        let mut provider = driver(b, Side::Provider);
        let consumer_closed = consumer.on_closed();
        let provider_closed = provider.on_closed();
        let conn = consumer.shared().clone();

        let mut pool = LocalPool::new();
        pool.spawner()
            .spawn_local(async {
                consumer.run().await;
            })
            .unwrap();
        pool.spawner()
            .spawn_local(async {
                provider.run().await;
            })
            .unwrap();
        let calls: Vec<_> = (0..1_000u32)
            .map(|i| {
                conn.start_call(CallOptions::new(Duration::from_secs(60)), i.to_le_bytes())
                    .unwrap()
            })
            .collect();
        pool.run_until(async {
            for (i, call) in calls.into_iter().enumerate() {
                let response = call.response.await.unwrap();
                assert_eq!(&response.body[..], &(i as u32).to_le_bytes());
            }
        });

        conn.close();
        assert_eq!(
            pool.run_until(consumer_closed),
            ConnectionError::LocallyClosed
        );
        assert_eq!(
            pool.run_until(provider_closed),
            ConnectionError::TransportClosed
        );
    }

    #[test]
    fn a_dropped_driver_fails_pending_calls() {
        let (a, _b) = duplex();
        let mut consumer = driver(a, Side::Consumer);
        let closed = consumer.on_closed();
        let call = consumer
            .shared()
            .start_call(CallOptions::new(Duration::from_secs(60)), [1u8])
            .unwrap();
        drop(consumer);
        assert_eq!(
            call.response.wait(),
            Err(crate::CallError::ConnectionLost(
                ConnectionError::TransportClosed
            ))
        );
        assert_eq!(closed.wait(), ConnectionError::TransportClosed);
    }
}
