//! Servers: [`Server::bind`] accepts connections and drives each on a task of its own.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smol::net::{AsyncToSocketAddrs, TcpListener, TcpStream};
use smol::{Task, Timer};
use tether_core::driver::{ConnectionSet, Driver, drain_gracefully};
use tether_core::{CallbackExecutor, Clock, Config, Connection, RequestHandler, SharedConnection};

use crate::Options;
use crate::runtime::SmolRuntime;

/// After `accept` fails (out of file descriptors, say), wait this long before trying again
/// rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
/// How long [`Server::shutdown`] waits, past its deadline, for closed connections' tasks to
/// shut their sockets down.
const TASK_GRACE: Duration = Duration::from_secs(1);
/// How often [`Server::shutdown`] looks whether those tasks are done.
const EXIT_POLL: Duration = Duration::from_millis(5);

/// A listening server. Each accepted connection is driven on its own task of smol's global
/// executor, with the server's [`RequestHandler`].
/// At most [`Options::max_connections`] at once: connections past the bound are closed as
/// soon as they are accepted.
///
/// Dropping the server stops it at once: the accept task is cancelled (the listener closes
/// as the executor drops it) and every connection is closed, which fails the calls pending
/// on it. [`shutdown`](Self::shutdown) is the graceful way.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    conns: Arc<ConnectionSet>,
    accept: Option<Task<()>>,
}

/// What every accepted connection is built from.
struct Setup {
    config: Config,
    handler: Arc<dyn RequestHandler>,
    executor: Arc<dyn CallbackExecutor>,
    conns: Arc<ConnectionSet>,
}

impl Server {
    /// Listens on `addr` and serves every accepted connection with `config` (use
    /// `Config::new(Side::Provider)`) and `handler`.
    pub async fn bind(
        addr: impl AsyncToSocketAddrs,
        config: Config,
        handler: Arc<dyn RequestHandler>,
        options: Options,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let conns = Arc::new(ConnectionSet::bounded(options.max_connections));
        let setup = Setup {
            config,
            handler,
            executor: options.callback_executor,
            conns: conns.clone(),
        };
        let accept = smol::spawn(accept_loop(listener, setup));
        Ok(Self {
            local_addr,
            conns,
            accept: Some(accept),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The connections now open.
    pub fn connections(&self) -> Vec<SharedConnection> {
        self.conns.snapshot()
    }

    /// Shuts down gracefully (`PROTOCOL.md` §4.2): stops accepting, announces read-only on
    /// every connection, waits until every request received was answered and written or
    /// until `deadline`, then closes the connections. Returns whether everything was
    /// answered before the deadline.
    pub async fn shutdown(mut self, deadline: Instant) -> bool {
        if let Some(accept) = self.accept.take() {
            // Once cancelled, the listener is closed and every accepted connection is in
            // `conns` (each is registered before the accept loop awaits again).
            accept.cancel().await;
        }
        let conns = self.conns.snapshot();
        let drained = drain_gracefully(&SmolRuntime, &conns, deadline).await;
        // The drivers leave the set once they shut their sockets down.
        let grace = deadline.max(SmolRuntime.now()) + TASK_GRACE;
        while !self.conns.is_empty() && SmolRuntime.now() < grace {
            Timer::after(EXIT_POLL).await;
        }
        drained
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Dropping the task cancels it.
        self.accept.take();
        for conn in self.conns.snapshot() {
            conn.close();
        }
    }
}

async fn accept_loop(listener: TcpListener, setup: Setup) {
    loop {
        match listener.accept().await {
            // Over the limit: dropped, the peer sees the connection closed at once.
            Ok(_) if !setup.conns.has_room() => {}
            Ok((stream, _)) => smol::spawn(serve(stream, &setup)).detach(),
            Err(_) => {
                Timer::after(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Builds the driver of an accepted connection and registers it, before the caller spawns
/// the returned future (so a shutdown that stopped the accept loop sees every connection).
fn serve(stream: TcpStream, setup: &Setup) -> impl Future<Output = ()> + Send + 'static {
    // Latency over coalescing: the driver already batches frames into one write.
    let _ = stream.set_nodelay(true);
    let runtime = Arc::new(SmolRuntime);
    let conn = Connection::new(setup.config.clone(), runtime.now());
    let driver = Driver::new(
        stream,
        conn,
        runtime,
        setup.handler.clone(),
        setup.executor.clone(),
    );
    let membership = setup.conns.insert(driver.shared().clone());
    async move {
        let _membership = membership;
        driver.run().await;
    }
}
