//! The three adapters behind one blocking interface, [`Executor`], so that the conformance
//! suite, the interop tests and the examples are written once and run on each: tokio, smol
//! and the thread pool. Async adapters are driven with their own `block_on`.

use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_core::cluster::Connector;
use tether_core::consumer::{Backoff, Channels};
use tether_core::driver::{ClientOptions, ServerOptions};
use tether_core::{
    BoxFuture, Completion, Config, ConnectionError, ContinuationExecutor, RequestHandler,
    SharedConnection, Spawner,
};

/// Makes a future that resolves after the given duration.
pub type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture + Send + Sync>;

/// The adapter options every adapter has, each left to the adapter's default when `None`.
#[derive(Clone, Default)]
pub struct Opts {
    pub continuation_executor: Option<Arc<dyn ContinuationExecutor>>,
    pub request_handler: Option<Arc<dyn RequestHandler>>,
    pub connect_timeout: Option<Duration>,
}

impl Opts {
    pub fn request_handler(mut self, handler: Arc<dyn RequestHandler>) -> Self {
        self.request_handler = Some(handler);
        self
    }

    pub fn continuation_executor(mut self, executor: Arc<dyn ContinuationExecutor>) -> Self {
        self.continuation_executor = Some(executor);
        self
    }
}

/// A listening server of any adapter.
pub trait Server: Send {
    fn local_addr(&self) -> SocketAddr;
    fn connections(&self) -> Vec<SharedConnection>;
    /// The adapter's graceful shutdown, waited for.
    fn shutdown(self: Box<Self>, deadline: Instant) -> bool;
    /// The adapter's graceful offline (unregister, wait, shut down), waited for.
    fn shutdown_offline(
        self: Box<Self>,
        publication: &tether_core::registry::Publication,
        notify_wait: Duration,
        deadline: Instant,
    ) -> bool;
}

/// One adapter, seen from a plain thread.
pub trait Executor: Send + Sync {
    fn name(&self) -> &'static str;
    /// Runs async handlers and background loops, on the threads that run IO.
    fn spawner(&self) -> Arc<dyn Spawner>;
    /// Runs provider handlers dispatched with `Dispatch::Pool`: a pool apart from the IO
    /// threads, its threads named with [`pool_thread_prefix`](Self::pool_thread_prefix),
    /// with this adapter's timers usable from its futures.
    fn pool_spawner(&self) -> Arc<dyn Spawner>;
    /// Makes futures that resolve after a duration, on this adapter's timers.
    fn sleeper(&self) -> Sleeper;
    /// The name prefix of the threads that run a connection's IO (where inline
    /// continuations and directly dispatched handlers run).
    fn io_thread_prefix(&self) -> &'static str;
    /// The name prefix of the threads that run the [`pool_spawner`](Self::pool_spawner)'s
    /// futures; no IO thread's name starts with it.
    fn pool_thread_prefix(&self) -> &'static str;
    /// The adapter's bounded pool for continuations (threads named `tether-continue-N`).
    fn callback_pool(&self, threads: usize, capacity: usize) -> Arc<dyn ContinuationExecutor>;
    fn bind(
        &self,
        addr: &str,
        config: Config,
        handler: Arc<dyn RequestHandler>,
        opts: Opts,
    ) -> io::Result<Box<dyn Server>>;
    /// Serves `handler` on a free loopback port with the provider's defaults.
    fn bind_local(&self, handler: Arc<dyn RequestHandler>) -> Box<dyn Server> {
        let config = Config::new(tether_core::Side::Provider);
        (self.bind("127.0.0.1:0", config, handler, Opts::default()))
            .unwrap_or_else(|e| panic!("{}: bind: {e}", self.name()))
    }
    fn connect(
        &self,
        addr: SocketAddr,
        config: Config,
        opts: Opts,
    ) -> io::Result<(SharedConnection, Completion<ConnectionError>)>;
    fn reference_channels(
        &self,
        addr: SocketAddr,
        connections: NonZeroUsize,
        config: Config,
        opts: Opts,
        backoff: Backoff,
    ) -> io::Result<Arc<Channels>>;
    /// The adapter's `Connector`, for a registry-fed directory.
    fn connector(&self, opts: Opts, backoff: Backoff) -> Arc<dyn Connector>;
}

/// The executor named `name` (`tokio`, `smol` or `threadpool`).
pub fn by_name(name: &str) -> Option<Box<dyn Executor>> {
    Some(match name {
        "tokio" => Box::new(Tokio::new()),
        "smol" => Box::new(Smol::new()),
        "threadpool" => Box::new(ThreadPool::new()),
        _ => return None,
    })
}

/// Reads `--executor NAME` from the command line (default `tokio`), returning the
/// remaining arguments.
pub fn from_args() -> Result<(Box<dyn Executor>, Vec<String>), String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut name = "tokio".to_owned();
    if let Some(i) = args.iter().position(|a| a == "--executor") {
        if i + 1 >= args.len() {
            return Err("--executor needs a value: tokio, smol or threadpool".to_owned());
        }
        name = args.remove(i + 1);
        args.remove(i);
    }
    let executor = by_name(&name)
        .ok_or_else(|| format!("unknown executor {name:?}: tokio, smol or threadpool"))?;
    Ok((executor, args))
}

/// The name of the threads that run pooled handlers on tokio and smol.
const POOL_PREFIX: &str = "suite-pool";

fn n(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).expect("a positive count")
}

// ------------------------------------------------------------------------------------------
// tokio

/// tether-tokio on a runtime of its own with two workers, and a second runtime, its threads
/// named `suite-pool`, for pooled handlers.
pub struct Tokio {
    runtime: tokio::runtime::Runtime,
    pool: tokio::runtime::Runtime,
}

impl Tokio {
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        // Timers too: async handlers sleep on it (`Executor::sleeper`).
        let pool = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(POOL_PREFIX)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        Self { runtime, pool }
    }

    fn options(opts: Opts) -> tether_tokio::Options {
        let mut options = tether_tokio::Options::default();
        if let Some(executor) = opts.continuation_executor {
            options = options.continuation_executor(executor);
        }
        if let Some(handler) = opts.request_handler {
            options = options.request_handler(handler);
        }
        if let Some(timeout) = opts.connect_timeout {
            options = options.connect_timeout(timeout);
        }
        options
    }
}

impl Default for Tokio {
    fn default() -> Self {
        Self::new()
    }
}

struct TokioServer(tether_tokio::Server, tokio::runtime::Handle);

impl Server for TokioServer {
    fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }
    fn connections(&self) -> Vec<SharedConnection> {
        self.0.connections()
    }
    fn shutdown(self: Box<Self>, deadline: Instant) -> bool {
        let TokioServer(server, handle) = *self;
        handle.block_on(server.shutdown(deadline))
    }
    fn shutdown_offline(
        self: Box<Self>,
        publication: &tether_core::registry::Publication,
        notify_wait: Duration,
        deadline: Instant,
    ) -> bool {
        let TokioServer(server, handle) = *self;
        handle.block_on(server.shutdown_offline(publication, notify_wait, deadline))
    }
}

impl Executor for Tokio {
    fn name(&self) -> &'static str {
        "tokio"
    }
    fn spawner(&self) -> Arc<dyn Spawner> {
        Arc::new(tether_tokio::TokioSpawner::new(
            self.runtime.handle().clone(),
        ))
    }
    fn sleeper(&self) -> Sleeper {
        // Created inside the future: tokio's timers need the runtime's context.
        Arc::new(|duration| Box::pin(async move { tokio::time::sleep(duration).await }))
    }
    fn pool_spawner(&self) -> Arc<dyn Spawner> {
        Arc::new(tether_tokio::TokioSpawner::new(self.pool.handle().clone()))
    }
    fn io_thread_prefix(&self) -> &'static str {
        "tokio-"
    }
    fn pool_thread_prefix(&self) -> &'static str {
        POOL_PREFIX
    }
    fn callback_pool(&self, threads: usize, capacity: usize) -> Arc<dyn ContinuationExecutor> {
        Arc::new(tether_tokio::ContinuationPool::new(n(threads), n(capacity)).expect("threads"))
    }
    fn bind(
        &self,
        addr: &str,
        config: Config,
        handler: Arc<dyn RequestHandler>,
        opts: Opts,
    ) -> io::Result<Box<dyn Server>> {
        let server = self.runtime.block_on(tether_tokio::Server::bind_with(
            addr,
            handler,
            ServerOptions::new()
                .config(config)
                .adapter_options(Self::options(opts)),
        ))?;
        Ok(Box::new(TokioServer(server, self.runtime.handle().clone())))
    }
    fn connect(
        &self,
        addr: SocketAddr,
        config: Config,
        opts: Opts,
    ) -> io::Result<(SharedConnection, Completion<ConnectionError>)> {
        let client =
            self.runtime
                .block_on(tether_tokio::connect(addr, config, Self::options(opts)))?;
        Ok(client.into_parts())
    }
    fn reference_channels(
        &self,
        addr: SocketAddr,
        connections: NonZeroUsize,
        config: Config,
        opts: Opts,
        backoff: Backoff,
    ) -> io::Result<Arc<Channels>> {
        self.runtime.block_on(tether_tokio::reference_channels_with(
            addr,
            ClientOptions::new()
                .connections(connections)
                .config(config)
                .backoff(backoff)
                .adapter_options(Self::options(opts)),
        ))
    }
    fn connector(&self, opts: Opts, backoff: Backoff) -> Arc<dyn Connector> {
        Arc::new(
            tether_tokio::Connector::with_handle(
                self.runtime.handle().clone(),
                Self::options(opts),
            )
            .backoff(backoff),
        )
    }
}

// ------------------------------------------------------------------------------------------
// smol

/// tether-smol on smol's global executor, and an executor of its own on two threads named
/// `suite-pool-N` for pooled handlers.
pub struct Smol {
    pool: Arc<smol::Executor<'static>>,
    /// Dropped with `self`: the pool's threads stop running it and end.
    _stop: smol::channel::Sender<()>,
}

impl Smol {
    pub fn new() -> Self {
        let pool = Arc::new(smol::Executor::new());
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        for i in 0..2 {
            let (pool, stopped) = (pool.clone(), stopped.clone());
            std::thread::Builder::new()
                .name(format!("{POOL_PREFIX}-{i}"))
                .spawn(move || smol::block_on(pool.run(stopped.recv())))
                .expect("a pool thread");
        }
        Self { pool, _stop: stop }
    }

    fn options(opts: Opts) -> tether_smol::Options {
        let mut options = tether_smol::Options::default();
        if let Some(executor) = opts.continuation_executor {
            options = options.continuation_executor(executor);
        }
        if let Some(handler) = opts.request_handler {
            options = options.request_handler(handler);
        }
        if let Some(timeout) = opts.connect_timeout {
            options = options.connect_timeout(timeout);
        }
        options
    }
}

impl Default for Smol {
    fn default() -> Self {
        Self::new()
    }
}

struct SmolServer(tether_smol::Server);

impl Server for SmolServer {
    fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }
    fn connections(&self) -> Vec<SharedConnection> {
        self.0.connections()
    }
    fn shutdown(self: Box<Self>, deadline: Instant) -> bool {
        smol::block_on(self.0.shutdown(deadline))
    }
    fn shutdown_offline(
        self: Box<Self>,
        publication: &tether_core::registry::Publication,
        notify_wait: Duration,
        deadline: Instant,
    ) -> bool {
        smol::block_on(self.0.shutdown_offline(publication, notify_wait, deadline))
    }
}

impl Executor for Smol {
    fn name(&self) -> &'static str {
        "smol"
    }
    fn spawner(&self) -> Arc<dyn Spawner> {
        Arc::new(tether_smol::SmolSpawner::global())
    }
    fn sleeper(&self) -> Sleeper {
        Arc::new(|duration| {
            Box::pin(async move {
                smol::Timer::after(duration).await;
            })
        })
    }
    fn pool_spawner(&self) -> Arc<dyn Spawner> {
        Arc::new(tether_smol::SmolSpawner::new(self.pool.clone()))
    }
    fn io_thread_prefix(&self) -> &'static str {
        "smol-"
    }
    fn pool_thread_prefix(&self) -> &'static str {
        POOL_PREFIX
    }
    fn callback_pool(&self, threads: usize, capacity: usize) -> Arc<dyn ContinuationExecutor> {
        Arc::new(tether_smol::ContinuationPool::new(n(threads), n(capacity)).expect("threads"))
    }
    fn bind(
        &self,
        addr: &str,
        config: Config,
        handler: Arc<dyn RequestHandler>,
        opts: Opts,
    ) -> io::Result<Box<dyn Server>> {
        let server = smol::block_on(tether_smol::Server::bind_with(
            addr,
            handler,
            ServerOptions::new()
                .config(config)
                .adapter_options(Self::options(opts)),
        ))?;
        Ok(Box::new(SmolServer(server)))
    }
    fn connect(
        &self,
        addr: SocketAddr,
        config: Config,
        opts: Opts,
    ) -> io::Result<(SharedConnection, Completion<ConnectionError>)> {
        let client = smol::block_on(tether_smol::connect(addr, config, Self::options(opts)))?;
        Ok(client.into_parts())
    }
    fn reference_channels(
        &self,
        addr: SocketAddr,
        connections: NonZeroUsize,
        config: Config,
        opts: Opts,
        backoff: Backoff,
    ) -> io::Result<Arc<Channels>> {
        smol::block_on(tether_smol::reference_channels_with(
            addr,
            ClientOptions::new()
                .connections(connections)
                .config(config)
                .backoff(backoff)
                .adapter_options(Self::options(opts)),
        ))
    }
    fn connector(&self, opts: Opts, backoff: Backoff) -> Arc<dyn Connector> {
        Arc::new(tether_smol::Connector::new(Self::options(opts)).backoff(backoff))
    }
}

// ------------------------------------------------------------------------------------------
// thread pool

/// tether-threadpool, with a worker pool of four threads for handlers.
pub struct ThreadPool {
    workers: Arc<tether_threadpool::WorkerPool>,
}

impl ThreadPool {
    pub fn new() -> Self {
        let workers = tether_threadpool::WorkerPool::new(n(4), n(4096)).expect("threads");
        Self {
            workers: Arc::new(workers),
        }
    }

    fn options(opts: Opts) -> tether_threadpool::Options {
        let mut options = tether_threadpool::Options::default();
        if let Some(executor) = opts.continuation_executor {
            options = options.continuation_executor(executor);
        }
        if let Some(handler) = opts.request_handler {
            options = options.request_handler(handler);
        }
        if let Some(timeout) = opts.connect_timeout {
            options = options.connect_timeout(timeout);
        }
        options
    }
}

impl Default for ThreadPool {
    fn default() -> Self {
        Self::new()
    }
}

struct ThreadPoolServer(tether_threadpool::Server);

impl Server for ThreadPoolServer {
    fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }
    fn connections(&self) -> Vec<SharedConnection> {
        self.0.connections()
    }
    fn shutdown(self: Box<Self>, deadline: Instant) -> bool {
        self.0.shutdown(deadline)
    }
    fn shutdown_offline(
        self: Box<Self>,
        publication: &tether_core::registry::Publication,
        notify_wait: Duration,
        deadline: Instant,
    ) -> bool {
        self.0.shutdown_offline(publication, notify_wait, deadline)
    }
}

impl Executor for ThreadPool {
    fn name(&self) -> &'static str {
        "threadpool"
    }
    fn spawner(&self) -> Arc<dyn Spawner> {
        self.workers.clone()
    }
    fn sleeper(&self) -> Sleeper {
        Arc::new(|duration| Box::pin(tether_threadpool::sleep(duration)))
    }
    fn pool_spawner(&self) -> Arc<dyn Spawner> {
        self.workers.clone()
    }
    fn io_thread_prefix(&self) -> &'static str {
        "tether-read"
    }
    fn pool_thread_prefix(&self) -> &'static str {
        "tether-worker"
    }
    fn callback_pool(&self, threads: usize, capacity: usize) -> Arc<dyn ContinuationExecutor> {
        let pool = tether_threadpool::ContinuationPool::new(n(threads), n(capacity));
        Arc::new(pool.expect("threads"))
    }
    fn bind(
        &self,
        addr: &str,
        config: Config,
        handler: Arc<dyn RequestHandler>,
        opts: Opts,
    ) -> io::Result<Box<dyn Server>> {
        let server = tether_threadpool::Server::bind_with(
            addr,
            handler,
            ServerOptions::new()
                .config(config)
                .adapter_options(Self::options(opts)),
        )?;
        Ok(Box::new(ThreadPoolServer(server)))
    }
    fn connect(
        &self,
        addr: SocketAddr,
        config: Config,
        opts: Opts,
    ) -> io::Result<(SharedConnection, Completion<ConnectionError>)> {
        let client = tether_threadpool::connect(addr, config, Self::options(opts))?;
        Ok(client.into_parts())
    }
    fn reference_channels(
        &self,
        addr: SocketAddr,
        connections: NonZeroUsize,
        config: Config,
        opts: Opts,
        backoff: Backoff,
    ) -> io::Result<Arc<Channels>> {
        tether_threadpool::reference_channels_with(
            addr,
            ClientOptions::new()
                .connections(connections)
                .config(config)
                .backoff(backoff)
                .adapter_options(Self::options(opts)),
        )
    }
    fn connector(&self, opts: Opts, backoff: Backoff) -> Arc<dyn Connector> {
        Arc::new(tether_threadpool::Connector::new(Self::options(opts)).backoff(backoff))
    }
}

/// Generates three `#[test]`s, named `$tokio`, `$smol` and `$threadpool`, each calling
/// `$check(&dyn Executor)` with a fresh adapter of its own.
#[macro_export]
macro_rules! on_each_executor {
    ($check:path => $tokio:ident, $smol:ident, $threadpool:ident) => {
        #[test]
        fn $tokio() {
            $check(&$crate::exec::Tokio::new());
        }

        #[test]
        fn $smol() {
            $check(&$crate::exec::Smol::new());
        }

        #[test]
        fn $threadpool() {
            $check(&$crate::exec::ThreadPool::new());
        }
    };
}
