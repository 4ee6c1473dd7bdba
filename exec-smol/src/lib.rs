//! tether-smol: runs tether-core connections on smol (async-io sockets and timers,
//! async-executor tasks).
//!
//! Thin on purpose, like `tether-tokio`: it supplies smol's clock, timers, yield and tasks
//! to the runtime-agnostic [`Driver`](tether_core::driver::Driver) in `tether_core::driver`,
//! which owns the IO loop, and adds sockets: [`connect`] a client, [`Server::bind`] a
//! server, [`reference_channels`] for a consumer's reference. Connections and their
//! reconnect loops run on smol's global executor (`smol::spawn`: one thread unless
//! `SMOL_THREADS` says otherwise). It contains no protocol decisions.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use tether_core::{CallOptions, Config, InboundRequest, RequestHandler, SharedConnection, Side, Status};
//! use tether_smol::{Options, Server, connect};
//!
//! struct Echo;
//! impl RequestHandler for Echo {
//!     fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
//!         if request.two_way {
//!             let _ = conn.respond(request.id, Status::OK, request.serialization, request.body);
//!         }
//!     }
//! }
//!
//! let server = Server::bind("127.0.0.1:0", Config::new(Side::Provider), Arc::new(Echo), Options::default()).await?;
//! let client = connect(server.local_addr(), Config::new(Side::Consumer), Options::default()).await?;
//! let call = client.shared().start_call(CallOptions::new(Duration::from_secs(1)), b"hi".to_vec())
//!     .map_err(|e| std::io::Error::other(e.to_string()))?;
//! let response = call.response.await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod reference;
mod runtime;
mod server;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tether_core::driver::RejectRequests;
use tether_core::{CallbackExecutor, Inline, RequestHandler};

pub use client::{ClientConnection, connect};
pub use reference::reference_channels;
pub use runtime::{SmolRuntime, SmolSpawner};
pub use server::Server;
/// A bounded thread pool for response continuations (runtime-independent: the thread-pool
/// adapter's).
pub use tether_threadpool::CallbackPool;

/// Adapter options shared by [`connect`] and [`Server::bind`] (those of `tether-tokio`).
#[derive(Clone)]
#[non_exhaustive]
pub struct Options {
    /// Where response continuations (`Completion::on_complete`) run: [`Inline`] on the IO
    /// task (the default), or a pool such as [`CallbackPool`]. Awaiting or `wait()`ing a
    /// completion is unaffected: that wakes the waiter directly.
    pub callback_executor: Arc<dyn CallbackExecutor>,
    /// How long [`connect`] waits for the TCP handshake (Dubbo's `connect.timeout`, 3 s).
    pub connect_timeout: Duration,
    /// For [`connect`]: who receives requests the provider sends over the connection
    /// (parameter callbacks). By default two-way requests are answered with status 70, not
    /// found. [`Server::bind`] takes its handler as an argument instead.
    pub request_handler: Arc<dyn RequestHandler>,
}

impl Options {
    /// Dubbo's default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

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
}

impl Default for Options {
    fn default() -> Self {
        Self {
            callback_executor: Arc::new(Inline),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            request_handler: Arc::new(RejectRequests),
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}
