//! A connection shared between the task that drives its transport and the threads that use
//! it: the contract between the core's upper layers (consumer, provider) and the executor
//! adapters.
//!
//! An adapter owns the transport and runs the IO loop: it reads, writes, fires timers and
//! drains events through [`SharedConnection::lock`], delivers completions outside the lock,
//! and hands received requests to a [`RequestHandler`]. Everyone else issues commands through
//! [`SharedConnection::with`] (or its shortcuts), which wakes the IO loop when a command left
//! bytes to send or events to drain. One lock per connection, never held across an `.await`
//! or while user code runs.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::{Mutex, MutexGuard};

use crate::call::Completer;
use crate::call::ContinuationExecutor;
use crate::connection::{Call, CallOptions, Connection, Sent, Started};
use crate::error::{ConnectionError, RespondError, StartError};
use crate::event::CallResult;
use crate::event::{Event, InboundRequest};
use crate::frame::{RequestId, SerializationId, Status};
use crate::payload::Payload;

/// The time source an adapter supplies (core never reads the clock itself).
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// Receives the requests that arrive on a connection: the provider layer, and the consumer's
/// callback exports (a provider calls consumer callbacks over the consumer's connection).
pub trait RequestHandler: Send + Sync + 'static {
    /// Called by the IO loop, outside the connection's lock, once per received request.
    /// Answer two-way requests now or later, from any thread, with
    /// [`SharedConnection::respond`]; never answer one-way requests.
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest);
}

/// What a server can serve: a [`RequestHandler`] (a
/// [`Provider`](crate::provider::Provider), typically) by value or already shared in an
/// `Arc`. Adapters' `Server::bind` take it.
pub trait IntoRequestHandler {
    /// The handler, shared.
    fn into_request_handler(self) -> Arc<dyn RequestHandler>;
}

impl<T: RequestHandler> IntoRequestHandler for T {
    fn into_request_handler(self) -> Arc<dyn RequestHandler> {
        Arc::new(self)
    }
}

impl<T: RequestHandler> IntoRequestHandler for Arc<T> {
    fn into_request_handler(self) -> Arc<dyn RequestHandler> {
        self
    }
}

impl IntoRequestHandler for Arc<dyn RequestHandler> {
    fn into_request_handler(self) -> Arc<dyn RequestHandler> {
        self
    }
}

/// A boxed future with no output, ready to spawn.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs futures on the adapter's runtime: provider-side async handlers, handlers dispatched
/// to a worker pool, reconnect loops.
pub trait Spawner: Send + Sync + 'static {
    /// Runs `future` to completion, concurrently with the caller.
    fn spawn(&self, future: BoxFuture);
}

struct Inner {
    conn: Mutex<Connection>,
    /// What callers choosing a connection need, as of the last unlock: [`CLOSED`],
    /// [`READ_ONLY`], [`FULL`]. Read without the lock, so that choosing among connections
    /// does not contend with their IO loops.
    status: AtomicU8,
    clock: Arc<dyn Clock>,
    /// Wakes the IO loop (for example `tokio::sync::Notify::notify_one`).
    wake: Box<dyn Fn() + Send + Sync>,
    /// The thread that last drove the IO ([`thread_tag`]; 0 before the first turn).
    io_thread: AtomicU64,
}

/// A number naming the current thread, never 0 (std's `ThreadId` has no stable integer).
fn thread_tag() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static TAG: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TAG.with(|tag| *tag)
}

/// The connection ended.
const CLOSED: u8 = 0b001;
/// The peer announced read-only.
const READ_ONLY: u8 = 0b010;
/// No capacity for another call (in-flight limit or send buffer high-water mark).
const FULL: u8 = 0b100;

fn status_of(conn: &Connection) -> u8 {
    let mut status = 0;
    if conn.is_closed() {
        status |= CLOSED;
    }
    if conn.is_peer_read_only() {
        status |= READ_ONLY;
    }
    if !conn.has_capacity() {
        status |= FULL;
    }
    status
}

/// The locked connection, for the IO loop: refreshes the status that
/// [`SharedConnection::is_available`] reads when dropped.
pub struct ConnectionGuard<'a> {
    guard: MutexGuard<'a, Connection>,
    status: &'a AtomicU8,
}

impl Deref for ConnectionGuard<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.guard
    }
}

impl DerefMut for ConnectionGuard<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.guard
    }
}

impl ConnectionGuard<'_> {
    /// Releases the lock until `condvar` is notified (for adapters whose IO loop is
    /// threads), refreshing the status first as an unlock does.
    pub fn wait(&mut self, condvar: &parking_lot::Condvar) {
        self.refresh();
        condvar.wait(&mut self.guard);
    }

    /// [`wait`](Self::wait), up to `deadline`. Returns whether it timed out.
    pub fn wait_until(&mut self, condvar: &parking_lot::Condvar, deadline: Instant) -> bool {
        self.refresh();
        condvar.wait_until(&mut self.guard, deadline).timed_out()
    }

    fn refresh(&self) {
        self.status.store(status_of(&self.guard), Ordering::Release);
    }
}

impl Drop for ConnectionGuard<'_> {
    fn drop(&mut self) {
        self.refresh();
    }
}

impl fmt::Debug for ConnectionGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionGuard").finish_non_exhaustive()
    }
}

/// A [`Connection`] behind one lock, with the adapter's clock and a way to wake its IO loop.
/// Cheap to clone.
#[derive(Clone)]
pub struct SharedConnection(Arc<Inner>);

impl SharedConnection {
    /// Shares `conn`; `wake` must make the IO loop run a turn soon (it is called after
    /// commands that left bytes to send or events to drain, possibly from any thread).
    pub fn new(
        conn: Connection,
        clock: Arc<dyn Clock>,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(Inner {
            status: AtomicU8::new(status_of(&conn)),
            conn: Mutex::new(conn),
            clock,
            wake: Box::new(wake),
            io_thread: AtomicU64::new(0),
        }))
    }

    /// For IO loops: records that the current thread drives this connection's IO (call it
    /// on every turn; it costs a load when nothing changed).
    pub fn mark_io_thread(&self) {
        let me = thread_tag();
        if self.0.io_thread.load(Ordering::Relaxed) != me {
            self.0.io_thread.store(me, Ordering::Relaxed);
        }
    }

    /// Whether the current thread is the one that last drove this connection's IO: a
    /// thread that blocks here waiting for this connection's answer stops the IO that would
    /// bring it (an async runtime's thread, a reader thread). Blocking calls check it and
    /// fail at once ([`RpcError::BlockingOnIoThread`](crate::consumer::RpcError::BlockingOnIoThread)).
    pub fn is_io_thread(&self) -> bool {
        self.0.io_thread.load(Ordering::Relaxed) == thread_tag()
    }

    /// The adapter's current time.
    pub fn now(&self) -> Instant {
        self.0.clock.now()
    }

    /// Runs `f` on the connection with the current time, then wakes the IO loop if `f` left
    /// bytes to send or events to drain. `f` must not block or call back into this handle.
    pub fn with<R>(&self, f: impl FnOnce(&mut Connection, Instant) -> R) -> R {
        let now = self.0.clock.now();
        let mut conn = self.lock();
        let result = f(&mut conn, now);
        let needs_io = conn.has_transmit() || conn.has_events();
        drop(conn);
        if needs_io {
            (self.0.wake)();
        }
        result
    }

    /// For the IO loop only: the connection itself, locked. Drain it and drop the guard
    /// before delivering events or writing to the transport.
    pub fn lock(&self) -> ConnectionGuard<'_> {
        ConnectionGuard {
            guard: self.0.conn.lock(),
            status: &self.0.status,
        }
    }

    /// Wakes the IO loop.
    pub fn wake(&self) {
        (self.0.wake)();
    }

    /// [`Connection::start_call`] now.
    pub fn start_call<P: Payload>(
        &self,
        options: CallOptions,
        payload: P,
    ) -> Result<Call, StartError<P, P::Error>> {
        self.with(|conn, now| conn.start_call(now, options, payload))
    }

    /// [`Connection::start_call_with`] now.
    pub fn start_call_with<P: Payload>(
        &self,
        options: CallOptions,
        payload: P,
        response: Completer<CallResult>,
    ) -> Result<Started, StartError<P, P::Error>> {
        self.with(|conn, now| conn.start_call_with(now, options, payload, response))
    }

    /// [`Connection::send_oneway`] now.
    pub fn send_oneway<P: Payload>(
        &self,
        serialization: SerializationId,
        notify_sent: bool,
        payload: P,
    ) -> Result<Sent, StartError<P, P::Error>> {
        self.with(|conn, now| conn.send_oneway(now, serialization, notify_sent, payload))
    }

    /// [`Connection::respond`] now.
    pub fn respond<P: Payload>(
        &self,
        id: RequestId,
        status: Status,
        serialization: SerializationId,
        payload: P,
    ) -> Result<(), RespondError<P::Error>> {
        self.with(|conn, now| conn.respond(now, id, status, serialization, payload))
    }

    /// [`Connection::cancel`] now.
    pub fn cancel(&self, id: RequestId) -> bool {
        self.with(|conn, now| conn.cancel(now, id))
    }

    /// [`Connection::close`] now.
    pub fn close(&self) {
        self.with(|conn, now| conn.close(now));
    }

    /// Why the connection ended, if it did.
    pub fn close_reason(&self) -> Option<ConnectionError> {
        self.0.conn.lock().close_reason()
    }

    /// Whether the connection can take new calls: open, not announced read-only by the peer,
    /// and with capacity (`docs/protocol.md` §4.2: read-only connections are not selected). As of
    /// the connection's last unlock: no lock is taken.
    pub fn is_available(&self) -> bool {
        self.0.status.load(Ordering::Acquire) == 0
    }

    /// Whether the connection may take calls at all: open and not announced read-only
    /// (it may still be at a limit). As of its last unlock.
    pub fn is_usable(&self) -> bool {
        self.0.status.load(Ordering::Acquire) & (CLOSED | READ_ONLY) == 0
    }

    /// Whether the peer announced read-only (`docs/protocol.md` §4.2).
    pub fn is_peer_read_only(&self) -> bool {
        self.0.status.load(Ordering::Acquire) & READ_ONLY != 0
    }

    /// Whether `other` is a handle to the same connection.
    pub fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Hands one event drained from `conn` to whoever awaits it, outside the connection's lock:
/// a call's outcome or `sent` notification to its completion (continuations on `executor`), a
/// request to `handler`. User code runs here: a panic in it is contained to this event, so
/// the IO loop, and every other call on the connection, carry on. Other events are state the
/// connection's users query, and are dropped.
pub fn deliver(
    event: Event,
    conn: &SharedConnection,
    handler: &dyn RequestHandler,
    executor: &dyn ContinuationExecutor,
) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match event {
        Event::CallCompleted(delivery) => delivery.deliver(executor),
        Event::RequestSent(delivery) => delivery.deliver(executor),
        Event::RequestReceived(request) => handler.on_request(conn, request),
        _ => {}
    }));
}

impl fmt::Debug for SharedConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedConnection")
            .field("closed", &self.close_reason())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests read the clock
mod tests {
    use super::*;
    use crate::config::{Config, Side};
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct SystemClock;
    impl Clock for SystemClock {
        fn now(&self) -> Instant {
            Instant::now()
        }
    }

    #[test]
    fn availability_is_published_at_every_unlock() {
        let mut config = Config::new(Side::Consumer);
        config = config.max_in_flight(std::num::NonZeroUsize::new(1).unwrap());
        let conn = Connection::new(config, Instant::now());
        let shared = SharedConnection::new(conn, Arc::new(SystemClock), || {});
        assert!(shared.is_available() && shared.is_usable());
        let call = shared.start_call(CallOptions::default(), [1u8]).unwrap();
        assert!(!shared.is_available(), "at the in-flight limit");
        assert!(shared.is_usable());
        // The IO loop's guard publishes too: the response frees the slot.
        let id = call.id.0.to_be_bytes();
        let mut response = vec![0xda, 0xbb, 0x02, 20];
        response.extend_from_slice(&id);
        response.extend_from_slice(&[0, 0, 0, 1, b'N']);
        shared.lock().handle_input(Instant::now(), &response);
        assert!(shared.is_available());
        shared.close();
        assert!(!shared.is_available() && !shared.is_usable());
    }

    #[test]
    fn commands_that_leave_output_wake_the_io_loop() {
        let wakes = Arc::new(AtomicUsize::new(0));
        let counter = wakes.clone();
        let conn = Connection::new(Config::new(Side::Consumer), Instant::now());
        let shared = SharedConnection::new(conn, Arc::new(SystemClock), move || {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        assert!(shared.is_available());
        let call = shared.start_call(CallOptions::default(), [1u8]).unwrap();
        assert_eq!(wakes.load(Ordering::Relaxed), 1);
        // Draining in the IO loop leaves nothing to do: no further wake.
        let mut out = Vec::new();
        shared.lock().poll_transmit(Instant::now(), &mut out);
        assert!(!shared.cancel(RequestId(999)));
        assert_eq!(wakes.load(Ordering::Relaxed), 1);
        // Cancelling a real call leaves an event to drain.
        assert!(shared.cancel(call.id));
        assert_eq!(wakes.load(Ordering::Relaxed), 2);
        shared.close();
        assert_eq!(shared.close_reason(), Some(ConnectionError::LocallyClosed));
    }
}
