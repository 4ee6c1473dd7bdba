//! Servers: [`Server::bind`] accepts connections on a thread and gives each accepted
//! connection its reader and writer threads.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use tether_core::driver::{ConnectionSet, drain_gracefully};
use tether_core::{IntoRequestHandler, SharedConnection};

use crate::io::{Setup, spawn};
use crate::{ServerOptions, ThreadRuntime};

/// After `accept` fails (out of file descriptors, say), wait this long before trying again
/// rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
/// How long [`Server::shutdown`] waits, past its deadline, for closed connections' threads
/// to shut their sockets down.
const THREAD_GRACE: Duration = Duration::from_secs(1);
/// How often [`Server::shutdown`] looks whether those threads are done.
const EXIT_POLL: Duration = Duration::from_millis(5);
/// How long stopping the accept thread may take to connect to it (see [`Server`]).
const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// A listening server: one accept thread (`tether-accept`), and two threads per accepted
/// connection, at most [`ServerOptions::max_connections`] of them (connections past the limit are
/// closed as soon as they are accepted). Each connection is served with the server's
/// [`RequestHandler`](tether_core::RequestHandler).
///
/// The accept thread blocks in `accept`; to stop it, the server connects to itself, which
/// wakes it to see it must stop.
///
/// Dropping the server stops it at once: the listener closes and every connection is
/// closed, which fails the calls pending on it. [`shutdown`](Self::shutdown) is the
/// graceful way.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use std::sync::Arc;
/// # use tether_threadpool::prelude::*;
/// # let workers = WorkerPool::new(std::num::NonZeroUsize::MIN, std::num::NonZeroUsize::MIN)?;
/// # let provider = Provider::new(Dispatch::Direct, Arc::new(workers))
/// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
/// use std::time::{Duration, Instant};
///
/// let server = Server::bind("127.0.0.1:0", provider)?;
/// let channels = reference_channels(server.local_addr())?;
/// let echo = Reference::builder("demo.Echo").build(channels);
/// assert_eq!(echo.method::<(String,), String>("echo").call_blocking(("hi".into(),))?, "hi");
/// assert!(server.shutdown(Instant::now() + Duration::from_secs(5)));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    conns: Arc<ConnectionSet>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `addr` and serves `provider` (any [`RequestHandler`](tether_core::RequestHandler), by value or in an
    /// `Arc`) on every accepted connection, with provider-side defaults
    /// ([`ServerOptions::new`]).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use tether_threadpool::prelude::*;
    /// # let workers = WorkerPool::new(std::num::NonZeroUsize::MIN, std::num::NonZeroUsize::MIN)?;
    /// # let provider = Provider::new(Dispatch::Direct, Arc::new(workers))
    /// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
    /// let server = Server::bind("127.0.0.1:0", provider)?;
    /// assert!(server.local_addr().ip().is_loopback());
    /// # Ok(()) }
    /// ```
    pub fn bind(addr: impl ToSocketAddrs, provider: impl IntoRequestHandler) -> io::Result<Self> {
        Self::bind_with(addr, provider, ServerOptions::new())
    }

    /// [`bind`](Self::bind) with `options`: the connections' configuration, the most
    /// connections served at once, the continuation executor.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use tether_threadpool::prelude::*;
    /// # let workers = WorkerPool::new(std::num::NonZeroUsize::MIN, std::num::NonZeroUsize::MIN)?;
    /// # let provider = Provider::new(Dispatch::Direct, Arc::new(workers))
    /// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
    /// use std::num::NonZeroUsize;
    ///
    /// // At most 64 connections: 128 IO threads.
    /// let options = ServerOptions::new().max_connections(NonZeroUsize::new(64).unwrap());
    /// let server = Server::bind_with("127.0.0.1:0", provider, options)?;
    /// # drop(server);
    /// # Ok(()) }
    /// ```
    pub fn bind_with(
        addr: impl ToSocketAddrs,
        provider: impl IntoRequestHandler,
        options: ServerOptions,
    ) -> io::Result<Self> {
        let (config, options) = options.into_parts();
        let handler = provider.into_request_handler();
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let conns = Arc::new(ConnectionSet::bounded(options.max_connections));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = Acceptor {
            setup: Setup {
                config,
                handler,
                executor: options.continuation_executor,
            },
            conns: conns.clone(),
            stop: stop.clone(),
        };
        let accept = thread::Builder::new()
            .name("tether-accept".to_owned())
            .spawn(move || acceptor.run(listener))?;
        Ok(Self {
            local_addr,
            conns,
            stop,
            accept: Some(accept),
        })
    }

    /// The address the server listens on.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use tether_threadpool::prelude::*;
    /// # let workers = WorkerPool::new(std::num::NonZeroUsize::MIN, std::num::NonZeroUsize::MIN)?;
    /// # let provider = Provider::new(Dispatch::Direct, Arc::new(workers))
    /// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
    /// let server = Server::bind("127.0.0.1:0", provider)?;
    /// let addr = server.local_addr();
    /// assert_ne!(addr.port(), 0); // the port the system picked
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The connections now open.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use tether_threadpool::prelude::*;
    /// # let workers = WorkerPool::new(std::num::NonZeroUsize::MIN, std::num::NonZeroUsize::MIN)?;
    /// # let provider = Provider::new(Dispatch::Direct, Arc::new(workers))
    /// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
    /// let server = Server::bind("127.0.0.1:0", provider)?;
    /// assert!(server.connections().is_empty());
    /// let channels = reference_channels(server.local_addr())?;
    /// let echo = Reference::builder("demo.Echo").build(channels);
    /// // Once a call is answered, its connection was accepted.
    /// echo.method::<(String,), String>("echo").call_blocking(("hi".into(),))?;
    /// assert_eq!(server.connections().len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn connections(&self) -> Vec<SharedConnection> {
        self.conns.snapshot()
    }

    /// Shuts down gracefully (`docs/protocol.md` §4.2), blocking the caller: stops accepting,
    /// announces read-only on every connection, waits until every request received was
    /// answered and written and the connections stayed quiet for a moment (a consumer that
    /// had not read the announcement yet may still send: see
    /// [`drain_gracefully`](tether_core::driver::drain_gracefully)) or until `deadline`, then
    /// closes the connections. Returns whether everything was answered before the deadline.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use tether_threadpool::prelude::*;
    /// # let workers = WorkerPool::new(std::num::NonZeroUsize::MIN, std::num::NonZeroUsize::MIN)?;
    /// # let provider = Provider::new(Dispatch::Direct, Arc::new(workers))
    /// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
    /// use std::time::{Duration, Instant};
    ///
    /// let server = Server::bind("127.0.0.1:0", provider)?;
    /// // Nothing in flight: every request was answered, so this returns true at once.
    /// assert!(server.shutdown(Instant::now() + Duration::from_secs(5)));
    /// # Ok(()) }
    /// ```
    pub fn shutdown(mut self, deadline: Instant) -> bool {
        self.stop_accepting();
        let conns = self.conns.snapshot();
        let drained = block_on(drain_gracefully(&ThreadRuntime, &conns, deadline));
        // The writers leave the set once they shut their sockets down.
        let grace = deadline.max(Instant::now()) + THREAD_GRACE;
        while !self.conns.is_empty() && Instant::now() < grace {
            thread::sleep(EXIT_POLL);
        }
        drained
    }

    /// Dubbo's graceful offline, blocking the caller: unregisters `publication`, waits
    /// `notify_wait` for consumers to hear it (they stop sending new calls; those still sent
    /// are served), then [`shutdown`](Self::shutdown)s by `deadline`. A registry that does
    /// not answer within `notify_wait` does not hold the shutdown up.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use tether_threadpool::prelude::*;
    /// # let workers = WorkerPool::new(std::num::NonZeroUsize::MIN, std::num::NonZeroUsize::MIN)?;
    /// # let provider = Provider::new(Dispatch::Direct, Arc::new(workers))
    /// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
    /// use std::time::{Duration, Instant};
    /// use tether_threadpool::tether_core::registry::{ProviderSpec, Publication, StaticRegistry};
    ///
    /// let server = Server::bind("127.0.0.1:0", provider)?;
    /// let port = server.local_addr().port();
    /// let registry = Arc::new(StaticRegistry::new([]));
    /// let url = ProviderSpec::new("demo.Echo", "127.0.0.1", port).to_url(0)?;
    /// let publication = Publication::new(registry.clone(), [url]);
    /// publication.online().wait()?;
    ///
    /// let deadline = Instant::now() + Duration::from_secs(5);
    /// assert!(server.shutdown_offline(&publication, Duration::from_millis(10), deadline));
    /// assert!(registry.urls().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn shutdown_offline(
        self,
        publication: &tether_core::registry::Publication,
        notify_wait: std::time::Duration,
        deadline: Instant,
    ) -> bool {
        let offline = publication.offline();
        thread::sleep(notify_wait);
        drop(offline);
        self.shutdown(deadline)
    }

    /// Stops the accept thread and waits for it, so that every connection it accepted is in
    /// `conns`, and the port is free.
    fn stop_accepting(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.stop.store(true, Ordering::Release);
        let ip = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        // The accept thread takes this connection, sees `stop`, and drops the listener. If
        // the connection cannot be made, the thread stops at the next one it accepts.
        if TcpStream::connect_timeout(&SocketAddr::new(ip, self.local_addr.port()), WAKE_TIMEOUT)
            .is_ok()
        {
            let _ = accept.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_accepting();
        for conn in self.conns.snapshot() {
            conn.close();
        }
    }
}

struct Acceptor {
    setup: Setup,
    conns: Arc<ConnectionSet>,
    stop: Arc<AtomicBool>,
}

impl Acceptor {
    fn run(self, listener: TcpListener) {
        loop {
            let accepted = listener.accept();
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            match accepted {
                // Over the limit: dropped, the peer sees the connection closed at once.
                Ok(_) if !self.conns.has_room() => {}
                Ok((stream, _)) => {
                    // Registered before the next accept, so a shutdown that stopped this
                    // thread sees every connection. A connection whose threads cannot be
                    // started is dropped (closed).
                    let _ = spawn(stream, &self.setup, Some(&self.conns));
                }
                Err(_) => thread::sleep(ACCEPT_BACKOFF),
            }
        }
    }
}
