//! tether-threadpool: tether on plain threads and `std::net` sockets, with no async runtime
//! (the blocking twin of `tether-tokio` and `tether-smol`). A provider serving a Dubbo service
//! and a consumer calling it:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::num::NonZeroUsize;
//! use std::sync::Arc;
//! use tether_threadpool::prelude::*;
//!
//! let workers = Arc::new(WorkerPool::new(NonZeroUsize::new(4).unwrap(), NonZeroUsize::new(1024).unwrap())?);
//! let provider = Provider::new(Dispatch::Pool(workers.clone()), workers)
//!     .export(Service::new("org.apache.dubbo.demo.DemoService")
//!         .method("sayHello", |_, (name,): (String,)| Ok(format!("Hello {name}"))));
//! let server = Server::bind("127.0.0.1:0", provider)?;
//!
//! let channels = reference_channels(server.local_addr())?;
//! let demo = Reference::builder("org.apache.dubbo.demo.DemoService").build(channels);
//! let reply = demo.method::<(String,), String>("sayHello").call_blocking(("world".into(),))?;
//! assert_eq!(reply, "Hello world");
//! # Ok(()) }
//! ```
//!
//! # Call modes
//! Every Dubbo call mode against one provider. The consumer half works unchanged against a
//! Java, Go or Python provider of the same interface.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::num::NonZeroUsize;
//! use std::sync::{Arc, mpsc};
//! use std::time::Duration;
//! use tether_threadpool::prelude::*;
//!
//! /// The callback interface: the consumer implements it, the provider calls it.
//! struct Listener;
//! tether_threadpool::tether_core::java_class!(Listener => "org.example.Listener");
//!
//! let n = |n| NonZeroUsize::new(n).unwrap();
//! let workers = Arc::new(WorkerPool::new(n(4), n(1024))?);
//! let provider = Provider::new(Dispatch::Pool(workers.clone()), workers).export(
//!     Service::new("org.example.Demo")
//!         .method("sayHello", |_, (name,): (String,)| Ok(format!("Hello {name}")))
//!         .method("sleep", |_, (ms,): (i64,)| {
//!             std::thread::sleep(Duration::from_millis(ms.unsigned_abs()));
//!             Ok(ms)
//!         })
//!         .method("log", |_, (_line,): (String,)| Ok(()))
//!         .method("fail", |_, (why,): (String,)| {
//!             Err::<String, _>(JavaException::runtime(why))
//!         })
//!         .method("subscribe", |ctx, (topic, _): (String, CallbackArg<Listener>)| {
//!             // Keep the proxy of the consumer's listener and call it back later.
//!             let listener = ctx.callback(1).expect("argument 1 is a callback").clone();
//!             std::thread::spawn(move || {
//!                 let change = format!("{topic} changed");
//!                 let _ = listener.call::<(String,), ()>("changed", (change,)).wait();
//!             });
//!             Ok(())
//!         }),
//! );
//! let server = Server::bind("127.0.0.1:0", provider)?;
//! let demo = Reference::builder("org.example.Demo")
//!     .timeout(Duration::from_secs(3))
//!     .build(reference_channels(server.local_addr())?);
//! let hello = demo.method::<(String,), String>("sayHello");
//!
//! // Synchronous: `call_blocking` blocks this thread until the answer.
//! assert_eq!(hello.call_blocking(("sync".into(),))?, "Hello sync");
//!
//! // Asynchronous: `call` returns a `Completion` at once; many may be in flight on one
//! // connection. `wait()` blocks for one (or `on_complete` continues it, or `.await` it).
//! let sleep = demo.method::<(i64,), i64>("sleep");
//! let (a, b) = (sleep.call((50,)), sleep.call((60,)));
//! assert_eq!((a.wait()?, b.wait()?), (50, 60));
//!
//! // `sent=true`: returns once the request was written (or fails at once if it cannot be).
//! let sent = demo.method::<(String,), String>("sayHello").sent(true);
//! assert_eq!(sent.call_blocking(("sent".into(),))?, "Hello sent");
//!
//! // One-way: nothing comes back, not even an error from the provider.
//! demo.method::<(String,), ()>("log").oneway(("fire and forget".into(),))?;
//!
//! // A per-call context: attachments for this call only, and its own timeout.
//! let ctx = CallContext::new()
//!     .attachment("traceId", "4bf92f3577b34da6")
//!     .timeout(Duration::from_millis(100));
//! let late = sleep.call_with_blocking(ctx, (1_000,));
//! assert!(matches!(late, Err(RpcError::Timeout { .. })));
//!
//! // The provider's exception.
//! match demo.method::<(String,), String>("fail").call_blocking(("boom".into(),)) {
//!     Err(RpcError::Business(e)) => assert_eq!(e.message.as_deref(), Some("boom")),
//!     other => panic!("expected the provider's exception, got {other:?}"),
//! }
//!
//! // Events (Dubbo's oninvoke / onreturn / onthrow): they run even if the completion is
//! // dropped.
//! let (tx, returned) = mpsc::channel();
//! let watched = hello.clone().on_return(move |reply: &String, _| {
//!     let _ = tx.send(reply.clone());
//! });
//! drop(watched.call(("events".into(),)));
//! assert_eq!(returned.recv_timeout(Duration::from_secs(3))?, "Hello events");
//!
//! // A parameter callback: the provider calls the consumer back over the same connection.
//! let (tx, changes) = mpsc::channel();
//! let listener = Callback::<Listener>::new(Service::of::<Listener>().method(
//!     "changed",
//!     move |_, (change,): (String,)| {
//!         let _ = tx.send(change);
//!         Ok(())
//!     },
//! ));
//! let subscribe = demo.method::<(String, Callback<Listener>), ()>("subscribe");
//! subscribe.call_blocking(("prices".into(), listener))?;
//! assert_eq!(changes.recv_timeout(Duration::from_secs(3))?, "prices changed");
//!
//! // A generic call (Dubbo's `$invoke`): no Rust types, values as `hessian2::Value`.
//! use tether_threadpool::tether_core::hessian2::Value;
//! let value = demo
//!     .call_generic("sayHello", &["java.lang.String"], &[Value::from("generic")])
//!     .wait()?;
//! assert_eq!(value, Value::from("Hello generic"));
//! # Ok(()) }
//! ```
//!
//! The same surface as the async adapters: [`connect`] a client, [`Server::bind`] a server,
//! [`reference_channels`] for a consumer's reference, the same options ([`ServerOptions`],
//! [`ClientOptions`], [`Options`]) and a [`prelude`]. Calls are issued through the
//! [`SharedConnection`](tether_core::SharedConnection)s it makes; their completions are
//! waited on with `wait()` (`Method::call_blocking` does that), and are still futures for
//! anyone who wants to await them. It contains no protocol decisions.
//!
//! # Threads
//! Every connection has two threads:
//! - a **reader** (`tether-read`) blocked in `read`, which feeds the bytes to the core and
//!   delivers what they produced: requests to the handler (with `Dispatch::Direct` the
//!   provider's handlers run right there), responses to their completions (continuations
//!   run there too, unless [`ClientOptions::continuation_executor`] names a [`ContinuationPool`]);
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
//! | a provider's N connections from a [`Connector`] | 2 × N + 1 (`tether-connect`) |
//! | a server ([`Server::bind`]) | 1 (`tether-accept`) + 2 per connection, at most [`ServerOptions::max_connections`] (default 512) |
//! | a [`WorkerPool`] (`Dispatch::Pool` handlers, async handlers) | its `threads` |
//! | a [`ContinuationPool`] (continuations, optional) | its `threads` |
//! | [`sleep`] timers, per process, on first use | 1 (`tether-timer`) |
//!
//! # TLS
//! Not implemented yet; this is the plan (`docs/tls.md` has the options weighed). A rustls
//! connection cannot be split across the reader and the writer the way the socket is (in
//! rustls 0.23 both directions need `&mut` on one `ConnectionCommon`), and no thread may hold
//! it while blocked on the socket. So it gets a lock of its own, taken only to encrypt or
//! decrypt, never across a socket call and never together with the connection's lock:
//! - the reader `read`s with no lock, then under the TLS lock runs `read_tls`,
//!   `process_new_packets` and drains `reader()`, then feeds the plaintext to the core as
//!   today (and wakes the writer if rustls `wants_write()`: key updates, alerts);
//! - whoever writes (the writer thread, or a caller's direct write) takes the core's bytes
//!   under `outgoing` as today, encrypts them under the TLS lock (`writer()`, `write_tls` into
//!   the outgoing buffer), and writes the ciphertext exactly as today, non-blocking direct
//!   writes included: TLS needs only the order of the ciphertext, which `outgoing` keeps;
//! - the core is told the plaintext length of each batch once its ciphertext is written.
//!
//! Cost: one leaf lock per connection, two more copies each way with rustls' buffered API
//! (fewer with its unbuffered one), the crypto, and no extra thread: the handshake runs
//! before the reader starts (on the caller's thread in [`connect`], on the connection's
//! writer thread for accepted ones, never on the accept thread). A single IO thread per
//! connection was rejected: safe `std` has no readiness API, so it would need a poller crate
//! and would lose the direct writes. rustls' split connection (`SendTraffic` /
//! `ReceiveTraffic`, unreleased 0.24) has this same shape with the lock inside rustls.
//!
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod io;
mod reference;
mod server;
mod timer;

pub use client::{ClientConnection, connect};
pub use reference::{Connector, reference_channels, reference_channels_with};
pub use server::Server;
/// The core crate, for everything this one does not re-export.
pub use tether_core;
/// The options of [`connect`] and [`Connector`].
pub use tether_core::driver::Options;
/// How [`reference_channels_with`] connects, and how [`Server::bind_with`] serves
/// (`max_connections` bounds a server's threads: two per connection).
pub use tether_core::driver::{ClientOptions, ServerOptions};

/// What a provider or consumer program on plain threads names, in one import: tether-core's
/// [`prelude`](tether_core::prelude) with this crate's server, connection functions and
/// worker pool.
pub mod prelude {
    pub use crate::{
        ClientOptions, Server, ServerOptions, WorkerPool, reference_channels,
        reference_channels_with,
    };
    pub use tether_core::prelude::*;
}
pub use tether_pool::{ContinuationPool, WorkerPool};
pub use timer::{Sleep, ThreadRuntime, sleep, sleep_until};
