//! tether-threadpool: runs tether-core connections on plain threads and `std::net` sockets,
//! with no async runtime — the blocking twin of `tether-tokio` and `tether-smol`.
//!
//! Same surface: [`connect`] a client, [`Server::bind`] a server, [`reference_channels`]
//! for a consumer's reference, the same [`Options`]. Calls are issued through the
//! [`SharedConnection`](tether_core::SharedConnection)s it makes; their completions are
//! waited on with `wait()` (`Method::call` does that), and are still futures for anyone who
//! wants to await them. It contains no protocol decisions.
//!
//! # Threads
//! Every connection has two threads:
//! - a **reader** (`tether-read`) blocked in `read`, which feeds the bytes to the core and
//!   delivers what they produced: requests to the handler (with `Dispatch::Direct` the
//!   provider's handlers run right there), responses to their completions (continuations
//!   run there too, unless [`Options::callback_executor`] names a [`CallbackPool`]);
//! - a **writer** (`tether-write`) asleep on a condition variable until a command leaves
//!   bytes to send (callers never write or block on the socket) or the core's next deadline
//!   comes; it writes every frame queued since its last write in one `write`, fires the
//!   core's timers (call timeouts, heartbeats, idle close), and ends the connection.
//!
//! An idle connection costs two sleeping threads and no CPU: the writer wakes only for the
//! core's deadlines (a heartbeat a minute by default). The totals, all bounded:
//!
//! | what | threads |
//! |---|---|
//! | a client connection ([`connect`]) | 2 |
//! | a reference of N connections ([`reference_channels`]) | 2 × N + 1 (`tether-reconnect`) |
//! | a server ([`Server::bind`]) | 1 (`tether-accept`) + 2 per connection, at most [`Options::max_connections`] (default 512) |
//! | a [`WorkerPool`] (`Dispatch::Pool` handlers, async handlers) | its `threads` |
//! | a [`CallbackPool`] (continuations, optional) | its `threads` |
//! | [`sleep`] timers, per process, on first use | 1 (`tether-timer`) |
//!
//! ```no_run
//! # fn demo() -> std::io::Result<()> {
//! use std::num::NonZeroUsize;
//! use std::sync::Arc;
//! use tether_core::consumer::{Backoff, Reference};
//! use tether_core::provider::{Dispatch, Provider, Service};
//! use tether_core::{Config, Side};
//! use tether_threadpool::{Options, Server, WorkerPool, reference_channels};
//!
//! let workers = Arc::new(WorkerPool::new(NonZeroUsize::new(4).unwrap(), NonZeroUsize::new(1024).unwrap())?);
//! let provider = Provider::new(Dispatch::Pool(workers.clone()), workers)
//!     .export(Service::new("org.apache.dubbo.demo.DemoService")
//!         .method("sayHello", |_, (name,): (String,)| Ok(format!("Hello {name}"))));
//! let server = Server::bind("127.0.0.1:0", Config::new(Side::Provider), Arc::new(provider), Options::default())?;
//!
//! let channels = reference_channels(server.local_addr(), NonZeroUsize::MIN,
//!     Config::new(Side::Consumer), Options::default(), Backoff::default())?;
//! let demo = Reference::builder("org.apache.dubbo.demo.DemoService").build(channels);
//! let reply = demo.method::<(String,), String>("sayHello").call(("world".into(),));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod io;
mod pool;
mod reference;
mod server;
mod timer;

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use tether_core::driver::RejectRequests;
use tether_core::{CallbackExecutor, Inline, RequestHandler};

pub use client::{ClientConnection, connect};
pub use pool::{CallbackPool, WorkerPool};
pub use reference::reference_channels;
pub use server::Server;
pub use timer::{Sleep, ThreadRuntime, sleep, sleep_until};

/// Adapter options shared by [`connect`] and [`Server::bind`]: those of `tether-tokio`, plus
/// the bound on a server's connections (each costs two threads here).
#[derive(Clone)]
#[non_exhaustive]
pub struct Options {
    /// Where response continuations (`Completion::on_complete`) run: [`Inline`] on the
    /// connection's IO threads (the default), or a pool such as [`CallbackPool`]. Waiting on
    /// or awaiting a completion is unaffected: that wakes the waiter directly.
    pub callback_executor: Arc<dyn CallbackExecutor>,
    /// How long [`connect`] waits for the TCP handshake (Dubbo's `connect.timeout`, 3 s).
    pub connect_timeout: Duration,
    /// For [`connect`]: who receives requests the provider sends over the connection
    /// (parameter callbacks). By default two-way requests are answered with status 70, not
    /// found. [`Server::bind`] takes its handler as an argument instead.
    pub request_handler: Arc<dyn RequestHandler>,
    /// For [`Server::bind`]: the most connections served at once (Dubbo's `accepts`); more
    /// are closed as soon as they are accepted. Bounds the server's threads.
    pub max_connections: NonZeroUsize,
}

impl Options {
    /// Dubbo's default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
    /// Default bound on a server's connections: 1,024 IO threads.
    // A non-zero literal: checked at compile time.
    pub const DEFAULT_MAX_CONNECTIONS: NonZeroUsize = NonZeroUsize::new(512).unwrap();

    /// Sets where response continuations run.
    pub fn callback_executor(mut self, executor: Arc<dyn CallbackExecutor>) -> Self {
        self.callback_executor = executor;
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the handler of requests arriving on client connections.
    pub fn request_handler(mut self, handler: Arc<dyn RequestHandler>) -> Self {
        self.request_handler = handler;
        self
    }

    /// Sets the most connections a server serves at once.
    pub fn max_connections(mut self, max: NonZeroUsize) -> Self {
        self.max_connections = max;
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            callback_executor: Arc::new(Inline),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            request_handler: Arc::new(RejectRequests),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("connect_timeout", &self.connect_timeout)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}
