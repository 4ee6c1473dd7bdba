//! tether-tokio: tether on tokio. A provider serving a Dubbo service and a consumer calling
//! it:
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tether_tokio::prelude::*;
//!
//! // Provider: handlers run on the IO task (`Dispatch::Direct`); async ones on the runtime.
//! let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current())).export(
//!     Service::new("org.apache.dubbo.demo.DemoService")
//!         .version("1.0.0")
//!         .method("sayHello", |_, (name,): (String,)| Ok(format!("Hello {name}"))),
//! );
//! let server = Server::bind("127.0.0.1:0", provider).await?;
//!
//! // Consumer: one connection to it, reconnected with backoff.
//! let channels = reference_channels(server.local_addr()).await?;
//! let demo = Reference::builder("org.apache.dubbo.demo.DemoService")
//!     .version("1.0.0")
//!     .build(channels);
//! let say_hello = demo.method::<(String,), String>("sayHello");
//! assert_eq!(say_hello.call(("world".into(),)).await?, "Hello world");
//! # Ok(()) }
//! ```
//!
//! # Call modes
//! Every Dubbo call mode against one provider. The consumer half works unchanged against a
//! Java, Go or Python provider of the same interface.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use tether_tokio::prelude::*;
//!
//! /// The callback interface: the consumer implements it, the provider calls it.
//! struct Listener;
//! tether_tokio::tether_core::java_class!(Listener => "org.example.Listener");
//!
//! let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current())).export(
//!     Service::new("org.example.Demo")
//!         .method("sayHello", |_, (name,): (String,)| Ok(format!("Hello {name}")))
//!         // An async handler: the answer goes out when its future completes.
//!         .method_async("sleep", |_, (ms,): (i64,)| async move {
//!             tokio::time::sleep(Duration::from_millis(ms.unsigned_abs())).await;
//!             Ok::<_, JavaException>(ms)
//!         })
//!         .method("log", |_, (_line,): (String,)| Ok(()))
//!         .method("fail", |_, (why,): (String,)| {
//!             Err::<String, _>(JavaException::runtime(why))
//!         })
//!         .method("subscribe", |ctx, (topic, _): (String, CallbackArg<Listener>)| {
//!             // Keep the proxy of the consumer's listener and call it back later.
//!             let listener = ctx.callback(1).expect("argument 1 is a callback").clone();
//!             tokio::spawn(async move {
//!                 let change = format!("{topic} changed");
//!                 let _ = listener.call::<(String,), ()>("changed", (change,)).await;
//!             });
//!             Ok(())
//!         }),
//! );
//! let server = Server::bind("127.0.0.1:0", provider).await?;
//! let demo = Reference::builder("org.example.Demo")
//!     .timeout(Duration::from_secs(3))
//!     .build(reference_channels(server.local_addr()).await?);
//! let hello = demo.method::<(String,), String>("sayHello");
//!
//! // Asynchronous: `call` returns a `Completion` at once; await it.
//! assert_eq!(hello.call(("async".into(),)).await?, "Hello async");
//!
//! // Many calls in flight on one connection.
//! let sleep = demo.method::<(i64,), i64>("sleep");
//! let (a, b) = (sleep.call((50,)), sleep.call((60,)));
//! assert_eq!((a.await?, b.await?), (50, 60));
//!
//! // Synchronous: `call_blocking` blocks its thread, so call it off the runtime's worker
//! // threads (on the thread that drives the connection it fails at once, with
//! // `RpcError::BlockingOnIoThread`; on another worker it would stall that worker). With
//! // `sent=true` it also waits until the request was written, failing at once if it cannot
//! // be.
//! let blocking = demo.method::<(String,), String>("sayHello").sent(true);
//! let reply = tokio::task::spawn_blocking(move || blocking.call_blocking(("sync".into(),)));
//! assert_eq!(reply.await??, "Hello sync");
//!
//! // One-way: nothing comes back, not even an error from the provider.
//! demo.method::<(String,), ()>("log").oneway(("fire and forget".into(),))?;
//!
//! // A per-call context: attachments for this call only, and its own timeout.
//! let ctx = CallContext::new()
//!     .attachment("traceId", "4bf92f3577b34da6")
//!     .timeout(Duration::from_millis(100));
//! let late = sleep.call_with(ctx, (2_000,)).await;
//! assert!(matches!(late, Err(RpcError::Timeout { .. })));
//!
//! // The provider's exception.
//! let failed = demo.method::<(String,), String>("fail").call(("boom".into(),)).await;
//! match failed {
//!     Err(RpcError::Business(e)) => assert_eq!(e.message.as_deref(), Some("boom")),
//!     other => panic!("expected the provider's exception, got {other:?}"),
//! }
//!
//! // Events (Dubbo's oninvoke / onreturn / onthrow): they run even if the completion is
//! // dropped.
//! let (tx, mut returned) = tokio::sync::mpsc::unbounded_channel();
//! let watched = hello.clone().on_return(move |reply: &String, _| {
//!     let _ = tx.send(reply.clone());
//! });
//! drop(watched.call(("events".into(),)));
//! assert_eq!(returned.recv().await.as_deref(), Some("Hello events"));
//!
//! // A parameter callback: the provider calls the consumer back over the same connection.
//! let (tx, mut changes) = tokio::sync::mpsc::unbounded_channel();
//! let listener = Callback::<Listener>::new(Service::of::<Listener>().method(
//!     "changed",
//!     move |_, (change,): (String,)| {
//!         let _ = tx.send(change);
//!         Ok(())
//!     },
//! ));
//! let subscribe = demo.method::<(String, Callback<Listener>), ()>("subscribe");
//! subscribe.call(("prices".into(), listener)).await?;
//! assert_eq!(changes.recv().await.as_deref(), Some("prices changed"));
//!
//! // A generic call (Dubbo's `$invoke`): no Rust types, values as `hessian2::Value`.
//! use tether_tokio::tether_core::hessian2::Value;
//! let value = demo
//!     .call_generic("sayHello", &["java.lang.String"], &[Value::from("generic")])
//!     .await?;
//! assert_eq!(value, Value::from("Hello generic"));
//! # Ok(()) }
//! ```
//!
//! A [`Connector`] opens connections to providers a registry lists
//! (`tether_core::discovery`), or lazily to one address
//! (`ReferenceBuilder::build_lazy`, Dubbo's `check=false`).
//!
//! This crate is thin on purpose: it implements tether-core's
//! [`Runtime`](tether_core::driver::Runtime) for tokio ([`TokioRuntime`]: clock, timers,
//! yield, tasks, TCP sockets) and wraps the runtime-agnostic code in `tether_core::driver`,
//! which owns the IO loop, the accept loop and reconnects: [`connect`] a client,
//! [`Server::bind`] a server, [`reference_channels`] for a consumer's reference. The
//! connections it makes are [`SharedConnection`]s; the consumer and provider layers build
//! on those. It contains no protocol decisions.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod runtime;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tether_core::cluster::{SharedChannels, connections};
use tether_core::consumer::{Backoff, Channels};
use tether_core::url::Url;
use tether_core::{Config, IntoRequestHandler, SharedConnection, Side, driver};
use tokio::net::{ToSocketAddrs, lookup_host};
use tokio::runtime::Handle;

pub use runtime::{TokioIo, TokioListener, TokioRuntime, TokioSpawner};
/// The core crate, for everything this one does not re-export.
pub use tether_core;

/// What a provider or consumer program on tokio names, in one import: tether-core's
/// [`prelude`](tether_core::prelude) with this crate's server and connection functions.
pub mod prelude {
    pub use crate::{
        ClientOptions, Server, ServerOptions, TokioSpawner, reference_channels,
        reference_channels_with,
    };
    pub use tether_core::prelude::*;
}
/// An open client connection, as [`connect`] returns it.
pub use tether_core::driver::ClientConnection;
/// Adapter options of [`connect`] and [`Connector`].
pub use tether_core::driver::Options;
/// How [`reference_channels_with`] connects, and how [`Server::bind_with`] serves.
pub use tether_core::driver::{ClientOptions, ServerOptions};
/// The bounded callback pool; shared with the other adapters (it needs only threads).
pub use tether_pool::ContinuationPool;

/// Opens a TCP connection to `addr` (within `options.connect_timeout`), with `TCP_NODELAY`,
/// and starts driving it with `config` on a new task of the current tokio runtime
/// ([`driver::connect`]).
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use std::sync::Arc;
/// # use tether_tokio::prelude::*;
/// # let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current()))
/// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
/// use tether_tokio::tether_core::{Config, Side};
/// use tether_tokio::{Options, connect};
///
/// let server = Server::bind("127.0.0.1:0", provider).await?;
/// let config = Config::new(Side::Consumer);
/// let client = connect(server.local_addr(), config, Options::default()).await?;
/// assert_eq!(client.peer_addr(), server.local_addr());
/// # Ok(()) }
/// ```
pub async fn connect(
    addr: impl ToSocketAddrs,
    config: Config,
    options: Options,
) -> io::Result<ClientConnection> {
    driver::connect(Arc::new(TokioRuntime), lookup_host(addr), config, options).await
}

/// Opens a connection to the provider at `addr` for a
/// [`Reference`](tether_core::consumer::Reference), with consumer-side defaults
/// ([`ClientOptions::new`]), and keeps it connected on a task of the current tokio runtime.
/// Fails if the connection cannot be opened; dropping the [`Channels`] closes it.
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use std::sync::Arc;
/// # use tether_tokio::prelude::*;
/// # let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current()))
/// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
/// let server = Server::bind("127.0.0.1:0", provider).await?;
/// let channels = reference_channels(server.local_addr()).await?;
/// let echo = Reference::builder("demo.Echo").build(channels);
/// let reply = echo.method::<(String,), String>("echo").call(("hi".into(),)).await?;
/// assert_eq!(reply, "hi");
/// # Ok(()) }
/// ```
pub async fn reference_channels<A>(addr: A) -> io::Result<Arc<Channels>>
where
    A: ToSocketAddrs + Clone + Send + Sync + 'static,
{
    reference_channels_with(addr, ClientOptions::new()).await
}

/// [`reference_channels`] with `options`: how many connections, their configuration,
/// backoff, connect timeout and executors ([`driver::reference_channels`]: fails if one
/// cannot be opened; reconnects after the backoff).
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use std::sync::Arc;
/// # use tether_tokio::prelude::*;
/// # let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current()))
/// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
/// use std::num::NonZeroUsize;
/// use std::time::Duration;
///
/// let server = Server::bind("127.0.0.1:0", provider).await?;
/// let options = ClientOptions::new()
///     .connections(NonZeroUsize::new(2).unwrap())
///     .connect_timeout(Duration::from_secs(1));
/// let channels = reference_channels_with(server.local_addr(), options).await?;
/// assert_eq!(channels.len(), 2);
/// # Ok(()) }
/// ```
pub async fn reference_channels_with<A>(
    addr: A,
    options: ClientOptions,
) -> io::Result<Arc<Channels>>
where
    A: ToSocketAddrs + Clone + Send + Sync + 'static,
{
    let (config, options, connections, backoff) = options.into_parts();
    let resolve = move || lookup_host(addr.clone());
    let runtime = Arc::new(TokioRuntime);
    driver::reference_channels(runtime, resolve, connections, config, options, backoff).await
}

/// Connections to providers a registry lists, on a tokio runtime: the adapter's
/// [`cluster::Connector`](tether_core::cluster::Connector), which a
/// `RegistryDirectory` calls for each new provider.
///
/// [`channels`](tether_core::cluster::Connector::channels) returns at once with empty slots
/// (the provider's `connections` parameter; without one, a single connection
/// shared by every reference this connector or a clone of it serves, as Java shares them); tasks on the runtime connect them,
/// retry after the backoff while the provider is down, and reconnect dropped connections
/// ([`driver::lazy_reference_channels`]). Dropping the channels closes the connections and
/// ends the tasks. It may be called from any thread: it holds the runtime's handle.
///
/// ```no_run
/// # async fn demo() {
/// use std::sync::Arc;
/// use tether_core::cluster::Connector as _;
/// use tether_core::url::Url;
/// use tether_tokio::{Connector, Options};
///
/// let connector = Connector::new(Options::default());
/// let provider = Url::parse("dubbo://127.0.0.1:20880/demo.Greeter?connections=2").unwrap();
/// let channels = connector.channels("127.0.0.1:20880", &provider);
/// assert_eq!(channels.len(), 2); // filled as the connections come up
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Connector {
    handle: Handle,
    config: Config,
    options: Options,
    backoff: Backoff,
    /// Connections shared by every reference this connector (or a clone) serves.
    shared: Arc<SharedChannels>,
}

impl Connector {
    /// Connects on the current tokio runtime, with `options`, consumer-side [`Config`]
    /// defaults and the default [`Backoff`]. Panics outside a tokio runtime (use
    /// [`with_handle`](Self::with_handle) there).
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() {
    /// use tether_tokio::{Connector, Options};
    ///
    /// // Inside the runtime: its tasks will connect the providers.
    /// let connector = Connector::new(Options::default());
    /// # drop(connector);
    /// # }
    /// ```
    pub fn new(options: Options) -> Self {
        Self::with_handle(Handle::current(), options)
    }

    /// Connects on `handle`'s runtime.
    ///
    /// ```
    /// use tether_tokio::{Connector, Options};
    ///
    /// let runtime = tokio::runtime::Runtime::new()?;
    /// // Built outside the runtime, connecting on it.
    /// let connector = Connector::with_handle(runtime.handle().clone(), Options::default());
    /// # drop(connector);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_handle(handle: Handle, options: Options) -> Self {
        Self {
            handle,
            config: Config::new(Side::Consumer),
            options,
            backoff: Backoff::default(),
            shared: Arc::default(),
        }
    }

    /// Sets the configuration of the connections (default `Config::new(Side::Consumer)`).
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() {
    /// use tether_tokio::tether_core::{Config, Keepalive, Side};
    /// use tether_tokio::{Connector, Options};
    ///
    /// let connector = Connector::new(Options::default())
    ///     .config(Config::new(Side::Consumer).keepalive(Keepalive::disabled()));
    /// # drop(connector);
    /// # }
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets how dropped connections and unreachable providers are retried.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use tether_tokio::tether_core::consumer::Backoff;
    /// use tether_tokio::{Connector, Options};
    ///
    /// // Retry after 50 ms, doubling up to 2 s.
    /// let backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
    /// let connector = Connector::new(Options::default()).backoff(backoff);
    /// # drop(connector);
    /// # }
    /// ```
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }
}

impl Connector {
    /// New connections to `provider` at `address`.
    fn open(&self, address: &str, provider: &Url) -> Arc<Channels> {
        let address = address.to_owned();
        // Resolved for every attempt, on the runtime (lookup_host needs its context).
        let resolve = move || lookup_host(address.clone());
        driver::lazy_reference_channels(
            Arc::new(TokioRuntime),
            &TokioSpawner::new(self.handle.clone()),
            resolve,
            connections(provider),
            self.config.clone(),
            self.options.clone(),
            self.backoff,
        )
    }
}

impl tether_core::cluster::Connector for Connector {
    /// Connections to `provider` at `address`: shared with the other references this
    /// connector serves unless the provider's URL sets `connections` (Java's default,
    /// [`SharedChannels`]).
    fn channels(&self, address: &str, provider: &Url) -> Arc<Channels> {
        self.shared
            .channels(address, provider, || self.open(address, provider))
    }
}

/// A listening server on the current tokio runtime: [`driver::Server`], which see. Each
/// accepted connection is driven on its own task; dropping the server closes the listener
/// and every connection, [`shutdown`](Self::shutdown) is the graceful way.
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use std::sync::Arc;
/// # use tether_tokio::prelude::*;
/// # let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current()))
/// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
/// use std::time::{Duration, Instant};
///
/// let server = Server::bind("127.0.0.1:0", provider).await?;
/// let channels = reference_channels(server.local_addr()).await?;
/// let echo = Reference::builder("demo.Echo").build(channels);
/// assert_eq!(echo.method::<(String,), String>("echo").call(("hi".into(),)).await?, "hi");
/// assert!(server.shutdown(Instant::now() + Duration::from_secs(5)).await);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server(driver::Server<TokioRuntime>);

impl Server {
    /// Listens on `addr` and serves `provider` (any [`RequestHandler`](tether_core::RequestHandler), by value or in an
    /// `Arc`) on every accepted connection, with provider-side defaults
    /// ([`ServerOptions::new`]), on the current tokio runtime.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use tether_tokio::prelude::*;
    /// # let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current()))
    /// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
    /// let server = Server::bind("127.0.0.1:0", provider).await?;
    /// assert!(server.local_addr().ip().is_loopback());
    /// # Ok(()) }
    /// ```
    pub async fn bind(
        addr: impl ToSocketAddrs,
        provider: impl IntoRequestHandler,
    ) -> io::Result<Self> {
        Self::bind_with(addr, provider, ServerOptions::new()).await
    }

    /// [`bind`](Self::bind) with `options`: the connections' configuration, the most
    /// connections served at once, the continuation executor.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use tether_tokio::prelude::*;
    /// # let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current()))
    /// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
    /// use std::num::NonZeroUsize;
    ///
    /// let options = ServerOptions::new().max_connections(NonZeroUsize::new(64).unwrap());
    /// let server = Server::bind_with("127.0.0.1:0", provider, options).await?;
    /// # drop(server);
    /// # Ok(()) }
    /// ```
    pub async fn bind_with(
        addr: impl ToSocketAddrs,
        provider: impl IntoRequestHandler,
        options: ServerOptions,
    ) -> io::Result<Self> {
        let (config, options) = options.into_parts();
        let runtime = Arc::new(TokioRuntime);
        let handler = provider.into_request_handler();
        let server = driver::Server::bind(runtime, lookup_host(addr), config, handler, options);
        server.await.map(Self)
    }

    /// The address the server listens on.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use tether_tokio::prelude::*;
    /// # let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current()))
    /// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
    /// let server = Server::bind("127.0.0.1:0", provider).await?;
    /// let addr = server.local_addr();
    /// assert_ne!(addr.port(), 0); // the port the system picked
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// The connections now open.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use tether_tokio::prelude::*;
    /// # let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current()))
    /// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
    /// let server = Server::bind("127.0.0.1:0", provider).await?;
    /// assert!(server.connections().is_empty());
    /// let channels = reference_channels(server.local_addr()).await?;
    /// let echo = Reference::builder("demo.Echo").build(channels);
    /// // Once a call is answered, its connection was accepted.
    /// echo.method::<(String,), String>("echo").call(("hi".into(),)).await?;
    /// assert_eq!(server.connections().len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn connections(&self) -> Vec<SharedConnection> {
        self.0.connections()
    }

    /// Shuts down gracefully ([`driver::Server::shutdown`]). Returns whether every request
    /// received was answered before `deadline`.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use tether_tokio::prelude::*;
    /// # let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current()))
    /// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
    /// use std::time::{Duration, Instant};
    ///
    /// let server = Server::bind("127.0.0.1:0", provider).await?;
    /// // Nothing in flight: every request was answered, so this returns true at once.
    /// assert!(server.shutdown(Instant::now() + Duration::from_secs(5)).await);
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(self, deadline: Instant) -> bool {
        self.0.shutdown(deadline).await
    }

    /// Dubbo's graceful offline: unregisters `publication`, waits `notify_wait` for
    /// consumers to hear it, then shuts down by `deadline`
    /// ([`driver::Server::shutdown_offline`]).
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use tether_tokio::prelude::*;
    /// # let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current()))
    /// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
    /// use std::time::{Duration, Instant};
    /// use tether_tokio::tether_core::registry::{ProviderSpec, Publication, StaticRegistry};
    ///
    /// let server = Server::bind("127.0.0.1:0", provider).await?;
    /// let port = server.local_addr().port();
    /// let registry = Arc::new(StaticRegistry::new([]));
    /// let url = ProviderSpec::new("demo.Echo", "127.0.0.1", port).to_url(0)?;
    /// let publication = Publication::new(registry.clone(), [url]);
    /// publication.online().await?;
    ///
    /// let deadline = Instant::now() + Duration::from_secs(5);
    /// assert!(server.shutdown_offline(&publication, Duration::from_millis(10), deadline).await);
    /// assert!(registry.urls().is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn shutdown_offline(
        self,
        publication: &tether_core::registry::Publication,
        notify_wait: std::time::Duration,
        deadline: Instant,
    ) -> bool {
        self.0
            .shutdown_offline(publication, notify_wait, deadline)
            .await
    }
}
