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

pub use client::{ClientConnection, connect};
pub use reference::reference_channels;
pub use runtime::{SmolRuntime, SmolSpawner};
pub use server::Server;
/// A bounded thread pool for response continuations (runtime-independent: the thread-pool
/// adapter's).
pub use tether_threadpool::CallbackPool;

/// Adapter options shared by [`connect`] and [`Server::bind`].
pub use tether_core::driver::Options;
