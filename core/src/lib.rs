//! tether-core: the sans-IO heart of tether, Apache Dubbo's `dubbo://` protocol for Rust.
//!
//! # Start here
//! A program uses tether through one executor crate: `tether-tokio`, `tether-smol` or
//! `tether-threadpool`. Each re-exports this crate (as `tether_tokio::tether_core`, and so on)
//! and its [`prelude`], and its crate docs open with a provider and a consumer over TCP, then
//! show every call mode. The API they use lives here. The same provider and consumer, driven
//! in memory (the hidden lines move bytes between two connections, which an executor crate
//! does over a socket):
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! # use tether_core::{Clock, Connection, Inline, RequestHandler, SharedConnection};
//! # struct Now;
//! # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
//! # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
//! # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
//! # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
//! #     for (from, to) in [(&conn, &server), (&server, &conn)] {
//! #         let mut wire = Vec::new();
//! #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
//! #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
//! #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
//! #     }
//! # };
//! # struct NoSpawn;
//! # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
//! use tether_core::consumer::Channels;
//! use tether_core::prelude::*;
//!
//! // A provider: a service with typed handlers (an executor crate serves it on a port).
//! let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
//!     Service::new("org.apache.dubbo.demo.DemoService")
//!         .version("1.0.0")
//!         .method("sayHello", |_, (name,): (String,)| Ok(format!("Hello {name}"))),
//! );
//!
//! // A consumer: a reference to the service, and a typed method of it.
//! let demo = Reference::builder("org.apache.dubbo.demo.DemoService")
//!     .version("1.0.0")
//!     .build(Arc::new(Channels::single(conn.clone())));
//! let say_hello = demo.method::<(String,), String>("sayHello");
//! let reply = say_hello.call(("world".into(),));
//! # pump(&provider);
//! assert_eq!(reply.wait()?, "Hello world");
//! # Ok::<(), RpcError>(())
//! ```
//!
//! Where to read on:
//! - [`consumer`]: references and methods, every call mode (asynchronous, blocking, `sent`,
//!   one-way, listeners, parameter callbacks, generic calls), errors ([`RpcError`](consumer::RpcError)),
//!   consumer filters;
//! - [`provider`]: services and handlers (plain and async), the request's [`Context`](provider::Context),
//!   callback proxies, provider filters, dispatch;
//! - [`context`]: a call's own attachments and timeout, and the attachments that come back;
//! - [`hessian2`]: how Rust types meet Java's (`#[java("...")]` structs, exceptions, dates,
//!   `BigDecimal`);
//! - [`cluster`], [`registry`], [`discovery`] and [`application`]: many providers, ZooKeeper,
//!   Dubbo's load balancers and fault tolerance;
//! - the repository's `README.md` (a tour, and Dubbo's settings mapped to tether's) and
//!   `docs/` (the wire, the registry, what real Java, Go and Python peers do).
//!
//! # Embedding the sans-IO core
//! Everything below is for those who drive connections themselves (an event loop of their
//! own, a runtime the executor crates do not cover).
//!
//! ## What it never does
//! This crate never opens a socket, spawns a thread, sleeps, or reads the clock. Bytes and
//! `Instant`s come in as arguments; bytes, events and deadlines go out. An executor crate
//! (tokio, smol, plain threads) or your own event loop moves them. The only blocking calls
//! are [`Completion::wait`] and [`Completion::wait_timeout`], which block the *caller* of a
//! call, never the connection.
//!
//! ## Driving a connection
//! A [`Connection`] is one `dubbo://` connection, either side. Its inputs are
//! [`handle_input`](Connection::handle_input) (bytes read),
//! [`handle_written`](Connection::handle_written) (bytes the transport accepted),
//! [`handle_timeout`](Connection::handle_timeout) and
//! [`handle_closed`](Connection::handle_closed); its commands start calls, send one-way
//! requests, answer requests, cancel, announce read-only, and close. After **any** input or
//! command, drain every output before waiting on I/O again:
//!
//! 1. [`poll_transmit`](Connection::poll_transmit): bytes to write; report what the transport
//!    accepted with `handle_written`;
//! 2. [`poll_event`](Connection::poll_event): received requests, completed calls (call
//!    [`Delivery::deliver`] on them, outside any lock around the connection), peer
//!    announcements, and the connection's end;
//! 3. [`poll_timeout`](Connection::poll_timeout): when to call `handle_timeout` next.
//!
//! Read from the transport only while [`wants_input`](Connection::wants_input) holds: that is
//! how a peer that sends without reading is pushed back instead of growing memory.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tether_core::{CallOptions, Config, Connection, Event, Inline, Side};
//!
//! let now = Instant::now();
//! let mut consumer = Connection::new(Config::new(Side::Consumer), now);
//! let mut provider = Connection::new(Config::new(Side::Provider), now);
//!
//! // The consumer starts a call; its body is opaque bytes at this layer.
//! let call = consumer
//!     .start_call(now, CallOptions::new(Duration::from_secs(1)), b"ping".to_vec())
//!     .unwrap();
//!
//! // A loop moves bytes between the two (here: directly, no sockets).
//! let mut wire = Vec::new();
//! let n = consumer.poll_transmit(now, &mut wire);
//! consumer.handle_written(now, n);
//! provider.handle_input(now, &wire);
//! while let Some(event) = provider.poll_event() {
//!     if let Event::RequestReceived(request) = event {
//!         assert_eq!(&request.body[..], b"ping");
//!         provider
//!             .respond(now, request.id, tether_core::Status::OK, request.serialization, b"pong".to_vec())
//!             .unwrap();
//!     }
//! }
//! wire.clear();
//! provider.poll_transmit(now, &mut wire);
//! consumer.handle_input(now, &wire);
//! while let Some(event) = consumer.poll_event() {
//!     if let Event::CallCompleted(delivery) = event {
//!         delivery.deliver(&Inline);
//!     }
//! }
//! let response = call.response.wait().unwrap();
//! assert_eq!(&response.body[..], b"pong");
//! ```
//!
//! `core/examples/custom_loop.rs` drives a connection over a non-blocking `TcpStream` from a
//! hand-written loop.
//!
//! The [`driver`] module is that loop written once for async runtimes, over any `futures-io`
//! stream; the tokio and smol adapters run it.
//!
//! # Layers
//! Each module uses only modules of the layers above it in this table (checked by
//! `core/tests/layers.rs`, which reads the sources):
//!
//! | layer | modules | what it is |
//! |---|---|---|
//! | codec | [`hessian2`] (the `tether-hessian2` crate), [`frame`], [`payload`], [`callback`], [`url`] | Hessian 2, the 16-byte header, body encoding, the per-connection callback table, Dubbo URLs as registries carry them |
//! | protocol | [`error`], [`call`], [`event`], `pending`, `outbound`, [`config`], [`message`], [`connection`], [`shared`] | the sans-IO `dubbo://` connection and its completions; request and response bodies |
//! | service | [`context`], [`cluster`], [`registry`], `invoke`, `serve`, [`discovery`], [`consumer`], [`provider`], [`metadata`], [`application`] | per-call context and filters; where calls go and where providers are found (and [`discovery`]: a directory a registry keeps up to date); the client half (`invoke`) and server half (`serve`) of a call, and the user-facing references and providers built on them; Dubbo 3's application-level records and the `MetadataService` a provider serves; application-level discovery for consumers |
//! | runtime | [`driver`] | for async runtimes: the IO loop, and `connect`, `Server` and `reference_channels` over a `driver::Runtime` that each adapter implements |
//!
//! Within the service layer, `invoke` and `serve` never use [`consumer`] or [`provider`]:
//! a consumer serves its exported callbacks through `serve`, a provider's callback proxies
//! call through `invoke`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod application;
pub mod call;
pub mod callback;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod consumer;
pub mod context;
pub mod discovery;
pub mod driver;
pub mod error;
pub mod event;
pub mod frame;
mod invoke;
pub mod message;
pub mod metadata;
mod outbound;
pub mod payload;
mod pending;
pub mod prelude;
pub mod provider;
pub mod registry;
mod serve;
pub mod shared;
#[cfg(test)]
mod test_util;
pub mod url;

#[cfg(feature = "__bench")]
#[doc(hidden)]
pub mod __bench;

/// The Hessian 2.0 codec, [`tether_hessian2`]: Dubbo's default body serialization.
pub use tether_hessian2 as hessian2;
/// Implements [`hessian2::JavaType`] and [`hessian2::JavaClass`] for a struct standing for
/// a Java class (see [`tether_hessian2::java_class!`]); [`java`] also sets the serde name.
pub use tether_hessian2::java_class;

/// Names the Java class of a struct or enum in one place: serde writes it (the attribute adds
/// `#[serde(rename = "<class>")]`), and tether reads it ([`hessian2::JavaType`] for method
/// descriptors, [`hessian2::JavaClass`] for exceptions), as [`java_class!`] plus a serde
/// rename would, without the two names drifting apart.
///
/// Place it above `#[derive(Serialize, Deserialize)]`:
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tether_core::hessian2::{JavaClass, JavaType, Value, to_value};
///
/// #[tether_core::java("com.example.order.Order")]
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Order {
///     id: i64,
///     status: Status,
/// }
///
/// #[tether_core::java("com.example.order.Status")]
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// enum Status {
///     #[serde(rename = "NEW")]
///     New,
/// }
///
/// let order = to_value(&Order { id: 7, status: Status::New })?;
/// assert_eq!(order.class(), Some("com.example.order.Order"));
/// assert_eq!(order.get("status").and_then(Value::class), Some("com.example.order.Status"));
/// let mut descriptor = String::new();
/// Order::descriptor(&mut descriptor);
/// assert_eq!(descriptor, "Lcom/example/order/Order;");
/// assert_eq!(Order::CLASS, "com.example.order.Order");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A `#[serde(rename)]` naming another class is refused at compile time, and so is a name
/// that is not a Java class name:
///
/// ```compile_fail
/// #[tether_core::java("com.example.order.Order")]
/// #[derive(serde::Serialize)]
/// #[serde(rename = "com.example.order.OldOrder")]
/// struct Order {
///     id: i64,
/// }
/// ```
///
/// ```compile_fail
/// #[tether_core::java("com.example.order Order")]
/// #[derive(serde::Serialize)]
/// struct Order {
///     id: i64,
/// }
/// ```
///
/// Without it (or [`java_class!`]), passing the type where tether needs its Java type is
/// a compiler error that says what to add:
///
/// ```compile_fail
/// #[derive(serde::Serialize)]
/// struct Item {
///     id: i64,
/// }
/// fn descriptor<T: tether_core::hessian2::JavaType>() {}
/// descriptor::<Item>(); // error: `Item` has no Java type ... add `#[tether_core::java(...)]`
/// ```
///
/// With only tether-hessian2 as a dependency, name its path:
/// `#[tether_derive::java("org.acme.User", crate = tether_hessian2)]`.
pub use tether_derive::java;

pub use call::{Completer, Completion, ContinuationExecutor, Inline};
pub use config::{Config, Keepalive, Side};
pub use connection::{
    Announcement, Call, CallOptions, Canceller, Connection, ConnectionStats, Sent, Started,
};
pub use error::{
    CallError, ConfigError, ConnectionError, RespondError, StartError, StartErrorKind, TimeoutPhase,
};
pub use event::{CallResult, Delivery, Event, InboundRequest, Response, SentResult};
pub use frame::{PayloadLimit, RequestId, SerializationId, Status};
pub use payload::Payload;
pub use shared::{
    BoxFuture, Clock, ConnectionGuard, IntoRequestHandler, RequestHandler, SharedConnection,
    Spawner, deliver,
};
