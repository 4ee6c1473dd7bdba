//! One connection's two IO threads.
//!
//! - The **reader** (`tether-read`) blocks in `read`, feeds the bytes to the core, and
//!   delivers what they produced outside the lock: requests to the [`RequestHandler`]
//!   (direct dispatch runs handlers right here), responses to their completions.
//! - The **writer** (`tether-write`) sleeps on a condition variable until a command leaves
//!   bytes or events (the [`SharedConnection`]'s wake notifies it) or the core's next
//!   deadline, then writes everything queued in one `write`, fires the core's timers, and
//!   ends the connection: it shuts the socket down, which unblocks the reader.
//!
//! Timers live on the writer because its wait can be cut short by any thread, unlike a
//! read blocked with a timeout: a call started with a short timeout while the reader waits
//! for a 60 s heartbeat is still timed out on time.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use parking_lot::Condvar;
use tether_core::call::{Completer, pair};
use tether_core::driver::{ConnectionSet, Membership};
use tether_core::{
    CallbackExecutor, Clock, Completion, Config, Connection, ConnectionError, ConnectionGuard,
    Event, RequestHandler, SharedConnection,
};

use crate::timer::ThreadRuntime;

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
    /// The reader waits here while the connection wants no input (its send buffer is over
    /// the high-water mark), until writes drain it.
    reader: Condvar,
}

/// What a connection's threads are built from.
pub(crate) struct Setup {
    pub(crate) config: Config,
    pub(crate) handler: Arc<dyn RequestHandler>,
    pub(crate) executor: Arc<dyn CallbackExecutor>,
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
    let signals = Arc::new(Signals::default());
    let runtime = Arc::new(ThreadRuntime);
    let conn = Connection::new(setup.config.clone(), runtime.now());
    let wake = signals.clone();
    let shared = SharedConnection::new(conn, runtime, move || {
        wake.writer.notify_one();
    });
    let (closed, completion) = pair(|| ConnectionError::Dropped);
    let membership = set.map(|set| set.insert(shared.clone()));
    let io = Io {
        shared: shared.clone(),
        signals,
        handler: setup.handler.clone(),
        executor: setup.executor.clone(),
    };
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
        .name("tether-read".to_owned())
        .spawn(move || reader.run())
    {
        // The writer runs: closing ends it.
        shared.close();
        return Err(e);
    }
    Ok((shared, completion))
}

#[derive(Clone)]
struct Io {
    shared: SharedConnection,
    signals: Arc<Signals>,
    handler: Arc<dyn RequestHandler>,
    executor: Arc<dyn CallbackExecutor>,
}

impl Io {
    /// Delivers drained events, outside the connection's lock. User code runs here
    /// (continuations, request handlers): as in the async driver, a panic in one is
    /// contained to that event, so the thread, and every other call on the connection,
    /// carry on.
    fn deliver(&self, events: &mut Vec<Event>) {
        for event in events.drain(..) {
            let _ = catch_unwind(AssertUnwindSafe(|| match event {
                Event::CallCompleted(delivery) => delivery.deliver(&*self.executor),
                Event::RequestSent(delivery) => delivery.deliver(&*self.executor),
                Event::RequestReceived(request) => self.handler.on_request(&self.shared, request),
                // `Closed` is read from the connection under the lock; peer announcements
                // and capacity are state the connection's users query.
                _ => {}
            }));
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
        loop {
            let result = (&self.stream).read(&mut buf);
            let now = self.io.shared.now();
            let mut conn = self.io.shared.lock();
            match result {
                Ok(0) => conn.handle_closed(now),
                Ok(n) => conn.handle_input(now, &buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => conn.handle_closed(now),
            }
            events.extend(std::iter::from_fn(|| conn.poll_event()));
            // Reading never brings a deadline forward (it only moves the idle and
            // heartbeat deadlines later), so the writer needs waking only for bytes to
            // send (heartbeat answers, the core's own rejections) or the end.
            if conn.has_transmit() || conn.is_closed() {
                self.io.signals.writer.notify_one();
            }
            let closed = conn.is_closed();
            let wants_input = conn.wants_input();
            drop(conn);
            self.io.deliver(&mut events);
            if closed {
                return;
            }
            if !wants_input && !self.wait_for_room() {
                return;
            }
        }
    }

    /// Waits while the send buffer is over its high-water mark (the core's back-pressure
    /// on a peer that sends without reading). Returns `false` if the connection ended.
    fn wait_for_room(&self) -> bool {
        let mut conn = self.io.shared.lock();
        while !conn.wants_input() {
            if conn.is_closed() {
                return false;
            }
            conn.wait(&self.io.signals.reader);
        }
        true
    }
}

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
        let mut out: Vec<u8> = Vec::new();
        let mut pos = 0;
        let mut unreported = 0;
        let mut broken = false;
        let mut events = Vec::new();
        loop {
            let mut conn = io.shared.lock();
            let closed = loop {
                let now = io.shared.now();
                if unreported > 0 {
                    conn.handle_written(now, unreported);
                    unreported = 0;
                    // Writes drained the send buffer: a reader held back may go on.
                    if conn.wants_input() {
                        io.signals.reader.notify_one();
                    }
                }
                if broken {
                    conn.handle_closed(now);
                }
                if conn.poll_timeout().is_some_and(|at| at <= now) {
                    conn.handle_timeout(now);
                }
                if pos == out.len() && conn.has_transmit() {
                    out.clear();
                    pos = 0;
                    conn.poll_transmit(now, &mut out);
                }
                if conn.is_closed() {
                    break true;
                }
                if conn.has_events() || pos < out.len() {
                    break false;
                }
                wait(&io.signals.writer, &mut conn);
            };
            events.extend(std::iter::from_fn(|| conn.poll_event()));
            let reason = conn.close_reason();
            drop(conn);
            io.deliver(&mut events);
            if closed {
                // Invariant: `closed` is read from the connection just above.
                return reason.unwrap_or(ConnectionError::Dropped);
            }
            if pos < out.len() {
                match (&self.stream).write(&out[pos..]) {
                    Ok(0) => broken = true,
                    Ok(n) => {
                        pos += n;
                        unreported += n;
                    }
                    // The peer does not read: look at the timers, then go on writing.
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                        ) => {}
                    Err(_) => broken = true,
                }
                if pos == out.len() && out.capacity() > MAX_KEPT_CAPACITY {
                    out = Vec::new();
                    pos = 0;
                }
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
