//! The runtime-agnostic async IO loop that drives a [`SharedConnection`] over any byte stream
//! implementing `futures-io`'s [`AsyncRead`](futures_io::AsyncRead) +
//! [`AsyncWrite`](futures_io::AsyncWrite), written once for every async adapter (tokio,
//! smol).
//!
//! An adapter supplies a [`Runtime`] (clock, timer, cooperative yield), a stream, and a task
//! to run [`Driver::run`] on; the driver does the rest:
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
//!   [`CallbackExecutor`](crate::CallbackExecutor), requests handed to
//!   the [`RequestHandler`], and on
//!   [`Closed`](crate::Event::Closed) the stream is shut down and `run` returns why.
//!
//! Commands issued through the [`SharedConnection`] from any thread wake the loop through a
//! [`WakeSignal`].
//!
//! # Write batching
//! Each write carries every frame queued since the previous one. Before draining the
//! connection again, the driver yields to the runtime once, so that the tasks producing
//! frames run first and the next write carries all of their frames, when
//! - the previous write held more than one frame (`DESIGN.md`, "Performance notes"), or
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
mod shutdown;
mod signal;
mod write;

use std::future::Future;
use std::time::Instant;

use crate::frame::{SerializationId, Status};
use crate::shared::{Clock, RequestHandler, SharedConnection};
use crate::{InboundRequest, hessian2};

pub use client::ClientConnection;
pub use io_loop::{Driver, READ_BUDGET};
pub use options::Options;
pub use reconnect::open_channels;
pub use shutdown::{ConnectionSet, Membership, drain_gracefully};
pub use signal::WakeSignal;

/// What the driver needs from an async runtime besides the stream: time, a timer and a
/// cooperative yield. Spawning is the adapter's business ([`Spawner`](crate::Spawner)).
pub trait Runtime: Clock {
    /// A timer future, resolving at its deadline (its output is ignored: tokio's `Sleep`
    /// and async-io's `Timer` both fit as they are).
    type Sleep: Future + Send + 'static;

    /// A timer that resolves at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep;

    /// Resolves after letting the runtime run other ready tasks (and, ideally, poll its IO
    /// driver) once: the pause that lets frame producers fill the next write.
    fn yield_now(&self) -> impl Future<Output = ()> + Send;
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
        // Non-OK bodies are one Hessian2 string (`PROTOCOL.md` §3.4); like the connection's
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
