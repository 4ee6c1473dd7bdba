//! The runtime-agnostic async side of tether, written once for every async adapter (tokio,
//! smol): the IO loop that drives a [`SharedConnection`] over any `futures-io` byte stream,
//! and, over a [`Runtime`], everything around it: [`connect`], [`Server`] (bind, accept,
//! serve, graceful shutdown) and [`reference_channels`] (reconnecting connection slots).
//!
//! An adapter supplies one [`Runtime`] — clock, timer, cooperative yield, task spawning, TCP
//! connect and bind — and re-exports the rest (quinn's `Runtime` trait is the model). Streams
//! reach the [`Driver`] through one seam, [`Transport`], where TLS would wrap them.
//!
//! The [`Driver`] does the IO loop's work:
//!
//! - **read** into a reused buffer while the connection
//!   [`wants_input`](crate::Connection::wants_input), at most [`READ_BUDGET`] bytes per
//!   wake-up, feeding [`handle_input`](crate::Connection::handle_input); end of stream and
//!   I/O errors become [`handle_closed`](crate::Connection::handle_closed);
//! - **write** whatever [`poll_transmit`](crate::Connection::poll_transmit) hands out, all
//!   queued frames in one write, reporting accepted bytes with
//!   [`handle_written`](crate::Connection::handle_written);
//! - **time**: one timer, armed at [`poll_timeout`](crate::Connection::poll_timeout), firing
//!   [`handle_timeout`](crate::Connection::handle_timeout);
//! - **events** drained under the connection's lock into a local batch, then handled outside
//!   it: completions delivered on the configured
//!   [`ContinuationExecutor`](crate::ContinuationExecutor), requests handed to
//!   the [`RequestHandler`], and on
//!   [`Closed`](crate::Event::Closed) the stream is shut down and `run` returns why.
//!
//! Commands issued through the [`SharedConnection`] from any thread wake the loop through a
//! [`WakeSignal`].
//!
//! # Write batching
//! Each write carries every frame queued since the previous one
//! ([`queued_frames`](crate::Connection::queued_frames) of them). Before draining the
//! connection again, the driver yields to the runtime once, so that the tasks producing
//! frames run first and the next write carries all of their frames, when
//! - the previous write held more than one frame (a busy producer side), or
//! - it handed more than one request or response to producers (handler tasks, callers) and
//!   fewer frames than that are queued yet (handlers answering inline need no yield).
//!
//! A lone call in flight triggers neither, so latency at low load is the kernel's. On tokio's
//! work-stealing runtime the first producer's wake-up runs the driver at once (the LIFO
//! slot), so without the yield most writes carried one frame: measured 3–5× slower at 32 and
//! 256 calls in flight.

mod client;
mod io_loop;
mod options;
mod reconnect;
mod server;
mod shutdown;
mod signal;
mod transport;
mod write;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use crate::frame::{SerializationId, Status};
use crate::shared::{Clock, RequestHandler, SharedConnection};
use crate::{InboundRequest, hessian2};

pub use client::{ClientConnection, connect};
pub use io_loop::{Driver, READ_BUDGET};
pub use options::{ClientOptions, Options, ServerOptions};
pub use reconnect::{lazy_channels, lazy_reference_channels, open_channels, reference_channels};
pub use server::Server;
pub use shutdown::{ConnectionSet, Membership, drain_gracefully};
pub use signal::WakeSignal;
pub use transport::{TcpListener, TcpStream, Transport};

/// Time for async code: a clock, timers and a cooperative yield. This is what the
/// [`Driver`], [`drain_gracefully`] and [`open_channels`] need; a plain-thread runtime has
/// it too (the thread-pool adapter's `ThreadRuntime`, for `futures::executor::block_on`).
pub trait Timers: Clock {
    /// A timer future, resolving at its deadline (its output is ignored: tokio's `Sleep`
    /// and async-io's `Timer` both fit as they are).
    type Sleep: Future + Send + 'static;

    /// A timer that resolves at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep;

    /// Resolves after letting the runtime run other ready tasks (and, ideally, poll its IO
    /// driver) once: the pause that lets frame producers fill the next write.
    fn yield_now(&self) -> impl Future<Output = ()> + Send;
}

/// An async runtime, as the async adapters supply it: [`Timers`], tasks, and TCP sockets.
/// With it, [`connect`], [`Server`] and [`reference_channels`] are written once here; an
/// adapter is this trait's impl plus thin wrappers that resolve addresses its runtime's way
/// (tokio's `ToSocketAddrs`, smol's `AsyncToSocketAddrs`). The sockets are the runtime's:
/// this crate opens none itself.
///
/// Sockets come in as the runtime's own types behind [`TcpStream`] and [`TcpListener`];
/// what the driver then runs over is [`Transport`], the one place a TLS stream would wrap
/// them.
pub trait Runtime: Timers {
    /// The runtime's TCP stream.
    type Tcp: TcpStream;
    /// The runtime's listening TCP socket.
    type Listener: TcpListener<Stream = Self::Tcp>;

    /// Runs `future` to completion on a task of its own, detached.
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Opens a TCP connection to `addr` (one address: resolving names and trying each
    /// address in turn, under the connect timeout, is [`connect`]'s business).
    fn connect(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Tcp>> + Send;

    /// Listens on `addr`.
    fn bind(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;
}

/// A [`RequestHandler`] for connections that export nothing (a consumer without callback
/// services): answers every two-way request with status 70 and a not-found message, as a
/// Java consumer with no such export does, so that the peer's call ends at once instead of
/// timing out; one-way requests are dropped.
#[derive(Clone, Copy, Debug, Default)]
pub struct RejectRequests;

impl RequestHandler for RejectRequests {
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
        if !request.two_way {
            return;
        }
        // Non-OK bodies are one Hessian2 string (`docs/protocol.md` §3.4); like the connection's
        // own rejections, it is written in Hessian2 whatever the request used.
        let mut body = Vec::new();
        hessian2::write_string(
            &mut body,
            "Not found exported service: no service is exported on this connection",
        );
        // The only failure is a connection that ended meanwhile: nothing left to answer.
        let _ = conn.respond(
            request.id,
            Status::SERVICE_ERROR,
            SerializationId::HESSIAN2,
            body,
        );
    }
}
