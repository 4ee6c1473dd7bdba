//! tether-tokio: runs tether-core connections on tokio.
//!
//! This crate is thin on purpose: it supplies tokio's clock, timers, yield and tasks to the
//! runtime-agnostic [`Driver`](tether_core::driver::Driver) in `tether_core::driver`, which
//! owns the IO loop, and adds sockets: [`connect`] a client, [`Server::bind`] a server. The
//! connections it makes are [`SharedConnection`](tether_core::SharedConnection)s; the consumer and provider layers build on
//! those. It contains no protocol decisions.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use tether_core::{CallOptions, Config, InboundRequest, RequestHandler, SharedConnection, Side, Status};
//! use tether_tokio::{Options, Server, connect};
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

pub use client::{ClientConnection, connect};
pub use reference::reference_channels;
pub use runtime::{TokioIo, TokioRuntime, TokioSpawner};
pub use server::Server;
/// The bounded callback pool; shared with the other adapters (it needs only threads).
pub use tether_threadpool::CallbackPool;

/// Adapter options shared by [`connect`] and [`Server::bind`].
pub use tether_core::driver::Options;
