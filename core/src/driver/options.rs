//! The options every adapter's `connect` and `Server::bind` take: [`Options`].

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::RejectRequests;
use crate::call::{ContinuationExecutor, Inline};
use crate::shared::RequestHandler;

/// Adapter options shared by an adapter's `connect` and `Server::bind`.
///
/// ```
/// use std::time::Duration;
/// use tether_core::driver::Options;
///
/// let options = Options::default().connect_timeout(Duration::from_millis(500));
/// assert_eq!(options.connect_timeout, Duration::from_millis(500));
/// assert_eq!(options.max_connections, Options::DEFAULT_MAX_CONNECTIONS);
/// assert!(options.is_default_request_handler());
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Options {
    /// Where response continuations (`Completion::on_complete`) run: [`Inline`] on the IO
    /// task (the default), or a pool such as the adapters' `ContinuationPool`. Awaiting or
    /// `wait()`ing a completion is unaffected: that wakes the waiter directly.
    pub continuation_executor: Arc<dyn ContinuationExecutor>,
    /// How long `connect` waits for the TCP handshake (Dubbo's `connect.timeout`, 3 s).
    pub connect_timeout: Duration,
    /// For `connect`: who receives requests the provider sends over the connection
    /// (parameter callbacks). By default the callbacks this consumer passed as arguments
    /// are served, with no wiring: the adapter puts a
    /// [`CallbackDispatcher`](crate::consumer::CallbackDispatcher) on its runtime (handlers
    /// run on the IO task, async ones on the runtime); requests for anything else are
    /// answered with status 70, not found, as a Java consumer answers them.
    /// `Server::bind` takes its handler as an argument instead.
    pub request_handler: Arc<dyn RequestHandler>,
    /// For `Server::bind`: the most connections served at once (Dubbo's `accepts`); more are
    /// closed as soon as they are accepted. Each may hold up to its send buffer's high-water
    /// mark and its inbound in-flight requests; on the thread-pool adapter, two threads.
    pub max_connections: NonZeroUsize,
}

impl Options {
    /// Dubbo's default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
    /// Default bound on a server's connections (1,024 IO threads on the thread-pool adapter).
    // A non-zero literal: checked at compile time.
    pub const DEFAULT_MAX_CONNECTIONS: NonZeroUsize = NonZeroUsize::new(512).unwrap();

    /// Sets where response continuations run.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::call::Task;
    /// use tether_core::driver::Options;
    /// use tether_core::ContinuationExecutor;
    ///
    /// /// Runs each continuation on a thread of its own.
    /// struct OwnThread;
    ///
    /// impl ContinuationExecutor for OwnThread {
    ///     fn execute(&self, task: Task) {
    ///         std::thread::spawn(task);
    ///     }
    /// }
    ///
    /// let options = Options::default().continuation_executor(Arc::new(OwnThread));
    /// # drop(options);
    /// ```
    pub fn continuation_executor(mut self, executor: Arc<dyn ContinuationExecutor>) -> Self {
        self.continuation_executor = executor;
        self
    }

    /// Sets the connect timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_core::driver::Options;
    ///
    /// let options = Options::default().connect_timeout(Duration::from_secs(1));
    /// assert_eq!(options.connect_timeout, Duration::from_secs(1));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the handler of requests arriving on client connections.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::driver::{Options, RejectRequests};
    ///
    /// // Serve no callbacks at all: every request from the provider is answered as not found.
    /// let options = Options::default().request_handler(Arc::new(RejectRequests));
    /// assert!(!options.is_default_request_handler());
    /// ```
    pub fn request_handler(mut self, handler: Arc<dyn RequestHandler>) -> Self {
        self.request_handler = handler;
        self
    }

    /// The handler of [`Options::default`]: the adapter's `connect` replaces it with a
    /// callback dispatcher on its runtime ([`is_default_request_handler`]). Left in place
    /// (an embedder's own IO loop), it answers every request as not found.
    ///
    /// [`is_default_request_handler`]: Self::is_default_request_handler
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::driver::Options;
    ///
    /// let handler = Options::default_request_handler();
    /// assert!(Arc::ptr_eq(&handler, &Options::default().request_handler));
    /// ```
    pub fn default_request_handler() -> Arc<dyn RequestHandler> {
        static DEFAULT: OnceLock<Arc<dyn RequestHandler>> = OnceLock::new();
        DEFAULT.get_or_init(|| Arc::new(RejectRequests)).clone()
    }

    /// Whether these options leave the request handler to the adapter (see
    /// [`request_handler`](Self::request_handler)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::driver::{Options, RejectRequests};
    ///
    /// assert!(Options::default().is_default_request_handler());
    /// let own = Options::default().request_handler(Arc::new(RejectRequests));
    /// assert!(!own.is_default_request_handler());
    /// ```
    pub fn is_default_request_handler(&self) -> bool {
        Arc::ptr_eq(&self.request_handler, &Self::default_request_handler())
    }

    /// Sets the most connections a server serves at once.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::driver::Options;
    ///
    /// let options = Options::default().max_connections(NonZeroUsize::new(100).unwrap());
    /// assert_eq!(options.max_connections.get(), 100);
    /// ```
    pub fn max_connections(mut self, max: NonZeroUsize) -> Self {
        self.max_connections = max;
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            continuation_executor: Arc::new(Inline),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            request_handler: Self::default_request_handler(),
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

/// How a server serves: provider-side defaults, changed by value. An adapter's
/// `Server::bind(addr, provider)` uses the defaults; `Server::bind_with(addr, provider,
/// options)` takes these.
///
/// ```
/// use std::num::NonZeroUsize;
/// use tether_core::driver::ServerOptions;
/// use tether_core::{Config, Keepalive, Side};
///
/// let options = ServerOptions::new()
///     .config(Config::new(Side::Provider).keepalive(Keepalive::disabled()))
///     .max_connections(NonZeroUsize::new(64).unwrap());
/// assert_eq!(options.config_ref().side(), Side::Provider);
/// ```
#[derive(Clone, Debug)]
pub struct ServerOptions {
    config: crate::Config,
    options: Options,
}

impl ServerOptions {
    /// The defaults: `Config::new(Side::Provider)`, [`Options::DEFAULT_MAX_CONNECTIONS`],
    /// continuations inline.
    ///
    /// ```
    /// use tether_core::Side;
    /// use tether_core::driver::{Options, ServerOptions};
    ///
    /// let options = ServerOptions::new();
    /// assert_eq!(options.config_ref().side(), Side::Provider);
    /// let (_, adapter) = options.into_parts();
    /// assert_eq!(adapter.max_connections, Options::DEFAULT_MAX_CONNECTIONS);
    /// ```
    pub fn new() -> Self {
        Self {
            config: crate::Config::new(crate::Side::Provider),
            options: Options::default(),
        }
    }

    /// Sets the configuration of every accepted connection (limits, keepalive).
    ///
    /// ```
    /// use tether_core::driver::ServerOptions;
    /// use tether_core::{Config, Keepalive, Side};
    ///
    /// // No heartbeats and no idle close on the provider's side.
    /// let config = Config::new(Side::Provider).keepalive(Keepalive::disabled());
    /// let options = ServerOptions::new().config(config);
    /// # drop(options);
    /// ```
    pub fn config(mut self, config: crate::Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the most connections served at once (Dubbo's `accepts`), see
    /// [`Options::max_connections`].
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::driver::ServerOptions;
    ///
    /// let options = ServerOptions::new().max_connections(NonZeroUsize::new(64).unwrap());
    /// let (_, adapter) = options.into_parts();
    /// assert_eq!(adapter.max_connections.get(), 64);
    /// ```
    pub fn max_connections(mut self, max: NonZeroUsize) -> Self {
        self.options.max_connections = max;
        self
    }

    /// Sets where continuations of the calls the provider makes back (parameter callbacks)
    /// run, see [`Options::continuation_executor`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::Inline;
    /// use tether_core::driver::ServerOptions;
    ///
    /// // The default, spelled out: continuations run on the connection's IO task.
    /// let options = ServerOptions::new().continuation_executor(Arc::new(Inline));
    /// # drop(options);
    /// ```
    pub fn continuation_executor(mut self, executor: Arc<dyn ContinuationExecutor>) -> Self {
        self.options.continuation_executor = executor;
        self
    }

    /// Sets every adapter option at once (those `connect` takes; a server reads
    /// `max_connections` and `continuation_executor`).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::driver::{Options, ServerOptions};
    ///
    /// let adapter = Options::default().max_connections(NonZeroUsize::new(8).unwrap());
    /// let options = ServerOptions::new().adapter_options(adapter);
    /// assert_eq!(options.into_parts().1.max_connections.get(), 8);
    /// ```
    pub fn adapter_options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The connections' configuration.
    ///
    /// ```
    /// use tether_core::Side;
    /// use tether_core::driver::ServerOptions;
    ///
    /// assert_eq!(ServerOptions::new().config_ref().side(), Side::Provider);
    /// ```
    pub fn config_ref(&self) -> &crate::Config {
        &self.config
    }

    /// The configuration and the adapter options, for an adapter's `Server::bind_with`.
    ///
    /// ```
    /// use tether_core::Side;
    /// use tether_core::driver::ServerOptions;
    ///
    /// // What an adapter's `Server::bind_with` does first.
    /// let (config, adapter) = ServerOptions::new().into_parts();
    /// assert_eq!(config.side(), Side::Provider);
    /// assert!(adapter.is_default_request_handler());
    /// ```
    pub fn into_parts(self) -> (crate::Config, Options) {
        (self.config, self.options)
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// How a consumer connects to one provider address: consumer-side defaults (one
/// connection, reconnected with the default [`Backoff`](crate::cluster::Backoff)), changed
/// by value. An adapter's `reference_channels(addr)` uses the defaults;
/// `reference_channels_with(addr, options)` takes these.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::time::Duration;
/// use tether_core::driver::ClientOptions;
///
/// let options = ClientOptions::new()
///     .connections(NonZeroUsize::new(2).unwrap())
///     .connect_timeout(Duration::from_millis(500));
/// assert_eq!(options.connection_count().get(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct ClientOptions {
    config: crate::Config,
    options: Options,
    connections: NonZeroUsize,
    backoff: crate::cluster::Backoff,
}

impl ClientOptions {
    /// The defaults: `Config::new(Side::Consumer)`, one connection, the default backoff and
    /// connect timeout, continuations inline, callbacks served with no wiring.
    ///
    /// ```
    /// use tether_core::Side;
    /// use tether_core::driver::ClientOptions;
    ///
    /// let options = ClientOptions::new();
    /// assert_eq!(options.connection_count().get(), 1);
    /// assert_eq!(options.into_parts().0.side(), Side::Consumer);
    /// ```
    pub fn new() -> Self {
        Self {
            config: crate::Config::new(crate::Side::Consumer),
            options: Options::default(),
            connections: NonZeroUsize::MIN,
            backoff: crate::cluster::Backoff::default(),
        }
    }

    /// Sets the configuration of the connections (limits, keepalive).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::driver::ClientOptions;
    /// use tether_core::{Config, Side};
    ///
    /// // At most 100 calls awaiting a response on each connection.
    /// let config = Config::new(Side::Consumer).max_in_flight(NonZeroUsize::new(100).unwrap());
    /// let options = ClientOptions::new().config(config);
    /// # drop(options);
    /// ```
    pub fn config(mut self, config: crate::Config) -> Self {
        self.config = config;
        self
    }

    /// Sets how many connections the reference spreads its calls over (Dubbo's
    /// `connections`).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::driver::ClientOptions;
    ///
    /// let options = ClientOptions::new().connections(NonZeroUsize::new(4).unwrap());
    /// assert_eq!(options.connection_count().get(), 4);
    /// ```
    pub fn connections(mut self, connections: NonZeroUsize) -> Self {
        self.connections = connections;
        self
    }

    /// Sets how dropped connections are retried.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_core::cluster::Backoff;
    /// use tether_core::driver::ClientOptions;
    ///
    /// // Retry after 50 ms, doubling up to 2 s.
    /// let backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
    /// let options = ClientOptions::new().backoff(backoff);
    /// assert_eq!(options.into_parts().3, backoff);
    /// ```
    pub fn backoff(mut self, backoff: crate::cluster::Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets how long a connection attempt may take, see [`Options::connect_timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_core::driver::ClientOptions;
    ///
    /// let options = ClientOptions::new().connect_timeout(Duration::from_millis(500));
    /// assert_eq!(options.into_parts().1.connect_timeout, Duration::from_millis(500));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options.connect_timeout = timeout;
        self
    }

    /// Sets where response continuations run, see [`Options::continuation_executor`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::Inline;
    /// use tether_core::driver::ClientOptions;
    ///
    /// // The default, spelled out: continuations run on the connection's IO task. A pool such as
    /// // an adapter's `ContinuationPool` keeps slow ones off it.
    /// let options = ClientOptions::new().continuation_executor(Arc::new(Inline));
    /// # drop(options);
    /// ```
    pub fn continuation_executor(mut self, executor: Arc<dyn ContinuationExecutor>) -> Self {
        self.options.continuation_executor = executor;
        self
    }

    /// Sets who receives the requests a provider sends back (parameter callbacks), see
    /// [`Options::request_handler`]; by default the callbacks passed as arguments are served.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::driver::{ClientOptions, RejectRequests};
    ///
    /// // This consumer passes no callbacks: refuse whatever the provider sends.
    /// let options = ClientOptions::new().request_handler(Arc::new(RejectRequests));
    /// assert!(!options.into_parts().1.is_default_request_handler());
    /// ```
    pub fn request_handler(mut self, handler: Arc<dyn RequestHandler>) -> Self {
        self.options.request_handler = handler;
        self
    }

    /// Sets every adapter option at once (those `connect` takes).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_core::driver::{ClientOptions, Options};
    ///
    /// let adapter = Options::default().connect_timeout(Duration::from_secs(1));
    /// let options = ClientOptions::new().adapter_options(adapter);
    /// assert_eq!(options.into_parts().1.connect_timeout, Duration::from_secs(1));
    /// ```
    pub fn adapter_options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// How many connections.
    ///
    /// ```
    /// use tether_core::driver::ClientOptions;
    ///
    /// assert_eq!(ClientOptions::new().connection_count().get(), 1);
    /// ```
    pub fn connection_count(&self) -> NonZeroUsize {
        self.connections
    }

    /// The parts an adapter's `reference_channels_with` passes on to the driver:
    /// configuration, adapter options, connection count and backoff.
    ///
    /// ```
    /// use tether_core::Side;
    /// use tether_core::driver::ClientOptions;
    ///
    /// // What an adapter's `reference_channels_with` does first.
    /// let (config, adapter, connections, _backoff) = ClientOptions::new().into_parts();
    /// assert_eq!(config.side(), Side::Consumer);
    /// assert_eq!(connections.get(), 1);
    /// assert!(adapter.is_default_request_handler());
    /// ```
    pub fn into_parts(
        self,
    ) -> (
        crate::Config,
        Options,
        NonZeroUsize,
        crate::cluster::Backoff,
    ) {
        (self.config, self.options, self.connections, self.backoff)
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self::new()
    }
}
