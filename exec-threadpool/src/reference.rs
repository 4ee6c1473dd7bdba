//! The connections of a consumer's reference: [`reference_channels`] opens N of them and
//! keeps each slot connected, reconnecting with backoff when one drops.

use std::io;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::thread;

use futures::executor::block_on;
use futures::future::join_all;
use parking_lot::Mutex;
use tether_core::cluster::{SharedChannels, connections};
use tether_core::consumer::{Backoff, Channels};
use tether_core::driver::{lazy_channels, open_channels};
use tether_core::url::Url;
use tether_core::{BoxFuture, Config, Side, Spawner};

use crate::{ClientOptions, Options, ThreadRuntime, connect};

/// Opens a connection to the provider at `addr` for a
/// [`Reference`](tether_core::consumer::Reference), with consumer-side defaults
/// ([`ClientOptions::new`]), failing if it cannot be opened (Dubbo's `check=true`); blocks
/// while connecting. See [`reference_channels_with`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use std::sync::Arc;
/// # use tether_threadpool::prelude::*;
/// # let workers = WorkerPool::new(std::num::NonZeroUsize::MIN, std::num::NonZeroUsize::MIN)?;
/// # let provider = Provider::new(Dispatch::Direct, Arc::new(workers))
/// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
/// let server = Server::bind("127.0.0.1:0", provider)?;
/// let channels = reference_channels(server.local_addr())?;
/// let echo = Reference::builder("demo.Echo").build(channels);
/// let reply = echo.method::<(String,), String>("echo").call_blocking(("hi".into(),))?;
/// assert_eq!(reply, "hi");
/// # Ok(()) }
/// ```
pub fn reference_channels<A>(addr: A) -> io::Result<Arc<Channels>>
where
    A: ToSocketAddrs + Clone + Send + Sync + 'static,
{
    reference_channels_with(addr, ClientOptions::new())
}

/// [`reference_channels`] with `options`: how many connections (Dubbo's `connections`),
/// their configuration, backoff, connect timeout and executors; fails if one cannot be
/// opened.
///
/// One thread (`tether-reconnect`) keeps every slot connected: when a slot's connection
/// drops, its pending calls have already failed, the slot empties (calls go to the other
/// connections), and a new connection is attempted after the backoff. Reconnect attempts of
/// different slots take turns on that thread. Dropping the returned [`Channels`] closes the
/// connections and ends the thread.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use std::sync::Arc;
/// # use tether_threadpool::prelude::*;
/// # let workers = WorkerPool::new(std::num::NonZeroUsize::MIN, std::num::NonZeroUsize::MIN)?;
/// # let provider = Provider::new(Dispatch::Direct, Arc::new(workers))
/// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
/// use std::num::NonZeroUsize;
/// use std::time::Duration;
///
/// let server = Server::bind("127.0.0.1:0", provider)?;
/// let options = ClientOptions::new()
///     .connections(NonZeroUsize::new(2).unwrap())
///     .connect_timeout(Duration::from_secs(1));
/// // Two connections: four IO threads, and one reconnect thread.
/// let channels = reference_channels_with(server.local_addr(), options)?;
/// assert_eq!(channels.len(), 2);
/// # Ok(()) }
/// ```
pub fn reference_channels_with<A>(addr: A, options: ClientOptions) -> io::Result<Arc<Channels>>
where
    A: ToSocketAddrs + Clone + Send + Sync + 'static,
{
    let (config, options, connections, backoff) = options.into_parts();
    let keepers = Collect::default();
    let open = move || {
        // Blocking inside a future is fine here: the future runs on the caller now and on
        // the reconnect thread later, never on a shared executor.
        let result = connect(addr.clone(), config.clone(), options.clone())
            .map(|client| client.into_parts());
        std::future::ready(result)
    };
    let channels = block_on(open_channels(
        Arc::new(ThreadRuntime),
        &keepers,
        connections,
        backoff,
        open,
    ))?;
    let keepers = std::mem::take(&mut *keepers.0.lock());
    // On failure the channels are dropped, which closes their connections.
    thread::Builder::new()
        .name("tether-reconnect".to_owned())
        .spawn(move || {
            block_on(join_all(keepers));
        })?;
    Ok(channels)
}

/// Connections to providers a registry lists, on plain threads (no async runtime): the
/// adapter's [`cluster::Connector`](tether_core::cluster::Connector), which a
/// `RegistryDirectory` calls for each new provider.
///
/// [`channels`](tether_core::cluster::Connector::channels) returns at once with empty slots
/// (the provider's `connections` parameter; without one, a single connection
/// shared by every reference this connector or a clone of it serves, as Java shares them). One thread per provider
/// (`tether-connect`) fills them: it connects each slot (blocking, within the connect
/// timeout), retries after the backoff while the provider is down, and reconnects dropped
/// connections, slots taking turns. Dropping the channels closes the connections; the
/// thread ends once its slots notice (at the latest when a backoff sleep ends).
///
/// ```no_run
/// use tether_core::cluster::Connector as _;
/// use tether_core::url::Url;
/// use tether_threadpool::{Connector, Options};
///
/// let connector = Connector::new(Options::default());
/// let provider = Url::parse("dubbo://127.0.0.1:20880/demo.Greeter").unwrap();
/// let channels = connector.channels("127.0.0.1:20880", &provider);
/// assert_eq!(channels.len(), 1); // filled once the connection is up
/// ```
#[derive(Clone, Debug)]
pub struct Connector {
    config: Config,
    options: Options,
    backoff: Backoff,
    /// Connections shared by every reference this connector (or a clone) serves.
    shared: Arc<SharedChannels>,
}

impl Connector {
    /// Connects with `options`, consumer-side [`Config`] defaults and the default
    /// [`Backoff`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_threadpool::{Connector, Options};
    ///
    /// // Each connection attempt may take at most a second.
    /// let connector = Connector::new(Options::default().connect_timeout(Duration::from_secs(1)));
    /// # drop(connector);
    /// ```
    pub fn new(options: Options) -> Self {
        Self {
            config: Config::new(Side::Consumer),
            options,
            backoff: Backoff::default(),
            shared: Arc::default(),
        }
    }

    /// Sets the configuration of the connections (default `Config::new(Side::Consumer)`).
    ///
    /// ```
    /// use tether_threadpool::tether_core::{Config, Keepalive, Side};
    /// use tether_threadpool::{Connector, Options};
    ///
    /// let connector = Connector::new(Options::default())
    ///     .config(Config::new(Side::Consumer).keepalive(Keepalive::disabled()));
    /// # drop(connector);
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets how dropped connections and unreachable providers are retried.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_threadpool::tether_core::consumer::Backoff;
    /// use tether_threadpool::{Connector, Options};
    ///
    /// // Retry after 50 ms, doubling up to 2 s.
    /// let backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
    /// let connector = Connector::new(Options::default()).backoff(backoff);
    /// # drop(connector);
    /// ```
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }
}

impl Connector {
    /// New connections to `provider` at `address`.
    fn open(&self, address: &str, provider: &Url) -> Arc<Channels> {
        let (address, config, options) = (
            address.to_owned(),
            self.config.clone(),
            self.options.clone(),
        );
        let open = move || {
            // Blocking inside the future, as in `reference_channels`: it runs on the
            // connecting thread only.
            let result = connect(address.as_str(), config.clone(), options.clone())
                .map(|client| client.into_parts());
            std::future::ready(result)
        };
        let keepers = Collect::default();
        let channels = lazy_channels(
            Arc::new(ThreadRuntime),
            &keepers,
            connections(provider),
            self.backoff,
            open,
        );
        let keepers = std::mem::take(&mut *keepers.0.lock());
        let spawned = thread::Builder::new()
            .name("tether-connect".to_owned())
            .spawn(move || {
                block_on(join_all(keepers));
            });
        // Without a thread the slots stay empty: calls fail with no connection, as for a
        // provider that is down; there is no caller to hand the error to.
        drop(spawned);
        channels
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

/// Holds the slots' keeper futures until their thread starts.
#[derive(Default)]
struct Collect(Mutex<Vec<BoxFuture>>);

impl Spawner for Collect {
    fn spawn(&self, future: BoxFuture) {
        self.0.lock().push(future);
    }
}
