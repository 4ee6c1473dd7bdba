//! One connection's two IO threads.
//!
//! - The **reader** (`tether-read`) blocks in `read`, feeds the bytes to the core, and
//!   delivers what they produced outside the lock: requests to the [`RequestHandler`]
//!   (direct dispatch runs handlers right here), responses to their completions.
//! - The **writer** (`tether-write`) sleeps on a condition variable until a command leaves
//!   bytes or events (the [`SharedConnection`]'s wake notifies it) or the core's next
//!   deadline, then writes everything queued in one `write`, fires the core's timers, and
//!   ends the connection: it shuts the socket down, which unblocks the reader.
//! - A thread whose command left bytes to send (a caller starting a call, a handler
//!   answering) first tries to **write them itself**, without blocking (on Unix): when no
//!   other thread is writing and the socket takes them all at once, the writer thread is not
//!   woken at all, which saves a thread hand-off per frame. Anything else (a partial write,
//!   events to deliver, the end, a deadline earlier than the one the writer sleeps to) is
//!   left to the writer thread. Commands issued while the connection's own threads deliver
//!   events (continuations starting the next call, handlers answering) are written together
//!   once the delivery is over, one write for the batch.
//!
//! Timers live on the writer because its wait can be cut short by any thread, unlike a
//! read blocked with a timeout: a call started with a short timeout while the reader waits
//! for a 60 s heartbeat is still timed out on time.

use std::cell::Cell;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tether_core::call::{Completer, pair};
use tether_core::driver::{ConnectionSet, Membership};
use tether_core::{
    Clock, Completion, Config, Connection, ConnectionError, ConnectionGuard, ContinuationExecutor,
    Event, RequestHandler, SharedConnection,
};

use crate::timer::ThreadRuntime;

/// The reader thread's name.
const READER_NAME: &str = "tether-read";
/// How often the reader looks for forwarded requests while the core holds some back.
const HELD_POLL: Duration = Duration::from_millis(5);
/// Bytes read at most per `read` (one buffer per connection, allocated once).
const READ_BUF: usize = 64 * 1024;
/// A write buffer that grew past this (a large body) is released once written.
const MAX_KEPT_CAPACITY: usize = 1024 * 1024;
/// The socket's send timeout: how long a write may block on a peer that does not read
/// before the writer looks at the core's timers again. Writes that do not block never wait
/// for it, so it costs nothing until the peer stops reading; then deadlines fire at most
/// this late.
const WRITE_STALL_TICK: Duration = Duration::from_millis(20);

/// What the two threads share besides the connection: one condition variable each, both
/// paired with the connection's lock (so this adds no lock).
#[derive(Default)]
struct Signals {
    /// The writer waits here for commands, deadlines and the connection's end.
    writer: Condvar,
    /// The reader waits here while the connection wants no input (its send buffer is at
    /// its limit), until writes drain it, or until requests are forwarded to it.
    reader: Condvar,
}

/// Bytes taken from the core and not all written yet: shared by the writer thread and the
/// threads that write directly, one at a time. Lock order: this, then the connection.
#[derive(Default)]
struct Outgoing {
    buf: Vec<u8>,
    /// `buf[pos..]` is not written yet.
    pos: usize,
}

/// What a connection's threads are built from.
pub(crate) struct Setup {
    pub(crate) config: Config,
    pub(crate) handler: Arc<dyn RequestHandler>,
    pub(crate) executor: Arc<dyn ContinuationExecutor>,
}

/// Starts the reader and writer threads of `stream`, registered in `set` (a server's) until
/// the connection ends. The returned completion resolves with why the connection ended once
/// its socket was shut down.
pub(crate) fn spawn(
    stream: TcpStream,
    setup: &Setup,
    set: Option<&Arc<ConnectionSet>>,
) -> io::Result<(SharedConnection, Completion<ConnectionError>)> {
    // Latency over coalescing: the writer already batches frames into one write.
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(WRITE_STALL_TICK))?;
    let read_half = stream.try_clone()?;
    let direct_half = stream.try_clone()?;
    let runtime = Arc::new(ThreadRuntime);
    let conn = Connection::new(setup.config.clone(), runtime.now());
    let io = Arc::new_cyclic(|io: &Weak<IoInner>| {
        // Weak: the connection must not keep its own IO state alive.
        let io = io.clone();
        let shared = SharedConnection::new(conn, runtime, move || {
            if let Some(io) = io.upgrade() {
                io.on_command();
            }
        });
        IoInner {
            shared,
            signals: Signals::default(),
            handler: setup.handler.clone(),
            executor: setup.executor.clone(),
            outgoing: Mutex::new(Outgoing::default()),
            writer_due: AtomicBool::new(false),
            armed: Mutex::new(None),
            stream: direct_half,
            commanded: AtomicBool::new(false),
            forwarded: Mutex::new(Vec::new()),
        }
    });
    let shared = io.shared.clone();
    let (closed, completion) = pair(|| ConnectionError::Dropped);
    let membership = set.map(|set| set.insert(shared.clone()));
    let reader = Reader {
        io: io.clone(),
        stream: read_half,
    };
    let writer = Writer {
        io,
        stream,
        closed: Some(closed),
        _membership: membership,
    };
    // If a spawn fails, what was built is dropped: the connection was never driven, and its
    // completion resolves with `Dropped`.
    thread::Builder::new()
        .name("tether-write".to_owned())
        .spawn(move || writer.run())?;
    if let Err(e) = thread::Builder::new()
        .name(READER_NAME.to_owned())
        .spawn(move || {
            // Blocking calls over this connection from this thread would stop its reads.
            reader.io.shared.mark_io_thread();
            reader.run()
        })
    {
        // The writer runs: closing ends it.
        shared.close();
        return Err(e);
    }
    Ok((shared, completion))
}

type Io = Arc<IoInner>;

struct IoInner {
    shared: SharedConnection,
    signals: Signals,
    handler: Arc<dyn RequestHandler>,
    executor: Arc<dyn ContinuationExecutor>,
    outgoing: Mutex<Outgoing>,
    /// Bytes are left in `outgoing` for the writer thread.
    writer_due: AtomicBool,
    /// The deadline the writer thread last went to sleep until (`None`: no deadline). Set
    /// and read under the connection's lock.
    armed: Mutex<Option<Instant>>,
    /// The socket, for direct writes.
    stream: TcpStream,
    /// A command was issued while this connection's threads delivered its events: write
    /// once the delivery is over.
    commanded: AtomicBool,
    /// Requests the core held back (answers owed to the peer filled the send buffer) and
    /// released on another thread: the reader delivers them, so that directly dispatched
    /// handlers run on the reader, in order, as every other request's do.
    forwarded: Mutex<Vec<Event>>,
}

/// What one round of writing left to do.
struct Round {
    /// Why the connection ended, if it did.
    closed: Option<ConnectionError>,
    /// The writer thread must run: bytes left over, events to deliver, the end, or a
    /// deadline earlier than the one it sleeps until.
    writer_needed: bool,
}

thread_local! {
    /// The connection whose events this thread is delivering (its address), if any.
    static DELIVERING: Cell<usize> = const { Cell::new(0) };
}

impl IoInner {
    /// A command left bytes to send or events to deliver: write the bytes from this thread
    /// if that can be done at once, else wake the writer thread. During this connection's
    /// own deliveries, only notes that a write is due after them.
    fn on_command(&self) {
        if DELIVERING.get() == self.address() {
            self.commanded.store(true, Ordering::Release);
            return;
        }
        if !self.try_write_now() {
            self.signals.writer.notify_one();
        }
    }

    fn address(&self) -> usize {
        std::ptr::from_ref(self).addr()
    }

    /// Writes the queued bytes without blocking, if no other thread is writing and none are
    /// left over. Returns `false` if the writer thread must run.
    #[cfg(unix)]
    fn try_write_now(&self) -> bool {
        let Some(mut out) = self.outgoing.try_lock() else {
            return false;
        };
        if out.pos < out.buf.len() {
            return false;
        }
        let round = self.write_round(&mut out, None, |bytes| {
            socket2::SockRef::from(&self.stream).send_with_flags(bytes, SEND_NOW)
        });
        !round.writer_needed
    }

    #[cfg(not(unix))]
    fn try_write_now(&self) -> bool {
        false
    }

    /// One round of writing: takes the core's queued bytes once the previous ones are all
    /// written, writes what `write` takes of them, and reports that to the core. Drains the
    /// core's events into `events` when given (the writer thread delivers them; other
    /// threads leave them to it).
    fn write_round(
        &self,
        out: &mut Outgoing,
        events: Option<&mut Vec<Event>>,
        mut write: impl FnMut(&[u8]) -> io::Result<usize>,
    ) -> Round {
        if out.pos == out.buf.len() {
            out.buf.clear();
            out.pos = 0;
            let now = self.shared.now();
            self.shared.lock().poll_transmit(now, &mut out.buf);
        }
        let mut written = 0;
        let mut broken = false;
        while out.pos < out.buf.len() {
            match write(&out.buf[out.pos..]) {
                Ok(0) => broken = true,
                Ok(n) => {
                    out.pos += n;
                    written += n;
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // The socket takes no more now: the writer thread goes on later.
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => broken = true,
            }
            break;
        }
        if out.pos == out.buf.len() && out.buf.capacity() > MAX_KEPT_CAPACITY {
            *out = Outgoing::default();
        }
        let left_over = out.pos < out.buf.len();
        let now = self.shared.now();
        let mut conn = self.shared.lock();
        if written > 0 {
            conn.handle_written(now, written);
            // Writes drained the send buffer: a reader held back may go on.
            if conn.wants_input() {
                self.signals.reader.notify_one();
            }
        }
        if broken {
            conn.handle_closed(now);
        }
        if let Some(events) = events {
            events.extend(std::iter::from_fn(|| conn.poll_event()));
            if !conn.is_closed()
                && events
                    .iter()
                    .any(|e| matches!(e, Event::RequestReceived(_)))
            {
                // Held requests released by writes: the reader delivers them. Handed over
                // under the connection's lock, so that the reader, which looks for them
                // under it too, cannot miss them.
                let (requests, others): (Vec<Event>, Vec<Event>) = events
                    .drain(..)
                    .partition(|e| matches!(e, Event::RequestReceived(_)));
                *events = others;
                self.forwarded.lock().extend(requests);
                self.signals.reader.notify_all();
            }
        }
        let earlier = self.deadline_is_earlier(&conn);
        let closed = conn.close_reason();
        if left_over {
            self.writer_due.store(true, Ordering::Release);
        }
        Round {
            closed,
            writer_needed: left_over || earlier || closed.is_some() || conn.has_events(),
        }
    }

    /// Whether the core's next deadline is earlier than the one the writer thread last went
    /// to sleep until. Called under the connection's lock, under which the writer sets it.
    fn deadline_is_earlier(&self, conn: &Connection) -> bool {
        let armed = *self.armed.lock();
        conn.poll_timeout()
            .is_some_and(|at| armed.is_none_or(|armed| at < armed))
    }

    /// Delivers drained events, outside the connection's lock ([`tether_core::deliver`]: a
    /// panic in user code is contained to its event).
    fn deliver(&self, events: &mut Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let outer = DELIVERING.replace(self.address());
        for event in events.drain(..) {
            tether_core::deliver(event, &self.shared, &*self.handler, &*self.executor);
        }
        DELIVERING.set(outer);
        if self.commanded.swap(false, Ordering::AcqRel) {
            self.on_command();
        }
    }
}

/// Closes the connection and its socket if the thread holding it unwinds anyway (user code
/// is contained by `deliver`; this is for anything else), as the async driver does when its
/// task dies: pending calls fail at once instead of waiting for timeouts.
struct CloseOnPanic<'a>(&'a Io, &'a TcpStream);

impl Drop for CloseOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.shared.close();
            let _ = self.1.shutdown(Shutdown::Both);
            self.0.signals.reader.notify_all();
        }
    }
}

struct Reader {
    io: Io,
    stream: TcpStream,
}

impl Reader {
    fn run(self) {
        let _guard = CloseOnPanic(&self.io, &self.stream);
        let mut buf = vec![0u8; READ_BUF].into_boxed_slice();
        let mut events = Vec::new();
        // Whether reads time out (`HELD_POLL`), to look for forwarded requests.
        let mut polling = false;
        loop {
            let result = (&self.stream).read(&mut buf);
            let now = self.io.shared.now();
            let mut conn = self.io.shared.lock();
            match result {
                Ok(0) => conn.handle_closed(now),
                Ok(n) => conn.handle_input(now, &buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Interrupted | ErrorKind::WouldBlock | ErrorKind::TimedOut
                    ) => {}
                Err(_) => conn.handle_closed(now),
            }
            events.extend(std::iter::from_fn(|| conn.poll_event()));
            // The writer sleeps until the deadline it armed: wake it for bytes to send
            // (heartbeat answers, the core's own rejections), the end, or a deadline the
            // input brought forward.
            if conn.has_transmit() || conn.is_closed() || self.io.deadline_is_earlier(&conn) {
                self.io.signals.writer.notify_one();
            }
            let closed = conn.is_closed();
            let wants_input = conn.wants_input();
            // Only this thread's reads make the core hold requests: while it holds some,
            // others may release them, and reads must not block past `HELD_POLL`.
            let held = conn.held_requests() > 0 || !self.io.forwarded.lock().is_empty();
            drop(conn);
            self.io.deliver(&mut events);
            self.deliver_forwarded(&mut events);
            if closed {
                return;
            }
            if held != polling {
                polling = held;
                let timeout = polling.then_some(HELD_POLL);
                if self.stream.set_read_timeout(timeout).is_err() {
                    self.io.shared.close();
                }
            }
            if !wants_input && !self.wait_for_room(&mut events) {
                return;
            }
        }
    }

    /// Delivers the requests released on other threads (see `IoInner::forwarded`).
    fn deliver_forwarded(&self, events: &mut Vec<Event>) {
        events.append(&mut self.io.forwarded.lock());
        self.io.deliver(events);
    }

    /// Waits while the connection wants no input (the core's back-pressure on a peer that
    /// sends without reading), delivering requests forwarded meanwhile. Returns `false` if
    /// the connection ended.
    fn wait_for_room(&self, events: &mut Vec<Event>) -> bool {
        loop {
            {
                let mut conn = self.io.shared.lock();
                while !conn.wants_input() && self.io.forwarded.lock().is_empty() {
                    if conn.is_closed() {
                        return false;
                    }
                    conn.wait(&self.io.signals.reader);
                }
                if conn.wants_input() && self.io.forwarded.lock().is_empty() {
                    return true;
                }
            }
            self.deliver_forwarded(events);
        }
    }
}

/// Flags of a direct write: never block (and, on Linux, no `SIGPIPE` on a closed socket, as
/// std's own writes ask).
#[cfg(any(target_os = "linux", target_os = "android"))]
const SEND_NOW: libc::c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
const SEND_NOW: libc::c_int = libc::MSG_DONTWAIT;

struct Writer {
    io: Io,
    stream: TcpStream,
    closed: Option<Completer<ConnectionError>>,
    /// A server's record of this connection, released when the writer ends.
    _membership: Option<Membership>,
}

impl Writer {
    fn run(mut self) {
        let guard = CloseOnPanic(&self.io, &self.stream);
        let reason = self.write_loop();
        drop(guard);
        self.finish(reason);
    }

    fn write_loop(&self) -> ConnectionError {
        let io = &self.io;
        let mut events = Vec::new();
        loop {
            // Sleep, holding only the connection's lock, until there is something to do.
            {
                let mut conn = io.shared.lock();
                loop {
                    let now = io.shared.now();
                    if conn.poll_timeout().is_some_and(|at| at <= now) {
                        conn.handle_timeout(now);
                    }
                    if conn.is_closed()
                        || conn.has_events()
                        || conn.has_transmit()
                        || io.writer_due.swap(false, Ordering::AcqRel)
                    {
                        break;
                    }
                    // Threads writing directly wake this one for any earlier deadline.
                    *io.armed.lock() = conn.poll_timeout();
                    wait(&io.signals.writer, &mut conn);
                }
            }
            let mut out = io.outgoing.lock();
            // The peer does not read: the write times out, and the timers are looked at
            // before writing on.
            let round = io.write_round(&mut out, Some(&mut events), |bytes| {
                (&self.stream).write(bytes)
            });
            drop(out);
            io.deliver(&mut events);
            if let Some(reason) = round.closed {
                return reason;
            }
        }
    }

    /// Shuts the socket down (the reader's `read` returns, the peer sees the end) and
    /// resolves the connection's completion.
    fn finish(&mut self, reason: ConnectionError) {
        let _ = self.stream.shutdown(Shutdown::Both);
        self.io.signals.reader.notify_all();
        if let Some(closed) = self.closed.take() {
            closed.complete(reason, &*self.io.executor);
        }
    }
}

/// Sleeps on `signal` until notified or until the connection's next deadline.
fn wait(signal: &Condvar, conn: &mut ConnectionGuard<'_>) {
    match conn.poll_timeout() {
        Some(at) => {
            // Woken early or late, the caller re-reads the clock and the deadline.
            let _ = conn.wait_until(signal, at);
        }
        None => conn.wait(signal),
    }
}
